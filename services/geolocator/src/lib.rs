//! geolocator: turns a place name (or `"<lat>, <lon>"`) into coordinates.
//!
//! `GEOCODER=gazetteer` (default) answers offline from GeoNames cities with
//! at least 15,000 inhabitants; `GEOCODER=nominatim` asks Nominatim, within
//! its usage policy (User-Agent, 1 request/s, caching).

pub mod config;
pub mod error;
pub mod gazetteer;
pub mod geocoder;
pub mod nominatim;
pub mod place;
pub mod routes;
pub mod startup;

pub use config::Config;

pub const SERVICE: telemetry::ServiceInfo = telemetry::ServiceInfo {
    name: "geolocator-service",
    version: env!("CARGO_PKG_VERSION"),
};

/// The instrumentation scope of this service's own spans and metrics.
pub fn scope(telemetry: &telemetry::Telemetry) -> telemetry::Scope {
    telemetry.scope(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
}
