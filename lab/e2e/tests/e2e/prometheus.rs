//! `/metrics` read with a strict Prometheus text-format parser: the names,
//! types, labels and bucket boundaries Prometheus and the dashboards rely on.
//! No OTLP endpoint here: the pull path must work without a collector.

use e2e::prom_text::{self, Family};
use e2e::{StackBuilder, TracedClient, LATENCY_BUCKETS};
use std::collections::BTreeMap;
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn iss_now(status: u16) -> Mock {
    let body = serde_json::json!({
        "message": "success",
        "timestamp": 1_700_000_000,
        "iss_position": {"latitude": "10.5", "longitude": "20.25"}
    });
    Mock::given(method("GET"))
        .and(path("/iss-now.json"))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
}

fn value(families: &BTreeMap<String, Family>, family: &str, labels: &[(&str, &str)]) -> f64 {
    families
        .get(family)
        .unwrap_or_else(|| panic!("no family {family}: {:?}", families.keys()))
        .samples
        .iter()
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_serves_contract_metrics_in_a_valid_prometheus_exposition() {
    let iss_api = MockServer::start().await;
    iss_now(200).mount(&iss_api).await;
    let mut stack = StackBuilder::new("prometheus")
        .service_env("iss-distance", "ISS_POSITION_SOURCE", "auto")
        .service_env(
            "iss-distance",
            "ISS_API_URL",
            &format!("{}/iss-now.json", iss_api.uri()),
        )
        .start()
        .await;
    let client = TracedClient::new();
    for outcome in client
        .get_many(&stack.frontend_page_url("Paris"), 3, 1)
        .await
    {
        assert_eq!(outcome.status, Some(200), "{}", outcome.body);
        assert!(
            outcome.body.contains("Position from the live ISS API"),
            "the live position was used: {}",
            outcome.body
        );
    }
    // The ISS API fails once: iss-distance falls back to SGP4, and says so in a metric and a warning.
    iss_api.reset().await;
    iss_now(500).mount(&iss_api).await;
    let fallback = client.get(&stack.frontend_page_url("Paris"), &[]).await;
    assert_eq!(fallback.status, Some(200), "{}", fallback.body);
    // Log lines reach stderr from the service's writer thread, a few milliseconds after the answer.
    stack
        .iss_distance
        .wait_for_line("the fallback warning", Duration::from_secs(5), |line| {
            line.contains("falling back to the SGP4 position")
                .then_some(())
        })
        .await
        .expect("a warning on stderr for the fallback");

    for process in stack.processes() {
        let text = process.scrape().await;
        let families =
            prom_text::parse(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", process.name()));
        let binary = process.name();

        let duration = &families["http_server_request_duration_seconds"];
        assert_eq!(duration.kind, "histogram", "{binary}");
        let histograms = duration.histograms();
        for series in &histograms {
            let bounds: Vec<f64> = series.buckets.iter().map(|(le, _)| *le).collect();
            let expected: Vec<f64> = LATENCY_BUCKETS
                .iter()
                .copied()
                .chain([f64::INFINITY])
                .collect();
            assert_eq!(bounds, expected, "{binary} {:?}", series.labels);
            for key in [
                "http_request_method",
                "http_route",
                "http_response_status_code",
                "url_scheme",
            ] {
                assert!(
                    series.labels.contains_key(key),
                    "{binary}: {key} in {:?}",
                    series.labels
                );
            }
        }
        let api = histograms
            .iter()
            .find(|s| s.labels.get("http_route").map(String::as_str) == Some("/"))
            .unwrap_or_else(|| panic!("{binary} timed its API route"));
        assert_eq!(api.count, 4.0, "{binary}: four API requests");
        assert!(
            api.sum > 0.0 && api.sum < 60.0,
            "{binary}: sum in seconds, got {}",
            api.sum
        );

        assert_eq!(
            families["http_server_active_requests"].kind, "gauge",
            "{binary}"
        );
        assert!(
            value(
                &families,
                "http_server_active_requests",
                &[("http_request_method", "GET")]
            ) >= 0.0
        );
        assert_eq!(
            families["incoming_requests_total"].kind, "counter",
            "{binary}"
        );
        assert_eq!(
            value(&families, "incoming_requests_total", &[]),
            4.0,
            "{binary}"
        );

        let info = &families["target_info"].samples[0].labels;
        let name = crate::support::service_name(binary);
        assert_eq!(
            info.get("service_name").map(String::as_str),
            Some(name),
            "{binary}"
        );
        assert_eq!(
            info.get("service_namespace").map(String::as_str),
            Some("iss-distance-app")
        );

        if matches!(binary, "frontend" | "gateway" | "iss-distance") {
            let client_duration = &families["http_client_request_duration_seconds"];
            assert_eq!(client_duration.kind, "histogram", "{binary}");
            assert!(client_duration
                .histograms()
                .iter()
                .all(|s| s.buckets.len() == LATENCY_BUCKETS.len() + 1));
        }
        for family in families.values() {
            for sample in &family.samples {
                for (label, value) in &sample.labels {
                    assert!(
                        !value.contains("Paris") && !value.contains('?'),
                        "{binary}: {label}={value}"
                    );
                }
            }
        }
        match binary {
            "geolocator" => {
                let hits = [
                    ("geocoder_source", "gazetteer"),
                    ("geocoder_result", "hit"),
                    ("geocoder_cached", "false"),
                ];
                assert_eq!(value(&families, "geocoder_lookups_total", &hits), 4.0);
            }
            "iss-distance" => {
                assert_eq!(
                    value(
                        &families,
                        "iss_requests_total",
                        &[("response_status", "200")]
                    ),
                    3.0
                );
                assert_eq!(
                    value(
                        &families,
                        "iss_requests_total",
                        &[("response_status", "500")]
                    ),
                    1.0
                );
                let live = [
                    ("iss_position_source", "live"),
                    ("iss_position_fallback", "false"),
                ];
                assert_eq!(value(&families, "iss_position_lookups_total", &live), 3.0);
                let fell_back = [
                    ("iss_position_source", "sgp4"),
                    ("iss_position_fallback", "true"),
                ];
                assert_eq!(
                    value(&families, "iss_position_lookups_total", &fell_back),
                    1.0
                );
            }
            _ => {}
        }
    }
}
