//! What the page says, and with which status, when there is no answer to show.

use crate::page::{self, Outcome};
use actix_web::error::{QueryPayloadError, UrlencodedError};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use service_kit::RelayedStatus;
use telemetry::client::UpstreamError;

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct PageError {
    pub status: StatusCode,
    pub message: String,
}

impl PageError {
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// The gateway's own explanation where it gave one; otherwise a plain sentence.
    pub fn from_gateway(error: UpstreamError) -> Self {
        let (status, message) = match &error {
            UpstreamError::Status { status, body, .. } => {
                let message = serde_json::from_slice::<api::ErrorBody>(body)
                    .map(|body| body.error)
                    .unwrap_or_else(|_| format!("The service failed (HTTP {}).", status.as_u16()));
                (*status, message)
            }
            UpstreamError::Timeout { .. } => (
                error.relayed_status(),
                "The service took too long to answer. Please try again.".to_owned(),
            ),
            UpstreamError::Decode { .. } => (
                error.relayed_status(),
                "The service gave an unusable answer.".to_owned(),
            ),
            _ => (
                error.relayed_status(),
                "The service is unavailable right now. Please try again later.".to_owned(),
            ),
        };
        // A 4xx is the visitor's input; anything else is ours to look at.
        if !status.is_client_error() {
            log::error!("error.type" = error.kind(); "gateway call failed: {error}");
        }
        Self { status, message }
    }
}

/// Errors raised before a handler runs (a rejected query or form) get the bare page.
impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        page::respond(self.status, "", &Outcome::Error(self.message.clone()), None)
    }
}

/// `web::QueryConfig` error handler: the form page with the reason.
pub fn rejected_query(error: QueryPayloadError, _request: &HttpRequest) -> actix_web::Error {
    PageError::bad_input(service_kit::errors::rejected_query_message(&error)).into()
}

/// `web::FormConfig` error handler: the form page with the reason, with 413 for an
/// oversized body and 400 for everything else.
pub fn rejected_form(error: UrlencodedError, _request: &HttpRequest) -> actix_web::Error {
    match error {
        UrlencodedError::Overflow { .. } => PageError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message: "The form is too large.".to_owned(),
        },
        UrlencodedError::Parse(error) => {
            PageError::bad_input(api::describe_rejected_query(&error.to_string()))
        }
        other => PageError::bad_input(format!("The form could not be read: {other}.")),
    }
    .into()
}
