#!/usr/bin/env python3
"""Generate independent reference values for the iss-distance service's tests.

What: writes services/iss-distance/tests/fixtures/reference.json with
  * "sgp4": for the shipped TLE (services/iss-distance/data/iss.tle) at the TLE
    epoch, +90 min, +6 h and +24 h: the raw TEME position/velocity from the
    `sgp4` package (Vallado's reference implementation) and the WGS84
    sub-satellite point + height from `skyfield`, plus the WGS84 geodesic
    distance from a fixed observer to that sub-satellite point;
  * "geodesic": WGS84 geodesic distances (geographiclib, Karney's algorithm)
    for edge-case point pairs, incl. values published in Karney (2013).
Why: the Rust services implement SGP4 and geodesic distance themselves (or via
crates); these numbers come from independent, well-established libraries.

Run (from the repo root; no network needed):
  pip install sgp4==2.27 skyfield==1.55 geographiclib==2.1   # versions used
  python3 scripts/reference/generate_references.py
"""
import json
import os
from datetime import datetime, timedelta, timezone
from importlib.metadata import version

from geographiclib.geodesic import Geodesic
from sgp4.api import Satrec, jday
from skyfield.api import EarthSatellite, load, wgs84

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
TLE = os.path.join(ROOT, "services", "iss-distance", "data", "iss.tle")
OUT = os.path.join(ROOT, "services", "iss-distance", "tests", "fixtures", "reference.json")
GEOD = Geodesic.WGS84
OBSERVER = {"name": "London", "latitude_deg": 51.5074, "longitude_deg": -0.1278}

# (label, lat1, lon1, lat2, lon2, published s12 in metres or None, source of published value)
KARNEY = "C. F. F. Karney, 'Algorithms for geodesics', J. Geodesy 87:43-55 (2013), worked inverse example"
PAIRS = [
    ("JFK to LHR", 40.64, -73.78, 51.47, -0.45, None, None),
    ("near-antipodal on the equator", 0.0, 0.0, 0.5, 179.7, None, None),
    ("equator short hop (0.01 deg of longitude)", 0.0, 0.0, 0.0, 0.01, None, None),
    ("pole to pole", 90.0, 0.0, -90.0, 0.0, None, None),
    ("identical points", 48.8566, 2.3522, 48.8566, 2.3522, None, None),
    ("Sydney to Los Angeles", -33.87, 151.21, 34.05, -118.24, None, None),
    ("about 1 km due north in London", 51.5, -0.1, 51.509, -0.1, None, None),
    ("across the antimeridian", 10.0, 179.9, 10.0, -179.9, None, None),
    ("JFK to SIN", 40.64, -73.78, 1.36, 103.99, None, None),
    ("Karney 2013 nearly antipodal", -30.0, 0.0, 29.9, 179.8, 19989832.827610, KARNEY),
    ("Karney 2013 short line", -30.12345, 0.0, -30.12344, 0.00005, 4.944208, KARNEY),
]


def read_tle(path):
    lines = [l.rstrip() for l in open(path, encoding="ascii") if l.strip()]
    for l in lines[-2:]:
        ck = sum(int(c) if c.isdigit() else c == "-" for c in l[:68]) % 10
        assert len(l) == 69 and ck == int(l[68]), f"bad TLE line/checksum: {l}"
    return lines[0].strip(), lines[-2], lines[-1]


def geodesic(lat1, lon1, lat2, lon2):
    g = GEOD.Inverse(lat1, lon1, lat2, lon2)
    return g["s12"], g["azi1"], g["azi2"]


def main():
    name, l1, l2 = read_tle(TLE)
    sat = Satrec.twoline2rv(l1, l2)
    ts = load.timescale()  # built-in leap-second/delta-T tables, no download
    es = EarthSatellite(l1, l2, name, ts)
    epoch_unix = ((sat.jdsatepoch - 2440587.5) + sat.jdsatepochF) * 86400.0
    epoch = datetime.fromtimestamp(epoch_unix, tz=timezone.utc)

    samples = []
    for label, minutes in [("epoch", 0), ("epoch+90min", 90), ("epoch+6h", 360), ("epoch+24h", 1440)]:
        dt = epoch + timedelta(minutes=minutes)
        unix = epoch_unix + minutes * 60.0
        jd, fr = jday(dt.year, dt.month, dt.day, dt.hour, dt.minute,
                      dt.second + dt.microsecond * 1e-6)
        err, r, v = sat.sgp4(jd, fr)
        assert err == 0, err
        t = ts.from_datetime(dt)
        pos = es.at(t)
        sub = wgs84.subpoint_of(pos)
        lat, lon = sub.latitude.degrees, (sub.longitude.degrees + 180.0) % 360.0 - 180.0
        s12, _, _ = geodesic(OBSERVER["latitude_deg"], OBSERVER["longitude_deg"], lat, lon)
        samples.append({
            "label": label,
            "minutes_since_epoch": (jd - sat.jdsatepoch + fr - sat.jdsatepochF) * 1440.0,
            "unix_seconds": unix,
            "utc_iso": dt.isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "julian_date_utc": {"jd": jd, "fraction": fr},
            "teme_position_km": list(r),
            "teme_velocity_km_s": list(v),
            "subpoint_latitude_deg": lat,
            "subpoint_longitude_deg": lon,
            "altitude_km": wgs84.height_of(pos).km,
            "ut1_minus_utc_s_used_by_skyfield": float(t.dut1),
            "geodesic_distance_from_observer_km": s12 / 1000.0,
        })

    pairs = []
    for label, a1, o1, a2, o2, pub, src in PAIRS:
        s12, azi1, azi2 = geodesic(a1, o1, a2, o2)
        p = {"label": label, "lat1_deg": a1, "lon1_deg": o1, "lat2_deg": a2, "lon2_deg": o2,
             "distance_m": s12, "distance_km": s12 / 1000.0, "azi1_deg": azi1, "azi2_deg": azi2}
        if pub is not None:
            p["published_distance_m"], p["published_source"] = pub, src
            assert abs(pub - s12) < 1e-3, (label, pub, s12)
        pairs.append(p)

    doc = {
        "generated_by": (f"scripts/reference/generate_references.py with sgp4 {version('sgp4')}, "
                         f"skyfield {version('skyfield')}, geographiclib {version('geographiclib')}"),
        "notes": ("Angles in degrees (geodetic, WGS84), longitudes in [-180, 180). TEME vectors are the "
                  "raw SGP4 output (WGS72 constants, as sgp4.api.Satrec.twoline2rv defaults). Sub-satellite "
                  "point: skyfield EarthSatellite -> wgs84.subpoint_of (full IAU precession/nutation, "
                  "skyfield's built-in UT1-UTC). The usual simple chain (TEME -> rotate by IAU-82 GMST "
                  "with UT1=UTC -> WGS84 geodetic) was checked against these values: latitude and "
                  "height agree to <1e-7 deg / <1 mm, longitude differs by ~0.0004 deg (~40 m), which "
                  "is the UT1-UTC offset (~0.09 s) of Earth rotation; so test tolerances of ~0.01 deg "
                  "and ~1 km are generous. Geodesic distances: geographiclib Geodesic.WGS84.Inverse s12."),
        "tle": {"name": name, "line1": l1, "line2": l2, "file": "services/iss-distance/data/iss.tle",
                "epoch_unix_seconds": epoch_unix,
                "epoch_utc_iso": epoch.isoformat(timespec="microseconds").replace("+00:00", "Z")},
        "sgp4": {"observer": OBSERVER, "samples": samples},
        "geodesic": {"ellipsoid": {"name": "WGS84", "a_m": GEOD.a, "f": GEOD.f}, "pairs": pairs},
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
