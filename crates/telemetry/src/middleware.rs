//! HTTP server instrumentation for actix-web, in one middleware.
//!
//! Per request: the parent context is extracted from `traceparent`/`baggage`,
//! a server span named `{method} {route}` is opened with the HTTP semantic
//! convention attributes (route template, never the query string), the
//! handler runs inside it, and `http.server.request.duration` and
//! `http.server.active_requests` are recorded. A 5xx marks the span as an
//! error; a 4xx does not (the server did its job).
//!
//! Use: `App::new().wrap(actix_web::middleware::from_fn(telemetry::middleware::instrument_request))`.

use crate::metrics::{meter, LATENCY_BUCKETS_SECONDS};
use crate::propagation::extract_context;
use crate::spans::{mark_error, SCOPE};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::Error;
use opentelemetry::metrics::{Histogram, UpDownCounter};
use opentelemetry::trace::{FutureExt, SpanKind, TraceContextExt, Tracer};
use opentelemetry::{global, Context, KeyValue};
use opentelemetry_semantic_conventions::attribute as semconv;
use std::sync::LazyLock;
use std::time::Instant;

struct ServerInstruments {
    duration: Histogram<f64>,
    active: UpDownCounter<i64>,
}

static INSTRUMENTS: LazyLock<ServerInstruments> = LazyLock::new(|| {
    let meter = meter();
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
    let started = Instant::now();
    let original_method = request.method().as_str();
    // Callers choose the method and (via X-Forwarded-Proto) the scheme: only known values may
    // reach metric attributes, or every made-up one becomes a new time series.
    let method = if KNOWN_METHODS.contains(&original_method) {
        original_method.to_owned()
    } else {
        "_OTHER".to_owned()
    };
    let route = request.match_pattern();
    let connection = request.connection_info().clone();
    let scheme = match connection.scheme() {
        known @ ("http" | "https") => known.to_owned(),
        _ if request.app_config().secure() => "https".to_owned(),
        _ => "http".to_owned(),
    };

    let active_attributes = vec![
        KeyValue::new(semconv::HTTP_REQUEST_METHOD, method.clone()),
        KeyValue::new(semconv::URL_SCHEME, scheme.clone()),
    ];
    INSTRUMENTS.active.add(1, &active_attributes);
    let _active = ActiveRequest(active_attributes);

    let mut attributes = vec![
        KeyValue::new(semconv::HTTP_REQUEST_METHOD, method.clone()),
        KeyValue::new(semconv::URL_PATH, request.path().to_owned()),
        KeyValue::new(semconv::URL_SCHEME, scheme.clone()),
        KeyValue::new(
            semconv::NETWORK_PROTOCOL_VERSION,
            protocol_version(request.version()),
        ),
    ];
    if let Some(route) = &route {
        attributes.push(KeyValue::new(semconv::HTTP_ROUTE, route.clone()));
    }
    if method == "_OTHER" {
        attributes.push(KeyValue::new(
            semconv::HTTP_REQUEST_METHOD_ORIGINAL,
            original_method.to_owned(),
        ));
    }
    let (host, port) = split_host_port(connection.host());
    attributes.push(KeyValue::new(semconv::SERVER_ADDRESS, host));
    if let Some(port) = port {
        attributes.push(KeyValue::new(semconv::SERVER_PORT, port));
    }
    if let Some(client) = crate::client_address::client_address(&connection) {
        attributes.push(KeyValue::new(
            semconv::CLIENT_ADDRESS,
            split_host_port(&client).0,
        ));
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

    let parent = extract_context(request.headers());
    // Semantic conventions name spans of unknown methods "HTTP".
    let name_method = if method == "_OTHER" { "HTTP" } else { &method };
    let span_name = match &route {
        Some(route) => format!("{name_method} {route}"),
        None => name_method.to_owned(),
    };
    let tracer = global::tracer(SCOPE);
    let span = tracer
        .span_builder(span_name)
        .with_kind(SpanKind::Server)
        .with_attributes(attributes)
        .start_with_context(&tracer, &parent);
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
    let status_code = i64::from(status.as_u16());
    span.set_attribute(KeyValue::new(
        semconv::HTTP_RESPONSE_STATUS_CODE,
        status_code,
    ));
    let mut metric_attributes = vec![
        KeyValue::new(semconv::HTTP_REQUEST_METHOD, method),
        KeyValue::new(semconv::URL_SCHEME, scheme),
        KeyValue::new(semconv::HTTP_RESPONSE_STATUS_CODE, status_code),
    ];
    if let Some(route) = route {
        metric_attributes.push(KeyValue::new(semconv::HTTP_ROUTE, route));
    }
    if status.is_server_error() {
        let error_type = status.as_u16().to_string();
        span.set_attribute(KeyValue::new(semconv::ERROR_TYPE, error_type.clone()));
        metric_attributes.push(KeyValue::new(semconv::ERROR_TYPE, error_type.clone()));
        let message = error_message.unwrap_or_else(|| format!("HTTP {status}"));
        mark_error(&cx, &error_type, &message);
    }
    span.end();
    INSTRUMENTS
        .duration
        .record(started.elapsed().as_secs_f64(), &metric_attributes);
    outcome
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
    use super::split_host_port;

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
}
