//! The one instrumented outbound HTTP client (awc) of each service.
//!
//! Every call gets a client span (`GET`, kind Client) as a child of the
//! current context, `traceparent`/`baggage` injected into its headers, an
//! `http.client.request.duration` point, a deadline covering connect, headers
//! and body, and a cap on the body size. Failures mark the span as an error.
//!
//! Callers decode answers with [`TracedClient::get_json`] and handle one error
//! type, [`UpstreamError`], whatever the upstream.

use crate::metrics::{meter, LATENCY_BUCKETS_SECONDS};
use crate::propagation::context_headers;
use crate::spans::{mark_error, SCOPE};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use opentelemetry::metrics::Histogram;
use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer};
use opentelemetry::{global, Context, KeyValue};
use opentelemetry_semantic_conventions::attribute as semconv;
use serde::de::DeserializeOwned;
use std::sync::LazyLock;
use std::time::{Duration, Instant};
use url::Url;

static CLIENT_DURATION: LazyLock<Histogram<f64>> = LazyLock::new(|| {
    meter()
        .f64_histogram("http.client.request.duration")
        .with_unit("s")
        .with_description("Duration of outbound HTTP requests.")
        .with_boundaries(LATENCY_BUCKETS_SECONDS.to_vec())
        .build()
});

/// Open connections per worker and client (awc's default is 100; this makes the bound explicit).
const MAX_CONNECTIONS_PER_WORKER: usize = 256;

/// A response whose body was read completely within the deadline and the size cap.
#[derive(Debug)]
pub struct UpstreamResponse {
    pub host: String,
    pub status: StatusCode,
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
    /// The `error.type` value for spans and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Status { .. } => "status",
            Self::Decode { .. } => "decode",
            Self::Timeout { .. } => "timeout",
            Self::Connect { .. } => "connect",
            Self::TooLarge { .. } => "response_too_large",
            Self::Body { .. } => "body",
        }
    }

    /// What a service answers when this upstream failed it: 504 when the upstream
    /// ran out of time, 502 for every other failure.
    pub fn relayed_status(&self) -> StatusCode {
        match self {
            Self::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::BAD_GATEWAY,
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
}

impl TracedClient {
    /// `user_agent` identifies the project to upstreams (Nominatim's policy requires it).
    pub fn new(user_agent: &str, timeout: Duration, max_body_bytes: usize) -> Self {
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
        }
    }

    /// `GET url` answered with a 2xx JSON body that decodes as `T`.
    pub async fn get_json<T: DeserializeOwned>(&self, url: &Url) -> Result<T, UpstreamError> {
        self.get(url).await?.json()
    }

    /// `GET url` with the full deadline and size cap applied, whatever the status.
    pub async fn get(&self, url: &Url) -> Result<UpstreamResponse, UpstreamError> {
        let host = url.host_str().unwrap_or_default().to_owned();
        let port = url.port_or_known_default().map(i64::from);
        let mut attributes = vec![
            KeyValue::new(semconv::HTTP_REQUEST_METHOD, "GET"),
            KeyValue::new(semconv::SERVER_ADDRESS, host.clone()),
        ];
        if let Some(port) = port {
            attributes.push(KeyValue::new(semconv::SERVER_PORT, port));
        }
        let tracer = global::tracer(SCOPE);
        let mut span_attributes = attributes.clone();
        // The query may hold user input (a place name): keep it out of the span.
        let mut url_without_query = url.clone();
        url_without_query.set_query(None);
        span_attributes.push(KeyValue::new(
            semconv::URL_FULL,
            url_without_query.to_string(),
        ));
        let span = tracer
            .span_builder("GET")
            .with_kind(SpanKind::Client)
            .with_attributes(span_attributes)
            .start(&tracer);
        let cx = Context::current_with_span(span);

        let started = Instant::now();
        let result = tokio::time::timeout(self.timeout, self.send(url, &cx, &host))
            .await
            .unwrap_or_else(|_| {
                Err(UpstreamError::Timeout {
                    host: host.clone(),
                    timeout: self.timeout,
                })
            });

        let span = cx.span();
        match &result {
            Ok(response) => {
                let code = i64::from(response.status.as_u16());
                span.set_attribute(KeyValue::new(semconv::HTTP_RESPONSE_STATUS_CODE, code));
                attributes.push(KeyValue::new(semconv::HTTP_RESPONSE_STATUS_CODE, code));
                if response.status.is_client_error() || response.status.is_server_error() {
                    let error_type = response.status.as_u16().to_string();
                    span.set_attribute(KeyValue::new(semconv::ERROR_TYPE, error_type.clone()));
                    attributes.push(KeyValue::new(semconv::ERROR_TYPE, error_type.clone()));
                    mark_error(
                        &cx,
                        &error_type,
                        &format!("{host} answered HTTP {}", response.status),
                    );
                }
            }
            Err(error) => {
                span.set_attribute(KeyValue::new(semconv::ERROR_TYPE, error.kind()));
                attributes.push(KeyValue::new(semconv::ERROR_TYPE, error.kind()));
                mark_error(&cx, error.kind(), error);
            }
        }
        span.end();
        CLIENT_DURATION.record(started.elapsed().as_secs_f64(), &attributes);
        result
    }

    async fn send(
        &self,
        url: &Url,
        cx: &Context,
        host: &str,
    ) -> Result<UpstreamResponse, UpstreamError> {
        let mut request = self.client.get(url.as_str());
        for header in context_headers(cx) {
            request = request.insert_header(header);
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
        let status = response.status();
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
            body,
        })
    }
}
