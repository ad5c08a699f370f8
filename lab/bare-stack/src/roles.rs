//! The four roles: their routes, handlers and the little they compute.
//!
//! Each does what its service does on the request path (parse the query,
//! call downstream over keep-alive awc connections, decode and encode the
//! `api` JSON bodies) and nothing else: no gazetteer (a map of the load
//! generator's places), no SGP4 (the mock's position), a spherical distance.

use crate::config::{Config, Downstream, Role};
use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::HttpResponse;
use api::{
    CoordinatesQuery, Distance, ErrorBody, GatewayAnswer, IssPosition, LocationQuery, Place,
    PlaceSource, PositionSource,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};
use url::Url;

/// How a role sends its downstream requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outbound {
    /// `awc` as is.
    Plain,
    /// Through the contrib crate's `trace_request()`: a client span and a `traceparent`.
    #[cfg(feature = "contrib")]
    Traced,
}

/// One worker's HTTP client (awc is `!Send`: one per worker, as in the services).
struct Upstream {
    client: awc::Client,
    outbound: Outbound,
}

/// A downstream failure, answered as a 502 like the services do.
type HopError = String;

impl Upstream {
    fn new(outbound: Outbound) -> Self {
        Self {
            client: awc::Client::default(),
            outbound,
        }
    }

    /// `GET url`: its status and body.
    async fn get(&self, url: &str) -> Result<(StatusCode, Bytes), HopError> {
        let request = self.client.get(url);
        let sent = match self.outbound {
            Outbound::Plain => request.send().await,
            #[cfg(feature = "contrib")]
            Outbound::Traced => {
                use opentelemetry_instrumentation_actix_web::ClientExt;
                request.trace_request().send().await
            }
        };
        let mut response = sent.map_err(|error| format!("GET {url}: {error}"))?;
        let body = response
            .body()
            .await
            .map_err(|error| format!("GET {url}: {error}"))?;
        Ok((response.status(), body))
    }

    /// `GET url` decoded as `T`; a non-2xx answer is passed back as it came.
    async fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        url: &str,
    ) -> Result<T, Result<HttpResponse, HopError>> {
        let (status, body) = self.get(url).await.map_err(Err)?;
        if !status.is_success() {
            return Err(Ok(HttpResponse::build(status)
                .content_type("application/json")
                .body(body)));
        }
        serde_json::from_slice(&body).map_err(|error| Err(format!("GET {url}: {error}")))
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(ErrorBody {
        error: message.into(),
    })
}

/// The answer to a downstream failure: passed through, or a 502.
fn failed(outcome: Result<HttpResponse, HopError>) -> HttpResponse {
    outcome.unwrap_or_else(|message| error(StatusCode::BAD_GATEWAY, message))
}

/// The role's routes and per-worker state; `outbound` says how it calls downstream.
pub fn routes(config: &Config, outbound: Outbound) -> impl Fn(&mut web::ServiceConfig) + Clone {
    let role = config.role;
    let downstream = config.downstream.clone();
    // Built once and shared by the workers, like the real gazetteer.
    let places = web::Data::new(Places::from_loadgen());
    move |cfg: &mut web::ServiceConfig| {
        cfg.route("/readyz", web::get().to(readyz));
        match (role, &downstream) {
            (Role::IssApi, _) => {
                cfg.route("/iss-now.json", web::get().to(iss_now))
                    .route("/", web::get().to(iss_now));
            }
            (Role::Geolocator, _) => {
                cfg.app_data(places.clone())
                    .route("/", web::get().to(locate));
            }
            (Role::IssDistance, Downstream::IssApi(url)) => {
                cfg.app_data(web::Data::new(IssApiHop {
                    upstream: Upstream::new(outbound),
                    url: url.to_string(),
                }))
                .route("/", web::get().to(distance));
            }
            (
                Role::Gateway,
                Downstream::Services {
                    geolocator,
                    iss_distance,
                },
            ) => {
                cfg.app_data(web::Data::new(GatewayHops {
                    upstream: Upstream::new(outbound),
                    geolocator: geolocator.clone(),
                    iss_distance: iss_distance.clone(),
                }))
                .route("/", web::get().to(distance_from_place));
            }
            (role, downstream) => unreachable!("{role} configured with {downstream:?}"),
        }
    }
}

async fn readyz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ready" }))
}

// --- iss-api -------------------------------------------------------------

/// About one orbit: 92.7 minutes.
const ORBIT_SECONDS: f64 = 5_562.0;
const INCLINATION_DEGREES: f64 = 51.64;
/// One sidereal day: the Earth turns under the orbit.
const SIDEREAL_DAY_SECONDS: f64 = 86_164.1;

/// Where the mock puts the ISS at `unix` seconds: a circular orbit of the
/// ISS's inclination and period over a turning Earth (latitude, longitude).
pub fn iss_position_at(unix: f64) -> (f64, f64) {
    let phase = std::f64::consts::TAU * (unix.rem_euclid(ORBIT_SECONDS) / ORBIT_SECONDS);
    let inclination = INCLINATION_DEGREES.to_radians();
    let latitude = (inclination.sin() * phase.sin()).asin().to_degrees();
    let along_orbit = (inclination.cos() * phase.sin())
        .atan2(phase.cos())
        .to_degrees();
    let turned = 360.0 * unix.rem_euclid(SIDEREAL_DAY_SECONDS) / SIDEREAL_DAY_SECONDS;
    let longitude = (along_orbit - turned + 180.0).rem_euclid(360.0) - 180.0;
    (latitude, longitude)
}

/// open-notify's `iss-now.json`: degrees as strings.
#[derive(Debug, Serialize, Deserialize)]
pub struct IssNow {
    pub message: String,
    pub timestamp: i64,
    pub iss_position: IssNowPosition,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct IssNowPosition {
    pub latitude: String,
    pub longitude: String,
}

impl IssNow {
    pub fn at(unix: f64) -> Self {
        let (latitude, longitude) = iss_position_at(unix);
        Self {
            message: "success".into(),
            timestamp: unix.floor() as i64,
            iss_position: IssNowPosition {
                latitude: format!("{latitude:.4}"),
                longitude: format!("{longitude:.4}"),
            },
        }
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs_f64())
        .unwrap_or_default()
}

async fn iss_now() -> HttpResponse {
    HttpResponse::Ok().json(IssNow::at(unix_now()))
}

// --- geolocator ----------------------------------------------------------

/// The places the load generator asks for, by the name it sends.
pub struct Places(HashMap<&'static str, Place>);

impl Places {
    pub fn from_loadgen() -> Self {
        Self(
            loadgen::CITIES
                .iter()
                .map(|city| {
                    let place = Place {
                        latitude: city.latitude,
                        longitude: city.longitude,
                        name: city.name.to_owned(),
                        source: PlaceSource::Gazetteer,
                    };
                    (city.name, place)
                })
                .collect(),
        )
    }

    pub fn find(&self, name: &str) -> Option<&Place> {
        self.0.get(name)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

async fn locate(query: web::Query<LocationQuery>, places: web::Data<Places>) -> HttpResponse {
    let name = query.location.as_str();
    match places.find(name) {
        Some(place) => HttpResponse::Ok().json(place),
        None => error(
            StatusCode::NOT_FOUND,
            format!("No coordinates found for location '{name}'"),
        ),
    }
}

// --- iss-distance --------------------------------------------------------

struct IssApiHop {
    upstream: Upstream,
    url: String,
}

/// Mean Earth radius (IUGG), km.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Great-circle distance in km (haversine on a sphere).
pub fn haversine_km(from: (f64, f64), to: (f64, f64)) -> f64 {
    let (lat1, lon1) = (from.0.to_radians(), from.1.to_radians());
    let (lat2, lon2) = (to.0.to_radians(), to.1.to_radians());
    let a = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

async fn distance(query: web::Query<CoordinatesQuery>, hop: web::Data<IssApiHop>) -> HttpResponse {
    let now: IssNow = match hop.upstream.get_json(&hop.url).await {
        Ok(now) => now,
        Err(outcome) => return failed(outcome),
    };
    let (Ok(latitude), Ok(longitude)) = (
        now.iss_position.latitude.parse::<f64>(),
        now.iss_position.longitude.parse::<f64>(),
    ) else {
        return error(StatusCode::BAD_GATEWAY, "the ISS API sent no position");
    };
    let km = haversine_km(
        (query.latitude.degrees(), query.longitude.degrees()),
        (latitude, longitude),
    );
    HttpResponse::Ok().json(Distance {
        distance: (km * 100.0).round() / 100.0,
        location: IssPosition {
            latitude,
            longitude,
        },
        source: PositionSource::Live,
        timestamp: now.timestamp,
        elements: None,
        ground_track: Vec::new(),
    })
}

// --- gateway -------------------------------------------------------------

struct GatewayHops {
    upstream: Upstream,
    geolocator: Url,
    iss_distance: Url,
}

async fn distance_from_place(
    query: web::Query<LocationQuery>,
    hops: web::Data<GatewayHops>,
) -> HttpResponse {
    let mut url = hops.geolocator.clone();
    url.query_pairs_mut()
        .append_pair("location", query.location.as_str());
    let place: Place = match hops.upstream.get_json(url.as_str()).await {
        Ok(place) => place,
        Err(outcome) => return failed(outcome),
    };
    let mut url = hops.iss_distance.clone();
    url.query_pairs_mut()
        .append_pair("latitude", &place.latitude.to_string())
        .append_pair("longitude", &place.longitude.to_string());
    let distance: Distance = match hops.upstream.get_json(url.as_str()).await {
        Ok(distance) => distance,
        Err(outcome) => return failed(outcome),
    };
    HttpResponse::Ok().json(GatewayAnswer { distance, place })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_place_the_load_generator_sends_is_found_as_sent() {
        let places = Places::from_loadgen();
        assert_eq!(places.len(), loadgen::CITIES.len());
        for city in loadgen::CITIES {
            let place = places.find(city.name).expect(city.name);
            assert_eq!(
                (place.latitude, place.longitude, place.name.as_str()),
                (city.latitude, city.longitude, city.name)
            );
            assert_eq!(place.source, PlaceSource::Gazetteer);
        }
        let cologne = places.find("Köln").unwrap();
        assert_eq!(places.find("Cologne").unwrap().latitude, cologne.latitude);
        assert!(places.find("Atlantis").is_none());
        // The name as sent, not folded: the stick does no gazetteer work.
        assert!(places.find("london").is_none());
    }

    #[test]
    fn the_mock_iss_moves_within_its_inclination() {
        let (lat0, lon0) = iss_position_at(1_700_000_000.0);
        let (lat1, lon1) = iss_position_at(1_700_000_060.0);
        assert!((lat0, lon0) != (lat1, lon1), "it moves");
        for t in (0..20_000).map(|i| 1_700_000_000.0 + f64::from(i) * 37.0) {
            let (lat, lon) = iss_position_at(t);
            assert!(lat.abs() <= INCLINATION_DEGREES + 1e-9, "{lat}");
            assert!((-180.0..180.0).contains(&lon), "{lon}");
        }
        // Its JSON is what iss-distance's parser reads.
        let json = serde_json::to_value(IssNow::at(1_700_000_000.5)).unwrap();
        assert_eq!(json["message"], "success");
        assert_eq!(json["timestamp"], 1_700_000_000);
        assert!(json["iss_position"]["latitude"].is_string());
    }

    #[test]
    fn distances_are_great_circles() {
        assert_eq!(haversine_km((51.5, -0.12), (51.5, -0.12)), 0.0);
        // A quarter of the equator.
        let quarter = haversine_km((0.0, 0.0), (0.0, 90.0));
        assert!((quarter - EARTH_RADIUS_KM * std::f64::consts::FRAC_PI_2).abs() < 1e-6);
        // London to Paris is about 344 km.
        let london_paris = haversine_km((51.50853, -0.12574), (48.85341, 2.3488));
        assert!((340.0..348.0).contains(&london_paris), "{london_paris}");
    }
}
