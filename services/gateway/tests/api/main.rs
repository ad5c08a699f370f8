//! Black-box tests of the gateway: the real app on port 0, geolocator and iss-distance replaced by wiremock.

use api::GatewayAnswer;
use gateway::{startup, Config};
use serde_json::{json, Value};
use service_kit::EnvReader;
use std::time::{Duration, Instant};
use url::Url;
use wiremock::matchers::{method, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod openapi;

struct TestApp {
    address: String,
    geolocator: MockServer,
    iss_distance: MockServer,
}

impl TestApp {
    async fn locate(&self, location: &str) -> (u16, Value) {
        let mut url = Url::parse(&self.address).unwrap();
        url.query_pairs_mut().append_pair("location", location);
        get(url.as_str()).await
    }
}

async fn get(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.expect("request sent");
    let status = response.status().as_u16();
    (status, response.json().await.expect("every answer is JSON"))
}

const TIMEOUT: Duration = Duration::from_millis(500);

async fn spawn_app() -> TestApp {
    let (geolocator, iss_distance) = (MockServer::start().await, MockServer::start().await);
    spawn_app_with(geolocator, iss_distance, None).await
}

async fn spawn_app_with(
    geolocator: MockServer,
    iss_distance: MockServer,
    iss_url: Option<Url>,
) -> TestApp {
    let iss_url =
        iss_url.unwrap_or_else(|| Url::parse(&format!("{}/", iss_distance.uri())).unwrap());
    let geolocator_url = format!("{}/", geolocator.uri());
    let timeout_ms = TIMEOUT.as_millis().to_string();
    let config = Config::from_env(&EnvReader::from_pairs([
        ("PORT", "0"),
        ("GEOLOCATOR_SERVICE_URL", geolocator_url.as_str()),
        ("ISS_DISTANCE_SERVICE_URL", iss_url.as_str()),
        ("UPSTREAM_TIMEOUT_MS", timeout_ms.as_str()),
    ]))
    .expect("valid test configuration");
    let telemetry = telemetry::init(gateway::SERVICE, &config.telemetry).expect("telemetry starts");
    let app = startup::build(config, &telemetry).expect("app builds");
    let address = format!("http://127.0.0.1:{}/", app.port());
    tokio::spawn(async move {
        let _telemetry = telemetry;
        app.run_until_stopped().await
    });
    TestApp {
        address,
        geolocator,
        iss_distance,
    }
}

fn paris() -> Value {
    json!({ "latitude": 48.85341, "longitude": 2.3488, "name": "Paris, France", "source": "gazetteer" })
}

fn distance() -> Value {
    json!({ "distance": 1234.56, "location": { "latitude": 10.5, "longitude": -20.25 }, "source": "sgp4", "timestamp": 1_700_000_000,
            "elements": { "epoch": "2023-11-10T00:00:00Z", "age_days": 4.56 } })
}

async fn geolocator_answers(app: &TestApp, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .respond_with(response)
        .mount(&app.geolocator)
        .await;
}

async fn iss_distance_answers(app: &TestApp, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .respond_with(response)
        .mount(&app.iss_distance)
        .await;
}

#[tokio::test]
async fn the_answer_is_the_distance_plus_the_place() {
    let app = spawn_app().await;
    Mock::given(method("GET"))
        .and(query_param("location", "Paris & Co"))
        .respond_with(ResponseTemplate::new(200).set_body_json(paris()))
        .expect(1)
        .mount(&app.geolocator)
        .await;
    Mock::given(method("GET"))
        .and(query_param("latitude", "48.85341"))
        .and(query_param("longitude", "2.3488"))
        .respond_with(ResponseTemplate::new(200).set_body_json(distance()))
        .expect(1)
        .mount(&app.iss_distance)
        .await;
    let (status, body) = app.locate("Paris & Co").await;
    assert_eq!(status, 200, "{body}");
    let mut expected = distance();
    expected["place"] = paris();
    assert_eq!(body, expected);
    let answer: GatewayAnswer = serde_json::from_value(body).expect("the contract's body");
    assert_eq!(answer.place.name, "Paris, France");
    let elements = answer
        .distance
        .elements
        .expect("the estimate's elements pass through");
    assert_eq!(elements.age_days, 4.56);
}

#[tokio::test]
async fn the_ground_track_is_asked_of_iss_distance_only_when_the_caller_asks() {
    let app = spawn_app().await;
    geolocator_answers(&app, ResponseTemplate::new(200).set_body_json(paris())).await;
    let mut with_track = distance();
    with_track["ground_track"] = json!([{ "latitude": 1.5, "longitude": 2.5 }]);
    Mock::given(method("GET"))
        .and(query_param("ground_track", "true"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&with_track))
        .expect(1)
        .mount(&app.iss_distance)
        .await;
    Mock::given(method("GET"))
        .and(query_param_is_missing("ground_track"))
        .respond_with(ResponseTemplate::new(200).set_body_json(distance()))
        .expect(1)
        .mount(&app.iss_distance)
        .await;

    let (status, body) = get(&format!("{}?location=Paris&ground_track=true", app.address)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ground_track"], with_track["ground_track"]);
    let (status, body) = get(&format!("{}?location=Paris", app.address)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("ground_track").is_none(), "{body}");
    let (status, body) = get(&format!("{}?location=Paris&ground_track=1", app.address)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error"],
        "ground_track must be true or false, got '1'."
    );
}

#[tokio::test]
async fn a_missing_or_blank_location_is_rejected_with_400() {
    let app = spawn_app().await;
    for query in ["", "?location=", "?location=%20%09", "?other=x"] {
        let (status, body) = get(&format!("{}{query}", app.address)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("No location given")),
            "{query}"
        );
    }
    let (status, body) = get(&format!("{}?location=a&location=b", app.address)).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn a_downstream_4xx_passes_through_with_its_body() {
    let app = spawn_app().await;
    let not_found = json!({ "error": "No coordinates found for location 'Atlantis'" });
    geolocator_answers(&app, ResponseTemplate::new(404).set_body_json(&not_found)).await;
    let (status, body) = app.locate("Atlantis").await;
    assert_eq!((status, body), (404, not_found));

    let app = spawn_app().await;
    geolocator_answers(&app, ResponseTemplate::new(200).set_body_json(paris())).await;
    let bad = json!({ "error": "latitude must be between -90 and 90 degrees, got 91." });
    iss_distance_answers(&app, ResponseTemplate::new(400).set_body_json(&bad)).await;
    let (status, body) = app.locate("Paris").await;
    assert_eq!((status, body), (400, bad));
}

#[tokio::test]
async fn a_failing_downstream_is_a_502() {
    let failures = [
        (
            "geolocator 500",
            ResponseTemplate::new(500),
            ResponseTemplate::new(200).set_body_json(distance()),
        ),
        (
            "geolocator not JSON",
            ResponseTemplate::new(200).set_body_string("<html>"),
            ResponseTemplate::new(200),
        ),
        (
            "geolocator without coordinates",
            ResponseTemplate::new(200).set_body_json(json!({"name": "x"})),
            ResponseTemplate::new(200),
        ),
        (
            "iss-distance 503",
            ResponseTemplate::new(200).set_body_json(paris()),
            ResponseTemplate::new(503),
        ),
        (
            "iss-distance 200 not JSON",
            ResponseTemplate::new(200).set_body_json(paris()),
            ResponseTemplate::new(200).set_body_string("[1]"),
        ),
    ];
    for (name, geolocator, iss_distance) in failures {
        let app = spawn_app().await;
        geolocator_answers(&app, geolocator).await;
        iss_distance_answers(&app, iss_distance).await;
        let (status, body) = app.locate("Paris").await;
        assert_eq!(status, 502, "{name}: {body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .ends_with("service is unavailable."),
            "{name}: {body}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_downstream_is_a_fast_502() {
    // Bound but never listening: connections are refused, and the port stays ours.
    let closed = testkit::ClosedPort::new();
    let url = Url::parse(&format!("http://{}/", closed.address())).unwrap();
    let app = spawn_app_with(
        MockServer::start().await,
        MockServer::start().await,
        Some(url),
    )
    .await;
    geolocator_answers(&app, ResponseTemplate::new(200).set_body_json(paris())).await;
    let started = Instant::now();
    let (status, body) = app.locate("Paris").await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"], "The iss-distance service is unavailable.");
    assert!(started.elapsed() < TIMEOUT);
}

#[tokio::test]
async fn a_slow_downstream_is_a_504_within_the_timeout() {
    let app = spawn_app().await;
    geolocator_answers(
        &app,
        ResponseTemplate::new(200)
            .set_body_json(paris())
            .set_delay(Duration::from_secs(5)),
    )
    .await;
    let started = Instant::now();
    let (status, body) = app.locate("Paris").await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(
        body["error"],
        "The geolocator service did not answer in time."
    );
    assert!(
        started.elapsed() < TIMEOUT + Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn odd_locations_are_forwarded_safely_and_never_cause_a_5xx() {
    let app = spawn_app().await;
    geolocator_answers(
        &app,
        ResponseTemplate::new(404).set_body_json(json!({"error": "No coordinates found"})),
    )
    .await;
    for location in ["\u{0}\u{7}", "☃ & = ? #", "%ZZ", "1e999, NaN"] {
        let (status, body) = app.locate(location).await;
        assert_eq!(status, 404, "{location:.30?}: {body}");
    }
    // The location's limits are part of the shared contract (api::LocationText): the
    // gateway answers geolocator's 400 itself instead of forwarding 10,000 characters.
    let asked_before = app.geolocator.received_requests().await.unwrap().len();
    let (status, body) = app.locate(&"x".repeat(10_000)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error"],
        "Location is too long (at most 200 characters)."
    );
    let asked_after = app.geolocator.received_requests().await.unwrap().len();
    assert_eq!(asked_before, asked_after, "not forwarded");
}
