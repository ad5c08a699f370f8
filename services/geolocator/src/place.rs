//! What a geocoder found, before the geocoder says which source it was.

/// A place a source found: where it is and what the source calls it.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundPlace {
    pub latitude: f64,
    pub longitude: f64,
    pub name: String,
}
