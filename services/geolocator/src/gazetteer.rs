//! The offline geocoder: GeoNames cities with at least 15,000 inhabitants,
//! their alternate names in every script GeoNames lists, and the names of
//! their first-level divisions (states, provinces; see `data/LICENSE-GEONAMES.md`).
//! `build.rs` compiles `data/` into an index (the `gazetteer` crate has the format and
//! the ranking rule) that is embedded in the binary, so loading it is a header
//! check, not work.

use crate::place::FoundPlace;
use ::gazetteer::{CorruptIndex, Index};

/// The index `build.rs` compiled from `data/`.
const COMPILED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/gazetteer.bin"));

/// The shipped gazetteer.
pub struct Gazetteer {
    index: Index,
}

impl Gazetteer {
    /// The gazetteer compiled into the binary (checks its header only).
    pub fn load() -> Result<Self, CorruptIndex> {
        Index::from_bytes(COMPILED).map(|index| Self { index })
    }

    /// The number of places.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The size of the compiled index in bytes.
    pub fn size(&self) -> usize {
        self.index.size()
    }

    /// The best match for `query` ("City", "City, Qualifier" or "City, Division, Country"), if any.
    pub fn lookup(&self, query: &str) -> Option<FoundPlace> {
        self.index.lookup(query).map(|city| FoundPlace {
            latitude: city.latitude,
            longitude: city.longitude,
            name: city.name.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::gazetteer::fold::fold;

    #[test]
    fn the_shipped_gazetteer_loads_and_its_answers_find_their_places_again() {
        let g = Gazetteer::load().unwrap();
        assert!(g.len() > 30_000, "{}", g.len());
        assert_eq!(g.index.cities().count(), g.len());
        let (mut namesakes, mut wrong) = (0, Vec::new());
        for city in g.index.cities() {
            match g.lookup(city.name) {
                Some(found)
                    if (found.latitude, found.longitude) == (city.latitude, city.longitude) => {}
                // Same name, division and country (two Longxing in Chongqing): nothing tells them apart.
                Some(found) if fold(&found.name) == fold(city.name) => namesakes += 1,
                other => wrong.push(format!("{} -> {other:?}", city.name)),
            }
        }
        assert_eq!(wrong, Vec::<String>::new());
        // 147 of 34,006 with the shipped data.
        assert!(namesakes < g.len() / 100, "{namesakes}");
    }

    #[test]
    fn the_shipped_index_finds_every_key_through_its_fences() {
        let g = Gazetteer::load().unwrap();
        g.index.verify().unwrap();
    }
}
