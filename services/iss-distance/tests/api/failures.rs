use crate::helpers::{assert_error_body, iss_now, spawn_app, spawn_app_with_api};
use iss_distance::config::PositionMode;
use std::time::Duration;
use url::Url;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Every way the live API can fail.
fn failing_responses() -> Vec<(&'static str, ResponseTemplate)> {
    vec![
        (
            "HTTP 500",
            ResponseTemplate::new(500).set_body_string("oops"),
        ),
        ("HTTP 404", ResponseTemplate::new(404)),
        (
            "malformed JSON",
            ResponseTemplate::new(200).set_body_string("{\"iss_position\": "),
        ),
        (
            "non-numeric strings",
            ResponseTemplate::new(200).set_body_json(iss_now("north", "east")),
        ),
        (
            "out-of-range numbers",
            ResponseTemplate::new(200).set_body_json(iss_now("123", "0")),
        ),
        (
            "a timeout",
            ResponseTemplate::new(200)
                .set_body_json(iss_now("1", "2"))
                .set_delay(Duration::from_secs(3)),
        ),
        (
            "a 10 MiB body",
            ResponseTemplate::new(200).set_body_string("x".repeat(10 * 1024 * 1024)),
        ),
    ]
}

#[tokio::test]
async fn auto_mode_falls_back_to_sgp4_on_every_live_failure() {
    for (name, response) in failing_responses() {
        let app = spawn_app(PositionMode::Auto).await;
        Mock::given(method("GET"))
            .respond_with(response)
            .mount(&app.iss_api)
            .await;
        let (status, body) = app.get("latitude=10&longitude=20").await;
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(body["source"], "sgp4", "{name}");
        assert!(body["distance"].as_f64().unwrap() > 0.0, "{name}");
    }
}

#[tokio::test]
async fn auto_mode_falls_back_when_the_api_refuses_connections() {
    // Bound but never listening: connections are refused, and the port stays ours.
    let closed = testkit::ClosedPort::new();
    let url = Url::parse(&format!("http://{}/iss-now.json", closed.address())).unwrap();
    let app = spawn_app_with_api(PositionMode::Auto, MockServer::start().await, Some(url)).await;
    let (status, body) = app.get("latitude=10&longitude=20").await;
    assert_eq!(
        (status, body["source"].as_str()),
        (200, Some("sgp4")),
        "{body}"
    );
}

#[tokio::test]
async fn live_mode_reports_failures_as_502_and_timeouts_as_504() {
    for (name, response) in failing_responses() {
        let app = spawn_app(PositionMode::Live).await;
        Mock::given(method("GET"))
            .respond_with(response)
            .mount(&app.iss_api)
            .await;
        let started = std::time::Instant::now();
        let (status, body) = app.get("latitude=10&longitude=20").await;
        let expected = if name == "a timeout" { 504 } else { 502 };
        assert_eq!(status, expected, "{name}: {body}");
        assert_error_body(&body);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{name}: the 500 ms deadline holds"
        );
    }
}

#[tokio::test]
async fn a_live_failure_is_never_reported_as_a_position_at_zero_zero() {
    let app = spawn_app(PositionMode::Live).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&app.iss_api)
        .await;
    let (status, body) = app.get("latitude=0&longitude=0").await;
    assert_eq!(status, 502);
    assert!(
        body.get("distance").is_none() && body.get("location").is_none(),
        "{body}"
    );
}

#[tokio::test]
async fn bad_coordinates_get_a_clear_400_and_never_a_5xx() {
    let app = spawn_app(PositionMode::Sgp4).await;
    let long = "1".repeat(10_000);
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "latitude is required"),
        ("longitude=1".into(), "latitude is required"),
        ("latitude=1".into(), "longitude is required"),
        ("latitude=&longitude=".into(), "latitude is required"),
        ("latitude=%20%20&longitude=1".into(), "latitude is required"),
        (format!("latitude={long}&longitude=1"), "finite"),
        (format!("latitude=a{long}&longitude=1"), "must be a number"),
        ("latitude=%00%07&longitude=1".into(), "must be a number"),
        ("latitude=%E2%98%83&longitude=1".into(), "must be a number"),
        ("latitude=1&latitude=2&longitude=1".into(), "more than once"),
        ("latitude=NaN&longitude=1".into(), "finite"),
        ("latitude=1e999&longitude=1".into(), "finite"),
        ("latitude=-inf&longitude=1".into(), "finite"),
        ("latitude=91&longitude=1".into(), "between -90 and 90"),
        ("latitude=1&longitude=-181".into(), "between -180 and 180"),
        ("latitude=%ZZ&longitude=1".into(), "must be a number"),
        (
            "latitude=1&longitude=1&ground_track=yes".into(),
            "ground_track must be true or false",
        ),
    ];
    for (query, expected) in cases {
        let (status, body) = app.get(&query).await;
        assert_eq!(status, 400, "{query:.60}: {body}");
        let message = assert_error_body(&body);
        assert!(message.contains(expected), "{query:.60}: {message}");
        assert!(
            message.len() < 200,
            "the message does not echo 10,000 characters back"
        );
    }
}
