//! What every service of the stack shares that is not telemetry: typed
//! configuration from the environment with clear errors, JSON error bodies,
//! health routes, and the HTTP server with graceful shutdown that `main` and
//! the black-box tests both start.

/// `HOST` and `PORT`.
pub mod env;
pub mod errors;
pub mod exit;
pub mod server;
#[cfg(feature = "test-strategies")]
pub mod strategies;

pub use env::ListenConfig;
pub use env_config::{ConfigError, EnvReader};
pub use errors::json_error;
pub use server::{api_get, openapi_json, Application, StopSignals};

/// The User-Agent every outbound call sends, naming the project (Nominatim's usage policy requires one).
pub fn user_agent(service: &telemetry::ServiceInfo) -> String {
    format!(
        "iss-distance-app/{} ({}; reference OpenTelemetry stack in Rust)",
        service.version, service.name
    )
}
