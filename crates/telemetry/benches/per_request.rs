//! What each part of one request's telemetry costs on the request thread,
//! with the SDK's real batch processors and periodic reader feeding exporters
//! that drop everything (so only the SDK's own work is measured):
//! the server middleware (against the same app without it), a domain span, a
//! span with the client's attributes, a structured log record through the
//! OpenTelemetry bridge, and the metric recordings of one request.
//!
//! Run: `cargo bench -p telemetry --bench per_request` (issue 12's baseline).

use actix_web::middleware::from_fn;
use actix_web::test::{call_service, init_service, TestRequest};
use actix_web::{web, App, HttpResponse};
use criterion::{criterion_group, criterion_main, Criterion};
use log::Log;
use opentelemetry::global;
use opentelemetry::trace::{Span, SpanKind, Tracer, TracerProvider};
use opentelemetry::KeyValue;
use opentelemetry_appender_log::OpenTelemetryLogBridge;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter, SdkLoggerProvider};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use std::hint::black_box;
use std::time::Duration;
use telemetry::Instrumentation;

// The services' allocator, so each part costs here what it costs there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Accepts every batch and keeps nothing.
#[derive(Debug, Default)]
struct Discard;

impl SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}

impl LogExporter for Discard {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}

impl PushMetricExporter for Discard {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        black_box(metrics);
        Ok(())
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

static DOMAIN: Instrumentation = Instrumentation::new("bench", "0");

fn per_request(c: &mut Criterion) {
    let tracer_provider = SdkTracerProvider::builder()
        .with_batch_exporter(Discard)
        .build();
    let meter_provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(Discard).build())
        .build();
    let logger_provider = SdkLoggerProvider::builder()
        .with_batch_exporter(Discard)
        .build();
    global::set_tracer_provider(tracer_provider.clone());
    global::set_meter_provider(meter_provider.clone());

    let system = actix_web::rt::System::new();
    let (bare, instrumented) = system.block_on(async {
        let route = || web::get().to(|| async { HttpResponse::Ok().finish() });
        (
            init_service(App::new().route("/", route())).await,
            init_service(
                App::new()
                    .wrap(from_fn(telemetry::middleware::instrument_request))
                    .route("/", route()),
            )
            .await,
        )
    });
    let request = || {
        TestRequest::get()
            .uri("/?location=Paris")
            .insert_header(("user-agent", "bench"))
            .insert_header((
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ))
            .to_request()
    };
    let mut group = c.benchmark_group("per_request");
    group.bench_function("server/bare_actix", |b| {
        b.iter(|| system.block_on(call_service(&bare, request())))
    });
    group.bench_function("server/with_middleware", |b| {
        b.iter(|| system.block_on(call_service(&instrumented, request())))
    });
    group.bench_function("domain_span", |b| {
        b.iter(|| {
            system.block_on(
                DOMAIN.in_span("getting-coordinates-for-location", vec![], async {
                    Ok::<_, String>(black_box(1))
                }),
            )
        })
    });
    let tracer = tracer_provider.tracer("bench-client");
    group.bench_function("client_span_attributes", |b| {
        b.iter(|| {
            let mut span = tracer
                .span_builder("GET")
                .with_kind(SpanKind::Client)
                .with_attributes([
                    KeyValue::new("http.request.method", "GET"),
                    KeyValue::new("server.address", "geolocator".to_owned()),
                    KeyValue::new("server.port", 5002),
                    KeyValue::new("url.full", "http://geolocator:5002/".to_owned()),
                ])
                .start(&tracer);
            span.set_attribute(KeyValue::new("http.response.status_code", 200));
            span.end();
        })
    });
    let bridge = OpenTelemetryLogBridge::new(&logger_provider);
    group.bench_function("log_record", |b| {
        b.iter(|| {
            let address = "127.0.0.1";
            bridge.log(
                &log::Record::builder()
                    .args(format_args!("received request from IP address {address}"))
                    .level(log::Level::Info)
                    .target("telemetry")
                    .key_values(&[("client.address", address)])
                    .build(),
            )
        })
    });
    let meter = global::meter("bench");
    let counter = meter.u64_counter("geocoder.lookups").build();
    let histogram = meter
        .f64_histogram("http.client.request.duration")
        .with_boundaries(telemetry::LATENCY_BUCKETS_SECONDS.to_vec())
        .build();
    group.bench_function("metrics/counter_3_attributes", |b| {
        b.iter(|| {
            counter.add(
                1,
                &[
                    KeyValue::new("geocoder.source", "gazetteer"),
                    KeyValue::new("geocoder.result", "hit"),
                    KeyValue::new("geocoder.cached", "false"),
                ],
            )
        })
    });
    group.bench_function("metrics/histogram_5_attributes", |b| {
        b.iter(|| {
            histogram.record(
                black_box(0.0042),
                &[
                    KeyValue::new("http.request.method", "GET"),
                    KeyValue::new("server.address", "geolocator".to_owned()),
                    KeyValue::new("server.port", 5002),
                    KeyValue::new("http.response.status_code", 200),
                    KeyValue::new("url.scheme", "http"),
                ],
            )
        })
    });
    group.finish();
    let _ = tracer_provider.shutdown();
    let _ = meter_provider.shutdown();
    let _ = logger_provider.shutdown();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = per_request
}
criterion_main!(benches);
