//! Geodesic distance on the WGS84 ellipsoid.

use geographiclib_rs::{Geodesic, InverseGeodesic};
use std::sync::LazyLock;

static WGS84: LazyLock<Geodesic> = LazyLock::new(Geodesic::wgs84);

/// Distance in metres along the WGS84 geodesic (Karney's algorithm: accurate to nanometres, even near-antipodal).
pub fn geodesic_metres(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let s12: f64 = WGS84.inverse(lat1, lon1, lat2, lon2);
    s12
}

/// Kilometres rounded to 2 decimals, as the API returns them.
pub fn rounded_km(metres: f64) -> f64 {
    (metres / 10.0).round() / 100.0
}
