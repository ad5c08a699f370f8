//! One entry point for every way a location text becomes coordinates, with
//! the `geocoder.lookups` metric and the domain span.

use crate::config::GeocoderKind;
use crate::fold::fold;
use crate::gazetteer::{Gazetteer, Place};
use crate::nominatim::{Nominatim, NominatimError};
use opentelemetry::metrics::Counter;
use opentelemetry::trace::get_active_span;
use opentelemetry::KeyValue;
use serde::Serialize;
use service_common::coordinates::{parse_latitude, parse_longitude};
use std::sync::LazyLock;
use telemetry::client::TracedClient;

static LOOKUPS: LazyLock<Counter<u64>> = LazyLock::new(|| {
    telemetry::meter()
        .u64_counter("geocoder.lookups")
        .with_unit("{lookup}")
        .with_description(
            "Geocoder lookups by source, result (hit/miss/error) and whether the cache answered.",
        )
        .build()
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Gazetteer,
    Nominatim,
    Coordinates,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Self::Gazetteer => "gazetteer",
            Self::Nominatim => "nominatim",
            Self::Coordinates => "coordinates",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GeocodeError {
    #[error("{0}")]
    InvalidCoordinates(String),
    #[error(transparent)]
    Nominatim(#[from] NominatimError),
}

pub struct Geocoder {
    kind: GeocoderKind,
    gazetteer: Gazetteer,
    nominatim: Nominatim,
}

impl Geocoder {
    pub fn new(kind: GeocoderKind, gazetteer: Gazetteer, nominatim: Nominatim) -> Self {
        Self {
            kind,
            gazetteer,
            nominatim,
        }
    }

    /// Resolves `location` (already checked to be non-blank). `Ok(None)` means not found.
    pub async fn locate(
        &self,
        client: &TracedClient,
        location: &str,
    ) -> Result<Option<(Place, Source)>, GeocodeError> {
        if let Some(coordinates) = as_coordinates(location) {
            let place = coordinates.map_err(GeocodeError::InvalidCoordinates)?;
            record(Source::Coordinates, "hit", false);
            return Ok(Some((place, Source::Coordinates)));
        }
        match self.kind {
            GeocoderKind::Gazetteer => {
                let place = self.gazetteer.lookup(location);
                record(
                    Source::Gazetteer,
                    if place.is_some() { "hit" } else { "miss" },
                    false,
                );
                Ok(place.map(|place| (place, Source::Gazetteer)))
            }
            GeocoderKind::Nominatim => match self
                .nominatim
                .lookup(client, &fold(location), location)
                .await
            {
                Ok(answer) => {
                    record(
                        Source::Nominatim,
                        if answer.place.is_some() {
                            "hit"
                        } else {
                            "miss"
                        },
                        answer.cached,
                    );
                    Ok(answer.place.map(|place| (place, Source::Nominatim)))
                }
                Err(error) => {
                    record(Source::Nominatim, "error", false);
                    log::error!("Nominatim lookup failed: {error}");
                    Err(error.into())
                }
            },
        }
    }
}

fn record(source: Source, result: &'static str, cached: bool) {
    get_active_span(|span| span.set_attribute(KeyValue::new("geocoder.source", source.as_str())));
    LOOKUPS.add(
        1,
        &[
            KeyValue::new("geocoder.source", source.as_str()),
            KeyValue::new("geocoder.result", result),
            KeyValue::new("geocoder.cached", cached.to_string()),
        ],
    );
}

/// `"<lat>, <lon>"` as coordinates: `None` if the text is not two numbers, an error if they are out of range.
fn as_coordinates(text: &str) -> Option<Result<Place, String>> {
    let (latitude, longitude) = text.split_once(',')?;
    let numeric = |s: &str| s.trim().parse::<f64>().is_ok();
    if !numeric(latitude) || !numeric(longitude) {
        return None;
    }
    Some(parse_latitude(latitude).and_then(|lat| {
        let lon = parse_longitude(longitude)?;
        Ok(Place {
            latitude: lat,
            longitude: lon,
            name: format!("{lat}, {lon}"),
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
