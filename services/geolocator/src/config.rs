//! geolocator configuration from the environment.

use service_kit::{ConfigError, EnvReader, ListenConfig};
use std::time::Duration;
use telemetry::TelemetryConfig;
use url::Url;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeocoderKind {
    Gazetteer,
    Nominatim,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: ListenConfig,
    /// Which telemetry pipelines `main` builds (the `OTEL_*` variables).
    pub telemetry: TelemetryConfig,
    pub geocoder: GeocoderKind,
    pub nominatim_url: Url,
    pub nominatim_timeout: Duration,
    /// Nominatim's policy: at most one request per second.
    pub nominatim_interval: Duration,
}

pub const DEFAULT_PORT: u16 = 5002;
pub const DEFAULT_NOMINATIM_URL: &str = "https://nominatim.openstreetmap.org/search";

impl Config {
    pub fn from_env(env: &EnvReader) -> Result<Self, ConfigError> {
        let geocoder = match env
            .choice("GEOCODER", "gazetteer", &["gazetteer", "nominatim"])?
            .as_str()
        {
            "nominatim" => GeocoderKind::Nominatim,
            _ => GeocoderKind::Gazetteer,
        };
        Ok(Self {
            listen: ListenConfig::from_env(env, DEFAULT_PORT)?,
            telemetry: TelemetryConfig::from_env(env)?,
            geocoder,
            nominatim_url: env.url("NOMINATIM_URL", DEFAULT_NOMINATIM_URL)?,
            nominatim_timeout: env.millis("NOMINATIM_TIMEOUT_MS", 3000)?,
            nominatim_interval: Duration::from_secs(1),
        })
    }
}
