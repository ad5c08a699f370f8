//! The JSON bodies of the three APIs.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// geolocator's answer: where a place is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Place {
    pub latitude: f64,
    pub longitude: f64,
    /// The name as the source knows it ("Paris, France"), or the coordinates as given.
    pub name: String,
    pub source: PlaceSource,
}

/// Where geolocator found the place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PlaceSource {
    /// The offline GeoNames gazetteer shipped with the service.
    Gazetteer,
    /// OpenStreetMap's Nominatim.
    Nominatim,
    /// The text was a `"<lat>, <lon>"` pair.
    Coordinates,
}

impl PlaceSource {
    /// The value used in JSON, span and metric attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gazetteer => "gazetteer",
            Self::Nominatim => "nominatim",
            Self::Coordinates => "coordinates",
        }
    }
}

/// iss-distance's answer: how far the point below the ISS is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Distance {
    /// Kilometres along the WGS84 geodesic, rounded to 2 decimals.
    pub distance: f64,
    /// The point on Earth below the ISS.
    pub location: IssPosition,
    pub source: PositionSource,
    /// Unix seconds of the position.
    pub timestamp: i64,
    /// With `source: sgp4`: the orbital elements the position was propagated
    /// from. Their age is what makes it an estimate (SGP4 drifts by kilometres
    /// a day, more at every reboost).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elements: Option<OrbitalElements>,
    /// Only when asked (`ground_track=true`): the predicted ground track from
    /// 45 minutes before to 45 minutes after `timestamp`, every 3 minutes (SGP4
    /// from the same elements: an estimate too). Absent when it cannot be propagated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ground_track: Vec<IssPosition>,
}

/// The ISS's two-line elements an SGP4 position comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrbitalElements {
    /// When the elements were measured, RFC 3339 in UTC.
    pub epoch: String,
    /// Days from `epoch` to the position's time.
    pub age_days: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IssPosition {
    pub latitude: f64,
    pub longitude: f64,
}

/// Where the ISS position came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PositionSource {
    /// The live position API.
    Live,
    /// SGP4 propagation of the ISS's orbital elements (an estimate).
    Sgp4,
}

impl PositionSource {
    /// The value used in JSON, span and metric attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Sgp4 => "sgp4",
        }
    }
}

/// The gateway's answer: iss-distance's answer with the place it was measured from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GatewayAnswer {
    #[serde(flatten)]
    pub distance: Distance,
    pub place: Place,
}

/// Every error response of the stack: `{"error": "<a sentence for people>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_gateway_answer_is_the_distance_with_the_place_beside_it() {
        let answer = GatewayAnswer {
            distance: Distance {
                distance: 1234.56,
                location: IssPosition {
                    latitude: -12.5,
                    longitude: 100.25,
                },
                source: PositionSource::Sgp4,
                timestamp: 1_700_000_000,
                elements: Some(OrbitalElements {
                    epoch: "2023-11-10T00:00:00Z".into(),
                    age_days: 4.56,
                }),
                ground_track: vec![IssPosition {
                    latitude: -10.0,
                    longitude: 98.0,
                }],
            },
            place: Place {
                latitude: 48.85,
                longitude: 2.35,
                name: "Paris, France".into(),
                source: PlaceSource::Gazetteer,
            },
        };
        let expected = json!({
            "distance": 1234.56,
            "location": {"latitude": -12.5, "longitude": 100.25},
            "source": "sgp4",
            "timestamp": 1_700_000_000,
            "elements": {"epoch": "2023-11-10T00:00:00Z", "age_days": 4.56},
            "ground_track": [{"latitude": -10.0, "longitude": 98.0}],
            "place": {"latitude": 48.85, "longitude": 2.35, "name": "Paris, France", "source": "gazetteer"},
        });
        assert_eq!(serde_json::to_value(&answer).unwrap(), expected);
        assert_eq!(
            serde_json::from_value::<GatewayAnswer>(expected).unwrap(),
            answer
        );
    }

    #[test]
    fn a_body_without_a_required_field_does_not_decode() {
        let no_coordinates = json!({"name": "Paris", "source": "gazetteer"});
        assert!(serde_json::from_value::<Place>(no_coordinates).is_err());
        let unknown_source =
            json!({"latitude": 1.0, "longitude": 2.0, "name": "x", "source": "guess"});
        assert!(serde_json::from_value::<Place>(unknown_source).is_err());
    }
}
