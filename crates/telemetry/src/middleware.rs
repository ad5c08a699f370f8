//! HTTP server instrumentation for actix-web, in one middleware.
//!
//! Per request: the parent context is extracted from `traceparent`/`baggage`,
//! a server span named `{method} {route}` is opened with the HTTP semantic
//! convention attributes (route template, never the query string), the
//! handler runs inside it, and `http.server.request.duration` and
//! `http.server.active_requests` are recorded. A 5xx marks the span as an
//! error; a 4xx does not (the server did its job). Without a span exporter
//! no span is made: the incoming context is passed on as it came, and only
//! the metrics are recorded. Under `OTEL_SDK_DISABLED=true` it only calls the
//! handler.
//!
//! Why not `opentelemetry-instrumentation-actix-web`, the crate most Rust
//! users would pick? Its source (read at the contrib repository's
//! `util.rs`/`middleware/trace.rs`) records `url.query` on the span, which
//! here is the place a person typed; passes made-up methods through instead
//! of `_OTHER`, one span name and time series per invented verb; splits the
//! `Host` header on `:`, which cuts IPv6 literals apart; labels its metrics
//! with `server.address`/`server.port` from that caller-controlled header
//! (unbounded cardinality); and names spans by route alone. Each rule is a
//! unit test, below or in [`crate::attributes`].
//!
//! Use: `App::new().wrap(telemetry.http_server())`, where `telemetry` is what
//! [`crate::init`] returned; [`RequestTelemetry::with_client_address`] says
//! who the client is when the app knows better than the TCP peer.

use crate::attributes::{
    known_method, protocol_version, server_outcome, split_host_port, url_scheme, OTHER_METHOD,
};
use crate::metrics::LATENCY_BUCKETS_SECONDS;
use crate::propagation::extract_context;
use crate::scope::Scope;
use crate::spans::mark_error;
use actix_web::body::MessageBody;
use actix_web::dev::{ConnectionInfo, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::Error;
use opentelemetry::metrics::{Histogram, Meter, UpDownCounter};
use opentelemetry::trace::{FutureExt, SpanKind, TraceContextExt, Tracer};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SdkTracer;
use opentelemetry_semantic_conventions::attribute as semconv;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

/// Who the client of a request is (`client.address`), given its connection.
type ClientAddress = Arc<dyn Fn(&ConnectionInfo) -> Option<String> + Send + Sync>;

/// The middleware, as a value built from what `init` returned. Cheap to clone;
/// `wrap` it in each worker's `App`.
#[derive(Clone)]
pub struct RequestTelemetry {
    /// `None` under `OTEL_SDK_DISABLED=true`.
    instruments: Option<ServerInstruments>,
    meter: Meter,
    client_address: ClientAddress,
}

/// Everything one request's telemetry needs, per worker.
#[derive(Clone)]
struct ServerInstruments {
    /// `None` when spans are not recorded.
    tracer: Option<SdkTracer>,
    duration: Histogram<f64>,
    active: UpDownCounter<i64>,
    client_address: ClientAddress,
}

impl RequestTelemetry {
    pub(crate) fn new(scope: Scope) -> Self {
        let meter = scope.meter().clone();
        let client_address: ClientAddress =
            Arc::new(|connection: &ConnectionInfo| connection.peer_addr().map(str::to_owned));
        let instruments = scope.enabled().then(|| ServerInstruments {
            tracer: scope.tracer().cloned(),
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
            client_address: Arc::clone(&client_address),
        });
        Self {
            instruments,
            meter,
            client_address,
        }
    }

    /// `client.address` from `resolve` instead of the TCP peer (for example the
    /// forwarded address, when the peer is a trusted proxy).
    pub fn with_client_address(
        mut self,
        resolve: impl Fn(&ConnectionInfo) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.client_address = Arc::new(resolve);
        if let Some(instruments) = &mut self.instruments {
            instruments.client_address = Arc::clone(&self.client_address);
        }
        self
    }

    /// The HTTP server scope's meter, for an app's own per-request instruments.
    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// Who the client of `connection` is, as spans record it.
    pub fn client_address(&self, connection: &ConnectionInfo) -> Option<String> {
        (self.client_address)(connection)
    }
}

impl<S, B> Transform<S, ServiceRequest> for RequestTelemetry
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = RequestTelemetryService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequestTelemetryService {
            service: Rc::new(service),
            // One copy per worker, so requests share no reference count across threads.
            instruments: self.instruments.clone().map(Rc::new),
        }))
    }
}

/// [`RequestTelemetry`] around one worker's service.
pub struct RequestTelemetryService<S> {
    service: Rc<S>,
    instruments: Option<Rc<ServerInstruments>>,
}

impl<S, B> Service<ServiceRequest> for RequestTelemetryService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<ServiceResponse<B>, Error>>>>;

    fn poll_ready(&self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Error>> {
        self.service.poll_ready(cx)
    }

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        match &self.instruments {
            None => Box::pin(service.call(request)),
            Some(instruments) => Box::pin(Rc::clone(instruments).instrument(request, service)),
        }
    }
}

/// Decrements `http.server.active_requests` even when the request future is dropped (client gone).
struct ActiveRequest<'a>(&'a UpDownCounter<i64>, [KeyValue; 2]);

impl Drop for ActiveRequest<'_> {
    fn drop(&mut self) {
        self.0.add(-1, &self.1);
    }
}

impl ServerInstruments {
    async fn instrument<S, B>(
        self: Rc<Self>,
        request: ServiceRequest,
        service: Rc<S>,
    ) -> Result<ServiceResponse<B>, Error>
    where
        S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    {
        let started = Instant::now();
        let facts = RequestFacts::of(&request);
        let active_attributes = facts.active_attributes();
        self.active.add(1, &active_attributes);
        let _active = ActiveRequest(&self.active, active_attributes);
        let mut duration_attributes = facts.duration_attributes();

        let parent = extract_context(request.headers());
        let cx = match &self.tracer {
            Some(tracer) => {
                let span = tracer
                    .span_builder(facts.span_name())
                    .with_kind(SpanKind::Server)
                    .with_attributes(facts.span_attributes(&request, &self.client_address))
                    .start_with_context(tracer, &parent);
                parent.with_span(span)
            }
            // Nothing records a span: the caller's context goes on as it came.
            None => parent,
        };

        let outcome = service.call(request).with_context(cx.clone()).await;
        let status = match &outcome {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        let outcome_attributes = server_outcome(status);
        if self.tracer.is_some() {
            let span = cx.span();
            span.set_attributes(outcome_attributes.iter().cloned());
            if status.is_server_error() {
                let message = match &outcome {
                    Ok(response) => response.response().error().map(ToString::to_string),
                    Err(error) => Some(error.to_string()),
                };
                let message = message.unwrap_or_else(|| format!("HTTP {status}"));
                mark_error(&cx, status.as_str(), &message);
            }
            span.end();
        }
        duration_attributes.extend(outcome_attributes);
        self.duration
            .record(started.elapsed().as_secs_f64(), &duration_attributes);
        outcome
    }
}

/// What the span name and the attributes are made of, read once per request.
struct RequestFacts {
    /// A method the semantic conventions know, or `_OTHER`.
    method: &'static str,
    scheme: &'static str,
    protocol_version: &'static str,
    route: Option<String>,
}

impl RequestFacts {
    fn of(request: &ServiceRequest) -> Self {
        let connection = request.connection_info();
        Self {
            method: known_method(request.method().as_str()),
            scheme: url_scheme(connection.scheme(), request.app_config().secure()),
            protocol_version: protocol_version(request.version()),
            route: request.match_pattern(),
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

    fn active_attributes(&self) -> [KeyValue; 2] {
        [
            KeyValue::new(semconv::HTTP_REQUEST_METHOD, self.method),
            KeyValue::new(semconv::URL_SCHEME, self.scheme),
        ]
    }

    /// Bounded values only: method, scheme, protocol version and route template
    /// (no path, host or client).
    fn duration_attributes(&self) -> Vec<KeyValue> {
        let mut attributes = Vec::with_capacity(7);
        attributes.extend(self.active_attributes());
        attributes.push(KeyValue::new(
            semconv::NETWORK_PROTOCOL_VERSION,
            self.protocol_version,
        ));
        if let Some(route) = &self.route {
            attributes.push(KeyValue::new(semconv::HTTP_ROUTE, route.clone()));
        }
        attributes
    }

    /// All of them at the span's start, where samplers can see them (as the conventions ask).
    fn span_attributes(
        &self,
        request: &ServiceRequest,
        client_address: &ClientAddress,
    ) -> Vec<KeyValue> {
        // One read of the connection info (a `RefCell` borrow of the request's extensions).
        let connection = request.connection_info();
        let (server_address, server_port) = split_host_port(connection.host());
        let mut attributes = Vec::with_capacity(12);
        attributes.extend([
            KeyValue::new(semconv::HTTP_REQUEST_METHOD, self.method),
            KeyValue::new(semconv::URL_SCHEME, self.scheme),
            KeyValue::new(semconv::URL_PATH, request.path().to_owned()),
            KeyValue::new(semconv::NETWORK_PROTOCOL_VERSION, self.protocol_version),
            KeyValue::new(semconv::SERVER_ADDRESS, server_address),
        ]);
        if let Some(route) = &self.route {
            attributes.push(KeyValue::new(semconv::HTTP_ROUTE, route.clone()));
        }
        if self.method == OTHER_METHOD {
            attributes.push(KeyValue::new(
                semconv::HTTP_REQUEST_METHOD_ORIGINAL,
                request.method().as_str().to_owned(),
            ));
        }
        if let Some(port) = server_port {
            attributes.push(KeyValue::new(semconv::SERVER_PORT, port));
        }
        if let Some(client) = client_address(&connection) {
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
        attributes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{attribute_of, Captured};
    use actix_web::test::{call_service, init_service, TestRequest};
    use actix_web::{web, App, HttpResponse};
    use opentelemetry::trace::Status;

    /// `/things/{id}` answers 200, except ids starting with `missing` (404) or `broken` (500).
    async fn call(captured: &Captured, method: &str, path_and_query: &str, host: &str) -> u16 {
        let middleware = captured.telemetry.http_server();
        let app = init_service(App::new().wrap(middleware).route(
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

    fn server_span(captured: &Captured, path: &str) -> opentelemetry_sdk::trace::SpanData {
        let mut spans = captured.spans_with("url.path", path);
        assert_eq!(spans.len(), 1, "one server span for {path}");
        spans.remove(0)
    }

    fn duration_point(captured: &Captured, route_id: &str) -> Vec<KeyValue> {
        // The method/status pair picks the point.
        let points = captured.histogram_points("http.server.request.duration");
        points
            .into_iter()
            .find(|point| {
                let key = format!(
                    "{}/{}",
                    attribute_of(point, "http.request.method").unwrap_or_default(),
                    attribute_of(point, "http.response.status_code").unwrap_or_default()
                );
                key == route_id
            })
            .unwrap_or_else(|| panic!("no http.server.request.duration point for {route_id}"))
    }

    #[actix_web::test]
    async fn a_server_span_is_named_by_method_and_route_and_keeps_the_query_out() {
        let captured = Captured::new();
        assert_eq!(
            call(&captured, "GET", "/things/t1?location=Paris", "[::1]:8080").await,
            200
        );
        let span = server_span(&captured, "/things/t1");
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

        let point = duration_point(&captured, "GET/200");
        assert_eq!(
            attribute_of(&point, "http.route").as_deref(),
            Some("/things/{id}")
        );
        assert_eq!(
            attribute_of(&point, "network.protocol.version").as_deref(),
            Some("1.1")
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
        let captured = Captured::new();
        assert_eq!(
            call(&captured, "GET", "/things/missing-t2", "localhost").await,
            404
        );
        assert_eq!(
            call(&captured, "GET", "/things/broken-t2", "localhost").await,
            500
        );
        let missing = server_span(&captured, "/things/missing-t2");
        assert_eq!(missing.status, Status::Unset);
        assert_eq!(attribute_of(&missing.attributes, "error.type"), None);
        let broken = server_span(&captured, "/things/broken-t2");
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
        let point = duration_point(&captured, "GET/500");
        assert_eq!(attribute_of(&point, "error.type").as_deref(), Some("500"));
    }

    #[actix_web::test]
    async fn a_made_up_method_is_recorded_as_other() {
        let captured = Captured::new();
        assert_eq!(call(&captured, "FOO", "/things/t3", "localhost").await, 200);
        let span = server_span(&captured, "/things/t3");
        assert_eq!(span.name, "HTTP /things/{id}");
        let attribute = |key| attribute_of(&span.attributes, key);
        assert_eq!(attribute("http.request.method").as_deref(), Some("_OTHER"));
        assert_eq!(
            attribute("http.request.method_original").as_deref(),
            Some("FOO")
        );
        let point = duration_point(&captured, "_OTHER/200");
        assert_eq!(attribute_of(&point, "http.request.method_original"), None);
    }

    #[actix_web::test]
    async fn without_a_span_exporter_the_callers_context_goes_on_and_metrics_are_recorded() {
        let captured = Captured::without_spans();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
        let seen_by_handler = seen.clone();
        let app = init_service(App::new().wrap(captured.telemetry.http_server()).route(
            "/",
            web::get().to(move || {
                *seen_by_handler.lock().unwrap() = crate::current_trace_id();
                async { HttpResponse::Ok().finish() }
            }),
        ))
        .await;
        let request = TestRequest::get()
            .uri("/")
            .insert_header((
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ))
            .to_request();
        assert_eq!(call_service(&app, request).await.status().as_u16(), 200);
        assert_eq!(
            seen.lock().unwrap().as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert!(captured.spans_with("url.path", "/").is_empty());
        duration_point(&captured, "GET/200");
    }

    #[actix_web::test]
    async fn the_client_address_is_what_the_app_says_it_is() {
        let captured = Captured::new();
        let middleware = captured
            .telemetry
            .http_server()
            .with_client_address(|_| Some("203.0.113.7:5555".to_owned()));
        let app = init_service(
            App::new()
                .wrap(middleware)
                .route("/who", web::get().to(HttpResponse::Ok)),
        )
        .await;
        call_service(&app, TestRequest::get().uri("/who").to_request()).await;
        let span = server_span(&captured, "/who");
        assert_eq!(
            attribute_of(&span.attributes, "client.address").as_deref(),
            Some("203.0.113.7")
        );
    }
}
