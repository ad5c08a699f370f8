//! The iss-distance per-request work: SGP4 propagation of the shipped TLE to
//! a sub-satellite point, and the WGS84 geodesic distance (Karney).
//! Run: `cargo bench -p iss-distance --bench position`.

use criterion::{criterion_group, criterion_main, Criterion};
use iss_distance::distance::geodesic_metres;
use iss_distance::sgp4_model::{Sgp4Model, SHIPPED_TLE};
use std::hint::black_box;

fn sgp4(c: &mut Criterion) {
    let model = Sgp4Model::from_tle(SHIPPED_TLE).expect("the shipped TLE parses");
    // A day after the epoch: a realistic propagation span for a TLE in use.
    let at = model.epoch_unix_seconds() + 86_400.0;
    let point = model.subpoint_at(at).expect("propagates");
    assert!(point.latitude.abs() <= 52.0, "{point:?}");
    c.bench_function("sgp4_subpoint", |b| {
        b.iter(|| model.subpoint_at(black_box(at)).expect("propagates"))
    });
    c.bench_function("sgp4_parse_tle", |b| {
        b.iter(|| Sgp4Model::from_tle(black_box(SHIPPED_TLE)).expect("parses"))
    });
}

fn geodesic(c: &mut Criterion) {
    // London to Sydney (16,989 km): long, ordinary.
    let london_sydney = geodesic_metres(51.5074, -0.1278, -33.8688, 151.2093);
    assert!(
        (16_980_000.0..17_000_000.0).contains(&london_sydney),
        "{london_sydney}"
    );
    c.bench_function("geodesic_london_sydney", |b| {
        b.iter(|| {
            geodesic_metres(
                black_box(51.5074),
                black_box(-0.1278),
                black_box(-33.8688),
                black_box(151.2093),
            )
        })
    });
    // Nearly antipodal points: the hard case of Karney's algorithm.
    c.bench_function("geodesic_near_antipodal", |b| {
        b.iter(|| {
            geodesic_metres(
                black_box(0.0),
                black_box(0.0),
                black_box(0.5),
                black_box(179.7),
            )
        })
    });
}

criterion_group!(benches, sgp4, geodesic);
criterion_main!(benches);
