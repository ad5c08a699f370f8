//! `GET /?location=<text>`: coordinates of a place.

use crate::error::ApiError;
use crate::geocoder::{Geocoder, Source};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use service_common::query::single_param;
use telemetry::client::TracedClient;
use telemetry::in_span;

/// Longer texts are not place names; refusing them keeps lookups and logs cheap.
pub const MAX_LOCATION_CHARS: usize = 200;

#[derive(Debug, Serialize)]
pub struct PlaceAnswer {
    pub latitude: f64,
    pub longitude: f64,
    pub name: String,
    pub source: Source,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(locate));
}

/// The location text from the query: present, not blank, not too long.
pub fn location_param(query: &str) -> Result<String, String> {
    let text = single_param(query, "location")
        .map_err(|error| format!("{error}."))?
        .unwrap_or_default();
    let text = text.trim();
    if text.is_empty() {
        return Err("No location given".to_owned());
    }
    if text.chars().count() > MAX_LOCATION_CHARS {
        return Err(format!(
            "Location is too long (at most {MAX_LOCATION_CHARS} characters)."
        ));
    }
    Ok(text.to_owned())
}

async fn locate(
    request: HttpRequest,
    geocoder: web::Data<Geocoder>,
    client: web::Data<TracedClient>,
) -> Result<HttpResponse, ApiError> {
    telemetry::record_incoming_request(&request);
    let location = location_param(request.query_string()).map_err(ApiError::BadRequest)?;
    let found = in_span("getting-coordinates-for-location", vec![], async {
        geocoder
            .locate(&client, &location)
            .await
            .map_err(ApiError::from)
    })
    .await?;
    let (place, source) = found.ok_or_else(|| ApiError::NotFound(location.clone()))?;
    Ok(HttpResponse::Ok().json(PlaceAnswer {
        latitude: place.latitude,
        longitude: place.longitude,
        name: place.name,
        source,
    }))
}
