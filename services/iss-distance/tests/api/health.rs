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
