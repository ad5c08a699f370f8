//! Lookups in a compiled index, where its bytes lie: loading checks the
//! header, and a lookup binary-searches the fences, then scans a block
//! ([`crate::format`] has the layout and why).

use crate::fold::{fold, fold_transliterated, has_other_script};
use crate::format::{
    fence_prefix, ALIAS_SIZE, CITY_SIZE, DIVISION_SIZE, FENCE_PREFIX, FENCE_SIZE, HEADER_SIZE,
    MAGIC, NO_DIVISION,
};
use std::borrow::Cow;
use std::cmp::Ordering;

/// A compiled index: borrowed (embedded in a binary) or owned.
pub struct Index {
    bytes: Cow<'static, [u8]>,
    cities: usize,
    /// Blocks of entries, so fences.
    blocks: usize,
    /// The size of the entries section.
    entry_bytes: usize,
    divisions: usize,
    aliases: usize,
}

/// Bytes that are not a compiled index, or an index that does not hold together.
#[derive(Debug, thiserror::Error)]
#[error("the gazetteer data is corrupt: {0}")]
pub struct CorruptIndex(String);

/// A city of the index: where it is, and its answer name ("Name, Country",
/// or "Name, Division, Country" where the name alone would not tell).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct City<'a> {
    pub latitude: f64,
    pub longitude: f64,
    pub name: &'a str,
}

/// One city of the index, as [`crate::compile()`] wrote it.
struct CityRecord {
    latitude: f64,
    longitude: f64,
    /// Where the reference to its answer name is: read only for the city a
    /// lookup returns, as the names lie elsewhere, in the string area.
    answer_at: usize,
    country: [u8; 2],
    division: u16,
}

impl Index {
    /// The index in `bytes`, as [`crate::compile()`] wrote it. Checks the
    /// header and that the sections fit, not what they hold
    /// ([`Index::verify`] does), so loading takes microseconds.
    pub fn from_bytes(bytes: impl Into<Cow<'static, [u8]>>) -> Result<Self, CorruptIndex> {
        let bytes = bytes.into();
        if bytes.get(..MAGIC.len()) != Some(MAGIC.as_slice()) || bytes.len() < HEADER_SIZE {
            return Err(CorruptIndex("not a compiled gazetteer".into()));
        }
        let count = |i: usize| u32_at(&bytes, MAGIC.len() + 4 * i).unwrap_or(0) as usize;
        let (cities, entries, block_size, entry_bytes, divisions, aliases, strings) = (
            count(0),
            count(1),
            count(2),
            count(3),
            count(4),
            count(5),
            count(6),
        );
        let blocks = match (entries, block_size) {
            (0, _) => 0,
            (_, 0) => return Err(CorruptIndex("entries in blocks of 0".into())),
            _ => entries.div_ceil(block_size),
        };
        let sections = [
            (cities, CITY_SIZE),
            (blocks, FENCE_SIZE),
            (entry_bytes, 1),
            (divisions, DIVISION_SIZE),
            (aliases, ALIAS_SIZE),
        ];
        let expected = sections
            .iter()
            .try_fold(HEADER_SIZE + strings, |sum, &(count, size)| {
                count.checked_mul(size)?.checked_add(sum)
            });
        if expected != Some(bytes.len()) {
            return Err(CorruptIndex(format!(
                "{} bytes where the header says {expected:?}",
                bytes.len()
            )));
        }
        Ok(Self {
            bytes,
            cities,
            blocks,
            entry_bytes,
            divisions,
            aliases,
        })
    }

    /// The number of cities.
    pub fn len(&self) -> usize {
        self.cities
    }

    pub fn is_empty(&self) -> bool {
        self.cities == 0
    }

    /// The size of the index in bytes.
    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    /// The best match for `query` ("City", "City, Qualifier" or "City, Division, Country"), if any.
    pub fn lookup(&self, query: &str) -> Option<City<'_>> {
        let found = self.lookup_folded(query, fold);
        let found = match found {
            None if has_other_script(query) => self.lookup_folded(query, fold_transliterated),
            found => found,
        };
        self.found(&found?)
    }

    /// Every city, most populous first.
    pub fn cities(&self) -> impl Iterator<Item = City<'_>> {
        (0..self.cities).filter_map(|i| self.found(&self.city(i)?))
    }

    /// Walks the whole entries section: each entry lies within it, sorts at
    /// or after the one before, names a city of the index, and is found
    /// through the fences with exactly the cities filed under its key.
    pub fn verify(&self) -> Result<(), CorruptIndex> {
        let entries = self.entries();
        let found_alike = |key: &[u8], cities: &[u32]| {
            if entries.cities_named(key).eq(cities.iter().copied()) {
                Ok(())
            } else {
                let key = String::from_utf8_lossy(key);
                Err(CorruptIndex(format!(
                    "the fences do not lead to the cities of '{key:.40}'"
                )))
            }
        };
        let mut run: Option<(&[u8], Vec<u32>)> = None;
        let mut at = 0;
        while at < entries.blocks.len() {
            let (key, city, next) = entry_at(entries.blocks, at).ok_or_else(|| {
                CorruptIndex(format!("the entry at {at} runs past the entries section"))
            })?;
            if city as usize >= self.cities {
                return Err(CorruptIndex(format!(
                    "the entry at {at} names city {city} of {}",
                    self.cities
                )));
            }
            match &mut run {
                Some((run_key, cities)) if *run_key == key => cities.push(city),
                Some((run_key, _)) if *run_key > key => {
                    return Err(CorruptIndex(format!("the entry at {at} is out of order")))
                }
                _ => {
                    if let Some((run_key, cities)) = run.replace((key, vec![city])) {
                        found_alike(run_key, &cities)?;
                    }
                }
            }
            at = next;
        }
        match run {
            Some((key, cities)) => found_alike(key, &cities),
            None => Ok(()),
        }
    }

    fn found(&self, city: &CityRecord) -> Option<City<'_>> {
        Some(City {
            latitude: city.latitude,
            longitude: city.longitude,
            name: self.answer(city)?,
        })
    }

    fn lookup_folded(&self, query: &str, fold: fn(&str) -> String) -> Option<CityRecord> {
        if let Some(city) = self.candidates(&fold(query)).next() {
            return Some(city);
        }
        // Full-width, ideographic and Arabic commas separate as well.
        let parts: Vec<&str> = query.split([',', '，', '、', '،']).collect();
        let joined = |parts: &[&str]| fold(&parts.join(","));
        // "City, Country" and "City, Division, Country"; one country's name
        // holds a comma ("Bonaire, Saint Eustatius and Saba").
        for country_parts in [1, 2] {
            let Some(rest) = parts
                .len()
                .checked_sub(country_parts)
                .filter(|&rest| rest > 0)
            else {
                continue;
            };
            let Some(country) = self.country(&joined(&parts[rest..])) else {
                continue;
            };
            let found = self
                .candidates(&joined(&parts[..rest]))
                .find(|city| city.country == country);
            if found.is_some() {
                return found;
            }
            if rest >= 2 {
                let division = fold(parts[rest - 1]);
                let found = self
                    .candidates(&joined(&parts[..rest - 1]))
                    .find(|city| city.country == country && self.in_division(city, &division));
                if found.is_some() {
                    return found;
                }
            }
        }
        // "City, Division": a qualifier that is no country, or a country without that city
        // ("Springfield, IL", where IL is also Israel's code).
        let (name, division) = parts.split_at(parts.len().checked_sub(1).filter(|&n| n > 0)?);
        let division = fold(division[0]);
        self.candidates(&joined(name))
            .find(|city| self.in_division(city, &division))
    }

    /// Every city named `key` (folded), best candidate first.
    fn candidates<'k>(&'k self, key: &'k str) -> impl Iterator<Item = CityRecord> + 'k {
        self.entries()
            .cities_named(key.as_bytes())
            .filter_map(|city| self.city(city as usize))
    }

    /// The ISO2 code of the country `key` (folded) names.
    fn country(&self, key: &str) -> Option<[u8; 2]> {
        let key = key.as_bytes();
        let i = lower_bound(self.aliases, |i| self.alias(i).0 < key);
        let (alias, code) = self.alias(i);
        (i < self.aliases && alias == key).then_some(code)
    }

    fn in_division(&self, city: &CityRecord, key: &str) -> bool {
        if city.division == NO_DIVISION || key.is_empty() {
            return false;
        }
        let at = self.divisions_start() + city.division as usize * DIVISION_SIZE;
        (city.division as usize) < self.divisions
            && (self.string_at(at) == key.as_bytes() || self.string_at(at + 6) == key.as_bytes())
    }

    fn entries(&self) -> Entries<'_> {
        let fences = self.fences_start();
        let entries = self.entries_start();
        // from_bytes checked that the sections fit.
        Entries {
            fences: self.bytes.get(fences..entries).unwrap_or_default(),
            blocks: self
                .bytes
                .get(entries..entries + self.entry_bytes)
                .unwrap_or_default(),
        }
    }

    fn alias(&self, i: usize) -> (&[u8], [u8; 2]) {
        let at = self.aliases_start() + i * ALIAS_SIZE;
        let code = self.bytes.get(at + 6..at + 8).unwrap_or(b"??");
        (self.string_at(at), [code[0], code[1]])
    }

    fn city(&self, i: usize) -> Option<CityRecord> {
        if i >= self.cities {
            return None;
        }
        let at = HEADER_SIZE + i * CITY_SIZE;
        let f64_at = |at: usize| {
            Some(f64::from_le_bytes(
                self.bytes.get(at..at + 8)?.try_into().ok()?,
            ))
        };
        let tail = self.bytes.get(at + 22..at + 26)?;
        Some(CityRecord {
            latitude: f64_at(at)?,
            longitude: f64_at(at + 8)?,
            answer_at: at + 16,
            country: [tail[0], tail[1]],
            division: u16::from_le_bytes([tail[2], tail[3]]),
        })
    }

    /// The name `city` is given as in answers.
    fn answer(&self, city: &CityRecord) -> Option<&str> {
        std::str::from_utf8(self.string_at(city.answer_at)).ok()
    }

    fn fences_start(&self) -> usize {
        HEADER_SIZE + self.cities * CITY_SIZE
    }

    fn entries_start(&self) -> usize {
        self.fences_start() + self.blocks * FENCE_SIZE
    }

    fn divisions_start(&self) -> usize {
        self.entries_start() + self.entry_bytes
    }

    fn aliases_start(&self) -> usize {
        self.divisions_start() + self.divisions * DIVISION_SIZE
    }

    /// The string a (u32 offset, u16 length) reference at `at` points to; empty if out of bounds.
    fn string_at(&self, at: usize) -> &[u8] {
        let strings = self.aliases_start() + self.aliases * ALIAS_SIZE;
        let reference = || {
            let offset = u32_at(&self.bytes, at)? as usize;
            let length = u16::from_le_bytes(self.bytes.get(at + 4..at + 6)?.try_into().ok()?);
            self.bytes
                .get(strings + offset..strings + offset + length as usize)
        };
        reference().unwrap_or_default()
    }
}

/// The fence table and the entries section.
struct Entries<'a> {
    fences: &'a [u8],
    blocks: &'a [u8],
}

impl<'a> Entries<'a> {
    /// The cities filed under `key`, in stored order (best candidate first).
    fn cities_named<'k>(&self, key: &'k [u8]) -> impl Iterator<Item = u32> + 'k
    where
        'a: 'k,
    {
        let blocks = self.blocks;
        let mut at = self.scan_start(key);
        // One pass: skip the keys below `key`, yield its cities, stop at the first key past it.
        std::iter::from_fn(move || loop {
            let (entry_key, city, next) = entry_at(blocks, at)?;
            at = next;
            match entry_key.cmp(key) {
                Ordering::Less => {}
                Ordering::Equal => return Some(city),
                Ordering::Greater => {
                    at = usize::MAX;
                    return None;
                }
            }
        })
    }

    /// Where the scan for `key` starts in the entries section.
    fn scan_start(&self, key: &[u8]) -> usize {
        let prefix = fence_prefix(key);
        let fence = |i: usize| self.fences.get(i * FENCE_SIZE..(i + 1) * FENCE_SIZE);
        // Fences are truncated keys: a block whose fence equals `key`'s may
        // hold keys below it. So the scan starts in the last block whose
        // fence sorts strictly below (every block before it ends below
        // `key`), or in the first, and goes on until a key sorts past `key`.
        let below = lower_bound(self.fences.len() / FENCE_SIZE, |i| {
            fence(i).is_some_and(|fence| fence[..FENCE_PREFIX] < prefix[..])
        });
        match below.checked_sub(1) {
            None => 0,
            // An offset past the end (corrupt data) finds nothing.
            Some(i) => fence(i)
                .and_then(|fence| u32_at(fence, FENCE_PREFIX))
                .map_or(usize::MAX, |at| at as usize),
        }
    }
}

/// The entry at `at` in `blocks`: (key, city, where the next entry starts),
/// or None past the end or where a length runs past it.
fn entry_at(blocks: &[u8], at: usize) -> Option<(&[u8], u32, usize)> {
    let key_at = at.checked_add(2)?;
    let length = u16::from_le_bytes(blocks.get(at..key_at)?.try_into().ok()?);
    let city_at = key_at + length as usize;
    let key = blocks.get(key_at..city_at)?;
    Some((key, u32_at(blocks, city_at)?, city_at + 4))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The first index in `0..len` for which `before` is false (`before` must be true, then false).
fn lower_bound(len: usize, before: impl Fn(usize) -> bool) -> usize {
    let (mut low, mut high) = (0, len);
    while low < high {
        let middle = low + (high - low) / 2;
        if before(middle) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    low
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{compile, compile_with, fences_and_blocks};
    use proptest::prelude::*;

    const CITIES: &str =
        "name\tlatitude\tlongitude\tcountry_code\tadmin1\tpopulation\talternate_names
Big Town\t1\t1\tGB\tENG\t900\tGrande Ville|Grande-Ville|Grande ville
Paris\t48.85\t2.35\tFR\t11\t800\tLutetia|Parigi|Парис|パリ
Grande Ville\t2\t2\tFR\t11\t100\t
Old Name Town\t3\t3\tFR\t11\t90\tLittle Place
Paris\t33.66\t-95.55\tUS\tTX\t25\t
Springfield\t39.8\t-89.6\tUS\tIL\t20\t
Springfield\t42.1\t-72.59\tUS\tMA\t15\tSpringfield City
Parigi\t5\t5\tIT\t01\t10\t
Little Place\t4\t4\tFR\t11\t8\t
Hamlet\t6\t6\tFR\t11\t1\t
";
    const COUNTRIES: &str = "iso2\tiso3\tname\talternate_names
FR\tFRA\tFrance\t
GB\tGBR\tUnited Kingdom\tUK|Britain
IL\tISR\tIsrael\t
IT\tITA\tItaly\t
US\tUSA\tUnited States\tUSA|America
";
    const ADMIN1: &str = "country_code\tadmin1\tname
FR\t11\tÎle-de-France
GB\tENG\tEngland
US\tIL\tIllinois
US\tMA\tMassachusetts
US\tTX\tTexas
";

    fn from_tsv(cities: &str) -> Index {
        Index::from_bytes(compile(cities, COUNTRIES, ADMIN1).unwrap()).unwrap()
    }

    fn small() -> Index {
        from_tsv(CITIES)
    }

    fn name(query: &str) -> Option<String> {
        small().lookup(query).map(|place| place.name.to_owned())
    }

    #[test]
    fn most_populous_wins_and_a_qualifier_narrows() {
        let g = small();
        assert_eq!(g.len(), 10);
        assert_eq!(name("paris").as_deref(), Some("Paris, France"));
        assert_eq!(name("Paris, USA").as_deref(), Some("Paris, United States"));
        assert_eq!(g.lookup("paris , us").unwrap().latitude, 33.66);
        assert_eq!(name("Paris, Britain"), None);
        assert_eq!(name("Atlantis"), None);
    }

    #[test]
    fn a_division_name_or_code_narrows_and_is_shown_where_it_disambiguates() {
        let illinois = Some("Springfield, Illinois, United States");
        assert_eq!(name("Springfield").as_deref(), illinois);
        // "IL" is also Israel's code: a country without that city does not stop the search.
        assert_eq!(name("Springfield, IL").as_deref(), illinois);
        assert_eq!(name("springfield, illinois").as_deref(), illinois);
        let massachusetts = Some("Springfield, Massachusetts, United States");
        assert_eq!(name("Springfield, MA").as_deref(), massachusetts);
        assert_eq!(
            name("Springfield, Massachusetts, USA").as_deref(),
            massachusetts
        );
        assert_eq!(name("Springfield, Massachusetts, France"), None);
        assert_eq!(name("Springfield, Texas"), None);
        // One Paris per country: the division would say nothing more.
        assert_eq!(
            name("Paris, Texas").as_deref(),
            Some("Paris, United States")
        );
    }

    #[test]
    fn a_common_alternate_name_of_a_far_more_populous_city_beats_an_own_name() {
        // Listed in three spellings and nine times as populous as the town that
        // owns the name... but not ten times: the own name keeps it.
        assert_eq!(
            name("Grande Ville").as_deref(),
            Some("Grande Ville, France")
        );
        // "Parigi" is listed once for Paris, 80 times as populous: rare, so the own name wins.
        assert_eq!(name("Parigi").as_deref(), Some("Parigi, Italy"));
        // A rare alternate still finds its city when no city owns the name.
        assert_eq!(name("lutetia").as_deref(), Some("Paris, France"));
        // "Little Place" is an alternate of a town 11 times as populous, but listed once.
        assert_eq!(
            name("Little Place").as_deref(),
            Some("Little Place, France")
        );
    }

    #[test]
    fn at_more_than_ten_times_the_population_a_common_alternate_wins() {
        let cities = CITIES.replace(
            "Grande Ville\t2\t2\tFR\t11\t100",
            "Grande Ville\t2\t2\tFR\t11\t89",
        );
        let g = from_tsv(&cities);
        assert_eq!(
            g.lookup("Grande Ville").unwrap().name,
            "Big Town, United Kingdom"
        );
        // Narrowed to its country, the town that owns the name is found.
        assert_eq!(
            g.lookup("Grande Ville, France").unwrap().name,
            "Grande Ville, France"
        );
    }

    #[test]
    fn names_in_other_scripts_match_as_written_or_transliterated() {
        assert_eq!(name("Парис").as_deref(), Some("Paris, France"));
        assert_eq!(name("パリ").as_deref(), Some("Paris, France"));
        // No Cyrillic name listed: the transliteration finds the Latin one.
        assert_eq!(
            name("Гранде Вилле").as_deref(),
            Some("Grande Ville, France")
        );
        assert_eq!(name("パリ、France").as_deref(), Some("Paris, France"));
        assert_eq!(name("パリ, US"), None);
    }

    #[test]
    fn every_answer_asked_again_finds_the_same_place() {
        let g = small();
        assert_eq!(g.cities().count(), g.len());
        for city in g.cities() {
            assert_eq!(g.lookup(city.name), Some(city));
        }
    }

    #[test]
    fn a_sound_index_verifies() {
        small().verify().unwrap();
        Index::from_bytes(compile_with(&namesakes_tsv(), COUNTRIES, ADMIN1, 3).unwrap())
            .unwrap()
            .verify()
            .unwrap();
    }

    #[test]
    fn corrupt_data_is_an_error_not_a_panic() {
        assert!(compile("header\nParis\t1\t2\tFR\n", COUNTRIES, ADMIN1).is_err());
        assert!(compile(CITIES, "h\nfr\tFRA\tFrance\t\n", ADMIN1).is_err());
        let mut bytes = compile(CITIES, COUNTRIES, ADMIN1).unwrap();
        bytes.pop();
        assert!(Index::from_bytes(bytes).is_err());
        assert!(Index::from_bytes(b"GAZ".as_slice()).is_err());
        let mut huge_counts = MAGIC.to_vec();
        huge_counts.extend_from_slice(&[0xFF; HEADER_SIZE - MAGIC.len()]);
        assert!(Index::from_bytes(huge_counts).is_err());
    }

    /// Every entry, read in one walk over the whole entries section.
    fn all_entries(entries: &Entries) -> Vec<(Vec<u8>, u32)> {
        let (mut all, mut at) = (Vec::new(), 0);
        while let Some((key, city, next)) = entry_at(entries.blocks, at) {
            all.push((key.to_vec(), city));
            at = next;
        }
        assert_eq!(
            at,
            entries.blocks.len(),
            "entries end where the section does"
        );
        all
    }

    /// Looks up each of `keys` and, with `neighbours`, keys next to it (one
    /// byte shorter, one byte longer, the last byte one more or less: mostly
    /// absent) through the fences and blocks, and checks the cities against a
    /// search of `all`.
    fn assert_lookups_agree(
        entries: &Entries,
        all: &[(Vec<u8>, u32)],
        keys: &[Vec<u8>],
        neighbours: bool,
    ) {
        assert!(all.windows(2).all(|pair| pair[0].0 <= pair[1].0), "sorted");
        let naive = |key: &[u8]| {
            let start = all.partition_point(|(k, _)| k.as_slice() < key);
            let end = all.partition_point(|(k, _)| k.as_slice() <= key);
            all[start..end]
                .iter()
                .map(|&(_, city)| city)
                .collect::<Vec<_>>()
        };
        for key in keys {
            let mut probes = vec![key.clone()];
            if neighbours {
                probes.push([key.as_slice(), &[0]].concat());
                probes.push([key.as_slice(), &[0xFF]].concat());
                if let Some((&last, rest)) = key.split_last() {
                    probes.push(rest.to_vec());
                    probes.push([rest, &[last.wrapping_add(1)]].concat());
                    probes.push([rest, &[last.wrapping_sub(1)]].concat());
                }
            }
            for probe in probes {
                let found: Vec<u32> = entries.cities_named(&probe).collect();
                assert_eq!(
                    found,
                    naive(&probe),
                    "{:?}",
                    String::from_utf8_lossy(&probe)
                );
            }
        }
    }

    /// 12 cities whose names share 17 bytes ("saint jean de luz"), more than a fence holds.
    fn namesakes_tsv() -> String {
        let mut tsv = CITIES.to_owned();
        for (i, suffix) in "ABCDEFGHIJKL".chars().enumerate() {
            tsv += &format!(
                "Saint Jean de Luz {suffix}\t{i}\t10\tFR\t11\t{}\t\n",
                50 - i
            );
        }
        tsv += "Aachen\t-1\t-1\tFR\t11\t5\t\nZzyzx\t-2\t-2\tUS\tTX\t5\t\n";
        // A key as long as a fence, a prefix of the others', and one a byte shorter.
        tsv += "Saint Jean de Lu\t-3\t-3\tFR\t11\t5\t\nSaint Jean de L\t-4\t-4\tFR\t11\t5\t\n";
        tsv
    }

    #[test]
    fn tiny_blocks_find_every_key_across_block_boundaries() {
        let tsv = namesakes_tsv();
        for block_size in 1..=6 {
            let bytes = compile_with(&tsv, COUNTRIES, ADMIN1, block_size).unwrap();
            assert_eq!(u32_at(&bytes, MAGIC.len() + 8), Some(block_size as u32));
            let g = Index::from_bytes(bytes).unwrap();
            let entries = g.entries();
            let all = all_entries(&entries);
            assert_eq!(g.blocks, all.len().div_ceil(block_size));
            let shared = fence_prefix(b"saint jean de luz");
            let fences = entries.fences.chunks(FENCE_SIZE);
            let sharing = fences.filter(|f| f[..FENCE_PREFIX] == shared).count();
            assert!(sharing >= 12 / block_size, "{block_size}: {sharing} fences");
            let keys: Vec<Vec<u8>> = all.iter().map(|(key, _)| key.clone()).collect();
            assert_lookups_agree(&entries, &all, &keys, true);

            let at = |query: &str| g.lookup(query).map(|place| place.latitude);
            for (i, suffix) in "ABCDEFGHIJKL".chars().enumerate() {
                assert_eq!(at(&format!("saint jean de luz {suffix}")), Some(i as f64));
            }
            assert_eq!(at("Saint Jean de Lu"), Some(-3.0));
            assert_eq!(at("Saint Jean de L"), Some(-4.0));
            assert_eq!(at("Saint Jean de Luz"), None);
            assert_eq!(at("Saint Jean de Luz M"), None);
            // The first key and the last (Paris in Japanese), and keys before and after them.
            let last = &all[all.len() - 1].0;
            assert_eq!(
                (&all[0].0[..], &last[..]),
                (&b"aachen"[..], "パリ".as_bytes())
            );
            assert_eq!(at("Aachen"), Some(-1.0));
            assert_eq!(at("パリ"), Some(48.85));
            assert_eq!(at("Aa"), None);
            assert_eq!(at("パリパリ"), None);
            assert_eq!(at("Zzyzx"), Some(-2.0));
            // Two candidates, in ranking order, wherever the block boundary falls.
            let springfields: Vec<f64> = g.candidates("springfield").map(|c| c.latitude).collect();
            assert_eq!(springfields, [39.8, 42.1]);
        }
    }

    #[test]
    fn corrupt_blocks_and_fences_find_nothing_rather_than_panic() {
        let bytes = compile_with(&namesakes_tsv(), COUNTRIES, ADMIN1, 3).unwrap();
        let g = Index::from_bytes(bytes.clone()).unwrap();
        let (fences, divisions) = (g.fences_start(), g.divisions_start());
        // The first entry's length runs past the end of the section.
        let mut long = bytes.clone();
        long[g.entries_start()..g.entries_start() + 2].copy_from_slice(&u16::MAX.to_le_bytes());
        let long = Index::from_bytes(long).unwrap();
        assert_eq!(long.entries().cities_named(b"aachen").count(), 0);
        assert!(long.lookup("Aachen").is_none());
        // Any byte of the fences or entries, set to 0 or 0xFF: lookups and verify do not panic.
        let queries = [
            "Aachen",
            "Zzyzx",
            "Paris",
            "Springfield",
            "saint jean de luz c",
            "x",
        ];
        for at in fences..divisions {
            for value in [0, 0xFF] {
                let mut corrupt = bytes.clone();
                corrupt[at] = value;
                let g = Index::from_bytes(corrupt).unwrap();
                for query in queries {
                    let _ = g.lookup(query);
                }
                let _ = g.verify();
            }
        }
        // The header's block size must match the layout.
        for block_size in [0u32, 2, 4, u32::MAX] {
            let mut corrupt = bytes.clone();
            corrupt[MAGIC.len() + 8..MAGIC.len() + 12].copy_from_slice(&block_size.to_le_bytes());
            assert!(Index::from_bytes(corrupt).is_err(), "{block_size}");
        }
    }

    #[test]
    fn verify_finds_the_corruption_that_loading_does_not_look_for() {
        let bytes = compile_with(&namesakes_tsv(), COUNTRIES, ADMIN1, 3).unwrap();
        let g = Index::from_bytes(bytes.clone()).unwrap();
        let (fences, entries) = (g.fences_start(), g.entries_start());
        let corrupt = |at: usize, value: &[u8]| {
            let mut corrupt = bytes.clone();
            corrupt[at..at + value.len()].copy_from_slice(value);
            let index = Index::from_bytes(corrupt).unwrap();
            index.verify().unwrap_err().to_string()
        };
        // The first entry's length runs past the end of the section.
        let long = corrupt(entries, &u16::MAX.to_le_bytes());
        assert!(long.contains("runs past"), "{long}");
        // The first key ("aachen") made to sort after the second.
        let unsorted = corrupt(entries + 2, &[0xFF]);
        assert!(unsorted.contains("out of order"), "{unsorted}");
        // The first entry names a city past the last.
        let city_at = entries + 2 + "aachen".len();
        let no_city = corrupt(city_at, &u32::MAX.to_le_bytes());
        assert!(no_city.contains("names city"), "{no_city}");
        // The second fence leads to the third block: the second block's keys are lost.
        let offset_at = |fence: usize| fences + fence * FENCE_SIZE + FENCE_PREFIX;
        let third_block = bytes[offset_at(2)..offset_at(2) + 4].to_vec();
        let lost = corrupt(offset_at(1), &third_block);
        assert!(lost.contains("the fences do not lead"), "{lost}");
    }

    proptest! {
        /// Keys of a few bytes (0 and 0xFF among them: fences pad with 0),
        /// many sharing a prefix about as long as a fence's.
        #[test]
        fn block_lookups_agree_with_a_search_of_all_entries(
            keys in prop::collection::vec(
                (
                    prop::sample::select(vec![0usize, 3, 15, 16, 17, 20]),
                    prop::collection::vec(prop::sample::select(vec![0u8, 1, b'a', 0xFF]), 0..4),
                ),
                0..80,
            ),
            block_size in 1usize..8,
        ) {
            let mut keys: Vec<Vec<u8>> = keys
                .into_iter()
                .map(|(shared, suffix)| [vec![b'p'; shared], suffix].concat())
                .collect();
            keys.sort();
            let entries = keys.iter().zip(0..).map(|(key, city)| (key.as_slice(), city));
            let (fences, blocks) = fences_and_blocks(entries, block_size).unwrap();
            let entries = Entries { fences: &fences, blocks: &blocks };
            let all = all_entries(&entries);
            prop_assert_eq!(all.len(), keys.len());
            assert_lookups_agree(&entries, &all, &keys, true);
        }
    }
}
