//! Every status code the OpenAPI document promises can really be produced.

use super::{distance, geolocator_answers, iss_distance_answers, paris, spawn_app};
use gateway::routes::ApiDoc;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;
use utoipa::OpenApi;
use wiremock::ResponseTemplate;

#[tokio::test]
async fn every_documented_status_is_reachable() {
    let mut reached = BTreeSet::new();
    let scenarios = [
        (
            ResponseTemplate::new(200).set_body_json(paris()),
            ResponseTemplate::new(200).set_body_json(distance()),
            "Paris",
            200,
        ),
        (
            ResponseTemplate::new(200).set_body_json(paris()),
            ResponseTemplate::new(200).set_body_json(distance()),
            " ",
            400,
        ),
        (
            ResponseTemplate::new(404).set_body_json(json!({"error": "No coordinates found"})),
            ResponseTemplate::new(200),
            "Qqqzzxq",
            404,
        ),
        (
            ResponseTemplate::new(200).set_body_json(paris()),
            ResponseTemplate::new(500),
            "Paris",
            502,
        ),
        (
            ResponseTemplate::new(200)
                .set_body_json(paris())
                .set_delay(Duration::from_secs(2)),
            ResponseTemplate::new(200),
            "Paris",
            504,
        ),
    ];
    for (geolocator, iss_distance, location, expected) in scenarios {
        let app = spawn_app().await;
        geolocator_answers(&app, geolocator).await;
        iss_distance_answers(&app, iss_distance).await;
        let (status, body) = app.locate(location).await;
        assert_eq!(status, expected, "{location}: {body}");
        reached.insert(status);
    }
    let documented = service_kit::strategies::documented_statuses(&ApiDoc::openapi(), "/");
    assert_eq!(reached, documented, "reached vs documented");
}
