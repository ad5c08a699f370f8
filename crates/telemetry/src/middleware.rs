//! HTTP server instrumentation for actix-web, in one middleware.
//!
//! Per request: the parent context is extracted from `traceparent`/`baggage`,
//! a server span named `{method} {route}` is opened with the HTTP semantic
//! convention attributes (route template, never the query string), the
//! handler runs inside it, and `http.server.request.duration` and
//! `http.server.active_requests` are recorded. A 5xx marks the span as an
//! error; a 4xx does not (the server did its job). Under
//! `OTEL_SDK_DISABLED=true` it only calls the handler: the no-op providers
//! would throw every attribute away.
//!
//! Why not `opentelemetry-instrumentation-actix-web`, the crate most Rust
//! users would pick? Its source (read at the contrib repository's
//! `util.rs`/`middleware/trace.rs`) records `url.query` on the span, which
//! here is the place a person typed; passes made-up methods through instead
//! of `_OTHER`, one span name and time series per invented verb; splits the
//! `Host` header on `:`, which cuts IPv6 literals apart; labels its metrics
//! with `server.address`/`server.port` from that caller-controlled header
//! (unbounded cardinality); and names spans by route alone. Each rule here
//! is a unit test below.
//!
//! Use: `App::new().wrap(actix_web::middleware::from_fn(telemetry::middleware::instrument_request))`.

use crate::metrics::LATENCY_BUCKETS_SECONDS;
use crate::propagation::extract_context;
use crate::scope::Instrumentation;
use crate::spans::mark_error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::Error;
use opentelemetry::metrics::{Histogram, UpDownCounter};
use opentelemetry::trace::{FutureExt, SpanKind, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_semantic_conventions::attribute as semconv;
use std::sync::LazyLock;
use std::time::Instant;

/// The scope of server spans, HTTP server metrics and `incoming.requests`.
pub(crate) static HTTP_SERVER: Instrumentation =
    Instrumentation::new("telemetry::middleware", env!("CARGO_PKG_VERSION"));

struct ServerInstruments {
    duration: Histogram<f64>,
    active: UpDownCounter<i64>,
}

static INSTRUMENTS: LazyLock<ServerInstruments> = LazyLock::new(|| {
    let meter = HTTP_SERVER.meter();
    ServerInstruments {
        duration: meter
            .f64_histogram("http.server.request.duration")
            .with_unit("s")
            .with_description("Duration of HTTP server requests.")
            .with_boundaries(LATENCY_BUCKETS_SECONDS.to_vec())
            .build(),
        active: meter
            .i64_up_down_counter("http.server.active_requests")
            .with_unit("{request}")
            .with_description("Number of active HTTP server requests.")
            .build(),
    }
});

/// The methods the HTTP semantic conventions know; any other is recorded as `_OTHER`.
const KNOWN_METHODS: [&str; 9] = [
    "CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE",
];

/// Decrements `http.server.active_requests` even when the request future is dropped (client gone).
struct ActiveRequest(Vec<KeyValue>);

impl Drop for ActiveRequest {
    fn drop(&mut self) {
        INSTRUMENTS.active.add(-1, &self.0);
    }
}

/// The `from_fn` middleware; see the module docs.
pub async fn instrument_request(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if !crate::providers::sdk_enabled() {
        return next.call(request).await;
    }
    let started = Instant::now();
    let request_facts = RequestFacts::of(&request);
    let active_attributes = request_facts.active_attributes();
    INSTRUMENTS.active.add(1, &active_attributes);
    let _active = ActiveRequest(active_attributes);
    let mut duration_attributes = request_facts.duration_attributes();

    let parent = extract_context(request.headers());
    let tracer = HTTP_SERVER.tracer();
    let span = tracer
        .span_builder(request_facts.span_name())
        .with_kind(SpanKind::Server)
        .with_attributes(request_facts.span_attributes(&request))
        .start_with_context(tracer, &parent);
    let cx = Context::current_with_span(span);

    let outcome = next.call(request).with_context(cx.clone()).await;
    let (status, error_message) = match &outcome {
        Ok(response) => (
            response.status(),
            response.response().error().map(ToString::to_string),
        ),
        Err(error) => (
            error.as_response_error().status_code(),
            Some(error.to_string()),
        ),
    };

    let span = cx.span();
    let outcome_attributes = outcome_attributes(status);
    span.set_attributes(outcome_attributes.iter().cloned());
    if status.is_server_error() {
        let message = error_message.unwrap_or_else(|| format!("HTTP {status}"));
        mark_error(&cx, status.as_str(), &message);
    }
    span.end();
    duration_attributes.extend(outcome_attributes);
    INSTRUMENTS
        .duration
        .record(started.elapsed().as_secs_f64(), &duration_attributes);
    outcome
}

/// What the span name and the attributes are made of, read once per request.
struct RequestFacts {
    /// A method the semantic conventions know, or `_OTHER`.
    method: &'static str,
    /// Only set for `_OTHER`: the method as sent.
    original_method: Option<String>,
    scheme: &'static str,
    route: Option<String>,
    server_address: String,
    server_port: Option<i64>,
    client_address: Option<String>,
}

impl RequestFacts {
    fn of(request: &ServiceRequest) -> Self {
        let sent = request.method().as_str();
        let method = known_method(sent);
        // One read of the connection info (a `RefCell` borrow of the request's extensions).
        let connection = request.connection_info();
        let (server_address, server_port) = split_host_port(connection.host());
        let client_address = crate::client_address::client_address(&connection)
            .map(|client| split_host_port(&client).0);
        Self {
            method,
            original_method: (method == OTHER_METHOD).then(|| sent.to_owned()),
            scheme: url_scheme(connection.scheme(), request.app_config().secure()),
            route: request.match_pattern(),
            server_address,
            server_port,
            client_address,
        }
    }

    /// `{method} {route}`; unknown methods are named `HTTP`, as the conventions ask.
    fn span_name(&self) -> String {
        let method = if self.method == OTHER_METHOD {
            "HTTP"
        } else {
            self.method
        };
        match &self.route {
            Some(route) => format!("{method} {route}"),
            None => method.to_owned(),
        }
    }

    fn active_attributes(&self) -> Vec<KeyValue> {
        vec![
            KeyValue::new(semconv::HTTP_REQUEST_METHOD, self.method),
            KeyValue::new(semconv::URL_SCHEME, self.scheme),
        ]
    }

    /// Bounded values only: method, scheme and route template (no path, host or client).
    fn duration_attributes(&self) -> Vec<KeyValue> {
        let mut attributes = self.active_attributes();
        if let Some(route) = &self.route {
            attributes.push(KeyValue::new(semconv::HTTP_ROUTE, route.clone()));
        }
        attributes
    }

    /// All of them at the span's start, where samplers can see them (as the conventions ask).
    fn span_attributes(self, request: &ServiceRequest) -> Vec<KeyValue> {
        let mut attributes = Vec::with_capacity(12);
        attributes.extend([
            KeyValue::new(semconv::HTTP_REQUEST_METHOD, self.method),
            KeyValue::new(semconv::URL_SCHEME, self.scheme),
            KeyValue::new(semconv::URL_PATH, request.path().to_owned()),
            KeyValue::new(
                semconv::NETWORK_PROTOCOL_VERSION,
                protocol_version(request.version()),
            ),
            KeyValue::new(semconv::SERVER_ADDRESS, self.server_address),
        ]);
        if let Some(route) = self.route {
            attributes.push(KeyValue::new(semconv::HTTP_ROUTE, route));
        }
        if let Some(original) = self.original_method {
            attributes.push(KeyValue::new(
                semconv::HTTP_REQUEST_METHOD_ORIGINAL,
                original,
            ));
        }
        if let Some(port) = self.server_port {
            attributes.push(KeyValue::new(semconv::SERVER_PORT, port));
        }
        if let Some(client) = self.client_address {
            attributes.push(KeyValue::new(semconv::CLIENT_ADDRESS, client));
        }
        if let Some(peer) = request.peer_addr() {
            attributes.push(KeyValue::new(
                semconv::NETWORK_PEER_ADDRESS,
                peer.ip().to_string(),
            ));
        }
        if let Some(agent) = request
            .headers()
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
        {
            attributes.push(KeyValue::new(
                semconv::USER_AGENT_ORIGINAL,
                agent.to_owned(),
            ));
        }
        attributes
    }
}

const OTHER_METHOD: &str = "_OTHER";

/// Callers choose the method: only known values may reach metric attributes,
/// or every made-up one becomes a new time series.
fn known_method(sent: &str) -> &'static str {
    KNOWN_METHODS
        .iter()
        .find(|known| **known == sent)
        .copied()
        .unwrap_or(OTHER_METHOD)
}

/// Callers choose the scheme too (`X-Forwarded-Proto`): anything but http/https is ignored.
fn url_scheme(forwarded_or_actual: &str, secure: bool) -> &'static str {
    match forwarded_or_actual {
        "https" => "https",
        "http" => "http",
        _ if secure => "https",
        _ => "http",
    }
}

/// `http.response.status_code`, and `error.type` for a 5xx (a 4xx is the caller's problem).
fn outcome_attributes(status: actix_web::http::StatusCode) -> Vec<KeyValue> {
    let mut attributes = vec![KeyValue::new(
        semconv::HTTP_RESPONSE_STATUS_CODE,
        i64::from(status.as_u16()),
    )];
    if status.is_server_error() {
        attributes.push(KeyValue::new(
            semconv::ERROR_TYPE,
            status.as_str().to_owned(),
        ));
    }
    attributes
}

/// Route middleware for a service's API endpoint: the workshop's
/// `incoming.requests` counter and "received request from IP address" log
/// line, also for the requests its query extractor refuses.
///
/// Use: `web::resource("/").wrap(from_fn(telemetry::middleware::count_api_request))`.
pub async fn count_api_request(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    crate::record_incoming_request(request.request());
    next.call(request).await
}

fn protocol_version(version: actix_web::http::Version) -> &'static str {
    use actix_web::http::Version;
    match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

/// Splits `host:port` (or `[v6]:port`) into its parts; a bare host has no port.
pub(crate) fn split_host_port(authority: &str) -> (String, Option<i64>) {
    if let Some(rest) = authority.strip_prefix('[') {
        if let Some((host, tail)) = rest.split_once(']') {
            let port = tail.strip_prefix(':').and_then(|p| p.parse().ok());
            return (host.to_owned(), port);
        }
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(port) => (host.to_owned(), Some(port)),
            Err(_) => (authority.to_owned(), None),
        },
        _ => (authority.to_owned(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{attribute_of, captured};
    use actix_web::middleware::from_fn;
    use actix_web::test::{call_service, init_service, TestRequest};
    use actix_web::{web, App, HttpResponse};
    use opentelemetry::trace::Status;

    #[test]
    fn methods_and_schemes_outside_the_conventions_are_bounded() {
        assert_eq!(known_method("GET"), "GET");
        assert_eq!(known_method("get"), "_OTHER");
        assert_eq!(known_method("FOO"), "_OTHER");
        assert_eq!(url_scheme("https", false), "https");
        assert_eq!(url_scheme("gopher", false), "http");
        assert_eq!(url_scheme("gopher", true), "https");
        let not_found = outcome_attributes(actix_web::http::StatusCode::NOT_FOUND);
        assert_eq!(attribute_of(&not_found, "error.type"), None);
        let failed = outcome_attributes(actix_web::http::StatusCode::BAD_GATEWAY);
        assert_eq!(attribute_of(&failed, "error.type").as_deref(), Some("502"));
    }

    #[test]
    fn host_and_port_are_split_for_names_ipv4_and_ipv6() {
        assert_eq!(
            split_host_port("gateway:5001"),
            ("gateway".into(), Some(5001))
        );
        assert_eq!(split_host_port("127.0.0.1"), ("127.0.0.1".into(), None));
        assert_eq!(split_host_port("[::1]:80"), ("::1".into(), Some(80)));
        assert_eq!(split_host_port("::1"), ("::1".into(), None));
    }

    /// `/things/{id}` answers 200, except ids starting with `missing` (404) or `broken` (500).
    async fn call(method: &str, path_and_query: &str, host: &str) -> u16 {
        let app = init_service(App::new().wrap(from_fn(instrument_request)).route(
            "/things/{id}",
            web::route().to(|id: web::Path<String>| async move {
                if id.starts_with("missing") {
                    HttpResponse::NotFound().finish()
                } else if id.starts_with("broken") {
                    HttpResponse::InternalServerError().finish()
                } else {
                    HttpResponse::Ok().finish()
                }
            }),
        ))
        .await;
        let request = TestRequest::default()
            .method(method.parse().unwrap())
            .uri(path_and_query)
            .insert_header(("host", host))
            .to_request();
        call_service(&app, request).await.status().as_u16()
    }

    fn server_span(path: &str) -> opentelemetry_sdk::trace::SpanData {
        let mut spans = captured().spans_with("url.path", path);
        assert_eq!(spans.len(), 1, "one server span for {path}");
        spans.remove(0)
    }

    fn duration_point(route_id: &str) -> Vec<KeyValue> {
        // The route template is shared by the tests; the method/status pair picks this test's point.
        let points = captured().histogram_points("http.server.request.duration");
        points
            .into_iter()
            .find(|point| {
                attribute_of(point, "test.case").is_none() && {
                    let key = format!(
                        "{}/{}",
                        attribute_of(point, "http.request.method").unwrap_or_default(),
                        attribute_of(point, "http.response.status_code").unwrap_or_default()
                    );
                    key == route_id
                }
            })
            .unwrap_or_else(|| panic!("no http.server.request.duration point for {route_id}"))
    }

    #[actix_web::test]
    async fn a_server_span_is_named_by_method_and_route_and_keeps_the_query_out() {
        captured();
        assert_eq!(
            call("GET", "/things/t1?location=Paris", "[::1]:8080").await,
            200
        );
        let span = server_span("/things/t1");
        assert_eq!(span.name, "GET /things/{id}");
        assert_eq!(span.span_kind, SpanKind::Server);
        assert_eq!(span.instrumentation_scope.name(), "telemetry::middleware");
        assert!(span.instrumentation_scope.version().is_some());
        let attribute = |key| attribute_of(&span.attributes, key);
        assert_eq!(attribute("http.route").as_deref(), Some("/things/{id}"));
        assert_eq!(
            attribute("url.query"),
            None,
            "the place a person typed stays out"
        );
        assert_eq!(
            attribute("server.address").as_deref(),
            Some("::1"),
            "IPv6 host intact"
        );
        assert_eq!(attribute("server.port").as_deref(), Some("8080"));
        assert_eq!(
            attribute("http.response.status_code").as_deref(),
            Some("200")
        );
        assert_eq!(span.status, Status::Unset);

        let point = duration_point("GET/200");
        assert_eq!(
            attribute_of(&point, "http.route").as_deref(),
            Some("/things/{id}")
        );
        for host_derived in ["server.address", "server.port", "url.path"] {
            assert_eq!(
                attribute_of(&point, host_derived),
                None,
                "{host_derived} on a metric"
            );
        }
    }

    #[actix_web::test]
    async fn a_4xx_is_the_callers_problem_and_a_5xx_is_the_servers_error() {
        captured();
        assert_eq!(call("GET", "/things/missing-t2", "localhost").await, 404);
        assert_eq!(call("GET", "/things/broken-t2", "localhost").await, 500);
        let missing = server_span("/things/missing-t2");
        assert_eq!(missing.status, Status::Unset);
        assert_eq!(attribute_of(&missing.attributes, "error.type"), None);
        let broken = server_span("/things/broken-t2");
        assert!(
            matches!(broken.status, Status::Error { .. }),
            "{:?}",
            broken.status
        );
        assert_eq!(
            attribute_of(&broken.attributes, "error.type").as_deref(),
            Some("500")
        );
        assert!(broken.events.iter().any(|event| event.name == "exception"));
        let point = duration_point("GET/500");
        assert_eq!(attribute_of(&point, "error.type").as_deref(), Some("500"));
    }

    #[actix_web::test]
    async fn a_made_up_method_is_recorded_as_other() {
        captured();
        assert_eq!(call("FOO", "/things/t3", "localhost").await, 200);
        let span = server_span("/things/t3");
        assert_eq!(span.name, "HTTP /things/{id}");
        let attribute = |key| attribute_of(&span.attributes, key);
        assert_eq!(attribute("http.request.method").as_deref(), Some("_OTHER"));
        assert_eq!(
            attribute("http.request.method_original").as_deref(),
            Some("FOO")
        );
        let point = duration_point("_OTHER/200");
        assert_eq!(attribute_of(&point, "http.request.method_original"), None);
    }
}
