//! The one place in the workspace that knows OpenTelemetry.
//!
//! A service calls [`init`] once at the top of `main`, keeps the returned
//! [`TelemetryGuard`], wraps its `App` in [`middleware::instrument_request`],
//! sends outbound HTTP through [`client::TracedClient`], serves
//! [`metrics_endpoint`] at `/metrics`, and calls [`TelemetryGuard::shutdown`]
//! after the HTTP server has drained. Services create their domain spans and
//! metrics through their own [`Instrumentation`] scope.

pub mod client;
pub mod client_address;
mod config;
mod logs;
pub mod metrics;
pub mod middleware;
pub mod propagation;
mod providers;
mod resource;
mod scope;
mod spans;
mod stderr_lines;
#[cfg(test)]
mod testing;

pub use client_address::{client_address, TrustedProxies};
pub use config::{Exporters, OtlpProtocol, TelemetryConfig};
pub use metrics::{metrics_endpoint, MetricsRegistry, LATENCY_BUCKETS_SECONDS};
pub use providers::{init, TelemetryError, TelemetryGuard};
pub use scope::Instrumentation;

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

use opentelemetry::metrics::Counter;
use std::sync::LazyLock;

static INCOMING_REQUESTS: LazyLock<Counter<u64>> = LazyLock::new(|| {
    middleware::HTTP_SERVER
        .meter()
        .u64_counter("incoming.requests")
        .with_unit("{request}")
        .with_description("The number of requests made to the service's API.")
        .build()
});

/// The workshop's per-request signals for an API call: the `incoming.requests`
/// counter and the "received request from IP address" log line. The address
/// goes to the log only; metric attributes never carry it.
pub fn record_incoming_request(request: &actix_web::HttpRequest) {
    INCOMING_REQUESTS.add(1, &[]);
    let address = client_address(&request.connection_info());
    let address = address.as_deref().unwrap_or("unknown");
    log::info!("client.address" = address; "received request from IP address {address}");
}
