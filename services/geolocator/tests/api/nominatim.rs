use crate::helpers::{spawn_app, spawn_app_with_timeout};
use geolocator::config::GeocoderKind;
use std::time::{Duration, Instant};
use wiremock::matchers::{header_regex, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

fn found(name: &str) -> serde_json::Value {
    serde_json::json!([{ "lat": "48.8588897", "lon": "2.3200410", "display_name": name }])
}

#[tokio::test]
async fn nominatim_is_asked_with_a_project_user_agent_and_its_answer_is_returned() {
    let app = spawn_app(GeocoderKind::Nominatim).await;
    Mock::given(method("GET"))
        .and(path("/search"))
        .and(query_param("q", "Paris"))
        .and(query_param("format", "jsonv2"))
        .and(header_regex("user-agent", "^iss-distance-app/"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(found("Paris, Île-de-France, France")),
        )
        .expect(1)
        .mount(&app.nominatim)
        .await;
    let (status, body) = app.locate("Paris").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "Paris, Île-de-France, France");
    assert_eq!(body["source"], "nominatim");
    assert_eq!(body["latitude"].as_f64(), Some(48.8588897));
}

#[tokio::test]
async fn repeated_places_are_served_from_the_cache() {
    let app = spawn_app(GeocoderKind::Nominatim).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(found("Paris")))
        .expect(1)
        .mount(&app.nominatim)
        .await;
    for query in ["Paris", "paris", "PARIS "] {
        let (status, _) = app.locate(query).await;
        assert_eq!(status, 200, "{query}");
    }
}

#[tokio::test]
async fn an_empty_result_is_a_404_and_is_cached_too() {
    let app = spawn_app(GeocoderKind::Nominatim).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .expect(1)
        .mount(&app.nominatim)
        .await;
    for _ in 0..2 {
        let (status, body) = app.locate("Nowhere").await;
        assert_eq!(status, 404, "{body}");
    }
}

#[tokio::test]
async fn nominatim_failures_are_clear_502s_and_timeouts_504s() {
    let cases = [
        ("429", ResponseTemplate::new(429), 502),
        ("500", ResponseTemplate::new(500), 502),
        (
            "malformed",
            ResponseTemplate::new(200).set_body_string("[{"),
            502,
        ),
        (
            "timeout",
            ResponseTemplate::new(200)
                .set_body_json(found("x"))
                .set_delay(Duration::from_secs(3)),
            504,
        ),
    ];
    for (name, response, expected) in cases {
        let app = spawn_app(GeocoderKind::Nominatim).await;
        Mock::given(method("GET"))
            .respond_with(response)
            .mount(&app.nominatim)
            .await;
        let (status, body) = app.locate("Paris").await;
        assert_eq!(status, expected, "{name}: {body}");
        assert!(
            body["error"].as_str().unwrap().starts_with("The geocoder"),
            "{name}: {body}"
        );
    }
}

#[tokio::test]
async fn the_one_request_per_second_limit_holds_under_concurrent_requests() {
    let app = spawn_app_with_timeout(GeocoderKind::Nominatim, Duration::from_secs(5)).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(found("x")))
        .expect(3)
        .mount(&app.nominatim)
        .await;
    let started = Instant::now();
    let lookups = ["Alpha", "Beta", "Gamma"].map(|place| app.locate(place));
    let results = futures_util::future::join_all(lookups).await;
    assert!(
        results.iter().all(|(status, _)| *status == 200),
        "{results:?}"
    );
    // Three distinct places need three slots one second apart: at least two seconds in all.
    assert!(
        started.elapsed() >= Duration::from_millis(1950),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn requests_that_would_wait_too_long_for_a_slot_are_refused_with_503() {
    let app = spawn_app(GeocoderKind::Nominatim).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(found("x")))
        .mount(&app.nominatim)
        .await;
    let lookups = ["One", "Two", "Three"].map(|place| app.locate(place));
    let statuses: Vec<u16> = futures_util::future::join_all(lookups)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert!(statuses.contains(&200), "{statuses:?}");
    assert!(
        statuses.contains(&503),
        "the 500 ms wait bound refuses the rest: {statuses:?}"
    );
}
