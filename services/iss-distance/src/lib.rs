//! iss-distance: how far the point on Earth below the ISS is from a given point.
//!
//! The ISS position comes from the live API or from SGP4 propagation of a
//! shipped TLE (`ISS_POSITION_SOURCE=auto|live|sgp4`); the distance is the
//! WGS84 geodesic (Karney's algorithm, via `geographiclib-rs`).

pub mod config;
pub mod distance;
pub mod error;
pub mod iss_api;
pub mod locator;
pub mod routes;
pub mod sgp4_model;
pub mod startup;
pub mod tle_refresh;

pub use config::Config;

pub const SERVICE: telemetry::ServiceInfo = telemetry::ServiceInfo {
    name: "iss-distance-service",
    version: env!("CARGO_PKG_VERSION"),
};

/// The instrumentation scope of this service's own spans and metrics.
pub fn scope(telemetry: &telemetry::Telemetry) -> telemetry::Scope {
    telemetry.scope(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
}
