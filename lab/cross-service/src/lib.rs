//! The in-process chain (gateway -> geolocator with the gazetteer ->
//! iss-distance with SGP4) for tests across services: each service's own
//! configuration defaults, read through its `Config::from_env`, on an
//! OS-chosen port and offline.

use actix_web::dev::ServerHandle;
use service_kit::{Application, EnvReader};
use std::time::Duration;
use telemetry::{ServiceInfo, Telemetry, TelemetryConfig};
use url::Url;

/// Nothing listens on the discard port: the offline services never call their upstreams.
const OFFLINE_UPSTREAM: &str = "http://127.0.0.1:9/";

/// A service started in this process.
pub struct Running {
    pub url: Url,
    pub handle: ServerHandle,
}

/// Builds the app with the telemetry its configuration asks for (by default no
/// exporter but `/metrics`), and serves it. Must run inside a tokio runtime.
fn start<C>(
    service: ServiceInfo,
    config: C,
    telemetry_config: &TelemetryConfig,
    build: impl FnOnce(C, &Telemetry) -> std::io::Result<Application>,
) -> Running {
    let telemetry = telemetry::init(service, telemetry_config).expect("telemetry starts");
    let app = build(config, &telemetry).expect("the service starts");
    let url = Url::parse(&format!("http://127.0.0.1:{}/", app.port())).expect("local URL");
    let handle = app.handle();
    tokio::spawn(async move {
        let _telemetry = telemetry;
        app.run_until_stopped().await
    });
    Running { url, handle }
}

/// iss-distance on SGP4 only, on `port` (0: any free one).
pub fn start_iss_distance(port: u16) -> Running {
    let port = port.to_string();
    let config = iss_distance::Config::from_env(&EnvReader::from_pairs([
        ("PORT", port.as_str()),
        ("ISS_POSITION_SOURCE", "sgp4"),
        ("ISS_API_URL", OFFLINE_UPSTREAM),
    ]))
    .expect("valid configuration");
    let telemetry = config.telemetry.clone();
    start(
        iss_distance::SERVICE,
        config,
        &telemetry,
        iss_distance::startup::build,
    )
}

/// geolocator on the shipped gazetteer.
pub fn start_geolocator() -> Running {
    let config = geolocator::Config::from_env(&EnvReader::from_pairs([
        ("PORT", "0"),
        ("GEOCODER", "gazetteer"),
        ("NOMINATIM_URL", OFFLINE_UPSTREAM),
    ]))
    .expect("valid configuration");
    let telemetry = config.telemetry.clone();
    start(
        geolocator::SERVICE,
        config,
        &telemetry,
        geolocator::startup::build,
    )
}

/// The gateway in front of `geolocator` and `iss_distance`.
pub fn start_gateway(geolocator: &Url, iss_distance: &Url, timeout: Duration) -> Running {
    let timeout_ms = timeout.as_millis().to_string();
    let config = gateway::Config::from_env(&EnvReader::from_pairs([
        ("PORT", "0"),
        ("GEOLOCATOR_SERVICE_URL", geolocator.as_str()),
        ("ISS_DISTANCE_SERVICE_URL", iss_distance.as_str()),
        ("UPSTREAM_TIMEOUT_MS", timeout_ms.as_str()),
    ]))
    .expect("valid configuration");
    let telemetry = config.telemetry.clone();
    start(
        gateway::SERVICE,
        config,
        &telemetry,
        gateway::startup::build,
    )
}
