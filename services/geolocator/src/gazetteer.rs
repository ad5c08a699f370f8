//! The offline gazetteer: GeoNames cities with at least 15,000 inhabitants
//! (see `data/LICENSE-GEONAMES.md`), compiled into the binary and indexed
//! once at start.
//!
//! Names are compared folded ([`crate::fold`]). A city's own name beats an
//! alternate name of another city, and among equal matches the most populous
//! wins. `"City, Qualifier"` narrows by country (name, ISO code or common
//! alternate) or, failing that, by first-level division code (`Springfield, IL`).

use crate::fold::fold;
use flate2::read::GzDecoder;
use std::collections::HashMap;
use std::io::Read;

const CITIES_GZ: &[u8] = include_bytes!("../data/cities15000.tsv.gz");
const COUNTRIES_TSV: &str = include_str!("../data/countries.tsv");

#[derive(Debug, Clone, PartialEq)]
pub struct City {
    pub name: Box<str>,
    pub latitude: f64,
    pub longitude: f64,
    pub country_code: [u8; 2],
    pub admin1: Box<str>,
    pub population: u64,
}

impl City {
    pub fn country_code(&self) -> &str {
        std::str::from_utf8(&self.country_code).unwrap_or("??")
    }
}

/// A folded name pointing at a city. Entries are sorted by key, then own names before
/// alternate names, then population, so the first entry of a key is the best match.
struct IndexEntry {
    key_start: u32,
    key_end: u32,
    /// Index into `cities`, which is sorted by population, most populous first.
    city: u32,
}

pub struct Gazetteer {
    cities: Vec<City>,
    /// All folded keys, concatenated; entries point into it (one allocation instead of ~150,000).
    keys: String,
    index: Vec<IndexEntry>,
    /// Folded country name, alternate name, ISO2 or ISO3 code -> ISO2 code.
    countries: HashMap<String, [u8; 2]>,
    /// ISO2 code -> country name, for answers.
    country_names: HashMap<[u8; 2], Box<str>>,
}

#[derive(Debug, thiserror::Error)]
#[error("the shipped gazetteer data is corrupt: {0}")]
pub struct GazetteerError(String);

/// A place a source found: where it is and what the source calls it.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundPlace {
    pub latitude: f64,
    pub longitude: f64,
    pub name: String,
}

impl Gazetteer {
    /// Decompresses and indexes the shipped data (a few hundred milliseconds in debug builds).
    pub fn load() -> Result<Self, GazetteerError> {
        let mut text = String::new();
        GzDecoder::new(CITIES_GZ)
            .read_to_string(&mut text)
            .map_err(|e| GazetteerError(e.to_string()))?;
        Self::from_tsv(&text, COUNTRIES_TSV)
    }

    /// Builds from the TSV texts (header line first; columns as written by `scripts/data/build_gazetteer.py`).
    pub fn from_tsv(cities_tsv: &str, countries_tsv: &str) -> Result<Self, GazetteerError> {
        let mut cities = Vec::new();
        let mut names: Vec<(String, bool, u32)> = Vec::new();
        for (line_number, line) in cities_tsv.lines().enumerate().skip(1) {
            let fields: Vec<&str> = line.split('\t').collect();
            let [name, latitude, longitude, country, admin1, population, alternates] = fields[..]
            else {
                return Err(GazetteerError(format!(
                    "line {}: expected 7 columns",
                    line_number + 1
                )));
            };
            let number = |text: &str| {
                text.parse::<f64>().map_err(|_| {
                    GazetteerError(format!("line {}: bad number '{text}'", line_number + 1))
                })
            };
            let city = City {
                name: name.into(),
                latitude: number(latitude)?,
                longitude: number(longitude)?,
                country_code: country_code(country).ok_or_else(|| {
                    GazetteerError(format!("line {}: bad country '{country}'", line_number + 1))
                })?,
                admin1: admin1.into(),
                population: number(population)? as u64,
            };
            let id = cities.len() as u32;
            names.push((fold(name), false, id));
            for alternate in alternates.split('|').filter(|a| !a.is_empty()) {
                names.push((fold(alternate), true, id));
            }
            cities.push(city);
        }
        // Stable order: key, then own names before alternates, then population (the file's order).
        names.retain(|(key, _, _)| !key.is_empty());
        names.sort_by(|a, b| (&a.0, a.1, a.2).cmp(&(&b.0, b.1, b.2)));
        names.dedup_by(|later, earlier| later.0 == earlier.0 && later.2 == earlier.2);
        let mut keys = String::with_capacity(names.iter().map(|n| n.0.len()).sum());
        let mut index = Vec::with_capacity(names.len());
        for (key, _alternate, city) in names {
            let key_start = keys.len() as u32;
            keys.push_str(&key);
            index.push(IndexEntry {
                key_start,
                key_end: keys.len() as u32,
                city,
            });
        }

        let mut countries = HashMap::new();
        let mut country_names = HashMap::new();
        for line in countries_tsv.lines().skip(1) {
            let fields: Vec<&str> = line.split('\t').collect();
            let [iso2, iso3, name, alternates] = fields[..] else {
                return Err(GazetteerError(format!(
                    "countries: expected 4 columns in '{line}'"
                )));
            };
            let code = country_code(iso2)
                .ok_or_else(|| GazetteerError(format!("countries: bad code '{iso2}'")))?;
            country_names.insert(code, name.into());
            for alias in [iso2, iso3, name].into_iter().chain(alternates.split('|')) {
                let key = fold(alias);
                if !key.is_empty() {
                    countries.entry(key).or_insert(code);
                }
            }
        }
        Ok(Self {
            cities,
            keys,
            index,
            countries,
            country_names,
        })
    }

    pub fn len(&self) -> usize {
        self.cities.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cities.is_empty()
    }

    fn key(&self, entry: &IndexEntry) -> &str {
        &self.keys[entry.key_start as usize..entry.key_end as usize]
    }

    /// Every city named `key` (folded), best candidates first.
    fn candidates<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a City> + 'a {
        let start = self.index.partition_point(|entry| self.key(entry) < key);
        self.index[start..]
            .iter()
            .take_while(move |entry| self.key(entry) == key)
            .map(|entry| &self.cities[entry.city as usize])
    }

    /// The best match for `query` ("City" or "City, Country"), if any.
    pub fn lookup(&self, query: &str) -> Option<FoundPlace> {
        if let Some(city) = self.candidates(&fold(query)).next() {
            return Some(self.place(city));
        }
        let (name, qualifier) = query.rsplit_once(',')?;
        let (name, qualifier) = (fold(name), fold(qualifier));
        if let Some(code) = self.countries.get(&qualifier) {
            if let Some(city) = self
                .candidates(&name)
                .find(|city| &city.country_code == code)
            {
                return Some(self.place(city));
            }
        }
        let by_division = self
            .candidates(&name)
            .find(|city| fold(&city.admin1) == qualifier);
        by_division.map(|city| self.place(city))
    }

    fn place(&self, city: &City) -> FoundPlace {
        let country = self
            .country_names
            .get(&city.country_code)
            .map(|n| n.as_ref())
            .unwrap_or(city.country_code());
        FoundPlace {
            latitude: city.latitude,
            longitude: city.longitude,
            name: format!("{}, {country}", city.name),
        }
    }
}

fn country_code(text: &str) -> Option<[u8; 2]> {
    match text.as_bytes() {
        [a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => Some([*a, *b]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CITIES: &str =
        "name\tlatitude\tlongitude\tcountry_code\tadmin1\tpopulation\talternate_names
Big Town\t1\t1\tGB\tENG\t900\tGrande Ville
Paris\t48.85\t2.35\tFR\t11\t800\tLutetia
Grande Ville\t2\t2\tFR\t11\t100\t
Paris\t33.66\t-95.55\tUS\tTX\t25\t
Springfield\t39.8\t-89.6\tUS\tIL\t20\t
";
    const COUNTRIES: &str = "iso2\tiso3\tname\talternate_names
FR\tFRA\tFrance\t
GB\tGBR\tUnited Kingdom\tUK|Britain
US\tUSA\tUnited States\tUSA|America
IL\tISR\tIsrael\t
";

    fn small() -> Gazetteer {
        Gazetteer::from_tsv(CITIES, COUNTRIES).unwrap()
    }

    #[test]
    fn most_populous_wins_and_a_qualifier_narrows() {
        let g = small();
        assert_eq!(g.lookup("paris").unwrap().name, "Paris, France");
        assert_eq!(g.lookup("Paris, USA").unwrap().name, "Paris, United States");
        assert_eq!(g.lookup("paris , us").unwrap().latitude, 33.66);
        assert_eq!(
            g.lookup("Springfield, IL").unwrap().name,
            "Springfield, United States"
        );
        assert!(g.lookup("Paris, Britain").is_none());
        assert!(g.lookup("Atlantis").is_none());
    }

    #[test]
    fn a_city_s_own_name_beats_a_bigger_city_s_alternate_name() {
        assert_eq!(
            small().lookup("Grande Ville").unwrap().name,
            "Grande Ville, France"
        );
        assert_eq!(small().lookup("lutetia").unwrap().name, "Paris, France");
    }
}
