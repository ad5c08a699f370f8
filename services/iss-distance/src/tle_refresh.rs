//! Keeps the SGP4 model fresh: fetches the ISS TLE from `ISS_TLE_URL` at
//! start and then periodically. SGP4 error grows with the TLE's age (a few
//! km per day), so a service that runs for weeks needs this; a failed fetch
//! keeps the current TLE and logs a warning.

use crate::locator::IssLocator;
use crate::sgp4_model::Sgp4Model;
use std::time::Duration;
use telemetry::client::TracedClient;
use url::Url;

/// A TLE is three short lines.
pub const MAX_TLE_RESPONSE_BYTES: usize = 4 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error(transparent)]
    Upstream(#[from] telemetry::client::UpstreamError),
    #[error("the TLE source answered HTTP {0}")]
    Status(u16),
    #[error("the TLE source sent an unusable TLE: {0}")]
    Invalid(String),
}

/// Fetches the TLE at `url` once and offers it to `locator`; `Ok(true)` if it is now in use.
pub async fn refresh_once(
    locator: &IssLocator,
    client: &TracedClient,
    url: &Url,
) -> Result<bool, RefreshError> {
    let response = client.get(url).await?;
    if !response.status.is_success() {
        return Err(RefreshError::Status(response.status.as_u16()));
    }
    let text = String::from_utf8_lossy(&response.body);
    let model =
        Sgp4Model::from_tle(&text).map_err(|error| RefreshError::Invalid(error.to_string()))?;
    Ok(locator.offer_model(model))
}

/// Starts a background thread (with its own small actix runtime, as awc needs one) that
/// refreshes, then waits `interval`, forever.
pub fn spawn_refresher(
    locator: actix_web::web::Data<IssLocator>,
    user_agent: String,
    timeout: Duration,
    url: Url,
    interval: Duration,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("tle-refresh".into())
        .spawn(move || {
            actix_rt::System::new().block_on(async move {
                let client = TracedClient::new(&user_agent, timeout, MAX_TLE_RESPONSE_BYTES);
                keep_fresh(&locator, &client, &url, interval).await;
            })
        })?;
    Ok(())
}

async fn keep_fresh(locator: &IssLocator, client: &TracedClient, url: &Url, interval: Duration) {
    loop {
        match refresh_once(locator, client, url).await {
            Ok(true) => log::info!(
                "ISS TLE refreshed from {url}; epoch is now {:.0}",
                locator.tle_epoch()
            ),
            Ok(false) => log::info!("ISS TLE from {url} is not newer than the one in use"),
            Err(error) => log::warn!(
                "could not refresh the ISS TLE from {url}: {error}; keeping the current one"
            ),
        }
        tokio::time::sleep(interval).await;
    }
}
