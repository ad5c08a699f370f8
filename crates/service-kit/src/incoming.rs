//! The workshop's per-request signals for an API call: the `incoming.requests`
//! counter and the "received request from IP address" log line. The address
//! goes to the log only; metric attributes never carry it.

use crate::client_address::TrustedProxies;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest};
use opentelemetry::metrics::{Counter, Meter};

/// App data of every service ([`crate::Application`] adds it).
#[derive(Clone)]
pub struct IncomingRequests {
    counter: Counter<u64>,
    trusted_proxies: TrustedProxies,
}

impl IncomingRequests {
    /// `meter` is the HTTP server's (the scope of the server's own request metrics).
    pub(crate) fn new(meter: &Meter, trusted_proxies: TrustedProxies) -> Self {
        let counter = meter
            .u64_counter("incoming.requests")
            .with_unit("{request}")
            .with_description("The number of requests made to the service's API.")
            .build();
        Self {
            counter,
            trusted_proxies,
        }
    }

    /// Counts `request`, logs who sent it, and returns that address.
    pub fn record(&self, request: &HttpRequest) -> Option<String> {
        self.counter.add(1, &[]);
        let address = self
            .trusted_proxies
            .client_address(&request.connection_info());
        let shown = address.as_deref().unwrap_or("unknown");
        log::info!("client.address" = shown; "received request from IP address {shown}");
        address
    }
}

/// Route middleware of [`crate::api_get`]: counts and logs the request, also when
/// its query extractor refuses it.
pub(crate) async fn count(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(incoming) = request.app_data::<web::Data<IncomingRequests>>() {
        incoming.record(request.request());
    }
    next.call(request).await
}
