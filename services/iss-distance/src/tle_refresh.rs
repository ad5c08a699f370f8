//! Keeps the SGP4 model fresh: fetches the ISS TLE from `ISS_TLE_URL` at
//! start and then periodically. SGP4 error grows with the TLE's age (a few
//! km per day), so a service that runs for weeks needs this; a failed fetch
//! keeps the current TLE and logs a warning.

use crate::sgp4_model::{CurrentModel, Sgp4Model};
use opentelemetry::metrics::Meter;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use telemetry::client::{ClientTelemetry, TracedClient, UpstreamError};
use url::Url;

/// `iss.tle.age`: seconds since the epoch of the elements in use, observed at
/// each collection of `meter`'s provider, so an alert can say the estimate has gone stale.
pub fn observe_elements_age(model: &CurrentModel, meter: &Meter) {
    let model = model.clone();
    meter
        .f64_observable_gauge("iss.tle.age")
        .with_unit("s")
        .with_description(
            "Age of the ISS orbital elements (TLE) that SGP4 positions are propagated from.",
        )
        .with_callback(move |observer| {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|elapsed| elapsed.as_secs_f64())
                .unwrap_or_default();
            observer.observe(now - model.epoch_unix_seconds(), &[]);
        })
        .build();
}

/// A TLE is three short lines.
pub const MAX_TLE_RESPONSE_BYTES: usize = 4 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error("the TLE source sent an unusable TLE: {0}")]
    Invalid(String),
}

/// Where fresher TLEs come from: its client and its URL.
pub struct TleSource {
    client: TracedClient,
    url: Url,
}

impl TleSource {
    pub fn new(client: TracedClient, url: Url) -> Self {
        Self { client, url }
    }

    /// Fetches the TLE once and offers it to `model`; `Ok(true)` if it is now in use.
    pub async fn refresh_once(&self, model: &CurrentModel) -> Result<bool, RefreshError> {
        let body = self.client.get(&self.url).await?.success_body()?;
        let tle = Sgp4Model::from_tle(&String::from_utf8_lossy(&body))
            .map_err(|error| RefreshError::Invalid(error.to_string()))?;
        Ok(model.offer(tle))
    }

    async fn keep_fresh(&self, model: &CurrentModel, interval: Duration) {
        let url = &self.url;
        loop {
            match self.refresh_once(model).await {
                Ok(true) => log::info!(
                    "ISS TLE refreshed from {url}; epoch is now {:.0}",
                    model.epoch_unix_seconds()
                ),
                Ok(false) => log::info!("ISS TLE from {url} is not newer than the one in use"),
                Err(error) => log::warn!(
                    "could not refresh the ISS TLE from {url}: {error}; keeping the current one"
                ),
            }
            tokio::time::sleep(interval).await;
        }
    }
}

/// Starts a background thread (with its own small actix runtime, as awc needs one) that
/// refreshes, then waits `interval`, forever.
pub fn spawn_refresher(
    model: CurrentModel,
    telemetry: ClientTelemetry,
    user_agent: String,
    timeout: Duration,
    url: Url,
    interval: Duration,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("tle-refresh".into())
        .spawn(move || {
            actix_rt::System::new().block_on(async move {
                let client =
                    TracedClient::new(&telemetry, &user_agent, timeout, MAX_TLE_RESPONSE_BYTES);
                TleSource::new(client, url)
                    .keep_fresh(&model, interval)
                    .await;
            })
        })?;
    Ok(())
}
