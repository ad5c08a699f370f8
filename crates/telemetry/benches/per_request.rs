//! What each part of one request's telemetry costs on the request thread,
//! with the SDK's real batch processors and periodic reader feeding exporters
//! that drop everything (so only the SDK's own work is measured):
//! the server middleware (against the same app without it, and without a span
//! exporter, where no span is recorded), a domain span, a span with the
//! client's attributes, a structured log record through the OpenTelemetry
//! bridge, and the metric recordings of one request. The telemetry comes from
//! `init_with`, as a service's does from `init`.
//!
//! Run: `cargo bench -p telemetry --bench per_request`.

use actix_web::test::{call_service, init_service, TestRequest};
use actix_web::{web, App, HttpResponse};
use criterion::{criterion_group, criterion_main, Criterion};
use log::Log;
use opentelemetry::trace::{Span, SpanKind, Tracer};
use opentelemetry::KeyValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{BatchLogProcessor, LogBatch, LogExporter};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, Temporality};
use opentelemetry_sdk::trace::{BatchSpanProcessor, SpanData, SpanExporter};
use std::hint::black_box;
use std::time::Duration;
use telemetry::{Exporters, Extra, OtlpProtocol, ServiceInfo, Telemetry, TelemetryConfig};

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

const SERVICE: ServiceInfo = ServiceInfo {
    name: "bench",
    version: "0",
};

/// The SDK with the real batch processors and periodic reader, exporting to [`Discard`]
/// (spans too, or not: then none are recorded).
fn telemetry(spans: bool) -> Telemetry {
    let none = Exporters::default();
    let config = TelemetryConfig {
        sdk_disabled: false,
        otlp_protocol: OtlpProtocol::Grpc,
        traces: none,
        metrics: none,
        logs: none,
        service_name: None,
    };
    let mut extra = Extra::default()
        .metric_reader(PeriodicReader::builder(Discard).build())
        .log_processor(BatchLogProcessor::builder(Discard).build());
    if spans {
        extra = extra.span_processor(BatchSpanProcessor::builder(Discard).build());
    }
    telemetry::init_with(SERVICE, &config, extra).expect("telemetry starts")
}

fn per_request(c: &mut Criterion) {
    let telemetry = telemetry(true);
    let without_spans = self::telemetry(false);

    let system = actix_web::rt::System::new();
    let (bare, instrumented, unrecorded) = system.block_on(async {
        let route = || web::get().to(|| async { HttpResponse::Ok().finish() });
        (
            init_service(App::new().route("/", route())).await,
            init_service(App::new().wrap(telemetry.http_server()).route("/", route())).await,
            init_service(
                App::new()
                    .wrap(without_spans.http_server())
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
    group.bench_function("server/with_middleware_no_span_exporter", |b| {
        b.iter(|| system.block_on(call_service(&unrecorded, request())))
    });
    let domain = telemetry.scope("bench", "0");
    group.bench_function("domain_span", |b| {
        b.iter(|| {
            system.block_on(
                domain.in_span("getting-coordinates-for-location", vec![], async {
                    Ok::<_, String>(black_box(1))
                }),
            )
        })
    });
    let tracer = domain.tracer().expect("spans are recorded").clone();
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
    let bridge = telemetry.log_bridge().expect("a log processor exists");
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
    let meter = domain.meter();
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
    telemetry.shutdown();
    without_spans.shutdown();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = per_request
}
criterion_main!(benches);
