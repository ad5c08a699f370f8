//! Property-based, through the real chain (gateway -> geolocator with the
//! gazetteer -> iss-distance with SGP4, all in process): no query string,
//! however hostile, gets a 5xx or kills a worker.

use cross_service::{start_gateway, start_geolocator, start_iss_distance};
use proptest::prelude::*;
use service_kit::strategies::query;
use std::time::Duration;

fn spawn_chain() -> String {
    let iss = start_iss_distance(0);
    let geo = start_geolocator();
    let gateway = start_gateway(&geo.url, &iss.url, Duration::from_secs(5));
    gateway.url.to_string()
}

#[test]
fn arbitrary_query_strings_get_json_and_never_a_5xx() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let address = runtime.block_on(async { spawn_chain() });
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
