//! The gateway's two downstream services, as one worker calls them: each
//! owns the worker's HTTP client and its URL, and answers with the api types.

use api::{CoordinatesQuery, Distance, Latitude, LocationText, Longitude, Place};
use telemetry::client::{TracedClient, UpstreamError};
use url::Url;

/// geolocator: where a place is.
pub struct Geolocator {
    client: TracedClient,
    url: Url,
}

/// iss-distance: how far the ISS is from a point.
pub struct IssDistance {
    client: TracedClient,
    url: Url,
}

impl Geolocator {
    pub const SERVICE: &'static str = "geolocator";

    pub fn new(client: TracedClient, url: Url) -> Self {
        Self { client, url }
    }

    pub async fn locate(&self, location: &LocationText) -> Result<Place, UpstreamError> {
        let mut url = self.url.clone();
        url.query_pairs_mut()
            .append_pair("location", location.as_str());
        self.client.get_json(&url).await
    }
}

impl IssDistance {
    pub const SERVICE: &'static str = "iss-distance";

    pub fn new(client: TracedClient, url: Url) -> Self {
        Self { client, url }
    }

    pub async fn distance_from(&self, place: &CoordinatesQuery) -> Result<Distance, UpstreamError> {
        let mut url = self.url.clone();
        url.query_pairs_mut()
            .append_pair("latitude", &place.latitude.degrees().to_string())
            .append_pair("longitude", &place.longitude.degrees().to_string());
        self.client.get_json(&url).await
    }
}

/// The place's coordinates as iss-distance's query, checked like any input.
pub fn coordinates_of(place: &Place) -> Result<CoordinatesQuery, String> {
    Ok(CoordinatesQuery {
        latitude: Latitude::new(place.latitude)?,
        longitude: Longitude::new(place.longitude)?,
    })
}
