//! gateway configuration from the environment.

use service_kit::{ConfigError, EnvReader, ListenConfig};
use std::time::Duration;
use telemetry::TelemetryConfig;
use url::Url;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: ListenConfig,
    /// Which telemetry pipelines `main` builds (the `OTEL_*` variables).
    pub telemetry: TelemetryConfig,
    pub geolocator_url: Url,
    pub iss_distance_url: Url,
    /// Deadline of each downstream call; past it the gateway answers 504.
    pub upstream_timeout: Duration,
}

pub const DEFAULT_PORT: u16 = 5001;

impl Config {
    pub fn from_env(env: &EnvReader) -> Result<Self, ConfigError> {
        Ok(Self {
            listen: ListenConfig::from_env(env, DEFAULT_PORT)?,
            telemetry: TelemetryConfig::from_env(env)?,
            geolocator_url: env.url("GEOLOCATOR_SERVICE_URL", "http://127.0.0.1:5002/")?,
            iss_distance_url: env.url("ISS_DISTANCE_SERVICE_URL", "http://127.0.0.1:5003/")?,
            upstream_timeout: env.millis("UPSTREAM_TIMEOUT_MS", 5000)?,
        })
    }
}
