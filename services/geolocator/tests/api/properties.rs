//! Property-based: no query string, however hostile, gets a 5xx or kills a worker.

use crate::helpers::spawn_app;
use geolocator::config::GeocoderKind;
use proptest::prelude::*;
use service_kit::strategies::query;

#[test]
fn arbitrary_query_strings_get_json_and_never_a_5xx() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = runtime.block_on(spawn_app(GeocoderKind::Gazetteer));
    let client = reqwest::Client::new();
    proptest!(ProptestConfig::with_cases(300), |(query in query(&["location"]))| {
        let (status, body) = runtime.block_on(async {
            let response = client.get(format!("{}?{query}", app.address)).send().await.expect("an answer, not a dropped connection");
            let status = response.status().as_u16();
            (status, response.json::<serde_json::Value>().await.expect("a JSON body"))
        });
        prop_assert!(status == 200 || (400..500).contains(&status), "{status} for {query:.200}: {body}");
        if status != 200 {
            prop_assert!(body["error"].is_string(), "{body}");
        }
    });
}
