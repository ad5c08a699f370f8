//! The ISS position from SGP4 propagation of a two-line element set.
//!
//! SGP4 gives a position in the TEME frame; rotating it by Greenwich mean
//! sidereal time gives Earth-fixed coordinates (polar motion and UT1-UTC,
//! worth tens of metres, are ignored), converted to WGS84 geodetic latitude
//! and longitude of the point directly below the station.

use chrono::DateTime;
use std::sync::{Arc, RwLock};

/// The TLE compiled into the binary (see `data/README.md` for its source and epoch).
pub const SHIPPED_TLE: &str = include_str!("../data/iss.tle");

const WGS84_A_KM: f64 = 6378.137;
const WGS84_F: f64 = 1.0 / 298.257_223_563;

#[derive(Debug, thiserror::Error)]
pub enum Sgp4Error {
    #[error("the TLE is not valid: {0}")]
    Tle(String),
    #[error("SGP4 propagation failed: {0}")]
    Propagation(String),
    #[error("time {0} is out of range")]
    Time(f64),
}

pub struct Sgp4Model {
    elements: sgp4::Elements,
    constants: sgp4::Constants,
}

/// Geodetic coordinates of the sub-satellite point, in degrees, and the altitude in km.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SubPoint {
    pub latitude: f64,
    pub longitude: f64,
    pub altitude_km: f64,
}

impl Sgp4Model {
    /// Parses a TLE in two-line or three-line (name first) form.
    pub fn from_tle(text: &str) -> Result<Self, Sgp4Error> {
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim_end)
            .filter(|line| !line.trim().is_empty())
            .collect();
        let (name, line1, line2) = match lines.as_slice() {
            [line1, line2] => (None, *line1, *line2),
            [name, line1, line2] => (Some(name.trim().to_owned()), *line1, *line2),
            _ => {
                return Err(Sgp4Error::Tle(format!(
                    "expected 2 or 3 lines, got {}",
                    lines.len()
                )))
            }
        };
        let elements = sgp4::Elements::from_tle(name, line1.as_bytes(), line2.as_bytes())
            .map_err(|error| Sgp4Error::Tle(error.to_string()))?;
        let constants = sgp4::Constants::from_elements(&elements)
            .map_err(|error| Sgp4Error::Tle(error.to_string()))?;
        Ok(Self {
            elements,
            constants,
        })
    }

    /// The TLE epoch as unix seconds.
    pub fn epoch_unix_seconds(&self) -> f64 {
        self.elements.datetime.and_utc().timestamp_micros() as f64 / 1e6
    }

    /// The elements as the API states them for a position at `unix_seconds`: their epoch and age.
    pub fn elements_at(&self, unix_seconds: f64) -> api::OrbitalElements {
        let age_days = (unix_seconds - self.epoch_unix_seconds()) / 86_400.0;
        api::OrbitalElements {
            epoch: self
                .elements
                .datetime
                .and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            age_days: (age_days * 100.0).round() / 100.0,
        }
    }

    /// The sub-satellite points from `half_span` before to `half_span` after
    /// `unix_seconds`, `step` apart: the ground track the map draws.
    pub fn ground_track(
        &self,
        unix_seconds: f64,
        half_span: std::time::Duration,
        step: std::time::Duration,
    ) -> Result<Vec<SubPoint>, Sgp4Error> {
        let steps = (half_span.as_secs_f64() / step.as_secs_f64()).round() as i64;
        (-steps..=steps)
            .map(|i| self.subpoint_at(unix_seconds + i as f64 * step.as_secs_f64()))
            .collect()
    }

    /// Where the ISS is above the Earth at `unix_seconds`.
    pub fn subpoint_at(&self, unix_seconds: f64) -> Result<SubPoint, Sgp4Error> {
        let micros = (unix_seconds * 1e6).round();
        if !micros.is_finite() || micros.abs() > i64::MAX as f64 {
            return Err(Sgp4Error::Time(unix_seconds));
        }
        let datetime = DateTime::from_timestamp_micros(micros as i64)
            .ok_or(Sgp4Error::Time(unix_seconds))?
            .naive_utc();
        let minutes = self
            .elements
            .datetime_to_minutes_since_epoch(&datetime)
            .map_err(|_| Sgp4Error::Time(unix_seconds))?;
        let prediction = self
            .constants
            .propagate(minutes)
            .map_err(|error| Sgp4Error::Propagation(error.to_string()))?;
        let gmst = sgp4::iau_epoch_to_sidereal_time(sgp4::julian_years_since_j2000(&datetime));
        Ok(teme_to_subpoint(prediction.position, gmst))
    }
}

/// TEME position (km) and sidereal angle (rad) into WGS84 geodetic coordinates.
fn teme_to_subpoint([x_teme, y_teme, z]: [f64; 3], gmst: f64) -> SubPoint {
    let (sin_g, cos_g) = gmst.sin_cos();
    let x = cos_g * x_teme + sin_g * y_teme;
    let y = -sin_g * x_teme + cos_g * y_teme;
    let e2 = WGS84_F * (2.0 - WGS84_F);
    let p = x.hypot(y);
    // Fixed-point iteration on latitude; converges to well below a millimetre in a few rounds at LEO altitudes.
    let mut latitude = z.atan2(p * (1.0 - e2));
    let mut height = 0.0;
    for _ in 0..6 {
        let sin_lat = latitude.sin();
        let n = WGS84_A_KM / (1.0 - e2 * sin_lat * sin_lat).sqrt();
        height = p / latitude.cos() - n;
        latitude = z.atan2(p * (1.0 - e2 * n / (n + height)));
    }
    SubPoint {
        latitude: latitude.to_degrees(),
        longitude: y.atan2(x).to_degrees(),
        altitude_km: height,
    }
}

/// The model in use, shared by every worker and the TLE refresher: requests
/// clone the inner `Arc` and never wait for a refresh.
#[derive(Clone)]
pub struct CurrentModel(Arc<RwLock<Arc<Sgp4Model>>>);

impl CurrentModel {
    pub fn new(model: Sgp4Model) -> Self {
        Self(Arc::new(RwLock::new(Arc::new(model))))
    }

    pub fn get(&self) -> Arc<Sgp4Model> {
        self.0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Epoch (unix seconds) of the TLE in use.
    pub fn epoch_unix_seconds(&self) -> f64 {
        self.get().epoch_unix_seconds()
    }

    /// Uses `model` from now on if its TLE is newer than the current one; returns whether it did.
    pub fn offer(&self, model: Sgp4Model) -> bool {
        let mut current = self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if model.epoch_unix_seconds() > current.epoch_unix_seconds() {
            *current = Arc::new(model);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_tle_parses_and_propagates() {
        let model = Sgp4Model::from_tle(SHIPPED_TLE).unwrap();
        let point = model
            .subpoint_at(model.epoch_unix_seconds() + 3600.0)
            .unwrap();
        assert!(
            point.latitude.abs() <= 51.7,
            "ISS inclination bounds latitude: {point:?}"
        );
        assert!((350.0..470.0).contains(&point.altitude_km), "{point:?}");
    }

    #[test]
    fn a_broken_tle_is_an_error_not_a_position() {
        assert!(Sgp4Model::from_tle("not a tle").is_err());
        let shipped: Vec<&str> = SHIPPED_TLE.lines().collect();
        let corrupted = format!(
            "{}\n{}\n{}",
            shipped[0],
            shipped[1].replace("25544U", "25545U"),
            shipped[2]
        );
        assert!(
            Sgp4Model::from_tle(&corrupted).is_err(),
            "checksum must be verified"
        );
    }
}
