//! Which outcomes mark spans as errors: a 4xx is the caller's problem and
//! leaves the server spans alone; a 5xx (a dead downstream) is the server's.

use crate::support::{one_span, EXPORT_DEADLINE};
use e2e::{Protocol, StackBuilder, TracedClient};
use otlp_receiver::{OtlpReceiver, Span, SpanKind, StatusCode};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4xx_leaves_server_spans_unmarked_and_a_5xx_marks_the_gateway_span_with_an_exception() {
    let receiver = OtlpReceiver::start().unwrap();
    let mut stack = StackBuilder::new("errors")
        .otlp(&receiver.endpoint(), Protocol::Grpc)
        .start()
        .await;
    let client = TracedClient::new();

    let unknown = client
        .get(&stack.frontend_page_url("Atlantis Under The Sea"), &[])
        .await;
    assert_eq!(
        unknown.status,
        Some(404),
        "an unknown place is the user's mistake: {}",
        unknown.body
    );
    let (spans, rejection) = receiver
        .wait_until(EXPORT_DEADLINE, "the 404 trace and its log", |r| {
            let spans = r.spans_in_trace(&unknown.trace_id);
            let servers = spans.iter().filter(|s| s.kind == SpanKind::Server).count();
            let rejection = r
                .logs_in_trace(&unknown.trace_id)
                .into_iter()
                .find(|l| l.service_name() == "gateway" && l.attributes.contains_key("error.type"))
                .cloned();
            (servers == 3 && spans.len() >= 6 && rejection.is_some()).then(|| {
                let spans = spans.into_iter().cloned().collect::<Vec<Span>>();
                (spans, rejection.unwrap())
            })
        })
        .await
        .unwrap();
    assert_eq!(
        rejection
            .attributes
            .get("error.type")
            .and_then(|v| v.as_str()),
        Some("404"),
        "an HTTP error answer is classed by its status code: {rejection:#?}"
    );
    let spans: Vec<&Span> = spans.iter().collect();
    for service in ["frontend", "gateway", "geolocator-service"] {
        let server = one_span(&spans, service, SpanKind::Server, "GET /");
        assert_eq!(
            server.attr_i64("http.response.status_code"),
            Some(404),
            "{service}"
        );
        assert_eq!(
            server.status,
            StatusCode::Unset,
            "a 4xx is no server error: {server:#?}"
        );
        assert!(
            server.events.is_empty() && server.attr_str("error.type").is_none(),
            "{server:#?}"
        );
    }
    let lookup = one_span(
        &spans,
        "geolocator-service",
        SpanKind::Internal,
        "getting-coordinates-for-location",
    );
    assert_eq!(
        lookup.status,
        StatusCode::Unset,
        "not finding a place is a normal answer"
    );
    assert!(
        spans
            .iter()
            .all(|s| s.service_name() != "iss-distance-service"),
        "no distance for an unknown place"
    );

    let stopped = stack.iss_distance.stop(Duration::from_secs(30)).await;
    assert!(stopped.success(), "iss-distance exits cleanly: {stopped}");
    let failed = client.get(&stack.frontend_page_url("Paris"), &[]).await;
    assert_eq!(failed.status, Some(502), "{}", failed.body);
    let (spans, logs) = receiver
        .wait_until(EXPORT_DEADLINE, "the 502 trace and its error log", |r| {
            let spans = r.spans_in_trace(&failed.trace_id);
            let logs = r.logs_in_trace(&failed.trace_id);
            let error_in = |service: &str| {
                logs.iter()
                    .any(|l| l.service_name() == service && l.severity_text == "ERROR")
            };
            (spans.len() >= 7 && error_in("gateway") && error_in("frontend")).then(|| {
                let spans: Vec<Span> = spans.into_iter().cloned().collect();
                (spans, logs.into_iter().cloned().collect::<Vec<_>>())
            })
        })
        .await
        .unwrap();
    let spans: Vec<&Span> = spans.iter().collect();
    let gateway = one_span(&spans, "gateway", SpanKind::Server, "GET /");
    assert_eq!(gateway.attr_i64("http.response.status_code"), Some(502));
    assert_eq!(gateway.attr_str("error.type"), Some("502"));
    assert_error_with_exception(gateway);
    let frontend = one_span(&spans, "frontend", SpanKind::Server, "GET /");
    assert_eq!(frontend.attr_i64("http.response.status_code"), Some(502));
    assert_error_with_exception(frontend);
    let iss_port = i64::from(stack.iss_distance.port());
    let dead_call = spans
        .iter()
        .find(|s| {
            s.service_name() == "gateway"
                && s.kind == SpanKind::Client
                && s.attr_i64("server.port") == Some(iss_port)
        })
        .expect("the gateway's call to iss-distance");
    assert_eq!(dead_call.attr_str("error.type"), Some("connect"));
    assert_error_with_exception(dead_call);
    let geolocator_call = spans
        .iter()
        .find(|s| {
            s.service_name() == "gateway"
                && s.kind == SpanKind::Client
                && s.attr_i64("server.port") != Some(iss_port)
        })
        .expect("the gateway's call to geolocator");
    assert_eq!(
        geolocator_call.status,
        StatusCode::Unset,
        "that call succeeded"
    );

    let error_log = logs
        .iter()
        .find(|l| l.service_name() == "gateway" && l.severity_text == "ERROR")
        .unwrap();
    assert!(
        error_log.body.contains("iss-distance is unavailable"),
        "{error_log:#?}"
    );
    assert_eq!(error_log.severity_number, 17, "SeverityNumber ERROR");
    assert_eq!(
        error_log
            .attributes
            .get("error.type")
            .and_then(|v| v.as_str()),
        Some("connect"),
        "the failure's kind is a log attribute: {error_log:#?}"
    );
    assert_eq!(error_log.span_id.as_deref(), Some(gateway.span_id.as_str()));
    let frontend_log = logs
        .iter()
        .find(|l| l.service_name() == "frontend" && l.severity_text == "ERROR")
        .unwrap();
    assert_eq!(
        frontend_log
            .attributes
            .get("error.type")
            .and_then(|v| v.as_str()),
        Some("502"),
        "the gateway's 502, not a word the status already says: {frontend_log:#?}"
    );

    let failures = receiver
        .wait_until(
            EXPORT_DEADLINE,
            "the gateway's 502 in http.server.request.duration",
            |r| {
                let failed = r.latest_total(
                    "gateway",
                    "http.server.request.duration",
                    &[("http.response.status_code", "502"), ("error.type", "502")],
                );
                (failed >= 1.0).then_some(failed)
            },
        )
        .await
        .unwrap();
    assert_eq!(failures, 1.0);
}

fn assert_error_with_exception(span: &Span) {
    assert_eq!(span.status, StatusCode::Error, "{span:#?}");
    assert!(!span.status_message.is_empty(), "{span:#?}");
    let exception = span
        .events
        .iter()
        .find(|e| e.name == "exception")
        .unwrap_or_else(|| panic!("an exception event: {span:#?}"));
    let message = exception
        .attributes
        .get("exception.message")
        .map(ToString::to_string);
    assert!(message.is_some_and(|m| !m.is_empty()), "{exception:#?}");
    assert!(
        exception.attributes.contains_key("exception.type"),
        "{exception:#?}"
    );
}
