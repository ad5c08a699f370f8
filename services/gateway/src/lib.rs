//! gateway: answers `GET /?location=` by asking geolocator for coordinates,
//! then iss-distance for the distance, and returns both.

pub mod config;
pub mod downstream;
pub mod error;
pub mod routes;
pub mod startup;

pub use config::Config;

pub const SERVICE: telemetry::ServiceInfo = telemetry::ServiceInfo {
    name: "gateway",
    version: env!("CARGO_PKG_VERSION"),
};
