//! The one instrumented outbound HTTP client (awc) of each service.
//!
//! Every call gets a client span (`GET`, kind Client) as a child of the
//! current context, `traceparent`/`baggage` injected into its headers, an
//! `http.client.request.duration` point, a deadline covering connect, headers
//! and body, and a cap on the body size. Failures (including a 4xx: for a
//! client the call did not get what it asked for) mark the span as an error
//! with `error.type`.
//!
//! Callers decode answers with [`TracedClient::get_json`] and handle one error
//! type, [`UpstreamError`], whatever the upstream.
//!
//! Why not the contrib crate's awc `trace_request()`? Its source puts the
//! query string into `url.full` (here, the place a person typed), ends the
//! span when the headers arrive (the body read is not covered), sets no
//! `error.type`, records no `http.client.request.duration`, and applies no
//! deadline or size cap. The unit tests below hold each rule.

use crate::attributes::{
    client_outcome, client_request, is_client_failure, protocol_version, url_without_query,
};
use crate::metrics::LATENCY_BUCKETS_SECONDS;
use crate::propagation::context_headers;
use crate::scope::Scope;
use crate::spans::mark_error;
use actix_web::http::{StatusCode, Version};
use actix_web::web::Bytes;
use opentelemetry::metrics::Histogram;
use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;
use opentelemetry_semantic_conventions::attribute as semconv;
use serde::de::DeserializeOwned;
use std::rc::Rc;
use std::time::{Duration, Instant};
use url::Url;

/// What every [`TracedClient`] of an app is built with, from what `init` returned
/// ([`crate::Telemetry::http_client`]). Cheap to clone and `Send`, so each worker
/// (and any thread of its own) can build its clients from it. The default
/// records and propagates nothing.
#[derive(Clone, Default)]
pub struct ClientTelemetry {
    /// `None` under `OTEL_SDK_DISABLED=true`.
    instruments: Option<ClientInstruments>,
}

#[derive(Clone)]
struct ClientInstruments {
    /// `None` when spans are not recorded.
    tracer: Option<SdkTracer>,
    duration: Histogram<f64>,
}

impl ClientTelemetry {
    pub(crate) fn new(scope: Scope) -> Self {
        let instruments = scope.enabled().then(|| ClientInstruments {
            tracer: scope.tracer().cloned(),
            duration: scope
                .meter()
                .f64_histogram("http.client.request.duration")
                .with_unit("s")
                .with_description("Duration of outbound HTTP requests.")
                .with_boundaries(LATENCY_BUCKETS_SECONDS.to_vec())
                .build(),
        });
        Self { instruments }
    }
}

/// Open connections per worker and client (awc's default is 100; this makes the bound explicit).
const MAX_CONNECTIONS_PER_WORKER: usize = 256;

/// A response whose body was read completely within the deadline and the size cap.
#[derive(Debug)]
pub struct UpstreamResponse {
    pub host: String,
    pub status: StatusCode,
    pub version: Version,
    pub body: Bytes,
}

impl UpstreamResponse {
    /// The body of a 2xx answer; any other status is [`UpstreamError::Status`].
    pub fn success_body(self) -> Result<Bytes, UpstreamError> {
        if self.status.is_success() {
            Ok(self.body)
        } else {
            Err(UpstreamError::Status {
                host: self.host,
                status: self.status,
                body: self.body,
            })
        }
    }

    /// The body of a 2xx answer decoded as `T`.
    pub fn json<T: DeserializeOwned>(self) -> Result<T, UpstreamError> {
        let host = self.host.clone();
        let body = self.success_body()?;
        serde_json::from_slice(&body).map_err(|error| UpstreamError::Decode {
            host,
            reason: error.to_string(),
        })
    }
}

/// Everything that can go wrong with one upstream call, for every upstream.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The upstream answered, but not with a 2xx; `body` is its explanation, if any.
    #[error("{host} answered HTTP {status}")]
    Status {
        host: String,
        status: StatusCode,
        body: Bytes,
    },
    #[error("the answer from {host} is not what was expected: {reason}")]
    Decode { host: String, reason: String },
    #[error("no response from {host} within {} ms", .timeout.as_millis())]
    Timeout { host: String, timeout: Duration },
    #[error("could not reach {host}: {reason}")]
    Connect { host: String, reason: String },
    #[error("response from {host} is larger than {limit} bytes")]
    TooLarge { host: String, limit: usize },
    #[error("could not read the response from {host}: {reason}")]
    Body { host: String, reason: String },
}

impl UpstreamError {
    /// The `error.type` value for spans, metrics and logs: for an HTTP error
    /// answer its status code, as the semantic conventions ask.
    pub fn kind(&self) -> &str {
        match self {
            Self::Status { status, .. } => status.as_str(),
            Self::Decode { .. } => "decode",
            Self::Timeout { .. } => "timeout",
            Self::Connect { .. } => "connect",
            Self::TooLarge { .. } => "response_too_large",
            Self::Body { .. } => "body",
        }
    }
}

/// awc is `!Send`, so build one per actix worker (inside the `HttpServer::new` factory);
/// clones share its connection pool.
#[derive(Clone)]
pub struct TracedClient {
    client: awc::Client,
    timeout: Duration,
    max_body_bytes: usize,
    instruments: Option<Rc<ClientInstruments>>,
}

impl TracedClient {
    /// `user_agent` identifies the project to upstreams (Nominatim's policy requires it).
    pub fn new(
        telemetry: &ClientTelemetry,
        user_agent: &str,
        timeout: Duration,
        max_body_bytes: usize,
    ) -> Self {
        let client = awc::Client::builder()
            // Bounded per worker: a slow upstream makes callers wait for a connection, never opens thousands.
            .connector(
                awc::Connector::new()
                    .limit(MAX_CONNECTIONS_PER_WORKER)
                    .timeout(timeout),
            )
            .add_default_header(("user-agent", user_agent))
            .timeout(timeout)
            .disable_redirects()
            .finish();
        Self {
            client,
            timeout,
            max_body_bytes,
            instruments: telemetry.instruments.clone().map(Rc::new),
        }
    }

    /// `GET url` answered with a 2xx JSON body that decodes as `T`.
    pub async fn get_json<T: DeserializeOwned>(&self, url: &Url) -> Result<T, UpstreamError> {
        self.get(url).await?.json()
    }

    /// [`get_json`](Self::get_json) on behalf of the caller's own client: its
    /// address goes along as `X-Forwarded-For`, which the next service believes
    /// only when it trusts this one (`TRUSTED_PROXIES`).
    pub async fn get_json_for<T: DeserializeOwned>(
        &self,
        url: &Url,
        client_address: Option<&str>,
    ) -> Result<T, UpstreamError> {
        self.get_for(url, client_address).await?.json()
    }

    /// `GET url` with the full deadline and size cap applied, whatever the status.
    pub async fn get(&self, url: &Url) -> Result<UpstreamResponse, UpstreamError> {
        self.get_for(url, None).await
    }

    async fn get_for(
        &self,
        url: &Url,
        client_address: Option<&str>,
    ) -> Result<UpstreamResponse, UpstreamError> {
        let host = url.host_str().unwrap_or_default();
        let Some(instruments) = &self.instruments else {
            // Nothing recorded and no context passed on, as with no SDK at all.
            return self
                .send_within_deadline(url, &Context::new(), host, client_address)
                .await;
        };
        let mut attributes = client_request(url);
        let cx = match &instruments.tracer {
            Some(tracer) => {
                let mut span_attributes = attributes.clone();
                span_attributes.push(KeyValue::new(semconv::URL_FULL, url_without_query(url)));
                let span = tracer
                    .span_builder("GET")
                    .with_kind(SpanKind::Client)
                    .with_attributes(span_attributes)
                    .start(tracer);
                Context::current_with_span(span)
            }
            // No span of our own: the caller's context goes on to the upstream.
            None => Context::current(),
        };

        let started = Instant::now();
        let result = self
            .send_within_deadline(url, &cx, host, client_address)
            .await;

        let outcome = client_outcome(match &result {
            Ok(response) => Ok(response.status),
            Err(error) => Err(error.kind()),
        });
        if instruments.tracer.is_some() {
            let span = cx.span();
            span.set_attributes(outcome.iter().cloned());
            match &result {
                Ok(response) if is_client_failure(response.status) => {
                    let message = format!("{host} answered HTTP {}", response.status);
                    mark_error(&cx, response.status.as_str(), &message);
                }
                Ok(_) => {}
                Err(error) => mark_error(&cx, error.kind(), error),
            }
            span.end();
        }
        attributes.extend(outcome);
        if let Ok(response) = &result {
            attributes.push(KeyValue::new(
                semconv::NETWORK_PROTOCOL_VERSION,
                protocol_version(response.version),
            ));
        }
        instruments
            .duration
            .record(started.elapsed().as_secs_f64(), &attributes);
        result
    }

    /// [`send`](Self::send) with one deadline over connect, headers and body.
    async fn send_within_deadline(
        &self,
        url: &Url,
        cx: &Context,
        host: &str,
        client_address: Option<&str>,
    ) -> Result<UpstreamResponse, UpstreamError> {
        tokio::time::timeout(self.timeout, self.send(url, cx, host, client_address))
            .await
            .unwrap_or_else(|_| {
                Err(UpstreamError::Timeout {
                    host: host.to_owned(),
                    timeout: self.timeout,
                })
            })
    }

    async fn send(
        &self,
        url: &Url,
        cx: &Context,
        host: &str,
        client_address: Option<&str>,
    ) -> Result<UpstreamResponse, UpstreamError> {
        let mut request = self.client.get(url.as_str());
        for header in context_headers(cx) {
            request = request.insert_header(header);
        }
        if let Some(address) = client_address {
            request = request.insert_header(("x-forwarded-for", address));
        }
        let mut response = request.send().await.map_err(|error| match error {
            awc::error::SendRequestError::Timeout => UpstreamError::Timeout {
                host: host.to_owned(),
                timeout: self.timeout,
            },
            other => UpstreamError::Connect {
                host: host.to_owned(),
                reason: other.to_string(),
            },
        })?;
        let (status, version) = (response.status(), response.version());
        let body =
            response
                .body()
                .limit(self.max_body_bytes)
                .await
                .map_err(|error| match error {
                    awc::error::PayloadError::Overflow => UpstreamError::TooLarge {
                        host: host.to_owned(),
                        limit: self.max_body_bytes,
                    },
                    other => UpstreamError::Body {
                        host: host.to_owned(),
                        reason: other.to_string(),
                    },
                })?;
        Ok(UpstreamResponse {
            host: host.to_owned(),
            status,
            version,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{attribute_of, Captured};
    use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
    use opentelemetry::trace::{FutureExt, Status, Tracer};
    use serde_json::{json, Value};

    /// An upstream on an OS-chosen port: `/json` echoes the `traceparent` it got,
    /// `/missing` is a 404, `/text` is not JSON, `/slow` answers after a second.
    fn upstream() -> Url {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(|| {
            App::new()
                .route(
                    "/json/{case}",
                    web::get().to(|request: HttpRequest| async move {
                        let traceparent = request
                            .headers()
                            .get("traceparent")
                            .and_then(|value| value.to_str().ok())
                            .map(str::to_owned);
                        HttpResponse::Ok().json(json!({ "traceparent": traceparent }))
                    }),
                )
                .route(
                    "/missing/{case}",
                    web::get()
                        .to(|| async { HttpResponse::NotFound().json(json!({"error": "no"})) }),
                )
                .route("/text/{case}", web::get().to(|| async { "not json" }))
                .route(
                    "/slow/{case}",
                    web::get().to(|| async {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        HttpResponse::Ok().finish()
                    }),
                )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        actix_web::rt::spawn(server);
        Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap()
    }

    fn client(captured: &Captured) -> TracedClient {
        let telemetry = captured.telemetry.http_client();
        TracedClient::new(&telemetry, "test", Duration::from_millis(300), 1024)
    }

    fn client_span(captured: &Captured, url: &Url) -> opentelemetry_sdk::trace::SpanData {
        let mut spans = captured.spans_with("url.full", url.as_str());
        assert_eq!(spans.len(), 1, "one client span for {url}");
        spans.remove(0)
    }

    fn duration_point(
        captured: &Captured,
        error_type: Option<&str>,
        status: Option<&str>,
    ) -> Vec<KeyValue> {
        captured
            .histogram_points("http.client.request.duration")
            .into_iter()
            .find(|point| {
                attribute_of(point, "error.type").as_deref() == error_type
                    && attribute_of(point, "http.response.status_code").as_deref() == status
            })
            .unwrap_or_else(|| panic!("no client point with {error_type:?}/{status:?}"))
    }

    #[actix_web::test]
    async fn a_call_is_a_child_client_span_that_carries_the_trace_and_keeps_the_query_out() {
        let captured = Captured::new();
        let base = upstream();
        let url = base.join("json/ok?location=Paris").unwrap();
        let scope = captured.telemetry.scope("test", "0");
        let tracer = scope.tracer().unwrap();
        let parent_cx = Context::current_with_span(tracer.start("parent"));
        let trace_id = parent_cx.span().span_context().trace_id();
        let answer: Value = client(&captured)
            .get_json(&url)
            .with_context(parent_cx.clone())
            .await
            .unwrap();
        let span = client_span(&captured, &base.join("json/ok").unwrap());
        assert_eq!(span.name, "GET");
        assert_eq!(span.span_kind, SpanKind::Client);
        assert_eq!(span.span_context.trace_id(), trace_id);
        assert_eq!(
            span.parent_span_id,
            parent_cx.span().span_context().span_id()
        );
        let traceparent = answer["traceparent"].as_str().expect("traceparent sent");
        assert!(traceparent.contains(&trace_id.to_string()), "{traceparent}");
        assert!(traceparent.contains(&span.span_context.span_id().to_string()));
        let attribute = |key| attribute_of(&span.attributes, key);
        assert_eq!(attribute("server.address").as_deref(), Some("127.0.0.1"));
        assert_eq!(
            attribute("http.response.status_code").as_deref(),
            Some("200")
        );
        assert_eq!(attribute("error.type"), None);
        assert_eq!(span.status, Status::Unset);
        let point = duration_point(&captured, None, Some("200"));
        assert_eq!(attribute_of(&point, "url.full"), None, "no URL on a metric");
        assert_eq!(
            attribute_of(&point, "network.protocol.version").as_deref(),
            Some("1.1")
        );
    }

    #[actix_web::test]
    async fn a_4xx_is_a_failed_call_with_its_status_and_body() {
        let captured = Captured::new();
        let url = upstream().join("missing/case").unwrap();
        let error = client(&captured).get_json::<Value>(&url).await.unwrap_err();
        let UpstreamError::Status { status, body, .. } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(status.as_u16(), 404);
        assert_eq!(&body[..], br#"{"error":"no"}"#);
        let span = client_span(&captured, &url);
        assert!(
            matches!(span.status, Status::Error { .. }),
            "{:?}",
            span.status
        );
        assert_eq!(
            attribute_of(&span.attributes, "error.type").as_deref(),
            Some("404")
        );
        duration_point(&captured, Some("404"), Some("404"));
    }

    #[actix_web::test]
    async fn an_answer_that_is_not_the_expected_json_is_a_decode_error() {
        let captured = Captured::new();
        let url = upstream().join("text/case").unwrap();
        let error = client(&captured).get_json::<Value>(&url).await.unwrap_err();
        assert!(matches!(error, UpstreamError::Decode { .. }), "{error:?}");
        // The HTTP call itself succeeded: the span says so.
        assert_eq!(client_span(&captured, &url).status, Status::Unset);
    }

    #[actix_web::test]
    async fn no_answer_within_the_deadline_is_a_timeout() {
        let captured = Captured::new();
        let url = upstream().join("slow/case").unwrap();
        let error = client(&captured).get(&url).await.unwrap_err();
        assert!(matches!(error, UpstreamError::Timeout { .. }), "{error:?}");
        let span = client_span(&captured, &url);
        assert_eq!(
            attribute_of(&span.attributes, "error.type").as_deref(),
            Some("timeout")
        );
        duration_point(&captured, Some("timeout"), None);
    }

    #[actix_web::test]
    async fn without_telemetry_a_call_carries_no_trace_context() {
        let captured = Captured::new();
        let url = upstream().join("json/quiet").unwrap();
        let scope = captured.telemetry.scope("test", "0");
        let parent_cx = Context::current_with_span(scope.tracer().unwrap().start("parent"));
        let off = TracedClient::new(
            &ClientTelemetry::default(),
            "test",
            Duration::from_millis(300),
            1024,
        );
        let answer: Value = off.get_json(&url).with_context(parent_cx).await.unwrap();
        assert_eq!(answer["traceparent"], Value::Null);
        assert!(captured.spans_with("url.full", url.as_str()).is_empty());
    }
}
