//! The gateway's one error, a downstream call that failed, and how it reaches the caller.
//!
//! A 4xx from a downstream is the user's problem and passes through with its
//! explanation; unreachable, 5xx or an unusable answer is 502; no answer
//! within the deadline is 504.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use service_kit::{json_error, RelayedStatus};
use std::fmt;
use telemetry::client::UpstreamError;

#[derive(Debug)]
pub struct ApiError {
    /// The downstream that failed ("geolocator", "iss-distance").
    pub service: &'static str,
    pub cause: UpstreamError,
}

impl ApiError {
    pub fn of(service: &'static str) -> impl FnOnce(UpstreamError) -> Self {
        move |cause| {
            let error = Self { service, cause };
            // The user's mistake is worth a note; a failing downstream is an error.
            let error_type = error.cause.kind();
            if error.is_rejection() {
                log::info!("error.type" = error_type; "{error}");
            } else {
                log::error!("error.type" = error_type; "{error}");
            }
            error
        }
    }

    fn is_rejection(&self) -> bool {
        matches!(&self.cause, UpstreamError::Status { status, .. } if status.is_client_error())
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let service = self.service;
        match &self.cause {
            UpstreamError::Status { status, .. } if status.is_client_error() => {
                write!(f, "{service} rejected the request with HTTP {status}")
            }
            UpstreamError::Timeout { .. } => write!(f, "{service} did not answer in time"),
            other => write!(f, "{service} is unavailable: {other}"),
        }
    }
}

impl std::error::Error for ApiError {}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match &self.cause {
            UpstreamError::Status { status, .. } if status.is_client_error() => *status,
            other => other.relayed_status(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let service = self.service;
        let message = match &self.cause {
            // The downstream's own explanation; a body that is not ours gets a plain one.
            UpstreamError::Status { body, .. } if self.is_rejection() => {
                serde_json::from_slice::<api::ErrorBody>(body)
                    .map(|body| body.error)
                    .unwrap_or_else(|_| format!("{service} rejected the request."))
            }
            UpstreamError::Timeout { .. } => {
                format!("The {service} service did not answer in time.")
            }
            _ => format!("The {service} service is unavailable."),
        };
        json_error(self.status_code(), message)
    }
}
