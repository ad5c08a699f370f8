//! frontend: the page people use. A form, the answer sentence, a small world
//! map with the ISS and the place, and the request's trace id, linked to
//! Grafana when `GRAFANA_URL` names one.

pub mod config;
pub mod error;
pub mod gateway;
pub mod page;
pub mod routes;
pub mod startup;

pub use config::Config;

pub const SERVICE: telemetry::ServiceInfo = telemetry::ServiceInfo {
    name: "frontend",
    version: env!("CARGO_PKG_VERSION"),
};
