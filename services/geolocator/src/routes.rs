//! `GET /?location=<text>`: coordinates of a place.

use crate::error::ApiError;
use crate::geocoder::Geocoder;
use crate::INSTRUMENTATION;
use actix_web::web;
use api::{LocationQuery, Place};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(service_common::api_get("/", locate));
}

async fn locate(
    query: web::Query<LocationQuery>,
    geocoder: web::Data<Geocoder>,
) -> Result<web::Json<Place>, ApiError> {
    let location = query.into_inner().location;
    let found = INSTRUMENTATION
        .in_span("getting-coordinates-for-location", vec![], async {
            geocoder.locate(&location).await.map_err(ApiError::from)
        })
        .await?;
    let place = found.ok_or_else(|| ApiError::NotFound(location.to_string()))?;
    Ok(web::Json(place))
}
