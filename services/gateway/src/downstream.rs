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

    /// The place, with its coordinates checked like any input: an out-of-range
    /// answer is an unusable one, not a position to pass on.
    pub async fn locate(&self, location: &LocationText) -> Result<Located, UpstreamError> {
        let mut url = self.url.clone();
        url.query_pairs_mut()
            .append_pair("location", location.as_str());
        let place: Place = self.client.get_json(&url).await?;
        let coordinates = coordinates_of(&place).map_err(|reason| UpstreamError::Decode {
            host: url.host_str().unwrap_or_default().to_owned(),
            reason,
        })?;
        Ok(Located { place, coordinates })
    }
}

/// A place geolocator found, and its coordinates as iss-distance's query (without the track).
pub struct Located {
    pub place: Place,
    pub coordinates: CoordinatesQuery,
}

impl IssDistance {
    pub const SERVICE: &'static str = "iss-distance";

    pub fn new(client: TracedClient, url: Url) -> Self {
        Self { client, url }
    }

    pub async fn distance_from(&self, query: &CoordinatesQuery) -> Result<Distance, UpstreamError> {
        let mut url = self.url.clone();
        let mut pairs = url.query_pairs_mut();
        pairs
            .append_pair("latitude", &query.latitude.degrees().to_string())
            .append_pair("longitude", &query.longitude.degrees().to_string());
        if query.ground_track {
            pairs.append_pair("ground_track", "true");
        }
        drop(pairs);
        self.client.get_json(&url).await
    }
}

fn coordinates_of(place: &Place) -> Result<CoordinatesQuery, String> {
    Ok(CoordinatesQuery {
        latitude: Latitude::new(place.latitude)?,
        longitude: Longitude::new(place.longitude)?,
        ground_track: false,
    })
}
