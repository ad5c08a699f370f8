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
    /// Base URL of the Grafana a visitor's browser reaches, for the trace link (a
    /// sub-path such as `/grafana` works). Unset: the page shows the trace id
    /// without a link, as a run without Grafana has nowhere to send it.
    pub grafana_url: Option<Url>,
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
            grafana_url: env.optional_url("GRAFANA_URL")?,
            gateway_timeout: env.millis("GATEWAY_TIMEOUT_MS", 12_000)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grafana(value: &str) -> Result<Option<Url>, ConfigError> {
        Config::from_env(&EnvReader::from_pairs([("GRAFANA_URL", value)]))
            .map(|config| config.grafana_url)
    }

    #[test]
    fn grafana_is_optional_and_checked_when_given() {
        let unset = Config::from_env(&EnvReader::from_pairs([])).unwrap();
        assert_eq!(unset.grafana_url, None);
        assert_eq!(grafana(" ").unwrap(), None);
        assert_eq!(
            grafana("http://127.0.0.1:3000").unwrap().map(String::from),
            Some("http://127.0.0.1:3000/".to_owned())
        );
        assert!(grafana("grafana:3000").is_err());
    }
}
