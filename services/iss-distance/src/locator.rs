//! Chooses where the ISS position comes from and falls back when it must.

use crate::config::PositionMode;
use crate::iss_api::IssApi;
use crate::sgp4_model::{CurrentModel, Sgp4Error};
use api::PositionSource;
use opentelemetry::metrics::{Counter, Meter};
use opentelemetry::trace::get_active_span;
use opentelemetry::KeyValue;
use std::cell::RefCell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use telemetry::client::UpstreamError;

/// The `iss.position.lookups` counter.
#[derive(Clone)]
pub struct PositionLookups(Counter<u64>);

impl PositionLookups {
    pub fn new(meter: &Meter) -> Self {
        Self(
            meter
                .u64_counter("iss.position.lookups")
                .with_unit("{lookup}")
                .with_description("ISS positions served, by source; fallback=true when the live API failed and SGP4 answered.")
                .build(),
        )
    }

    fn count(&self, source: PositionSource, fallback: bool) {
        self.0.add(
            1,
            &[
                KeyValue::new("iss.position.source", source.as_str()),
                KeyValue::new(
                    "iss.position.fallback",
                    if fallback { "true" } else { "false" },
                ),
            ],
        );
    }
}

/// About half an orbit (92 min) each way: the map shows the whole current orbit.
const TRACK_HALF_SPAN: Duration = Duration::from_secs(45 * 60);
/// 31 points: smooth at the map's scale, cheap to propagate.
const TRACK_STEP: Duration = Duration::from_secs(3 * 60);

#[derive(Debug, Clone, PartialEq)]
pub struct IssFix {
    pub latitude: f64,
    pub longitude: f64,
    pub source: PositionSource,
    /// Unix seconds of the position.
    pub timestamp: i64,
    /// The elements an SGP4 position was propagated from (none for a live position).
    pub elements: Option<api::OrbitalElements>,
}

#[derive(Debug, thiserror::Error)]
pub enum LocateError {
    #[error(transparent)]
    Live(#[from] UpstreamError),
    #[error(transparent)]
    Sgp4(#[from] Sgp4Error),
}

/// Where one worker gets the ISS position from: the live API (its own client)
/// and the SGP4 model shared with every worker.
pub struct IssLocator {
    mode: PositionMode,
    live: IssApi,
    model: CurrentModel,
    lookups: PositionLookups,
    /// The last ground track computed, for every request of the same second (31 SGP4
    /// propagations each would otherwise be most of a request's work).
    track: RefCell<Option<GroundTrack>>,
}

/// The track around one whole second, from one set of orbital elements.
struct GroundTrack {
    second: i64,
    epoch: f64,
    points: Vec<api::IssPosition>,
}

impl IssLocator {
    pub fn new(
        mode: PositionMode,
        live: IssApi,
        model: CurrentModel,
        lookups: PositionLookups,
    ) -> Self {
        Self {
            mode,
            live,
            model,
            lookups,
            track: RefCell::new(None),
        }
    }

    /// The current position according to the configured mode. Never invents one:
    /// if no source can answer, this is an error.
    pub async fn locate(&self) -> Result<IssFix, LocateError> {
        let fix = match self.mode {
            PositionMode::Sgp4 => self.propagate(false)?,
            PositionMode::Live => match self.live().await {
                Ok(fix) => fix,
                Err(error) => {
                    log::error!("error.type" = error.kind(); "could not get the ISS position from the live API: {error}");
                    return Err(error.into());
                }
            },
            PositionMode::Auto => match self.live().await {
                Ok(fix) => fix,
                Err(error) => {
                    log::warn!("error.type" = error.kind(); "ISS API failed ({error}); falling back to the SGP4 position");
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

    async fn live(&self) -> Result<IssFix, UpstreamError> {
        let fix = self.live.position().await?;
        self.lookups.count(PositionSource::Live, false);
        Ok(IssFix {
            latitude: fix.latitude.degrees(),
            longitude: fix.longitude.degrees(),
            source: PositionSource::Live,
            timestamp: fix.timestamp.unwrap_or_else(|| now().trunc() as i64),
            elements: None,
        })
    }

    /// The position at the current whole second: the one the answer's `timestamp` names.
    fn propagate(&self, fallback: bool) -> Result<IssFix, Sgp4Error> {
        let second = now().trunc() as i64;
        let at = second as f64;
        let model = self.model.get();
        let point = model
            .subpoint_at(at)
            .inspect_err(|error| log::error!("{error}"))?;
        self.lookups.count(PositionSource::Sgp4, fallback);
        Ok(IssFix {
            latitude: point.latitude,
            longitude: point.longitude,
            source: PositionSource::Sgp4,
            timestamp: second,
            elements: Some(model.elements_at(at)),
        })
    }

    /// The predicted track around the whole `second` (the answer's `timestamp`), from the
    /// current elements; empty if SGP4 cannot propagate that far.
    pub fn ground_track(&self, second: i64) -> Vec<api::IssPosition> {
        let model = self.model.get();
        let epoch = model.epoch_unix_seconds();
        let mut cached = self.track.borrow_mut();
        match cached.as_ref() {
            Some(track) if track.second == second && track.epoch == epoch => {}
            _ => {
                let points = model
                    .ground_track(second as f64, TRACK_HALF_SPAN, TRACK_STEP)
                    .map(|points| {
                        points
                            .iter()
                            .map(|point| api::IssPosition {
                                latitude: point.latitude,
                                longitude: point.longitude,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                *cached = Some(GroundTrack {
                    second,
                    epoch,
                    points,
                });
            }
        }
        cached
            .as_ref()
            .map(|track| track.points.clone())
            .unwrap_or_default()
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sgp4_model::{Sgp4Model, SHIPPED_TLE};
    use telemetry::client::{ClientTelemetry, TracedClient};
    use telemetry::Telemetry;

    #[actix_web::test]
    async fn one_ground_track_per_second_the_same_as_propagating_it() {
        let model = CurrentModel::new(Sgp4Model::from_tle(SHIPPED_TLE).unwrap());
        let off = Telemetry::disabled();
        let meter = off.scope("test", "0").meter().clone();
        let unreachable = IssApi::new(
            TracedClient::new(
                &ClientTelemetry::default(),
                "test",
                Duration::from_secs(1),
                1024,
            ),
            "http://127.0.0.1:9/".parse().unwrap(),
            &meter,
        );
        let locator = IssLocator::new(
            PositionMode::Sgp4,
            unreachable,
            model.clone(),
            PositionLookups::new(&meter),
        );
        let second = model.epoch_unix_seconds() as i64 + 3600;
        let track = locator.ground_track(second);
        assert_eq!(track.len(), 31);
        assert_eq!(track, locator.ground_track(second), "the cached track");
        let next = locator.ground_track(second + 1);
        let centre = model.get().subpoint_at((second + 1) as f64).unwrap();
        assert_eq!(
            next[15],
            api::IssPosition {
                latitude: centre.latitude,
                longitude: centre.longitude
            },
            "a new second, a new track centred on it"
        );
    }
}
