//! Bound against unbound metric recordings, with the attribute sets the services record per
//! request, on opentelemetry_sdk's own aggregation.
//!
//! `cargo bench -p telemetry --features bound-instruments --bench bound_instruments`
//!
//! Behind a feature of its own: `experimental_metrics_bound_instruments` also turns on the
//! SDK's self-observability metrics, and cargo would unify it into every binary of the build.

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::metrics::MeterProvider;
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::{ManualReader, SdkMeterProvider};
use std::hint::black_box;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn recordings(c: &mut Criterion) {
    let provider = SdkMeterProvider::builder()
        .with_reader(ManualReader::builder().build())
        .build();
    let meter = provider.meter("bench");
    let counter = meter.u64_counter("geocoder.lookups").build();
    let histogram = meter
        .f64_histogram("http.client.request.duration")
        .with_boundaries(telemetry::LATENCY_BUCKETS_SECONDS.to_vec())
        .build();
    // The attribute sets of `per_request.rs`'s metric rows, built per recording as a request does.
    let counter_attributes = || {
        [
            KeyValue::new("geocoder.source", "gazetteer"),
            KeyValue::new("geocoder.result", "hit"),
            KeyValue::new("geocoder.cached", "false"),
        ]
    };
    let histogram_attributes = || {
        [
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("server.address", "geolocator".to_owned()),
            KeyValue::new("server.port", 5002),
            KeyValue::new("http.response.status_code", 200),
            KeyValue::new("url.scheme", "http"),
        ]
    };

    let mut group = c.benchmark_group("counter_3_attributes");
    group.bench_function("unbound", |b| {
        b.iter(|| counter.add(1, &counter_attributes()))
    });
    let bound_counter = counter.bind(&counter_attributes());
    group.bench_function("bound", |b| b.iter(|| bound_counter.add(black_box(1))));
    group.finish();

    let mut group = c.benchmark_group("histogram_5_attributes");
    group.bench_function("unbound", |b| {
        b.iter(|| histogram.record(black_box(0.0042), &histogram_attributes()))
    });
    let bound_histogram = histogram.bind(&histogram_attributes());
    group.bench_function("bound", |b| {
        b.iter(|| bound_histogram.record(black_box(0.0042)))
    });
    group.finish();
    let _ = provider.shutdown();
}

criterion_group!(benches, recordings);
criterion_main!(benches);
