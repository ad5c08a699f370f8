//! Measuring sticks for the benchmark harness (`lab/bench`), not a product.
//!
//! The stack's request path (gateway → geolocator, then gateway →
//! iss-distance → ISS API) in plain actix-web 4 and awc 3, with none of the
//! services' domain work and, in the `bare-stack` binary, no telemetry, no
//! logging and no metrics at all: what the request path costs by itself. The
//! `contrib-peer` binary (feature `contrib`) serves the same roles
//! instrumented the way most Rust users would, with
//! `opentelemetry-instrumentation-actix-web`.
//!
//! Both speak the services' start-up protocol, so `testkit` starts them like
//! the real ones: `HOST`/`PORT` (0 for any), the "started application ... on
//! port N" line on stderr, `/readyz`, and the downstream URLs in
//! `GEOLOCATOR_SERVICE_URL`, `ISS_DISTANCE_SERVICE_URL` and `ISS_API_URL`.
//!
//! # Layout
//! - [`config`]: the role (`--role`) and the environment;
//! - [`roles`]: the four roles' handlers, the places and the ISS model;
//! - [`server`]: bind, announce, serve until SIGTERM/SIGINT, drain;
//! - `contrib` (feature `contrib`): the OpenTelemetry providers of `contrib-peer`.

pub mod config;
#[cfg(feature = "contrib")]
pub mod contrib;
pub mod roles;
pub mod server;

pub use config::{Config, Role};
pub use roles::Outbound;
