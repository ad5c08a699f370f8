//! 1,000 distinct locations (and client addresses) through the gateway must
//! not become 1,000 time series: no metric attribute carries user input.

use crate::support::{EXPORT_DEADLINE, LOAD};
use e2e::{prom_text, Protocol, StackBuilder, TracedClient};
use otlp_receiver::OtlpReceiver;
use std::collections::BTreeSet;

const LOCATIONS: usize = 1000;
/// Requests with a made-up method, and with a made-up forwarded scheme.
const ODD_REQUESTS: usize = 30;
/// Per metric and service: methods x routes x statuses x error types, with room to spare.
const MAX_SERIES: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_distinct_locations_and_addresses_stay_a_handful_of_series() {
    let _load = LOAD.lock().await;
    let receiver = OtlpReceiver::start().unwrap();
    let stack = StackBuilder::new("cardinality")
        .otlp(&receiver.endpoint(), Protocol::Grpc)
        // The test client is the proxy here: its X-Forwarded-For is believed.
        .env("TRUSTED_PROXIES", "127.0.0.1")
        .start()
        .await;
    // Mostly distinct coordinates (200), every tenth an unknown name (404); each from its own address.
    let inputs: Vec<(String, String)> = (0..LOCATIONS)
        .map(|i| {
            let location = if i % 10 == 0 {
                format!("Nowhere-{i}")
            } else {
                format!(
                    "{:.3}, {:.3}",
                    -60.0 + i as f64 * 0.12,
                    -170.0 + i as f64 * 0.34
                )
            };
            (location, format!("10.77.{}.{}", i / 250, i % 250 + 1))
        })
        .collect();
    let requests = inputs
        .iter()
        .map(|(location, address)| {
            (
                stack.gateway_url(location),
                vec![("x-forwarded-for".to_owned(), address.clone())],
            )
        })
        .collect();
    let outcomes = TracedClient::new().get_all(requests, 8).await;
    let found = outcomes.iter().filter(|o| o.status == Some(200)).count();
    let unknown = outcomes.iter().filter(|o| o.status == Some(404)).count();
    assert_eq!(
        (found, unknown),
        (900, 100),
        "{:?}",
        outcomes
            .iter()
            .find(|o| !matches!(o.status, Some(200 | 404)))
    );

    // The method and the (forwarded) scheme are caller-controlled too.
    let http = reqwest::Client::new();
    for i in 0..ODD_REQUESTS {
        let method = reqwest::Method::from_bytes(format!("PROBE{i}").as_bytes()).unwrap();
        let odd_method = http
            .request(method, stack.gateway.url())
            .send()
            .await
            .unwrap();
        assert!(
            odd_method.status().is_client_error(),
            "{}",
            odd_method.status()
        );
        let odd_scheme = http
            .get(stack.gateway_url("Paris"))
            .header("x-forwarded-proto", format!("scheme{i}"))
            .send()
            .await
            .unwrap();
        assert_eq!(odd_scheme.status(), 200);
    }

    let received = receiver
        .wait_until(EXPORT_DEADLINE, "the counters of all 1,000 requests", |r| {
            let done = r.latest_total("gateway", "incoming.requests", &[]) >= LOCATIONS as f64
                && r.latest_total("geolocator-service", "incoming.requests", &[])
                    >= LOCATIONS as f64
                && r.latest_total("iss-distance-service", "incoming.requests", &[]) >= 900.0;
            done.then(|| r.clone())
        })
        .await
        .unwrap();
    let user_input: BTreeSet<&str> = inputs
        .iter()
        .flat_map(|(l, a)| [l.as_str(), a.as_str()])
        .collect();
    let carries_input = |value: &str| {
        user_input.contains(value) || value.contains("Nowhere") || value.contains("10.77.")
    };
    assert!(
        received.logs.iter().any(|l| l.body.contains("from IP address 10.77.")),
        "the forwarded addresses did reach the telemetry (logs), so their absence from metrics means something"
    );

    // Every request ended: the in-flight gauge is back to zero (its guard ran for 200s and 404s alike).
    receiver
        .wait_until(
            EXPORT_DEADLINE,
            "http.server.active_requests back at 0",
            |r| {
                let services = ["gateway", "geolocator-service", "iss-distance-service"];
                services
                    .iter()
                    .all(|s| r.latest_total(s, "http.server.active_requests", &[]) == 0.0)
                    .then_some(())
            },
        )
        .await
        .unwrap();
    // The span keeps what the caller sent, under the conventions' names. Spans
    // travel in their own batches: wait for it rather than read the snapshot
    // taken when the counters were complete.
    let odd = receiver
        .wait_until(
            EXPORT_DEADLINE,
            "the span of a request with a made-up method",
            |r| {
                r.spans_of("gateway")
                    .into_iter()
                    .find(|s| s.attr_str("http.request.method_original") == Some("PROBE0"))
                    .cloned()
            },
        )
        .await
        .unwrap();
    assert_eq!(odd.attr_str("http.request.method"), Some("_OTHER"));
    assert!(odd.name.starts_with("HTTP"), "{}", odd.name);
    for service in ["gateway", "geolocator-service", "iss-distance-service"] {
        for name in received.metric_names(service) {
            let series = received.metric_series(service, name);
            assert!(
                series.len() <= MAX_SERIES,
                "{service} {name}: {} series: {series:?}",
                series.len()
            );
        }
    }
    for point in &received.metrics {
        for (key, value) in &point.attributes {
            let value = value.to_string();
            assert!(
                !carries_input(&value),
                "{} {}: {key}={value}",
                point.service_name(),
                point.name
            );
            assert!(
                !matches!(
                    key.as_str(),
                    "client.address" | "network.peer.address" | "url.full" | "url.query"
                ),
                "{} {}: {key}",
                point.service_name(),
                point.name
            );
        }
    }

    for process in [&stack.gateway, &stack.geolocator, &stack.iss_distance] {
        let families = prom_text::parse(&process.scrape().await).expect("valid exposition");
        for family in families.values() {
            assert!(
                family.series().len() <= MAX_SERIES,
                "{} /metrics {}: {:?}",
                process.name(),
                family.name,
                family.series()
            );
            for sample in &family.samples {
                for (label, value) in &sample.labels {
                    assert!(
                        !carries_input(value),
                        "{} /metrics {}: {label}={value}",
                        process.name(),
                        sample.name
                    );
                }
            }
        }
    }
}
