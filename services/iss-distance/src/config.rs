//! iss-distance configuration from the environment.

use service_kit::{ConfigError, EnvReader, ListenConfig};
use std::path::PathBuf;
use std::time::Duration;
use telemetry::TelemetryConfig;
use url::Url;

/// Where the ISS position comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositionMode {
    /// The live API, falling back to SGP4 on any failure.
    Auto,
    /// The live API only; its failures are errors.
    Live,
    /// SGP4 propagation of the TLE only (no network).
    Sgp4,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: ListenConfig,
    /// Which telemetry pipelines `main` builds (the `OTEL_*` variables).
    pub telemetry: TelemetryConfig,
    pub mode: PositionMode,
    pub iss_api_url: Url,
    pub iss_api_timeout: Duration,
    /// A TLE file to use instead of the one shipped in the binary.
    pub tle_path: Option<PathBuf>,
    /// Where to fetch a fresher TLE from (e.g. CelesTrak's `FORMAT=tle`), if anywhere.
    pub tle_url: Option<Url>,
    /// How often to fetch it.
    pub tle_refresh_interval: Duration,
}

pub const DEFAULT_PORT: u16 = 5003;
const HOUR_MS: u64 = 3_600_000;
pub const DEFAULT_ISS_API_URL: &str = "http://api.open-notify.org/iss-now.json";

impl Config {
    pub fn from_env(env: &EnvReader) -> Result<Self, ConfigError> {
        let mode = match env
            .choice("ISS_POSITION_SOURCE", "auto", &["auto", "live", "sgp4"])?
            .as_str()
        {
            "live" => PositionMode::Live,
            "sgp4" => PositionMode::Sgp4,
            _ => PositionMode::Auto,
        };
        Ok(Self {
            listen: ListenConfig::from_env(env, DEFAULT_PORT)?,
            telemetry: TelemetryConfig::from_env(env)?,
            mode,
            iss_api_url: env.url("ISS_API_URL", DEFAULT_ISS_API_URL)?,
            iss_api_timeout: env.millis("ISS_API_TIMEOUT_MS", 2000)?,
            tle_path: env.get("ISS_TLE_PATH").map(PathBuf::from),
            tle_url: env.optional_url("ISS_TLE_URL")?,
            tle_refresh_interval: env.millis_up_to(
                "ISS_TLE_REFRESH_MS",
                6 * HOUR_MS,
                7 * 24 * HOUR_MS,
            )?,
        })
    }
}
