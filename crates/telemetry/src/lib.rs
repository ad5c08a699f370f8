//! The one place in the workspace that knows OpenTelemetry.
//!
//! A service reads a [`TelemetryConfig`] from the environment, calls [`init`]
//! once at the top of `main`, and builds its app from the [`Telemetry`] value
//! it returns: the server middleware ([`Telemetry::http_server`]), the
//! instrumented client ([`Telemetry::http_client`]), its own domain scope
//! ([`Telemetry::scope`]), the `/metrics` registry and the log bridge. After
//! the HTTP server has drained it calls [`Telemetry::shutdown`].
//!
//! Nothing here changes behaviour by call order: every span, instrument and
//! flag comes from the value `init` returned. `init` also sets the W3C
//! propagator and the providers as OpenTelemetry's globals, for code that
//! asks the globals (the propagator is read on each call, so a program may
//! replace it).
//!
//! # Layout
//!
//! - [`config`]: `OTEL_*` variables into a [`TelemetryConfig`] (the one
//!   function that reads them; `init` reads none).
//! - `init`: [`init`] / [`init_with`] and the [`Telemetry`] they return; the
//!   shared `Resource` (`resource`), one init per signal (`traces`,
//!   [`metrics`], [`logs`]), the OTLP exporter built once for both protocols
//!   (`otlp`), and what a caller may add ([`Extra`]).
//! - [`middleware`]: the actix-web `Transform` that traces and measures each
//!   request.
//! - [`client`]: the instrumented awc client and its one error type.
//! - [`scope`]: a service's own tracer and meter, and `in_span`.
//! - [`attributes`]: pure functions from request facts to semantic-convention
//!   attributes.
//! - [`propagation`]: `traceparent`/`baggage` over actix's header maps.

pub mod attributes;
pub mod client;
pub mod config;
mod error;
mod extra;
mod init;
pub mod logs;
pub mod metrics;
pub mod middleware;
mod otlp;
pub mod propagation;
mod resource;
pub mod scope;
mod spans;
#[cfg(test)]
mod testing;
mod traces;

pub use config::{Exporters, OtlpProtocol, TelemetryConfig};
pub use error::TelemetryError;
pub use extra::Extra;
pub use init::{init, init_with, Telemetry};
pub use metrics::{metrics_endpoint, MetricsRegistry, LATENCY_BUCKETS_SECONDS};
pub use scope::Scope;

/// Identity of the service that emits the telemetry.
#[derive(Debug, Clone, Copy)]
pub struct ServiceInfo {
    /// Default `service.name`; `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` override it.
    pub name: &'static str,
    /// `service.version`, normally `env!("CARGO_PKG_VERSION")` of the service crate.
    pub version: &'static str,
}

/// `service.namespace` shared by all services of the stack.
pub const SERVICE_NAMESPACE: &str = "iss-distance-app";

/// The id of the trace the current request belongs to, when it is recorded
/// or was propagated to us (for a link to it); `None` otherwise.
pub fn current_trace_id() -> Option<String> {
    use opentelemetry::trace::{get_active_span, TraceId};
    let id = get_active_span(|span| span.span_context().trace_id());
    (id != TraceId::INVALID).then(|| id.to_string())
}
