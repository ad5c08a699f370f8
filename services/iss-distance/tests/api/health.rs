use crate::helpers::spawn_app;
use iss_distance::config::PositionMode;

#[tokio::test]
async fn health_and_readiness_answer_200() {
    let app = spawn_app(PositionMode::Sgp4).await;
    for path in ["/healthz", "/readyz", "/metrics"] {
        let response = reqwest::get(format!("{}{path}", app.address))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
    }
}

#[tokio::test]
async fn an_unknown_path_is_a_json_404() {
    let app = spawn_app(PositionMode::Sgp4).await;
    let response = reqwest::get(format!("{}/nope", app.address)).await.unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn a_query_string_over_16_kib_is_refused_with_a_json_414() {
    let app = spawn_app(PositionMode::Sgp4).await;
    let (status, body) = app
        .get(&format!(
            "latitude=1&longitude=2&pad={}",
            "x".repeat(16 * 1024)
        ))
        .await;
    assert_eq!(status, 414, "{body}");
    assert_eq!(
        body["error"],
        "The query string is longer than 16384 bytes."
    );
    let (status, _) = app
        .get(&format!(
            "latitude=1&longitude=2&pad={}",
            "x".repeat(16 * 1024 - 100)
        ))
        .await;
    assert_eq!(status, 200, "just under the limit is served");
}
