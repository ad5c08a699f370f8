//! Gazetteer lookups (the geolocator's whole per-request work) and the
//! start-up load. Run: `cargo bench -p geolocator --bench gazetteer`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use geolocator::gazetteer::Gazetteer;
use std::hint::black_box;
use std::time::Duration;

/// (query, the place it must resolve to): plain, accented, accent-free, an
/// alternate name, "City, Country", "City, division", another script,
/// "City, division name", and a miss.
const QUERIES: [(&str, Option<&str>); 9] = [
    ("London", Some("London, United Kingdom")),
    ("São Paulo", Some("São Paulo, Brazil")),
    ("sao paulo", Some("São Paulo, Brazil")),
    ("Cologne", Some("Köln, Germany")),
    ("Paris, France", Some("Paris, France")),
    (
        "Springfield, IL",
        Some("Springfield, Illinois, United States"),
    ),
    ("東京", Some("Tokyo, Japan")),
    ("Portland, Maine", Some("Portland, Maine, United States")),
    ("Atlantis Nowhere", None),
];

fn lookup(c: &mut Criterion) {
    let gazetteer = Gazetteer::load().expect("the shipped gazetteer loads");
    let mut group = c.benchmark_group("gazetteer_lookup");
    for (query, expected) in QUERIES {
        // Benchmark the path a user hits, not a miss by accident.
        let found = gazetteer.lookup(query).map(|place| place.name);
        assert_eq!(found.as_deref(), expected, "{query}");
        group.bench_with_input(BenchmarkId::from_parameter(query), query, |b, query| {
            b.iter(|| gazetteer.lookup(black_box(query)))
        });
    }
    group.finish();
}

fn load(c: &mut Criterion) {
    let mut group = c.benchmark_group("gazetteer_load");
    // build.rs compiled the index: a load only checks its header (microseconds).
    group.measurement_time(Duration::from_secs(2));
    group.bench_function("check_compiled_index", |b| {
        b.iter(|| Gazetteer::load().expect("loads"))
    });
    group.finish();
}

criterion_group!(benches, lookup, load);
criterion_main!(benches);
