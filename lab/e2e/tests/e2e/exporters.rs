//! Exporter selection by the specification's variables (`OTEL_TRACES_EXPORTER`,
//! `OTEL_METRICS_EXPORTER`, `OTEL_LOGS_EXPORTER`): `console` prints every span,
//! metric and log record on stdout (stderr keeps the human log lines),
//! `otlp` pushes, `prometheus` is `/metrics`, `none` is nothing, and lists mix
//! them. `OTEL_EXPORTER_OTLP_COMPRESSION=gzip` compresses the OTLP exports. A service with no
//! span exporter records no spans but passes the trace context on.

use crate::support::{ask_iss_distance, one_span, service_name, EXPORT_DEADLINE};
use e2e::{prom_text, Protocol, StackBuilder};
use otlp_receiver::{OtlpReceiver, SpanKind};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_exporters_print_spans_metrics_and_logs_on_stdout() {
    let mut process = StackBuilder::new("console-exporters")
        .env("OTEL_TRACES_EXPORTER", "console")
        .env("OTEL_METRICS_EXPORTER", "console")
        .env("OTEL_LOGS_EXPORTER", "console")
        .env("OTEL_METRIC_EXPORT_INTERVAL", "500")
        .start_one("iss-distance")
        .await;
    ask_iss_distance(&process).await;
    // `console` alone replaces the default: /metrics is not served from the SDK.
    let families = prom_text::parse(&process.scrape().await).expect("valid exposition");
    assert!(
        !families.contains_key("incoming_requests_total"),
        "{:?}",
        families.keys()
    );
    // SIGTERM flushes the batch processors and the periodic reader.
    let status = process.stop(Duration::from_secs(30)).await;
    assert_eq!(status.code(), Some(0), "{}", process.stderr());

    let stdout = process.stdout();
    for (what, expected) in [
        ("the server span", "Name         : GET /"),
        ("the domain span", "Name         : calculating-iss-distance"),
        ("a log record", "received request from IP address 127.0.0.1"),
        ("a metric", "Name         : incoming.requests"),
        ("the resource", "iss-distance-service"),
    ] {
        assert!(
            stdout.contains(expected),
            "{what} ({expected:?}) missing from stdout:\n{stdout}"
        );
    }
    let stderr = process.stderr();
    assert!(stderr.contains("received request from IP address 127.0.0.1"));
    assert!(
        !stderr.contains("calculating-iss-distance") && !stderr.contains("TraceId"),
        "console output stays on stdout:\n{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exporter_lists_send_each_signal_only_where_it_is_told() {
    let receiver = OtlpReceiver::start().unwrap();
    let mut process = StackBuilder::new("exporter-lists")
        .otlp(&receiver.endpoint(), Protocol::Grpc)
        .env("OTEL_TRACES_EXPORTER", "otlp,console")
        .env("OTEL_METRICS_EXPORTER", "prometheus")
        .env("OTEL_LOGS_EXPORTER", "none")
        .start_one("iss-distance")
        .await;
    ask_iss_distance(&process).await;
    let families = prom_text::parse(&process.scrape().await).expect("valid exposition");
    assert_eq!(families["incoming_requests_total"].samples[0].value, 1.0);
    let status = process.stop(Duration::from_secs(30)).await;
    assert_eq!(status.code(), Some(0), "{}", process.stderr());

    let received = receiver.snapshot();
    assert!(
        received
            .spans
            .iter()
            .any(|s| s.name == "calculating-iss-distance"),
        "otlp: {}",
        received.summary()
    );
    assert!(received.logs.is_empty(), "none: {}", received.summary());
    assert!(
        received.metrics.is_empty(),
        "prometheus only: {}",
        received.summary()
    );
    assert!(process.stdout().contains("calculating-iss-distance"));
    assert!(!process.stdout().contains("Log #"), "no console logs");
}

/// `OTEL_EXPORTER_OTLP_COMPRESSION=gzip` (the standard variable, read by the OTLP exporters
/// themselves) compresses every export over both transports, and everything still arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_compression_gzip_works_over_grpc_and_http() {
    for (protocol, test_name) in [
        (Protocol::Grpc, "gzip-grpc"),
        (Protocol::HttpProtobuf, "gzip-http"),
    ] {
        let receiver = OtlpReceiver::start().unwrap();
        let mut process = StackBuilder::new(test_name)
            .otlp(&receiver.endpoint(), protocol)
            .env("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
            .start_one("iss-distance")
            .await;
        ask_iss_distance(&process).await;
        let status = process.stop(Duration::from_secs(30)).await;
        assert_eq!(status.code(), Some(0), "{}", process.stderr());

        let received = receiver.snapshot();
        assert!(
            received
                .spans
                .iter()
                .any(|s| s.name == "calculating-iss-distance")
                && !received.logs.is_empty()
                && !received.metrics.is_empty(),
            "{protocol:?}: {}",
            received.summary()
        );
        let all: usize = received.requests.values().sum();
        assert_eq!(
            received.gzip_requests,
            all,
            "{protocol:?}: every export compressed: {}",
            received.summary()
        );
    }
}

/// A service whose spans go nowhere (`OTEL_TRACES_EXPORTER=none`) records none, yet stays in
/// the caller's trace: its log records carry the caller's trace id, and the services it calls
/// get the caller's `traceparent` as it came, so their spans are children of the caller's span.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_without_a_span_exporter_passes_the_trace_context_on() {
    let receiver = OtlpReceiver::start().unwrap();
    let stack = StackBuilder::new("traces-none-pass-through")
        .otlp(&receiver.endpoint(), Protocol::Grpc)
        .service_env("gateway", "OTEL_TRACES_EXPORTER", "none")
        .start()
        .await;
    let trace_id = e2e::new_trace_id();
    let traceparent = e2e::load::traceparent(&trace_id);
    let caller_span_id = traceparent.split('-').nth(2).unwrap().to_owned();
    let answer = reqwest::Client::new()
        .get(stack.gateway_url("Paris"))
        .header("traceparent", &traceparent)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);

    let gateway = service_name("gateway");
    let received = receiver
        .wait_until(
            EXPORT_DEADLINE,
            "geolocator's and iss-distance's server spans and the gateway's log record",
            |r| {
                let servers = r
                    .spans_in_trace(&trace_id)
                    .iter()
                    .filter(|s| s.kind == SpanKind::Server)
                    .count();
                let gateway_logged = r
                    .logs_in_trace(&trace_id)
                    .iter()
                    .any(|l| l.service_name() == gateway);
                (servers >= 2 && gateway_logged).then(|| r.clone())
            },
        )
        .await
        .unwrap();
    let spans = received.spans_in_trace(&trace_id);
    for service in ["geolocator", "iss-distance"] {
        let server = one_span(&spans, service_name(service), SpanKind::Server, "GET /");
        assert_eq!(
            server.parent_span_id.as_deref(),
            Some(caller_span_id.as_str()),
            "{service}'s server span is a child of the gateway's caller"
        );
    }
    assert!(
        received.spans.iter().all(|s| s.service_name() != gateway),
        "the gateway exported spans: {}",
        received.summary()
    );
    let log = received
        .logs_in_trace(&trace_id)
        .into_iter()
        .find(|l| l.service_name() == gateway && l.body.starts_with("received request"))
        .expect("the gateway's request log is in the caller's trace");
    assert_eq!(log.span_id.as_deref(), Some(caller_span_id.as_str()));
}
