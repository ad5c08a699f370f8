use geolocator::config::{Config, GeocoderKind};
use geolocator::startup;
use serde_json::Value;
use service_kit::EnvReader;
use std::time::Duration;
use url::Url;
use wiremock::MockServer;

pub struct TestApp {
    pub address: String,
    pub nominatim: MockServer,
}

impl TestApp {
    /// `location` is sent percent-encoded as the `location` parameter.
    pub async fn locate(&self, location: &str) -> (u16, Value) {
        let mut url = Url::parse(&self.address).unwrap();
        url.query_pairs_mut().append_pair("location", location);
        self.get_url(url.as_str()).await
    }

    pub async fn get_url(&self, url: &str) -> (u16, Value) {
        let response = reqwest::get(url).await.expect("request sent");
        let status = response.status().as_u16();
        (status, response.json().await.expect("every answer is JSON"))
    }
}

pub async fn spawn_app(kind: GeocoderKind) -> TestApp {
    spawn_app_with_timeout(kind, Duration::from_millis(500)).await
}

pub async fn spawn_app_with_timeout(kind: GeocoderKind, timeout: Duration) -> TestApp {
    let nominatim = MockServer::start().await;
    let geocoder = match kind {
        GeocoderKind::Gazetteer => "gazetteer",
        GeocoderKind::Nominatim => "nominatim",
    };
    let nominatim_url = format!("{}/search", nominatim.uri());
    let timeout_ms = timeout.as_millis().to_string();
    let config = Config::from_env(&EnvReader::from_pairs([
        ("PORT", "0"),
        ("GEOCODER", geocoder),
        ("NOMINATIM_URL", nominatim_url.as_str()),
        ("NOMINATIM_TIMEOUT_MS", timeout_ms.as_str()),
    ]))
    .expect("valid test configuration");
    let telemetry =
        telemetry::init(geolocator::SERVICE, &config.telemetry).expect("telemetry starts");
    let app = startup::build(config, &telemetry).expect("app builds");
    let address = format!("http://127.0.0.1:{}/", app.port());
    tokio::spawn(async move {
        let _telemetry = telemetry;
        app.run_until_stopped().await
    });
    TestApp { address, nominatim }
}
