//! One entry point for every way a location text becomes coordinates, with
//! the `geocoder.lookups` metric and the domain span.

use crate::config::GeocoderKind;
use crate::gazetteer::Gazetteer;
use crate::nominatim::{Nominatim, NominatimError};
use api::{Latitude, LocationText, Longitude, Place, PlaceSource as Source};
use gazetteer::fold::fold;
use opentelemetry::metrics::{Counter, Meter};
use opentelemetry::trace::get_active_span;
use opentelemetry::KeyValue;
use std::sync::Arc;

/// The `geocoder.lookups` counter.
#[derive(Clone)]
pub struct Lookups(Counter<u64>);

impl Lookups {
    pub fn new(meter: &Meter) -> Self {
        Self(
            meter
                .u64_counter("geocoder.lookups")
                .with_unit("{lookup}")
                .with_description(
                    "Geocoder lookups by source, result (hit/miss/error) and whether the cache answered.",
                )
                .build(),
        )
    }

    fn record(&self, source: Source, result: &'static str, cached: bool) {
        get_active_span(|span| {
            span.set_attribute(KeyValue::new("geocoder.source", source.as_str()))
        });
        self.0.add(
            1,
            &[
                KeyValue::new("geocoder.source", source.as_str()),
                KeyValue::new("geocoder.result", result),
                KeyValue::new("geocoder.cached", cached.to_string()),
            ],
        );
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GeocodeError {
    #[error("{0}")]
    InvalidCoordinates(String),
    #[error(transparent)]
    Nominatim(#[from] NominatimError),
}

/// One worker's geocoder: the gazetteer shared by all workers, and its own Nominatim client.
pub struct Geocoder {
    kind: GeocoderKind,
    gazetteer: Arc<Gazetteer>,
    nominatim: Nominatim,
    lookups: Lookups,
}

impl Geocoder {
    pub fn new(
        kind: GeocoderKind,
        gazetteer: Arc<Gazetteer>,
        nominatim: Nominatim,
        lookups: Lookups,
    ) -> Self {
        Self {
            kind,
            gazetteer,
            nominatim,
            lookups,
        }
    }

    /// Resolves `location`. `Ok(None)` means not found.
    pub async fn locate(&self, location: &LocationText) -> Result<Option<Place>, GeocodeError> {
        let location = location.as_str();
        if let Some(coordinates) = as_coordinates(location) {
            let place = coordinates.map_err(GeocodeError::InvalidCoordinates)?;
            self.lookups.record(Source::Coordinates, "hit", false);
            return Ok(Some(place));
        }
        match self.kind {
            GeocoderKind::Gazetteer => {
                let found = self.gazetteer.lookup(location);
                self.lookups.record(
                    Source::Gazetteer,
                    if found.is_some() { "hit" } else { "miss" },
                    false,
                );
                Ok(found.map(|found| Place {
                    latitude: found.latitude,
                    longitude: found.longitude,
                    name: found.name,
                    source: Source::Gazetteer,
                }))
            }
            GeocoderKind::Nominatim => match self.nominatim.lookup(&fold(location), location).await
            {
                Ok(answer) => {
                    self.lookups.record(
                        Source::Nominatim,
                        if answer.place.is_some() {
                            "hit"
                        } else {
                            "miss"
                        },
                        answer.cached,
                    );
                    Ok(answer.place.map(|found| Place {
                        latitude: found.latitude,
                        longitude: found.longitude,
                        name: found.name,
                        source: Source::Nominatim,
                    }))
                }
                Err(error) => {
                    self.lookups.record(Source::Nominatim, "error", false);
                    log::error!("error.type" = error.kind(); "Nominatim lookup failed: {error}");
                    Err(error.into())
                }
            },
        }
    }
}

/// `"<lat>, <lon>"` as coordinates: `None` if the text is not two numbers, an error if they are out of range.
fn as_coordinates(text: &str) -> Option<Result<Place, String>> {
    let (latitude, longitude) = text.split_once(',')?;
    let numeric = |s: &str| s.trim().parse::<f64>().is_ok();
    if !numeric(latitude) || !numeric(longitude) {
        return None;
    }
    Some(latitude.parse::<Latitude>().and_then(|latitude| {
        let longitude: Longitude = longitude.parse()?;
        let (lat, lon) = (latitude.degrees(), longitude.degrees());
        Ok(Place {
            latitude: lat,
            longitude: lon,
            name: format!("{lat}, {lon}"),
            source: Source::Coordinates,
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::as_coordinates;

    #[test]
    fn two_numbers_are_coordinates_and_anything_else_is_a_name() {
        let place = as_coordinates(" 51.5, -0.12 ").unwrap().unwrap();
        assert_eq!((place.latitude, place.longitude), (51.5, -0.12));
        assert!(as_coordinates("91, 0").unwrap().is_err());
        assert!(as_coordinates("NaN, 0").unwrap().is_err());
        assert!(as_coordinates("Paris, France").is_none());
        assert!(as_coordinates("Paris").is_none());
    }
}
