//! Property-based: no query string or form body, however hostile, gets a 5xx,
//! kills a worker, or comes back as live markup.

use super::html::elements;
use super::test_config;
use frontend::startup;
use proptest::prelude::*;
use service_kit::strategies::query;
use url::Url;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The gateway double echoes nothing back but a fixed error, so any markup on the page came from our own echo of the input.
async fn spawn_app() -> (String, MockServer) {
    let gateway = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(serde_json::json!({"error": "No coordinates found"})),
        )
        .mount(&gateway)
        .await;
    let config = test_config(&Url::parse(&gateway.uri()).unwrap());
    let telemetry = telemetry::init(frontend::SERVICE, &config.telemetry).unwrap();
    let app = startup::build(config, &telemetry).unwrap();
    let address = format!("http://127.0.0.1:{}/", app.port());
    tokio::spawn(async move {
        let _telemetry = telemetry;
        app.run_until_stopped().await
    });
    (address, gateway)
}

/// Only the page's own markup, as a browser reads it: one form, one input, no script.
fn assert_inert(html: &str) -> Result<(), TestCaseError> {
    let elements = elements(html);
    let count = |name: &str| elements.iter().filter(|element| *element == name).count();
    prop_assert_eq!(count("script"), 0, "script element on the page");
    prop_assert_eq!(count("form"), 1);
    prop_assert_eq!(count("input"), 1);
    Ok(())
}

#[test]
fn arbitrary_queries_and_form_bodies_get_an_escaped_page_and_never_a_5xx() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (address, _gateway) = runtime.block_on(spawn_app());
    let client = reqwest::Client::new();
    proptest!(ProptestConfig::with_cases(200), |(input in query(&["location"]), as_form in any::<bool>())| {
        let (status, content_type, body) = runtime.block_on(async {
            let request = if as_form {
                client.post(&address).header("content-type", "application/x-www-form-urlencoded").body(input.clone())
            } else {
                client.get(format!("{address}?{input}"))
            };
            let response = request.send().await.expect("an answer, not a dropped connection");
            let status = response.status().as_u16();
            let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
            (status, content_type, response.text().await.unwrap())
        });
        prop_assert!(status == 200 || (400..500).contains(&status), "{status} for {input:.200}");
        if content_type.starts_with("text/html") {
            assert_inert(&body)?;
        } else {
            // Only the size limits answer outside the page: 413 (body) and 414 (query), as JSON or plain text.
            prop_assert!(status == 413 || status == 414, "{status} {content_type}");
        }
    });
}
