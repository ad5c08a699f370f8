//! iss-distance's errors and the HTTP status each one maps to.

use crate::locator::LocateError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use service_kit::RelayedStatus;
use telemetry::client::UpstreamError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Locate(#[from] LocateError),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Locate(LocateError::Live(error)) => error.relayed_status(),
            Self::Locate(LocateError::Sgp4(_)) => StatusCode::BAD_GATEWAY,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            Self::Locate(LocateError::Live(UpstreamError::Timeout { .. })) => {
                "The ISS position service did not answer in time.".to_owned()
            }
            Self::Locate(error) => format!("Could not get the ISS position: {error}"),
        };
        service_kit::json_error(self.status_code(), message)
    }
}
