//! Property-based, through the real chain (gateway -> geolocator with the
//! gazetteer -> iss-distance with SGP4, all in process): no query string,
//! however hostile, gets a 5xx or kills a worker.

use proptest::prelude::*;
use service_common::strategies::query;
use std::time::Duration;
use telemetry::MetricsRegistry;
use url::Url;

async fn spawn_chain() -> String {
    let iss = iss_distance::startup::build(
        iss_distance::Config::for_tests(
            iss_distance::config::PositionMode::Sgp4,
            Url::parse("http://127.0.0.1:9/").unwrap(),
        ),
        MetricsRegistry::default(),
    )
    .unwrap();
    let geo = geolocator::startup::build(
        geolocator::Config::for_tests(
            geolocator::config::GeocoderKind::Gazetteer,
            Url::parse("http://127.0.0.1:9/").unwrap(),
        ),
        MetricsRegistry::default(),
    )
    .unwrap();
    let url = |port: u16| Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let gateway = gateway::startup::build(
        gateway::Config::for_tests(url(geo.port()), url(iss.port()), Duration::from_secs(5)),
        MetricsRegistry::default(),
    )
    .unwrap();
    let address = format!("http://127.0.0.1:{}/", gateway.port());
    tokio::spawn(iss.run_until_stopped());
    tokio::spawn(geo.run_until_stopped());
    tokio::spawn(gateway.run_until_stopped());
    address
}

#[test]
fn arbitrary_query_strings_get_json_and_never_a_5xx() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let address = runtime.block_on(spawn_chain());
    let client = reqwest::Client::new();
    proptest!(ProptestConfig::with_cases(300), |(query in query(&["location"]))| {
        let (status, body) = runtime.block_on(async {
            let response = client.get(format!("{address}?{query}")).send().await.expect("an answer, not a dropped connection");
            let status = response.status().as_u16();
            (status, response.json::<serde_json::Value>().await.expect("a JSON body"))
        });
        prop_assert!(status == 200 || (400..500).contains(&status), "{status} for {query:.200}: {body}");
        if status == 200 {
            prop_assert!(body["distance"].as_f64().is_some_and(|d| d >= 0.0), "{body}");
            prop_assert!(body["place"]["name"].is_string(), "{body}");
        } else {
            prop_assert!(body["error"].is_string(), "{body}");
        }
    });
}
