//! One user request through the frontend, and everything the telemetry
//! contract says must come out of it, over both OTLP transports.

use crate::support::{
    assert_no_query_strings, assert_shared_resource, is_probe, one_span, EXPORT_DEADLINE, SERVICES,
};
use e2e_checks::{trace_id_from_page, Protocol, StackBuilder, LATENCY_BUCKETS};
use otlp_receiver::{
    MetricKind, OtlpReceiver, PointValue, Received, Span, SpanKind, StatusCode, Transport,
};
use std::collections::BTreeSet;

const BROWSER: &str = "Mozilla/5.0 (e2e browser)";

/// Metric name, kind, unit and the exact attribute keys of its points, per the contract.
struct MetricContract {
    name: &'static str,
    services: &'static [&'static str],
    histogram: bool,
    unit: &'static str,
    keys: &'static [&'static str],
}

const METRICS: [MetricContract; 7] = [
    MetricContract {
        name: "http.server.request.duration",
        services: &SERVICES,
        histogram: true,
        unit: "s",
        keys: &[
            "http.request.method",
            "http.response.status_code",
            "http.route",
            "url.scheme",
        ],
    },
    MetricContract {
        name: "http.server.active_requests",
        services: &SERVICES,
        histogram: false,
        unit: "{request}",
        keys: &["http.request.method", "url.scheme"],
    },
    MetricContract {
        name: "incoming.requests",
        services: &SERVICES,
        histogram: false,
        unit: "{request}",
        keys: &[],
    },
    MetricContract {
        name: "http.client.request.duration",
        services: &["frontend", "gateway"],
        histogram: true,
        unit: "s",
        keys: &[
            "http.request.method",
            "http.response.status_code",
            "server.address",
            "server.port",
        ],
    },
    MetricContract {
        name: "geocoder.lookups",
        services: &["geolocator-service"],
        histogram: false,
        unit: "{lookup}",
        keys: &["geocoder.cached", "geocoder.result", "geocoder.source"],
    },
    MetricContract {
        name: "iss.position.lookups",
        services: &["iss-distance-service"],
        histogram: false,
        unit: "{lookup}",
        keys: &["iss.position.fallback", "iss.position.source"],
    },
    // Present only where the live ISS API is called: checked by the /metrics test.
    MetricContract {
        name: "iss.requests",
        services: &[],
        histogram: false,
        unit: "{request}",
        keys: &["response.status"],
    },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_is_one_trace_with_linked_logs_and_contract_metrics_over_grpc() {
    one_request_end_to_end(Protocol::Grpc, "contract-grpc").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_is_one_trace_with_linked_logs_and_contract_metrics_over_http_protobuf() {
    one_request_end_to_end(Protocol::HttpProtobuf, "contract-http").await;
}

async fn one_request_end_to_end(protocol: Protocol, test_name: &str) {
    let receiver = OtlpReceiver::start().unwrap();
    let stack = StackBuilder::new(test_name)
        .otlp(&receiver.endpoint(), protocol)
        .start()
        .await;
    // A browser request: no traceparent, so the frontend starts the trace.
    let browser = reqwest::Client::builder()
        .user_agent(BROWSER)
        .build()
        .unwrap();
    let page = browser
        .get(stack.frontend_page_url("Paris"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(" km from Paris"), "{html}");
    let trace_id = trace_id_from_page(&html).expect("the page links its trace");

    let received = receiver
        .wait_until(
            EXPORT_DEADLINE,
            "the request's spans, logs and metrics from all four services",
            |r| {
                let complete = r.spans_in_trace(&trace_id).len() >= 10
                    && SERVICES.iter().all(|service| {
                        r.logs_in_trace(&trace_id)
                            .iter()
                            .any(|l| l.service_name() == *service)
                            && r.latest_total(service, "incoming.requests", &[]) >= 1.0
                            && METRICS
                                .iter()
                                .filter(|m| m.services.contains(service))
                                .all(|m| !r.metric_points(service, m.name).is_empty())
                    });
                complete.then(|| r.clone())
            },
        )
        .await
        .unwrap();

    let expected = match protocol {
        Protocol::Grpc => Transport::Grpc,
        Protocol::HttpProtobuf => Transport::HttpProtobuf,
    };
    assert_eq!(
        received.request_count_over(expected),
        received.requests.values().sum::<usize>(),
        "only {expected:?} was used"
    );

    let spans = received.spans_in_trace(&trace_id);
    assert_trace_shape(&spans, &stack);
    assert_no_query_strings(&received.spans.iter().collect::<Vec<_>>());
    let other_traces: BTreeSet<&str> = received
        .spans
        .iter()
        .filter(|s| !is_probe(s) && s.trace_id != trace_id)
        .map(|s| s.trace_id.as_str())
        .collect();
    assert!(
        other_traces.is_empty(),
        "one request made one trace, also found {other_traces:?}"
    );

    assert_request_logs(&received, &trace_id, &spans);
    assert_contract_metrics(&received);
    assert_shared_resource(&received, &SERVICES);
    for service in SERVICES {
        assert_eq!(
            received.latest_total(service, "incoming.requests", &[]),
            1.0,
            "{service} counted the one API request"
        );
    }
}

fn assert_trace_shape(spans: &[&Span], stack: &e2e_checks::Stack) {
    assert_eq!(
        spans.len(),
        10,
        "frontend 2, gateway 3, geolocator 2, iss-distance 3 spans: {spans:#?}"
    );
    let frontend = one_span(spans, "frontend", SpanKind::Server, "GET /");
    let frontend_call = one_span(spans, "frontend", SpanKind::Client, "GET");
    let gateway = one_span(spans, "gateway", SpanKind::Server, "GET /");
    let gateway_calls: Vec<&Span> = spans
        .iter()
        .copied()
        .filter(|s| s.service_name() == "gateway" && s.kind == SpanKind::Client)
        .collect();
    let geolocator = one_span(spans, "geolocator-service", SpanKind::Server, "GET /");
    let geocoding = one_span(
        spans,
        "geolocator-service",
        SpanKind::Internal,
        "getting-coordinates-for-location",
    );
    let iss = one_span(spans, "iss-distance-service", SpanKind::Server, "GET /");
    let calculating = one_span(
        spans,
        "iss-distance-service",
        SpanKind::Internal,
        "calculating-iss-distance",
    );
    let position = one_span(
        spans,
        "iss-distance-service",
        SpanKind::Internal,
        "getting-iss-coordinates",
    );

    let parent = |span: &Span| span.parent_span_id.clone();
    assert_eq!(parent(frontend), None, "the frontend span is the root");
    assert_eq!(parent(frontend_call), Some(frontend.span_id.clone()));
    assert_eq!(
        parent(gateway),
        Some(frontend_call.span_id.clone()),
        "traceparent crossed frontend -> gateway"
    );
    assert_eq!(gateway_calls.len(), 2);
    let call_to = |port: u16| {
        let call = gateway_calls
            .iter()
            .find(|s| s.attr_i64("server.port") == Some(i64::from(port)))
            .unwrap_or_else(|| panic!("a gateway call to port {port}: {gateway_calls:#?}"));
        assert_eq!(call.name, "GET");
        assert_eq!(parent(call), Some(gateway.span_id.clone()));
        call.span_id.clone()
    };
    assert_eq!(
        parent(geolocator),
        Some(call_to(stack.geolocator.port())),
        "gateway -> geolocator"
    );
    assert_eq!(
        parent(iss),
        Some(call_to(stack.iss_distance.port())),
        "gateway -> iss-distance"
    );
    assert_eq!(parent(geocoding), Some(geolocator.span_id.clone()));
    assert_eq!(parent(calculating), Some(iss.span_id.clone()));
    assert_eq!(parent(position), Some(calculating.span_id.clone()));
    assert_eq!(position.attr_str("iss.position.source"), Some("sgp4"));

    for (child, parent) in [
        (frontend_call, frontend),
        (geocoding, geolocator),
        (calculating, iss),
        (position, calculating),
    ] {
        assert!(
            child.start_unix_nano >= parent.start_unix_nano
                && child.end_unix_nano <= parent.end_unix_nano,
            "'{}' lies within '{}'",
            child.name,
            parent.name
        );
    }

    for server in [frontend, gateway, geolocator, iss] {
        let service = server.service_name();
        assert_eq!(
            server.attr_str("http.request.method"),
            Some("GET"),
            "{service}"
        );
        assert_eq!(server.attr_str("http.route"), Some("/"), "{service}");
        assert_eq!(server.attr_str("url.path"), Some("/"), "{service}");
        assert_eq!(
            server.attr_i64("http.response.status_code"),
            Some(200),
            "{service}"
        );
        assert_eq!(
            server.attr_str("client.address"),
            Some("127.0.0.1"),
            "{service}"
        );
        let agent = server.attr_str("user_agent.original").unwrap_or_default();
        if service == "frontend" {
            assert_eq!(agent, BROWSER);
        } else {
            assert!(
                agent.starts_with("iss-distance-app/"),
                "{service} was called by the stack: {agent}"
            );
        }
    }
    for span in spans {
        assert_eq!(span.status, StatusCode::Unset, "nothing failed: {span:#?}");
        assert_eq!(span.scope.name, "iss-distance-app");
    }
    for call in gateway_calls.iter().chain([&frontend_call]) {
        let url = call.attr_str("url.full").unwrap_or_default();
        assert!(
            url.starts_with("http://127.0.0.1:") && !url.contains('?'),
            "{url}"
        );
        assert_eq!(call.attr_i64("http.response.status_code"), Some(200));
    }
}

fn assert_request_logs(received: &Received, trace_id: &str, spans: &[&Span]) {
    let logs = received.logs_in_trace(trace_id);
    for service in SERVICES {
        let server = one_span(spans, service, SpanKind::Server, "GET /");
        let log = logs
            .iter()
            .find(|l| {
                l.service_name() == service
                    && l.body.starts_with("received request from IP address")
            })
            .unwrap_or_else(|| panic!("{service} logged the request in its trace: {logs:#?}"));
        assert_eq!(log.body, "received request from IP address 127.0.0.1");
        assert_eq!(
            log.span_id.as_deref(),
            Some(server.span_id.as_str()),
            "{service}: the log points at its server span"
        );
        assert_eq!(log.severity_text, "INFO");
        assert_eq!(log.severity_number, 9, "SeverityNumber INFO");
        let started = received
            .logs_of(service)
            .into_iter()
            .find(|l| l.body.starts_with("started application"))
            .unwrap_or_else(|| panic!("{service} logged its start"));
        assert_eq!(started.trace_id, None, "the start is in no trace");
    }
    for log in &received.logs {
        let target = log.scope.name.as_str();
        let transport = ["hyper", "h2", "tonic", "tower", "reqwest", "opentelemetry"]
            .iter()
            .any(|t| {
                target == *t
                    || target.starts_with(&format!("{t}::"))
                    || target.starts_with(&format!("{t}_"))
            });
        assert!(
            !transport,
            "exporter transport logs stay out of OTLP: {log:#?}"
        );
    }
}

fn assert_contract_metrics(received: &Received) {
    for contract in &METRICS {
        for service in contract.services {
            let points = received.metric_points(service, contract.name);
            assert!(!points.is_empty(), "{service} exports {}", contract.name);
            for point in points {
                assert_eq!(point.unit, contract.unit, "{service} {}", contract.name);
                assert_eq!(point.scope.name, "iss-distance-app");
                assert_eq!(
                    point.temporality, 2,
                    "{service} {} is cumulative (Prometheus needs it)",
                    contract.name
                );
                let keys: Vec<&str> = point.attributes.keys().map(String::as_str).collect();
                assert_eq!(
                    keys, contract.keys,
                    "{service} {} attribute keys",
                    contract.name
                );
                match (&point.value, contract.histogram) {
                    (
                        PointValue::Histogram {
                            bounds,
                            bucket_counts,
                            ..
                        },
                        true,
                    ) => {
                        assert_eq!(point.kind, MetricKind::Histogram);
                        assert_eq!(
                            bounds.as_slice(),
                            LATENCY_BUCKETS,
                            "{service} {} buckets",
                            contract.name
                        );
                        assert_eq!(bucket_counts.len(), LATENCY_BUCKETS.len() + 1);
                    }
                    (PointValue::Int(_) | PointValue::Double(_), false) => {
                        let monotonic = contract.name != "http.server.active_requests";
                        assert_eq!(
                            point.kind,
                            MetricKind::Sum { monotonic },
                            "{service} {}",
                            contract.name
                        );
                    }
                    (value, _) => panic!("{service} {}: unexpected {value:?}", contract.name),
                }
            }
        }
    }
    let api_point = |service: &str| {
        received
            .metric_points(service, "http.server.request.duration")
            .into_iter()
            .any(|p| {
                p.attributes
                    .get("http.route")
                    .map(ToString::to_string)
                    .as_deref()
                    == Some("/")
                    && p.attributes
                        .get("http.response.status_code")
                        .map(ToString::to_string)
                        .as_deref()
                        == Some("200")
            })
    };
    for service in SERVICES {
        assert!(
            api_point(service),
            "{service} timed the API request under route '/'"
        );
        let names = received.metric_names(service);
        let known: BTreeSet<&str> = METRICS.iter().map(|m| m.name).collect();
        assert!(
            names.is_subset(&known),
            "{service} exports only contract metrics: {names:?}"
        );
    }
    assert_eq!(
        received.latest_total(
            "geolocator-service",
            "geocoder.lookups",
            &[("geocoder.source", "gazetteer"), ("geocoder.result", "hit")]
        ),
        1.0
    );
    assert_eq!(
        received.latest_total(
            "iss-distance-service",
            "iss.position.lookups",
            &[
                ("iss.position.source", "sgp4"),
                ("iss.position.fallback", "false")
            ]
        ),
        1.0
    );
}
