//! `GET /?latitude=..&longitude=..`: the distance from the point to the ISS.

use crate::distance::{geodesic_metres, rounded_km};
use crate::error::ApiError;
use crate::locator::{IssLocator, PositionSource};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use service_common::coordinates::{parse_latitude, parse_longitude};
use service_common::query::single_param;
use telemetry::client::TracedClient;
use telemetry::in_span;

#[derive(Debug, Serialize)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
}

#[derive(Debug, Serialize)]
pub struct DistanceAnswer {
    /// Kilometres from the given point to the point below the ISS.
    pub distance: f64,
    /// Where the ISS is.
    pub location: Location,
    pub source: PositionSource,
    pub timestamp: i64,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(distance));
}

fn coordinate(
    query: &str,
    name: &str,
    parse: fn(&str) -> Result<f64, String>,
) -> Result<f64, ApiError> {
    let text =
        single_param(query, name).map_err(|error| ApiError::BadRequest(format!("{}.", error)))?;
    parse(text.as_deref().unwrap_or_default()).map_err(ApiError::BadRequest)
}

async fn distance(
    request: HttpRequest,
    locator: web::Data<IssLocator>,
    client: web::Data<TracedClient>,
) -> Result<HttpResponse, ApiError> {
    telemetry::record_incoming_request(&request);
    let latitude = coordinate(request.query_string(), "latitude", parse_latitude)?;
    let longitude = coordinate(request.query_string(), "longitude", parse_longitude)?;
    let answer = in_span("calculating-iss-distance", vec![], async {
        let iss = in_span("getting-iss-coordinates", vec![], locator.locate(&client)).await?;
        let metres = geodesic_metres(latitude, longitude, iss.latitude, iss.longitude);
        Ok::<_, ApiError>(DistanceAnswer {
            distance: rounded_km(metres),
            location: Location {
                latitude: iss.latitude,
                longitude: iss.longitude,
            },
            source: iss.source,
            timestamp: iss.timestamp,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(answer))
}
