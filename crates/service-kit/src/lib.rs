//! What every service of the stack shares that is not OpenTelemetry itself.
//!
//! # Layout
//!
//! - [`env`]: `HOST`, `PORT` and `TRUSTED_PROXIES`, read like every other
//!   variable (typed, with errors that name the variable).
//! - [`client_address`]: who the client is, believing forwarding headers only
//!   from trusted proxies.
//! - [`server`]: the HTTP server `main` and the black-box tests both start
//!   (health routes, `/metrics`, the telemetry middleware, graceful shutdown).
//! - [`incoming`]: the workshop's `incoming.requests` counter and request log line.
//! - [`upstream`]: what a service answers when an upstream failed it.
//! - [`errors`]: the JSON error bodies.
//! - [`logging`] and `stderr_lines`: the process's logger and its stderr writer thread.
//! - [`exit`]: how `main` ends.

pub mod client_address;
pub mod env;
pub mod errors;
pub mod exit;
pub mod incoming;
pub mod logging;
pub mod server;
mod stderr_lines;
#[cfg(feature = "test-strategies")]
pub mod strategies;
pub mod upstream;

pub use client_address::TrustedProxies;
pub use env::ListenConfig;
pub use env_config::{ConfigError, EnvReader};
pub use errors::json_error;
pub use incoming::IncomingRequests;
pub use server::{api_get, openapi_json, Application, StopSignals};
pub use upstream::RelayedStatus;

/// The User-Agent every outbound call sends, naming the project (Nominatim's usage policy requires one).
pub fn user_agent(service: &telemetry::ServiceInfo) -> String {
    format!(
        "iss-distance-app/{} ({}; reference OpenTelemetry stack in Rust)",
        service.version, service.name
    )
}
