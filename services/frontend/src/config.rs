//! frontend configuration from the environment.

use service_kit::{ConfigError, EnvReader, ListenConfig};
use std::time::Duration;
use telemetry::TelemetryConfig;
use url::Url;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: ListenConfig,
    /// Which telemetry pipelines `main` builds (the `OTEL_*` variables).
    pub telemetry: TelemetryConfig,
    pub gateway_url: Url,
    /// Base URL of Grafana for the trace link (a sub-path such as `/grafana` works).
    pub grafana_url: Url,
    /// Longer than the gateway's own downstream deadline, so the gateway's 504 arrives first.
    pub gateway_timeout: Duration,
}

pub const DEFAULT_PORT: u16 = 5000;

impl Config {
    pub fn from_env(env: &EnvReader) -> Result<Self, ConfigError> {
        Ok(Self {
            listen: ListenConfig::from_env(env, DEFAULT_PORT)?,
            telemetry: TelemetryConfig::from_env(env)?,
            gateway_url: env.url("GATEWAY_URL", "http://127.0.0.1:5001/")?,
            grafana_url: env.url("GRAFANA_URL", "http://127.0.0.1:3000/")?,
            gateway_timeout: env.millis("GATEWAY_TIMEOUT_MS", 12_000)?,
        })
    }
}
