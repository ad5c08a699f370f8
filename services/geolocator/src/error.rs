//! geolocator's errors and the HTTP status each one maps to.

use crate::geocoder::GeocodeError;
use crate::nominatim::NominatimError;
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use service_kit::RelayedStatus;
use telemetry::client::UpstreamError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("No coordinates found for location '{0}'")]
    NotFound(String),
    #[error("The geocoder is busy; try again in a few seconds.")]
    Busy,
    #[error("The geocoder did not answer in time.")]
    UpstreamTimeout,
    #[error("The geocoder failed: {0}")]
    Upstream(UpstreamError),
}

impl From<GeocodeError> for ApiError {
    fn from(error: GeocodeError) -> Self {
        match error {
            GeocodeError::InvalidCoordinates(message) => Self::BadRequest(message),
            GeocodeError::Nominatim(NominatimError::Busy) => Self::Busy,
            GeocodeError::Nominatim(NominatimError::Upstream(UpstreamError::Timeout {
                ..
            })) => Self::UpstreamTimeout,
            GeocodeError::Nominatim(NominatimError::Upstream(error)) => Self::Upstream(error),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            Self::Upstream(error) => error.relayed_status(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = service_kit::json_error(self.status_code(), self.to_string());
        if matches!(self, Self::Busy) {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("2"));
        }
        response
    }
}
