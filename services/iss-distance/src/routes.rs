//! `GET /?latitude=..&longitude=..`: the distance from the point to the ISS.

use crate::distance::{geodesic_metres, rounded_km};
use crate::error::ApiError;
use crate::locator::IssLocator;
use crate::INSTRUMENTATION;
use actix_web::web;
use api::{CoordinatesQuery, Distance, IssPosition};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(service_common::api_get("/", distance));
}

async fn distance(
    query: web::Query<CoordinatesQuery>,
    locator: web::Data<IssLocator>,
) -> Result<web::Json<Distance>, ApiError> {
    let CoordinatesQuery {
        latitude,
        longitude,
    } = query.into_inner();
    let answer = INSTRUMENTATION
        .in_span("calculating-iss-distance", vec![], async {
            let iss = INSTRUMENTATION
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
            })
        })
        .await?;
    Ok(web::Json(answer))
}
