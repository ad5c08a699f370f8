//! Compiles the gazetteer's TSV files into an index: every name folded,
//! ranked (the crate docs give the rule) and sorted once, when the index is
//! built, so that loading it only checks a header. [`crate::format`] has the layout.

use crate::fold::fold;
use crate::format::{
    fence_prefix, ALIAS_SIZE, BLOCK_SIZE, CITY_SIZE, DIVISION_SIZE, FENCE_SIZE, HEADER_SIZE, MAGIC,
    NO_DIVISION,
};
use std::cmp::Reverse;
use std::collections::HashMap;

/// An alternate name GeoNames lists for a city in at least this many spellings
/// that fold alike (`Pekin`, `Pekín`, `Pékin` for Beijing) is common, as
/// several languages write it: one language's or one era's name is listed
/// once or twice (`Salisbury` for Harare).
const COMMON_SPELLINGS: usize = 3;
/// An own name counts this many times its city's population against a
/// common alternate name of another city.
const OWN_NAME_WEIGHT: u64 = 10;

/// Why TSV texts could not be compiled: a malformed row, or more than the format holds.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CompileError(String);

struct City<'a> {
    name: &'a str,
    latitude: f64,
    longitude: f64,
    country: [u8; 2],
    admin1: &'a str,
    population: u64,
    /// "|"-separated.
    alternates: &'a str,
}

struct Division<'a> {
    code: &'a str,
    name: &'a str,
}

/// How a key names a city; the derived order is the ranking (smallest first).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    /// 0: own name or common alternate; 1: any other alternate.
    tier: u8,
    weighted_population: Reverse<u64>,
    /// Own name before alternate at equal weight.
    alternate: bool,
    /// Cities are numbered by population, most populous first.
    city: u32,
}

/// Builds the index from the three TSV texts written by `scripts/data/build_gazetteer.py`.
pub fn compile(
    cities_tsv: &str,
    countries_tsv: &str,
    admin1_tsv: &str,
) -> Result<Vec<u8>, CompileError> {
    compile_with(cities_tsv, countries_tsv, admin1_tsv, BLOCK_SIZE)
}

/// [`compile`] with `block_size` entries a block (tests use tiny blocks).
pub(crate) fn compile_with(
    cities_tsv: &str,
    countries_tsv: &str,
    admin1_tsv: &str,
    block_size: usize,
) -> Result<Vec<u8>, CompileError> {
    let (country_names, mut aliases) = countries(countries_tsv)?;
    let (divisions, division_ids) = divisions(admin1_tsv)?;
    let cities = cities(cities_tsv)?;
    u32::try_from(cities.len()).map_err(|_| CompileError("too many cities".into()))?;

    let mut entries: Vec<(String, Rank)> = Vec::new();
    let mut own_keys = Vec::with_capacity(cities.len());
    for (id, city) in cities.iter().enumerate() {
        let id = id as u32;
        let own = fold(city.name);
        let mut spellings: HashMap<String, usize> = HashMap::new();
        for alternate in city.alternates() {
            *spellings.entry(fold(alternate)).or_default() += 1;
        }
        for (key, count) in spellings {
            if key.is_empty() || key == own {
                continue;
            }
            let common = count >= COMMON_SPELLINGS;
            entries.push((
                key,
                Rank {
                    tier: u8::from(!common),
                    weighted_population: Reverse(city.population),
                    alternate: true,
                    city: id,
                },
            ));
        }
        if !own.is_empty() {
            entries.push((
                own.clone(),
                Rank {
                    tier: 0,
                    weighted_population: Reverse(city.population.saturating_mul(OWN_NAME_WEIGHT)),
                    alternate: false,
                    city: id,
                },
            ));
        }
        own_keys.push(own);
    }
    // One entry per (key, city): an alternate that folds like the own name was skipped.
    entries.sort_unstable();

    let answers = answer_names(
        &cities,
        &own_keys,
        &entries,
        &country_names,
        &divisions,
        &division_ids,
    );

    let (fences, blocks) = fences_and_blocks(
        entries
            .iter()
            .map(|(key, rank)| (key.as_bytes(), rank.city)),
        block_size,
    )?;

    let mut out = Output::default();
    out.bytes.extend_from_slice(MAGIC);
    aliases.sort();
    for count in [
        cities.len(),
        entries.len(),
        block_size,
        blocks.len(),
        divisions.len(),
        aliases.len(),
    ] {
        out.u32(count)?;
    }
    let strings_len_at = out.bytes.len();
    out.bytes.extend_from_slice(&[0; 4]);
    for (city, answer) in cities.iter().zip(&answers) {
        out.bytes.extend_from_slice(&city.latitude.to_le_bytes());
        out.bytes.extend_from_slice(&city.longitude.to_le_bytes());
        out.string(answer)?;
        out.bytes.extend_from_slice(&city.country);
        let division = division_ids
            .get(&(city.country, city.admin1))
            .map_or(NO_DIVISION, |&id| id);
        out.bytes.extend_from_slice(&division.to_le_bytes());
    }
    out.bytes.extend_from_slice(&fences);
    out.bytes.extend_from_slice(&blocks);
    for division in &divisions {
        out.string(&fold(division.code))?;
        out.string(&fold(division.name))?;
    }
    for (key, code) in &aliases {
        out.string(key)?;
        out.bytes.extend_from_slice(code);
    }
    let strings_len = out.strings.len();
    let strings_len_u32 =
        u32::try_from(strings_len).map_err(|_| CompileError("more than 4 GiB of names".into()))?;
    out.bytes[strings_len_at..strings_len_at + 4].copy_from_slice(&strings_len_u32.to_le_bytes());
    let mut bytes = out.bytes;
    bytes.extend_from_slice(out.strings.as_bytes());
    // The reader finds each section by these sizes: writer and reader must agree.
    let expected = HEADER_SIZE
        + cities.len() * CITY_SIZE
        + entries.len().div_ceil(block_size) * FENCE_SIZE
        + blocks.len()
        + divisions.len() * DIVISION_SIZE
        + aliases.len() * ALIAS_SIZE
        + strings_len;
    if bytes.len() != expected {
        return Err(CompileError(format!(
            "wrote {} bytes, the layout says {expected}",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// The fence table and the entries section for `entries` (sorted by key),
/// `block_size` entries a block.
pub(crate) fn fences_and_blocks<'a>(
    entries: impl Iterator<Item = (&'a [u8], u32)>,
    block_size: usize,
) -> Result<(Vec<u8>, Vec<u8>), CompileError> {
    if block_size == 0 {
        return Err(CompileError("the block size must be at least 1".into()));
    }
    let (mut fences, mut blocks) = (Vec::new(), Vec::new());
    let mut previous: &[u8] = &[];
    for (i, (key, city)) in entries.enumerate() {
        // The reader's scan stops at the first key past the one it looks for.
        if key < previous {
            return Err(CompileError("entries not sorted by key".into()));
        }
        previous = key;
        if i % block_size == 0 {
            let offset = u32::try_from(blocks.len())
                .map_err(|_| CompileError("more than 4 GiB of entries".into()))?;
            fences.extend_from_slice(&fence_prefix(key));
            fences.extend_from_slice(&offset.to_le_bytes());
        }
        // The longest shipped key has 418 bytes: a u8 length would not do.
        let length = u16::try_from(key.len()).map_err(|_| {
            let key = String::from_utf8_lossy(key);
            CompileError(format!("name too long: {key:.40}…"))
        })?;
        blocks.extend_from_slice(&length.to_le_bytes());
        blocks.extend_from_slice(key);
        blocks.extend_from_slice(&city.to_le_bytes());
    }
    u32::try_from(blocks.len()).map_err(|_| CompileError("more than 4 GiB of entries".into()))?;
    Ok((fences, blocks))
}

/// "Name, Country", or "Name, Division, Country" where the country has another
/// city of that name, or a city that the name would find first.
fn answer_names(
    cities: &[City],
    own_keys: &[String],
    entries: &[(String, Rank)],
    country_names: &CountryNames,
    divisions: &[Division],
    division_ids: &DivisionIds,
) -> Vec<String> {
    let mut own_names_per_country: HashMap<(&str, [u8; 2]), usize> = HashMap::new();
    for (city, key) in cities.iter().zip(own_keys) {
        *own_names_per_country
            .entry((key, city.country))
            .or_default() += 1;
    }
    // Entries are sorted best first within a key: the first per country wins "Name, Country".
    let mut first_in_country: HashMap<(&str, [u8; 2]), u32> = HashMap::new();
    for (key, rank) in entries {
        let country = cities[rank.city as usize].country;
        first_in_country.entry((key, country)).or_insert(rank.city);
    }
    cities
        .iter()
        .zip(own_keys)
        .enumerate()
        .map(|(id, (city, key))| {
            let country = country_names
                .get(&city.country)
                .copied()
                .unwrap_or(std::str::from_utf8(&city.country).unwrap_or("??"));
            let ambiguous = own_names_per_country[&(key.as_str(), city.country)] > 1
                || first_in_country
                    .get(&(key.as_str(), city.country))
                    .is_some_and(|&first| first as usize != id);
            let division = division_ids
                .get(&(city.country, city.admin1))
                .map(|&id| divisions[id as usize].name);
            match division {
                Some(division) if ambiguous => format!("{}, {division}, {country}", city.name),
                _ => format!("{}, {country}", city.name),
            }
        })
        .collect()
}

impl City<'_> {
    fn alternates(&self) -> impl Iterator<Item = &str> {
        self.alternates.split('|').filter(|a| !a.is_empty())
    }
}

/// The rows of a TSV text after its header line, split into exactly `N` columns.
fn rows<'a, const N: usize>(
    file: &'static str,
    text: &'a str,
) -> impl Iterator<Item = Result<[&'a str; N], CompileError>> {
    text.lines().enumerate().skip(1).map(move |(number, line)| {
        let fields: Vec<&str> = line.split('\t').collect();
        fields
            .try_into()
            .map_err(|_| CompileError(format!("{file} line {}: expected {N} columns", number + 1)))
    })
}

fn country_code(file: &str, text: &str) -> Result<[u8; 2], CompileError> {
    match text.as_bytes() {
        [a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => Ok([*a, *b]),
        _ => Err(CompileError(format!("{file}: bad country code '{text}'"))),
    }
}

fn cities(tsv: &str) -> Result<Vec<City<'_>>, CompileError> {
    rows::<7>("cities", tsv)
        .map(|row| {
            let [name, latitude, longitude, country, admin1, population, alternates] = row?;
            let number = |text: &str| {
                text.parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .ok_or_else(|| CompileError(format!("cities: bad number '{text}' for {name}")))
            };
            Ok(City {
                name,
                latitude: number(latitude)?,
                longitude: number(longitude)?,
                country: country_code("cities", country)?,
                admin1,
                population: number(population)? as u64,
                alternates,
            })
        })
        .collect()
}

/// ISO2 code -> country name.
type CountryNames<'a> = HashMap<[u8; 2], &'a str>;
/// (country, admin1 code) -> index of the division.
type DivisionIds<'a> = HashMap<([u8; 2], &'a str), u16>;
/// (folded country name, alternate, ISO2 or ISO3 code; ISO2 code).
type CountryAliases = Vec<(String, [u8; 2])>;

/// The country names, and what names each country.
fn countries(tsv: &str) -> Result<(CountryNames<'_>, CountryAliases), CompileError> {
    let mut names = HashMap::new();
    let mut aliases: HashMap<String, [u8; 2]> = HashMap::new();
    for row in rows::<4>("countries", tsv) {
        let [iso2, iso3, name, alternates] = row?;
        let code = country_code("countries", iso2)?;
        names.insert(code, name);
        for alias in [iso2, iso3, name].into_iter().chain(alternates.split('|')) {
            let key = fold(alias);
            if !key.is_empty() {
                // The first country to claim an alias keeps it (the file is sorted by code).
                aliases.entry(key).or_insert(code);
            }
        }
    }
    Ok((names, aliases.into_iter().collect()))
}

/// The divisions, and their indexes by (country, admin1 code).
fn divisions(tsv: &str) -> Result<(Vec<Division<'_>>, DivisionIds<'_>), CompileError> {
    let mut list = Vec::new();
    let mut ids = HashMap::new();
    for row in rows::<3>("admin1", tsv) {
        let [country, code, name] = row?;
        let id = u16::try_from(list.len())
            .ok()
            .filter(|&id| id != NO_DIVISION)
            .ok_or_else(|| CompileError("admin1: too many divisions".into()))?;
        ids.insert((country_code("admin1", country)?, code), id);
        list.push(Division { code, name });
    }
    Ok((list, ids))
}

#[derive(Default)]
struct Output {
    bytes: Vec<u8>,
    strings: String,
    offsets: HashMap<String, u32>,
}

impl Output {
    fn u32(&mut self, value: usize) -> Result<(), CompileError> {
        let value =
            u32::try_from(value).map_err(|_| CompileError(format!("{value} is too large")))?;
        self.bytes.extend_from_slice(&value.to_le_bytes());
        Ok(())
    }

    /// Appends a reference to `text`, stored once however often it is referred to.
    fn string(&mut self, text: &str) -> Result<(), CompileError> {
        let length = u16::try_from(text.len())
            .map_err(|_| CompileError(format!("name too long: {text:.40}…")))?;
        let offset = match self.offsets.get(text) {
            Some(&offset) => offset,
            None => {
                let offset = u32::try_from(self.strings.len())
                    .map_err(|_| CompileError("more than 4 GiB of names".into()))?;
                self.strings.push_str(text);
                self.offsets.insert(text.to_owned(), offset);
                offset
            }
        };
        self.bytes.extend_from_slice(&offset.to_le_bytes());
        self.bytes.extend_from_slice(&length.to_le_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsorted_or_overlong_keys_are_a_compile_error() {
        let unsorted = [(&b"b"[..], 0), (&b"a"[..], 1)];
        assert!(fences_and_blocks(unsorted.into_iter(), 4).is_err());
        let long = vec![b'a'; usize::from(u16::MAX) + 1];
        assert!(fences_and_blocks([(long.as_slice(), 0)].into_iter(), 4).is_err());
        assert!(fences_and_blocks([(&b"a"[..], 0)].into_iter(), 0).is_err());
    }
}
