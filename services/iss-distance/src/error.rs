//! iss-distance's errors and the HTTP status each one maps to.

use crate::live::LiveError;
use crate::locator::LocateError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use telemetry::client::UpstreamError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("The ISS position service did not answer in time.")]
    UpstreamTimeout,
    #[error("Could not get the ISS position: {0}")]
    Position(String),
}

impl From<LocateError> for ApiError {
    fn from(error: LocateError) -> Self {
        match error {
            LocateError::Live(LiveError::Upstream(UpstreamError::Timeout { .. })) => {
                Self::UpstreamTimeout
            }
            other => Self::Position(other.to_string()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            Self::Position(_) => StatusCode::BAD_GATEWAY,
        }
    }

    fn error_response(&self) -> HttpResponse {
        service_common::json_error(self.status_code(), self.to_string())
    }
}
