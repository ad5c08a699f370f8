use iss_distance::config::{Config, PositionMode};
use iss_distance::startup;
use serde_json::Value;
use service_kit::EnvReader;
use telemetry::MetricsRegistry;
use url::Url;
use wiremock::MockServer;

pub struct TestApp {
    pub address: String,
    pub iss_api: MockServer,
    pub metrics: MetricsRegistry,
}

impl TestApp {
    pub async fn get(&self, query: &str) -> (u16, Value) {
        let response = reqwest::get(format!("{}/?{query}", self.address))
            .await
            .expect("request sent");
        let status = response.status().as_u16();
        let body = response.json().await.expect("every answer is JSON");
        (status, body)
    }
}

pub async fn spawn_app(mode: PositionMode) -> TestApp {
    let iss_api = MockServer::start().await;
    spawn_app_with_api(mode, iss_api, None).await
}

/// `api_url` overrides the mock's address (e.g. a closed port).
pub async fn spawn_app_with_api(
    mode: PositionMode,
    iss_api: MockServer,
    api_url: Option<Url>,
) -> TestApp {
    let url =
        api_url.unwrap_or_else(|| Url::parse(&format!("{}/iss-now.json", iss_api.uri())).unwrap());
    let config = test_config(mode, &url);
    let telemetry =
        telemetry::init(iss_distance::SERVICE, &config.telemetry).expect("telemetry starts");
    let metrics = telemetry.metrics_registry();
    let app = startup::build(config, &telemetry).expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(async move {
        let _telemetry = telemetry;
        app.run_until_stopped().await
    });
    TestApp {
        address,
        iss_api,
        metrics,
    }
}

/// The service's own defaults, on an OS-chosen port, with a short upstream deadline.
pub fn test_config(mode: PositionMode, iss_api_url: &Url) -> Config {
    let mode = match mode {
        PositionMode::Auto => "auto",
        PositionMode::Live => "live",
        PositionMode::Sgp4 => "sgp4",
    };
    Config::from_env(&EnvReader::from_pairs([
        ("PORT", "0"),
        ("ISS_POSITION_SOURCE", mode),
        ("ISS_API_URL", iss_api_url.as_str()),
        ("ISS_API_TIMEOUT_MS", "500"),
    ]))
    .expect("valid test configuration")
}

pub fn iss_now(latitude: &str, longitude: &str) -> Value {
    serde_json::json!({
        "message": "success",
        "timestamp": 1_700_000_000,
        "iss_position": { "latitude": latitude, "longitude": longitude }
    })
}

/// An error body is `{"error": "<sentence>"}` and nothing else.
pub fn assert_error_body(body: &Value) -> &str {
    let message = body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message in {body}"));
    assert!(!message.is_empty());
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    message
}
