//! The gateway, as one worker of the frontend calls it: its client and its URL.

use api::{GatewayAnswer, LocationText};
use telemetry::client::{TracedClient, UpstreamError};
use url::Url;

pub struct Gateway {
    client: TracedClient,
    url: Url,
}

impl Gateway {
    pub fn new(client: TracedClient, url: Url) -> Self {
        Self { client, url }
    }

    /// The distance from `location` to the ISS, as the gateway answers it, asked
    /// on behalf of the visitor at `client_address` (the gateway's spans and logs
    /// show it when it trusts the frontend: `TRUSTED_PROXIES`).
    pub async fn ask(
        &self,
        location: &LocationText,
        client_address: Option<&str>,
    ) -> Result<GatewayAnswer, UpstreamError> {
        let mut url = self.url.clone();
        // The page draws the track on its map, so it asks for it.
        url.query_pairs_mut()
            .append_pair("location", location.as_str())
            .append_pair("ground_track", "true");
        self.client.get_json_for(&url, client_address).await
    }
}
