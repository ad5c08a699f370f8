use crate::helpers::{iss_now, spawn_app};
use api::{Distance, IssPosition, PositionSource};
use iss_distance::config::PositionMode;
use iss_distance::distance::geodesic_metres;
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

fn reference_pair(label: &str) -> Value {
    let reference: Value =
        serde_json::from_str(include_str!("../fixtures/reference.json")).unwrap();
    reference["geodesic"]["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["label"] == label)
        .unwrap()
        .clone()
}

#[tokio::test]
async fn live_mode_answers_the_reference_distance_to_the_live_position() {
    let app = spawn_app(PositionMode::Live).await;
    let pair = reference_pair("JFK to LHR");
    Mock::given(method("GET"))
        .and(path("/iss-now.json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(iss_now(
            &pair["lat2_deg"].to_string(),
            &pair["lon2_deg"].to_string(),
        )))
        .expect(1)
        .mount(&app.iss_api)
        .await;
    let (status, body) = app
        .get(&format!(
            "latitude={}&longitude={}",
            pair["lat1_deg"], pair["lon1_deg"]
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let expected_km = (pair["distance_m"].as_f64().unwrap() / 10.0).round() / 100.0;
    assert_eq!(body["distance"].as_f64().unwrap(), expected_km);
    assert_eq!(body["location"]["latitude"], pair["lat2_deg"]);
    assert_eq!(body["location"]["longitude"], pair["lon2_deg"]);
    assert_eq!(body["source"], "live");
    assert_eq!(body["timestamp"], 1_700_000_000);
    assert_eq!(body.get("elements"), None, "a live position is no estimate");
}

#[tokio::test]
async fn sgp4_mode_never_calls_the_api_and_answers_a_consistent_distance() {
    let app = spawn_app(PositionMode::Sgp4).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&app.iss_api)
        .await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (status, body) = app.get("latitude=-33.87&longitude=151.21").await;
    assert_eq!(status, 200, "{body}");
    let answer: Distance = serde_json::from_value(body.clone()).expect("the contract's body");
    assert_eq!(answer.source, PositionSource::Sgp4);
    let IssPosition {
        latitude: lat,
        longitude: lon,
    } = answer.location;
    assert!(
        lat.abs() <= 52.0 && lon.abs() <= 180.0,
        "ISS inclination bounds latitude: {body}"
    );
    assert!((lat, lon) != (0.0, 0.0));
    let expected = (geodesic_metres(-33.87, 151.21, lat, lon) / 10.0).round() / 100.0;
    assert_eq!(answer.distance, expected);
    assert!((answer.timestamp - before).abs() <= 2);
    assert!(
        body.get("ground_track").is_none(),
        "the track only when asked: {body}"
    );
    // An estimate says what it is estimated from: the shipped elements, and how old they are.
    let elements = answer.elements.expect("an SGP4 answer states its elements");
    assert_eq!(elements.epoch, "2026-10-09T19:42:49Z");
    let expected_age = (answer.timestamp as f64 - 1_791_574_969.139) / 86_400.0;
    assert!(
        (elements.age_days - expected_age).abs() < 0.01,
        "{elements:?}"
    );
}

#[tokio::test]
async fn asked_for_it_the_answer_carries_the_track_of_the_current_orbit() {
    let app = spawn_app(PositionMode::Sgp4).await;
    let (status, body) = app
        .get("latitude=-33.87&longitude=151.21&ground_track=true")
        .await;
    assert_eq!(status, 200, "{body}");
    let answer: Distance = serde_json::from_value(body).expect("the contract's body");
    // 45 minutes either side of the position's time, every 3 minutes, through the position.
    assert_eq!(answer.ground_track.len(), 31);
    assert_eq!(answer.ground_track[15], answer.location);
}

#[tokio::test]
async fn the_request_is_counted_in_the_metrics() {
    let app = spawn_app(PositionMode::Sgp4).await;
    let (status, _) = app.get("latitude=1&longitude=2").await;
    assert_eq!(status, 200);
    // The process-global meter is a no-op in tests (telemetry::init is not called), so the
    // contract checked here is only that /metrics renders; the OTLP tests check the numbers.
    assert!(app.metrics.render().is_ok());
}
