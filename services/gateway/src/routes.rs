//! `GET /?location=<text>`: the ISS distance from a named place.

use crate::downstream::{Geolocator, IssDistance, Located};
use crate::error::ApiError;
use actix_web::web;
use api::{CoordinatesQuery, ErrorBody, GatewayAnswer, PlaceDistanceQuery};
use utoipa::OpenApi;

/// The gateway's OpenAPI document, served at `/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "gateway",
        description = "How far the ISS is from a named place: geolocator, then iss-distance."
    ),
    paths(distance_from_place)
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(service_kit::api_get("/", distance_from_place))
        .service(service_kit::openapi_json(&ApiDoc::openapi()));
}

/// The distance from the place to the point below the ISS, with the place.
#[utoipa::path(
    get,
    path = "/",
    params(PlaceDistanceQuery),
    responses(
        (status = 200, description = "The distance, the ISS position and the place; the predicted ground track when asked", body = GatewayAnswer),
        (status = 400, description = "No location, a blank or repeated one, or one longer than 200 characters (checked here and by geolocator); ground_track neither true nor false", body = ErrorBody),
        (status = 404, description = "geolocator knows no such place (its answer, passed through)", body = ErrorBody),
        (status = 502, description = "geolocator or iss-distance is unreachable or failed", body = ErrorBody),
        (status = 504, description = "geolocator or iss-distance did not answer in time", body = ErrorBody),
    )
)]
pub async fn distance_from_place(
    query: web::Query<PlaceDistanceQuery>,
    geolocator: web::Data<Geolocator>,
    iss_distance: web::Data<IssDistance>,
) -> Result<web::Json<GatewayAnswer>, ApiError> {
    let Located { place, coordinates } = geolocator
        .locate(&query.location)
        .await
        .map_err(ApiError::of(Geolocator::SERVICE))?;
    let asked = CoordinatesQuery {
        ground_track: query.ground_track,
        ..coordinates
    };
    let distance = iss_distance
        .distance_from(&asked)
        .await
        .map_err(ApiError::of(IssDistance::SERVICE))?;
    Ok(web::Json(GatewayAnswer { distance, place }))
}
