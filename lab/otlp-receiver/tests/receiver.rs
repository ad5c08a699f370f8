//! The receiver against hand-built OTLP exports over both transports, and its
//! fault modes as a client sees them.

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    span, status, ResourceSpans, ScopeSpans, Span, Status,
};
use otlp_receiver::{Fault, OtlpReceiver, PointValue, Signal, SpanKind, StatusCode, Transport};
use prost::Message;
use std::net::TcpStream;
use std::time::{Duration, Instant};

const TRACE: [u8; 16] = [
    0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36,
];
const TRACE_HEX: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn text(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..Default::default()
    }
}

fn resource(service: &str) -> Option<Resource> {
    Some(Resource {
        attributes: vec![
            text("service.name", service),
            text("service.namespace", "test"),
        ],
        ..Default::default()
    })
}

/// A server span and its child client span (marked as failed) in one trace.
fn traces(service: &str) -> ExportTraceServiceRequest {
    let server = Span {
        trace_id: TRACE.to_vec(),
        span_id: vec![1; 8],
        name: "GET /".into(),
        kind: span::SpanKind::Server as i32,
        attributes: vec![
            text("http.route", "/"),
            int("http.response.status_code", 200),
        ],
        ..Default::default()
    };
    let client = Span {
        trace_id: TRACE.to_vec(),
        span_id: vec![2; 8],
        parent_span_id: vec![1; 8],
        name: "GET".into(),
        kind: span::SpanKind::Client as i32,
        status: Some(Status {
            message: "refused".into(),
            code: status::StatusCode::Error as i32,
        }),
        events: vec![span::Event {
            name: "exception".into(),
            attributes: vec![text("exception.message", "refused")],
            ..Default::default()
        }],
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(service),
            scope_spans: vec![ScopeSpans {
                spans: vec![server, client],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// A counter with two series (one reported twice, as cumulative exports do) and a histogram.
fn metrics(service: &str, total: i64) -> ExportMetricsServiceRequest {
    let counter_point = |status: &str, value: i64, time: u64| NumberDataPoint {
        attributes: vec![text("response.status", status)],
        time_unix_nano: time,
        value: Some(number_data_point::Value::AsInt(value)),
        ..Default::default()
    };
    let counter = Metric {
        name: "iss.requests".into(),
        unit: "{request}".into(),
        data: Some(metric::Data::Sum(Sum {
            data_points: vec![counter_point("200", total, 2), counter_point("500", 1, 1)],
            aggregation_temporality: 2,
            is_monotonic: true,
        })),
        ..Default::default()
    };
    let histogram = Metric {
        name: "http.server.request.duration".into(),
        unit: "s".into(),
        data: Some(metric::Data::Histogram(Histogram {
            data_points: vec![HistogramDataPoint {
                attributes: vec![text("http.route", "/")],
                count: 3,
                sum: Some(0.5),
                explicit_bounds: vec![0.1, 1.0],
                bucket_counts: vec![1, 2, 0],
                ..Default::default()
            }],
            aggregation_temporality: 2,
        })),
        ..Default::default()
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(service),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![counter, histogram],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn logs(service: &str) -> ExportLogsServiceRequest {
    let record = |body: &str, trace: Vec<u8>| LogRecord {
        severity_number: 9,
        severity_text: "INFO".into(),
        body: Some(AnyValue {
            value: Some(any_value::Value::StringValue(body.into())),
        }),
        trace_id: trace,
        span_id: vec![1; 8],
        ..Default::default()
    };
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(service),
            scope_logs: vec![ScopeLogs {
                log_records: vec![
                    record("received request from IP address 127.0.0.1", TRACE.to_vec()),
                    record("started application", Vec::new()),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

async fn post(receiver: &OtlpReceiver, path: &str, body: Vec<u8>) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}{path}", receiver.endpoint()))
        .header("content-type", "application/x-protobuf")
        .body(body)
        .send()
        .await
        .expect("the receiver answers")
}

#[tokio::test]
async fn grpc_exports_of_all_three_signals_are_recorded_and_queryable() {
    let receiver = OtlpReceiver::start().unwrap();
    let endpoint = receiver.endpoint();
    TraceServiceClient::connect(endpoint.clone())
        .await
        .unwrap()
        .export(traces("svc-a"))
        .await
        .unwrap();
    let mut metrics_client = MetricsServiceClient::connect(endpoint.clone())
        .await
        .unwrap();
    metrics_client.export(metrics("svc-a", 4)).await.unwrap();
    metrics_client.export(metrics("svc-a", 7)).await.unwrap();
    LogsServiceClient::connect(endpoint)
        .await
        .unwrap()
        .export(logs("svc-a"))
        .await
        .unwrap();

    let received = receiver.snapshot();
    assert_eq!(received.request_count(Signal::Traces), 1);
    assert_eq!(received.request_count(Signal::Metrics), 2);
    assert_eq!(received.request_count_over(Transport::Grpc), 4);
    assert_eq!(received.request_count_over(Transport::HttpProtobuf), 0);

    let spans = received.spans_in_trace(TRACE_HEX);
    assert_eq!(spans.len(), 2);
    let server = spans.iter().find(|s| s.kind == SpanKind::Server).unwrap();
    let client = spans.iter().find(|s| s.kind == SpanKind::Client).unwrap();
    assert_eq!(
        server.parent_span_id, None,
        "all-zero or empty parent means root"
    );
    assert_eq!(
        client.parent_span_id.as_deref(),
        Some(server.span_id.as_str())
    );
    assert_eq!(server.span_id, "0101010101010101");
    assert_eq!(server.attr_str("http.route"), Some("/"));
    assert_eq!(server.attr_i64("http.response.status_code"), Some(200));
    assert_eq!(client.status, StatusCode::Error);
    assert_eq!(client.events[0].name, "exception");
    assert_eq!(server.service_name(), "svc-a");
    assert_eq!(received.spans_of("svc-a").len(), 2);
    assert!(received.spans_of("other").is_empty());

    assert_eq!(
        received
            .metric_names("svc-a")
            .into_iter()
            .collect::<Vec<_>>(),
        ["http.server.request.duration", "iss.requests"]
    );
    assert_eq!(received.metric_series("svc-a", "iss.requests").len(), 2);
    assert_eq!(
        received.latest_total("svc-a", "iss.requests", &[("response.status", "200")]),
        7.0
    );
    assert_eq!(received.latest_total("svc-a", "iss.requests", &[]), 8.0);
    let histogram = received.metric_points("svc-a", "http.server.request.duration")[0];
    assert_eq!(histogram.unit, "s");
    match &histogram.value {
        PointValue::Histogram {
            count,
            bounds,
            bucket_counts,
            ..
        } => {
            assert_eq!(
                (*count, bounds.as_slice(), bucket_counts.as_slice()),
                (3, &[0.1, 1.0][..], &[1, 2, 0][..])
            );
        }
        other => panic!("not a histogram: {other:?}"),
    }

    let in_trace = received.logs_in_trace(TRACE_HEX);
    assert_eq!(in_trace.len(), 1);
    assert_eq!(
        in_trace[0].body,
        "received request from IP address 127.0.0.1"
    );
    assert_eq!(in_trace[0].span_id.as_deref(), Some("0101010101010101"));
    assert_eq!(received.logs_of("svc-a").len(), 2);
    assert_eq!(
        received.service_names().into_iter().collect::<Vec<_>>(),
        ["svc-a"]
    );
}

#[tokio::test]
async fn http_protobuf_exports_are_recorded_and_answered_with_protobuf() {
    let receiver = OtlpReceiver::start().unwrap();
    let answer = post(&receiver, "/v1/traces", traces("svc-b").encode_to_vec()).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "application/x-protobuf");
    ExportTraceServiceResponse::decode(answer.bytes().await.unwrap()).expect("a protobuf answer");
    assert_eq!(
        post(
            &receiver,
            "/v1/metrics",
            metrics("svc-b", 1).encode_to_vec()
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        post(&receiver, "/v1/logs", logs("svc-b").encode_to_vec())
            .await
            .status(),
        200
    );

    let received = receiver.snapshot();
    assert_eq!(received.request_count_over(Transport::HttpProtobuf), 3);
    assert_eq!(received.spans_of("svc-b").len(), 2);
    assert!(received
        .spans
        .iter()
        .all(|s| s.transport == Transport::HttpProtobuf));
    assert_eq!(received.metric_series("svc-b", "iss.requests").len(), 2);
    assert_eq!(received.logs_of("svc-b").len(), 2);
}

#[tokio::test]
async fn gzip_bodies_are_accepted_and_bad_requests_are_refused_without_recording() {
    use std::io::Write;
    let receiver = OtlpReceiver::start().unwrap();
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gzip.write_all(&traces("svc-c").encode_to_vec()).unwrap();
    let answer = reqwest::Client::new()
        .post(format!("{}/v1/traces", receiver.endpoint()))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(gzip.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(receiver.read(|r| r.spans_of("svc-c").len()), 2);

    assert_eq!(
        post(&receiver, "/v1/nothing", Vec::new()).await.status(),
        404
    );
    assert_eq!(
        post(&receiver, "/v1/traces", b"not protobuf \xff\xff".to_vec())
            .await
            .status(),
        400
    );
    let json = reqwest::Client::new()
        .post(format!("{}/v1/traces", receiver.endpoint()))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 415);
    assert_eq!(receiver.read(|r| r.request_count(Signal::Traces)), 1);
}

#[tokio::test]
async fn a_stopped_receiver_refuses_connections_and_resumes_on_the_same_port() {
    let receiver = OtlpReceiver::start().unwrap();
    let port = receiver.port();
    receiver.stop().await;
    assert!(!receiver.is_listening());
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens after stop"
    );
    receiver.resume().await.unwrap();
    assert_eq!(receiver.port(), port);
    assert_eq!(
        post(&receiver, "/v1/logs", logs("svc-d").encode_to_vec())
            .await
            .status(),
        200
    );
    receiver.restart().await.unwrap();
    assert_eq!(
        post(&receiver, "/v1/logs", logs("svc-d").encode_to_vec())
            .await
            .status(),
        200
    );
    assert_eq!(receiver.read(|r| r.logs_of("svc-d").len()), 4);
}

#[tokio::test]
async fn a_black_hole_accepts_connections_but_never_answers_until_restarted() {
    let receiver = OtlpReceiver::start().unwrap();
    // A connection opened before the fault is black-holed too (as an exporter's pooled one would be).
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let send = |client: &reqwest::Client| {
        client
            .post(format!("{}/v1/traces", receiver.endpoint()))
            .header("content-type", "application/x-protobuf")
            .body(traces("svc-e").encode_to_vec())
            .send()
    };
    assert_eq!(send(&client).await.unwrap().status(), 200);
    receiver.set_fault(Fault::BlackHole);
    let error = send(&client)
        .await
        .expect_err("no answer from a black hole");
    assert!(error.is_timeout(), "{error}");
    let fresh = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    assert!(send(&fresh).await.expect_err("no answer").is_timeout());
    assert!(
        TcpStream::connect(("127.0.0.1", receiver.port())).is_ok(),
        "TCP is still accepted"
    );
    assert_eq!(
        receiver.read(|r| r.request_count(Signal::Traces)),
        1,
        "nothing recorded in the hole"
    );

    receiver.restart().await.unwrap();
    assert_eq!(send(&fresh).await.unwrap().status(), 200);
    assert_eq!(receiver.read(|r| r.request_count(Signal::Traces)), 2);
}

#[tokio::test]
async fn a_slow_receiver_answers_and_records_only_after_its_delay() {
    let receiver = OtlpReceiver::start().unwrap();
    receiver.set_fault(Fault::Slow(Duration::from_millis(400)));
    let started = Instant::now();
    let mut client = TraceServiceClient::connect(receiver.endpoint())
        .await
        .unwrap();
    client.export(traces("svc-f")).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(receiver.read(|r| r.spans_of("svc-f").len()), 2);
}

#[tokio::test]
async fn wait_until_returns_as_soon_as_the_condition_holds_and_times_out_with_a_summary() {
    let receiver = OtlpReceiver::start().unwrap();
    let endpoint = receiver.endpoint();
    let exporter = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut client = LogsServiceClient::connect(endpoint).await.unwrap();
        client.export(logs("svc-g")).await.unwrap();
    });
    let started = Instant::now();
    let count = receiver
        .wait_until(Duration::from_secs(20), "logs of svc-g", |r| {
            let count = r.logs_of("svc-g").len();
            (count > 0).then_some(count)
        })
        .await
        .unwrap();
    assert_eq!(count, 2);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "woken by the export, not the deadline"
    );
    exporter.await.unwrap();

    let error = receiver
        .wait_until(Duration::from_millis(100), "spans of svc-z", |r| {
            (!r.spans_of("svc-z").is_empty()).then_some(())
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("spans of svc-z")
            && error.contains("svc-g: 0 spans, 0 metric points, 2 logs"),
        "{error}"
    );

    receiver.clear();
    assert!(receiver.read(|r| r.logs.is_empty() && r.requests.is_empty()));
}
