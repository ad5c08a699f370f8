//! `GET /?latitude=..&longitude=..`: the distance from the point to the ISS.

use crate::distance::{geodesic_metres, rounded_km};
use crate::error::ApiError;
use crate::locator::IssLocator;
use actix_web::web;
use api::{CoordinatesQuery, Distance, ErrorBody, IssPosition};
use utoipa::OpenApi;

/// iss-distance's OpenAPI document, served at `/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "iss-distance",
        description = "How far the point on Earth below the ISS is from a given point (WGS84 geodesic)."
    ),
    paths(distance)
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(service_kit::api_get("/", distance))
        .service(service_kit::openapi_json(&ApiDoc::openapi()));
}

/// The distance from the point to the point below the ISS.
#[utoipa::path(
    get,
    path = "/",
    params(CoordinatesQuery),
    responses(
        (status = 200, description = "The distance and the ISS position; an SGP4 estimate states its orbital elements and their age; the predicted ground track when asked", body = Distance),
        (status = 400, description = "Missing, empty, non-numeric, non-finite, repeated or out-of-range coordinates", body = ErrorBody),
        (status = 502, description = "No position: the live ISS API failed (ISS_POSITION_SOURCE=live) or SGP4 could not propagate", body = ErrorBody),
        (status = 504, description = "The live ISS API did not answer in time (ISS_POSITION_SOURCE=live)", body = ErrorBody),
    )
)]
pub async fn distance(
    query: web::Query<CoordinatesQuery>,
    locator: web::Data<IssLocator>,
    scope: web::Data<telemetry::Scope>,
) -> Result<web::Json<Distance>, ApiError> {
    let CoordinatesQuery {
        latitude,
        longitude,
        ground_track,
    } = query.into_inner();
    let answer = scope
        .in_span("calculating-iss-distance", vec![], async {
            let iss = scope
                .in_span("getting-iss-coordinates", vec![], locator.locate())
                .await?;
            let metres = geodesic_metres(
                latitude.degrees(),
                longitude.degrees(),
                iss.latitude,
                iss.longitude,
            );
            Ok::<_, ApiError>(Distance {
                distance: rounded_km(metres),
                location: IssPosition {
                    latitude: iss.latitude,
                    longitude: iss.longitude,
                },
                source: iss.source,
                timestamp: iss.timestamp,
                elements: iss.elements,
                ground_track: if ground_track {
                    locator.ground_track(iss.timestamp)
                } else {
                    Vec::new()
                },
            })
        })
        .await?;
    Ok(web::Json(answer))
}
