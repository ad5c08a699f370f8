//! `GET /?location=<text>`: the ISS distance from a named place.

use crate::downstream::{coordinates_of, Geolocator, IssDistance};
use crate::error::ApiError;
use actix_web::web;
use api::{GatewayAnswer, LocationQuery};
use telemetry::client::UpstreamError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(service_common::api_get("/", distance_from_place));
}

async fn distance_from_place(
    query: web::Query<LocationQuery>,
    geolocator: web::Data<Geolocator>,
    iss_distance: web::Data<IssDistance>,
) -> Result<web::Json<GatewayAnswer>, ApiError> {
    let place = geolocator
        .locate(&query.location)
        .await
        .map_err(ApiError::of(Geolocator::SERVICE))?;
    let coordinates = coordinates_of(&place)
        .map_err(|reason| UpstreamError::Decode {
            host: Geolocator::SERVICE.to_owned(),
            reason,
        })
        .map_err(ApiError::of(Geolocator::SERVICE))?;
    let distance = iss_distance
        .distance_from(&coordinates)
        .await
        .map_err(ApiError::of(IssDistance::SERVICE))?;
    Ok(web::Json(GatewayAnswer { distance, place }))
}
