//! `GET /?location=<text>`: the ISS distance from a named place.

use crate::downstream::{get_json, DownstreamError};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde_json::Value;
use service_common::json_error;
use service_common::query::single_param;
use telemetry::client::TracedClient;
use url::Url;

/// Where the downstream services are.
pub struct Downstreams {
    pub geolocator: Url,
    pub iss_distance: Url,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Downstream(#[from] DownstreamError),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Downstream(DownstreamError::Rejected { status, .. }) => *status,
            Self::Downstream(DownstreamError::Timeout { .. }) => StatusCode::GATEWAY_TIMEOUT,
            Self::Downstream(DownstreamError::Unavailable { .. }) => StatusCode::BAD_GATEWAY,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Downstream(DownstreamError::Rejected { status, body, .. }) => {
                HttpResponse::build(*status).json(body)
            }
            Self::Downstream(DownstreamError::Timeout { service }) => json_error(
                self.status_code(),
                format!("The {service} service did not answer in time."),
            ),
            Self::Downstream(DownstreamError::Unavailable { service, .. }) => json_error(
                self.status_code(),
                format!("The {service} service is unavailable."),
            ),
            Self::BadRequest(message) => json_error(self.status_code(), message.clone()),
        }
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(distance_from_place));
}

fn with_query(base: &Url, pairs: &[(&str, &str)]) -> Url {
    let mut url = base.clone();
    url.query_pairs_mut().extend_pairs(pairs);
    url
}

async fn distance_from_place(
    request: HttpRequest,
    downstreams: web::Data<Downstreams>,
    client: web::Data<TracedClient>,
) -> Result<HttpResponse, ApiError> {
    telemetry::record_incoming_request(&request);
    let location = single_param(request.query_string(), "location")
        .map_err(|error| ApiError::BadRequest(format!("{error}.")))?
        .unwrap_or_default();
    if location.trim().is_empty() {
        return Err(ApiError::BadRequest("No location given".into()));
    }
    let place = get_json(
        &client,
        "geolocator",
        &with_query(&downstreams.geolocator, &[("location", &location)]),
    )
    .await
    .inspect_err(log_failure)?;
    let coordinate = |name: &str| {
        place
            .get(name)
            .and_then(Value::as_f64)
            .map(|v| v.to_string())
    };
    let (Some(latitude), Some(longitude)) = (coordinate("latitude"), coordinate("longitude"))
    else {
        let error = DownstreamError::Unavailable {
            service: "geolocator",
            reason: "answer without coordinates".into(),
        };
        log_failure(&error);
        return Err(error.into());
    };
    let url = with_query(
        &downstreams.iss_distance,
        &[("latitude", &latitude), ("longitude", &longitude)],
    );
    let mut answer = get_json(&client, "iss-distance", &url)
        .await
        .inspect_err(log_failure)?;
    answer["place"] = place;
    Ok(HttpResponse::Ok().json(answer))
}

fn log_failure(error: &DownstreamError) {
    match error {
        DownstreamError::Rejected { .. } => log::info!("{error}"),
        _ => log::error!("{error}"),
    }
}
