//! Every status code the OpenAPI document promises can really be produced.

use crate::helpers::spawn_app;
use geolocator::config::GeocoderKind;
use geolocator::routes::ApiDoc;
use std::collections::BTreeSet;
use std::time::Duration;
use utoipa::OpenApi;
use wiremock::matchers::method;
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn every_documented_status_is_reachable() {
    let mut reached = BTreeSet::new();
    let gazetteer = spawn_app(GeocoderKind::Gazetteer).await;
    for (location, expected) in [("Paris", 200), (" ", 400), ("Qqqzzxq", 404)] {
        let (status, body) = gazetteer.locate(location).await;
        assert_eq!(status, expected, "{location}: {body}");
        reached.insert(status);
    }
    for (nominatim, expected) in [
        (ResponseTemplate::new(500), 502),
        (
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!([]))
                .set_delay(Duration::from_secs(2)),
            504,
        ),
    ] {
        let app = spawn_app(GeocoderKind::Nominatim).await;
        Mock::given(method("GET"))
            .respond_with(nominatim)
            .mount(&app.nominatim)
            .await;
        let (status, body) = app.locate("Somewhere").await;
        assert_eq!(status, expected, "{body}");
        reached.insert(status);
    }
    // Three new places at once: Nominatim's 1 request/s leaves the last beyond the wait bound.
    let busy = spawn_app(GeocoderKind::Nominatim).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&busy.nominatim)
        .await;
    let lookups = ["One", "Two", "Three"].map(|place| busy.locate(place));
    reached.extend(
        futures_util::future::join_all(lookups)
            .await
            .into_iter()
            .map(|(status, _)| status),
    );
    let documented = service_kit::strategies::documented_statuses(&ApiDoc::openapi(), "/");
    assert_eq!(reached, documented, "reached vs documented");
}
