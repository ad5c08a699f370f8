//! Every status code the OpenAPI document promises can really be produced.

use crate::helpers::{iss_now, spawn_app};
use iss_distance::config::PositionMode;
use iss_distance::routes::ApiDoc;
use std::collections::BTreeSet;
use std::time::Duration;
use utoipa::OpenApi;
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn every_documented_status_is_reachable() {
    let mut reached = BTreeSet::new();
    let sgp4 = spawn_app(PositionMode::Sgp4).await;
    reached.insert(sgp4.get("latitude=51.5&longitude=-0.12").await.0);
    reached.insert(sgp4.get("latitude=91&longitude=0").await.0);
    for (upstream, expected) in [
        (ResponseTemplate::new(500), 502),
        (
            ResponseTemplate::new(200)
                .set_body_json(iss_now("1", "2"))
                .set_delay(Duration::from_secs(2)),
            504,
        ),
    ] {
        let live = spawn_app(PositionMode::Live).await;
        Mock::given(wiremock::matchers::method("GET"))
            .respond_with(upstream)
            .mount(&live.iss_api)
            .await;
        let (status, body) = live.get("latitude=1&longitude=2").await;
        assert_eq!(status, expected, "{body}");
        reached.insert(status);
    }
    let documented = service_kit::strategies::documented_statuses(&ApiDoc::openapi(), "/");
    assert_eq!(reached, documented, "reached vs documented");
}
