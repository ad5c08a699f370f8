//! `GET /?location=<text>`: coordinates of a place.

use crate::error::ApiError;
use crate::geocoder::Geocoder;
use actix_web::web;
use api::ErrorBody;
use api::{LocationQuery, Place};
use utoipa::OpenApi;

/// geolocator's OpenAPI document, served at `/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "geolocator",
        description = "Coordinates of a place name (offline GeoNames gazetteer or Nominatim), or of `\"<latitude>, <longitude>\"`."
    ),
    paths(locate)
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(service_kit::api_get("/", locate))
        .service(service_kit::openapi_json(&ApiDoc::openapi()));
}

/// Where a place is.
#[utoipa::path(
    get,
    path = "/",
    params(LocationQuery),
    responses(
        (status = 200, description = "The place and where it was found", body = Place),
        (status = 400, description = "No location, a blank or repeated one, one longer than 200 characters, or coordinates out of range", body = ErrorBody),
        (status = 404, description = "No such place", body = ErrorBody),
        (status = 502, description = "Nominatim failed (GEOCODER=nominatim)", body = ErrorBody),
        (status = 503, description = "Too many lookups are queued for Nominatim's 1 request/s limit (GEOCODER=nominatim); retry after the Retry-After seconds", body = ErrorBody),
        (status = 504, description = "Nominatim did not answer in time (GEOCODER=nominatim)", body = ErrorBody),
    )
)]
pub async fn locate(
    query: web::Query<LocationQuery>,
    geocoder: web::Data<Geocoder>,
    scope: web::Data<telemetry::Scope>,
) -> Result<web::Json<Place>, ApiError> {
    let location = query.into_inner().location;
    let found = scope
        .in_span("getting-coordinates-for-location", vec![], async {
            geocoder.locate(&location).await.map_err(ApiError::from)
        })
        .await?;
    let place = found.ok_or_else(|| ApiError::NotFound(location.to_string()))?;
    Ok(web::Json(place))
}
