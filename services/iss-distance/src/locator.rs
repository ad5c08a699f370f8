//! Chooses where the ISS position comes from and falls back when it must.

use crate::config::PositionMode;
use crate::live::{self, LiveError};
use crate::sgp4_model::{Sgp4Error, Sgp4Model};
use opentelemetry::metrics::Counter;
use opentelemetry::trace::get_active_span;
use opentelemetry::KeyValue;
use serde::Serialize;
use std::sync::{Arc, LazyLock, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};
use telemetry::client::TracedClient;
use url::Url;

static POSITION_LOOKUPS: LazyLock<Counter<u64>> = LazyLock::new(|| {
    telemetry::meter()
        .u64_counter("iss.position.lookups")
        .with_unit("{lookup}")
        .with_description("ISS positions served, by source; fallback=true when the live API failed and SGP4 answered.")
        .build()
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PositionSource {
    Live,
    Sgp4,
}

impl PositionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Sgp4 => "sgp4",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IssFix {
    pub latitude: f64,
    pub longitude: f64,
    pub source: PositionSource,
    /// Unix seconds of the position.
    pub timestamp: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum LocateError {
    #[error(transparent)]
    Live(#[from] LiveError),
    #[error(transparent)]
    Sgp4(#[from] Sgp4Error),
}

pub struct IssLocator {
    mode: PositionMode,
    api_url: Url,
    /// Replaced when a fresher TLE arrives; requests clone the `Arc` and never wait for a refresh.
    sgp4: RwLock<Arc<Sgp4Model>>,
}

impl IssLocator {
    pub fn new(mode: PositionMode, api_url: Url, sgp4: Sgp4Model) -> Self {
        Self {
            mode,
            api_url,
            sgp4: RwLock::new(Arc::new(sgp4)),
        }
    }

    fn model(&self) -> Arc<Sgp4Model> {
        self.sgp4
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Epoch (unix seconds) of the TLE in use.
    pub fn tle_epoch(&self) -> f64 {
        self.model().epoch_unix_seconds()
    }

    /// Uses `model` from now on if its TLE is newer than the current one; returns whether it did.
    pub fn offer_model(&self, model: Sgp4Model) -> bool {
        let mut current = self
            .sgp4
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if model.epoch_unix_seconds() > current.epoch_unix_seconds() {
            *current = Arc::new(model);
            true
        } else {
            false
        }
    }

    /// The current position according to the configured mode. Never invents one:
    /// if no source can answer, this is an error.
    pub async fn locate(&self, client: &TracedClient) -> Result<IssFix, LocateError> {
        let fix = match self.mode {
            PositionMode::Sgp4 => self.propagate(false)?,
            PositionMode::Live => match self.live(client).await {
                Ok(fix) => fix,
                Err(error) => {
                    log::error!("could not get the ISS position from the live API: {error}");
                    return Err(error.into());
                }
            },
            PositionMode::Auto => match self.live(client).await {
                Ok(fix) => fix,
                Err(error) => {
                    log::warn!("ISS API failed ({error}); falling back to the SGP4 position");
                    get_active_span(|span| {
                        span.add_event(
                            "fallback-to-sgp4",
                            vec![KeyValue::new("reason", error.to_string())],
                        )
                    });
                    self.propagate(true)?
                }
            },
        };
        get_active_span(|span| {
            span.set_attribute(KeyValue::new("iss.position.source", fix.source.as_str()))
        });
        Ok(fix)
    }

    async fn live(&self, client: &TracedClient) -> Result<IssFix, LiveError> {
        let fix = live::fetch(client, &self.api_url).await?;
        count(PositionSource::Live, false);
        Ok(IssFix {
            latitude: fix.latitude,
            longitude: fix.longitude,
            source: PositionSource::Live,
            timestamp: fix.timestamp.unwrap_or_else(|| now().trunc() as i64),
        })
    }

    fn propagate(&self, fallback: bool) -> Result<IssFix, Sgp4Error> {
        let at = now();
        let point = self
            .model()
            .subpoint_at(at)
            .inspect_err(|error| log::error!("{error}"))?;
        count(PositionSource::Sgp4, fallback);
        Ok(IssFix {
            latitude: point.latitude,
            longitude: point.longitude,
            source: PositionSource::Sgp4,
            timestamp: at.trunc() as i64,
        })
    }
}

fn count(source: PositionSource, fallback: bool) {
    POSITION_LOOKUPS.add(
        1,
        &[
            KeyValue::new("iss.position.source", source.as_str()),
            KeyValue::new("iss.position.fallback", fallback.to_string()),
        ],
    );
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}
