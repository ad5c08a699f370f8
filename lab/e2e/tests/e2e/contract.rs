//! One user request through the frontend, and everything the telemetry
//! contract says must come out of it, over both OTLP transports. The
//! contract is the registry in telemetry-schema/: every metric point, span,
//! span event, log attribute and resource the real binaries export is held
//! to it.

use crate::support::{
    assert_no_query_strings, assert_shared_resource, is_probe, one_span, EXPORT_DEADLINE, SERVICES,
};
use e2e::{trace_id_from_page, Protocol, StackBuilder, LATENCY_BUCKETS};
use otlp_receiver::{
    Attributes, MetricKind, OtlpReceiver, PointValue, Received, Resource, Span, SpanKind,
    StatusCode, Transport, Value,
};
use std::collections::BTreeSet;
use telemetry_registry::{Instrument, Observed, Registry};

const BROWSER: &str = "Mozilla/5.0 (e2e browser)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_is_one_trace_with_linked_logs_and_contract_metrics_over_grpc() {
    one_request_end_to_end(Protocol::Grpc, "contract-grpc").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_is_one_trace_with_linked_logs_and_contract_metrics_over_http_protobuf() {
    one_request_end_to_end(Protocol::HttpProtobuf, "contract-http").await;
}

async fn one_request_end_to_end(protocol: Protocol, test_name: &str) {
    let registry = Registry::load();
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
    let trace_id = trace_id_from_page(&html).expect("the page shows its trace id");

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
                            && always_emitted_metrics(&registry, service)
                                .all(|m| !r.metric_points(service, m).is_empty())
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
    assert_contract_metrics(&received, &registry);
    assert_spans_and_logs_match_the_registry(&received, &spans, &registry);
    assert_resources_match_the_registry(&received, &registry);
    assert_shared_resource(&received, &SERVICES);
    for service in SERVICES {
        assert_eq!(
            received.latest_total(service, "incoming.requests", &[]),
            1.0,
            "{service} counted the one API request"
        );
    }
}

fn assert_trace_shape(spans: &[&Span], stack: &e2e::Stack) {
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
        let expected = match span.kind {
            SpanKind::Server => "telemetry::middleware",
            SpanKind::Client => "telemetry::client",
            _ => service_crate(span.service_name()),
        };
        assert_eq!(span.scope.name, expected, "{}", span.name);
        assert!(!span.scope.version.is_empty(), "scopes are versioned");
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
            log.attributes
                .get("client.address")
                .and_then(|v| v.as_str()),
            Some("127.0.0.1"),
            "{service}: the address is a log attribute, not only text: {log:#?}"
        );
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

/// The metrics the registry says `service` records for every API request.
fn always_emitted_metrics<'a>(
    registry: &'a Registry,
    service: &'a str,
) -> impl Iterator<Item = &'a str> {
    registry
        .metrics
        .iter()
        .filter(move |m| m.emitted_by.get(service).map(String::as_str) == Some("always"))
        .map(|m| m.name.as_str())
}

fn observed(attributes: &Attributes) -> Vec<(&str, Observed)> {
    attributes
        .iter()
        .map(|(key, value)| {
            let value = match value {
                Value::String(s) => Observed::Str(s.clone()),
                Value::Int(i) => Observed::Int(*i),
                Value::Double(d) => Observed::Double(*d),
                Value::Bool(b) => Observed::Bool(*b),
                Value::Array(items) if items.iter().all(|i| i.as_str().is_some()) => {
                    Observed::StrArray(
                        items
                            .iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect(),
                    )
                }
                other => Observed::Other(other.to_string()),
            };
            (key.as_str(), value)
        })
        .collect()
}

fn instrument(kind: MetricKind) -> Option<Instrument> {
    match kind {
        MetricKind::Sum { monotonic: true } => Some(Instrument::Counter),
        MetricKind::Sum { monotonic: false } => Some(Instrument::UpDownCounter),
        MetricKind::Gauge => Some(Instrument::Gauge),
        MetricKind::Histogram => Some(Instrument::Histogram),
        MetricKind::ExponentialHistogram | MetricKind::Summary => None,
    }
}

fn assert_contract_metrics(received: &Received, registry: &Registry) {
    let mut problems = BTreeSet::new();
    for point in &received.metrics {
        let (service, name) = (point.service_name(), point.name.as_str());
        let Some(instrument) = instrument(point.kind) else {
            problems.insert(format!("{service} {name}: a {:?}", point.kind));
            continue;
        };
        let attributes = observed(&point.attributes);
        for problem in registry.check_metric(name, instrument, &point.unit, &attributes) {
            problems.insert(format!("{service}: {problem}"));
        }
        let expected_scope = match name {
            "http.client.request.duration" => "telemetry::client",
            _ if name.starts_with("http.server.") || name == "incoming.requests" => {
                "telemetry::middleware"
            }
            _ => service_crate(service),
        };
        if point.scope.name != expected_scope || point.scope.version.is_empty() {
            problems.insert(format!(
                "{service} {name}: scope {} {}",
                point.scope.name, point.scope.version
            ));
        }
        // Gauges have no temporality; sums and histograms must be cumulative.
        if point.kind != MetricKind::Gauge && point.temporality != 2 {
            problems.insert(format!(
                "{service} {name} is not cumulative (Prometheus needs it)"
            ));
        }
        if let PointValue::Histogram {
            bounds,
            bucket_counts,
            ..
        } = &point.value
        {
            if bounds.as_slice() != LATENCY_BUCKETS || bucket_counts.len() != bounds.len() + 1 {
                problems.insert(format!("{service} {name}: buckets {bounds:?}"));
            }
        }
    }
    for service in SERVICES {
        for name in always_emitted_metrics(registry, service) {
            if received.metric_points(service, name).is_empty() {
                problems.insert(format!(
                    "{service} does not export {name}, which the registry says it always records"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the metrics disagree with telemetry-schema/: {problems:#?}"
    );
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

fn registry_kind(kind: SpanKind) -> Option<telemetry_registry::SpanKind> {
    use telemetry_registry::SpanKind as Kind;
    match kind {
        SpanKind::Server => Some(Kind::Server),
        SpanKind::Client => Some(Kind::Client),
        SpanKind::Internal => Some(Kind::Internal),
        SpanKind::Producer => Some(Kind::Producer),
        SpanKind::Consumer => Some(Kind::Consumer),
        SpanKind::Unspecified => None,
    }
}

/// Every span (probes included), span event and log record against the
/// registry, and every span the registry says a service always starts is in
/// the request's trace.
fn assert_spans_and_logs_match_the_registry(
    received: &Received,
    trace: &[&Span],
    registry: &Registry,
) {
    let mut problems = BTreeSet::new();
    for span in &received.spans {
        let Some(kind) = registry_kind(span.kind) else {
            problems.insert(format!(
                "{}: span {:?} has no kind",
                span.service_name(),
                span.name
            ));
            continue;
        };
        let events: Vec<(&str, Vec<(&str, Observed)>)> = span
            .events
            .iter()
            .map(|e| (e.name.as_str(), observed(&e.attributes)))
            .collect();
        for problem in registry.check_span(kind, &span.name, &observed(&span.attributes), &events) {
            problems.insert(format!("{}: {problem}", span.service_name()));
        }
    }
    for log in &received.logs {
        for problem in registry.check_log(&observed(&log.attributes)) {
            problems.insert(format!("{}: {problem}", log.service_name()));
        }
    }
    for definition in &registry.spans {
        for (service, when) in &definition.emitted_by {
            let found = trace.iter().any(|span| {
                span.service_name() == service
                    && registry_kind(span.kind) == Some(definition.kind)
                    && definition.is_named(&span.name, |key| {
                        span.attributes.get(key).map(ToString::to_string)
                    })
            });
            if when == "always" && !found {
                problems.insert(format!(
                    "{service} started no {} span in the trace, which the registry says it always does",
                    definition.id
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the spans and logs disagree with telemetry-schema/: {problems:#?}"
    );
}

/// Every resource the services exported with (one per process) against the
/// registry's entities: no undeclared attribute, every required one present.
fn assert_resources_match_the_registry(received: &Received, registry: &Registry) {
    let mut resources: Vec<&Resource> = Vec::new();
    let all = received
        .spans
        .iter()
        .map(|s| &*s.resource)
        .chain(received.metrics.iter().map(|p| &*p.resource))
        .chain(received.logs.iter().map(|l| &*l.resource));
    for resource in all {
        if !resources.contains(&resource) {
            resources.push(resource);
        }
    }
    let mut problems = BTreeSet::new();
    for resource in &resources {
        for problem in registry.check_resource(&observed(&resource.attributes)) {
            problems.insert(format!("{}: {problem}", resource.service_name()));
        }
    }
    assert!(
        problems.is_empty(),
        "the resources disagree with telemetry-schema/: {problems:#?}\n{resources:#?}"
    );
}

/// The instrumentation scope of a service's own spans and metrics: its crate.
fn service_crate(service_name: &str) -> &str {
    service_name
        .strip_suffix("-service")
        .unwrap_or(service_name)
}
