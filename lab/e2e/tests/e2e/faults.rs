//! A collector that refuses connections, swallows them (black hole) or answers
//! slowly never fails or slows a user request, and export resumes when the
//! collector is back.

use crate::support::{EXPORT_DEADLINE, LOAD, SERVICES};
use e2e::{percentile, Outcome, Protocol, Stack, StackBuilder, TracedClient};
use otlp_receiver::{Fault, OtlpReceiver};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Enough that p99 tolerates a couple of scheduler hiccups, while an export in the request path
/// would slow far more than 1% of the requests.
const REQUESTS: usize = 200;
const CONCURRENCY: usize = 4;
/// Within the export timeout, so slow exports still succeed; far beyond the latency bound, so
/// requests that waited for an export would fail it.
const SLOW_ANSWER: Duration = Duration::from_secs(4);
/// The exporters' own deadline per export (`OTEL_EXPORTER_OTLP_TIMEOUT`): short, so a
/// black-holed export gives up and recovery shows within seconds.
const EXPORT_TIMEOUT_MS: &str = "8000";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_faults_never_reach_user_requests_and_export_resumes_over_grpc() {
    collector_faults(Protocol::Grpc, "faults-grpc").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_faults_never_reach_user_requests_and_export_resumes_over_http_protobuf() {
    collector_faults(Protocol::HttpProtobuf, "faults-http").await;
}

async fn collector_faults(protocol: Protocol, test_name: &str) {
    let _load = LOAD.lock().await;
    let receiver = OtlpReceiver::start().unwrap();
    // The collector is not up yet when the services start (compose starts them side by side).
    receiver.stop().await;
    let stack = StackBuilder::new(test_name)
        .otlp(&receiver.endpoint(), protocol)
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", EXPORT_TIMEOUT_MS)
        .start()
        .await;
    let client = TracedClient::new();
    receiver.resume().await.unwrap();
    assert_export_resumes(
        &receiver,
        &client,
        &stack,
        "after a collector that was down at start came up",
    )
    .await;
    let url = stack.frontend_page_url("Paris");
    client.get_many(&url, 10, 2).await; // warm-up: connection pools, page cache
    let baseline = load(&client, &url, "a healthy collector").await;
    // Generous for a shared 2-core machine, and capped well below SLOW_ANSWER and the export
    // timeout, so a noisy baseline cannot hide requests that waited for an export.
    let bound = (baseline * 3 + Duration::from_secs(1)).min(Duration::from_secs(3));
    eprintln!("{test_name}: baseline p99 {baseline:?}, bound {bound:?}");

    receiver.stop().await;
    let p99 = load(&client, &url, "a refused collector").await;
    assert!(
        p99 <= bound,
        "p99 {p99:?} with a refused collector exceeds {bound:?}"
    );
    receiver.resume().await.unwrap();
    assert_export_resumes(&receiver, &client, &stack, "after the collector came back").await;

    receiver.set_fault(Fault::BlackHole);
    let p99 = load(&client, &url, "a black-holed collector").await;
    assert!(
        p99 <= bound,
        "p99 {p99:?} with a black-holed collector exceeds {bound:?}"
    );
    receiver.restart().await.unwrap();
    assert_export_resumes(
        &receiver,
        &client,
        &stack,
        "after the black hole was restarted",
    )
    .await;

    receiver.set_fault(Fault::Slow(SLOW_ANSWER));
    let p99 = load(&client, &url, "a slow collector").await;
    assert!(
        p99 <= bound,
        "p99 {p99:?} with a slow collector exceeds {bound:?}"
    );
    assert_export_resumes(&receiver, &client, &stack, "while the collector is slow").await;
}

/// Runs the load and returns its p99 latency; every request must succeed.
async fn load(client: &TracedClient, url: &str, condition: &str) -> Duration {
    let outcomes: Vec<Outcome> = client.get_many(url, REQUESTS, CONCURRENCY).await;
    for outcome in &outcomes {
        assert_eq!(outcome.status, Some(200), "with {condition}: {outcome:?}");
    }
    let latencies: Vec<Duration> = outcomes.iter().map(|o| o.latency).collect();
    let p99 = percentile(&latencies, 0.99);
    eprintln!(
        "with {condition}: p50 {:?}, p99 {p99:?}",
        percentile(&latencies, 0.5)
    );
    p99
}

fn now_unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Requests made now reach the collector: their spans and logs, and fresh metrics of every service.
async fn assert_export_resumes(
    receiver: &OtlpReceiver,
    client: &TracedClient,
    stack: &Stack,
    when: &str,
) {
    let since = now_unix_nanos();
    let fresh: Vec<Outcome> = client
        .get_many(&stack.frontend_page_url("Tokyo"), 3, 1)
        .await;
    assert!(fresh.iter().all(|o| o.status == Some(200)), "{fresh:?}");
    let services = SERVICES;
    receiver
        .wait_until(
            EXPORT_DEADLINE,
            &format!("spans, logs and metrics of requests made {when}"),
            |r| {
                let traced = fresh.iter().all(|o| {
                    let logged = r.logs_in_trace(&o.trace_id);
                    r.spans_in_trace(&o.trace_id).len() == 10
                        && services
                            .iter()
                            .all(|s| logged.iter().any(|l| l.service_name() == *s))
                });
                let metrics = services.iter().all(|s| {
                    r.metric_points(s, "http.server.request.duration")
                        .iter()
                        .any(|p| p.time_unix_nano > since)
                });
                (traced && metrics).then_some(())
            },
        )
        .await
        .unwrap();
}
