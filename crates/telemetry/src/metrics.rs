//! The meter provider, latency buckets and the `/metrics` endpoint.
//!
//! One `SdkMeterProvider` has a reader per selected exporter: the OTLP periodic
//! reader (push), the `opentelemetry-prometheus` exporter registered in
//! [`MetricsRegistry`] (pull) and the console, so every path shows the same
//! instruments.

use crate::config::Exporters;
use crate::error::TelemetryError;
use crate::extra::Addition;
use crate::otlp::Otlp;
use actix_web::{http::header::ContentType, web, HttpResponse};
use opentelemetry_otlp::MetricExporter;
use opentelemetry_sdk::metrics::{MeterProviderBuilder, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::Resource;
use prometheus::{Encoder, TextEncoder};

pub(crate) fn init(
    resource: &Resource,
    exporters: &Exporters,
    otlp: Option<&Otlp>,
    registry: &MetricsRegistry,
    extra: Vec<Addition<MeterProviderBuilder>>,
) -> Result<SdkMeterProvider, TelemetryError> {
    let mut builder = SdkMeterProvider::builder().with_resource(resource.clone());
    if exporters.prometheus {
        let reader = opentelemetry_prometheus::exporter()
            .with_registry(registry.0.clone())
            .build()
            .map_err(|error| TelemetryError::Prometheus(error.to_string()))?;
        builder = builder.with_reader(reader);
    }
    if let (true, Some(otlp)) = (exporters.otlp, otlp) {
        let exporter = otlp.exporter::<MetricExporter>()?;
        builder = builder.with_reader(PeriodicReader::builder(exporter).build());
    }
    if exporters.console {
        let exporter = opentelemetry_stdout::MetricExporter::default();
        builder = builder.with_reader(PeriodicReader::builder(exporter).build());
    }
    for add in extra {
        builder = add(builder);
    }
    Ok(builder.build())
}

/// Explicit histogram boundaries for latencies in seconds (the SDK default 0..10000 is useless for seconds).
pub const LATENCY_BUCKETS_SECONDS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The Prometheus registry behind `/metrics`; cheap to clone.
#[derive(Clone, Default)]
pub struct MetricsRegistry(pub(crate) prometheus::Registry);

impl MetricsRegistry {
    /// The registry rendered in the Prometheus text exposition format.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.0.gather(), &mut buffer)?;
        Ok(String::from_utf8_lossy(&buffer).into_owned())
    }
}

/// `GET /metrics` handler; register with `.route("/metrics", web::get().to(metrics_endpoint))`
/// and `.app_data(web::Data::new(telemetry.metrics_registry()))`.
pub async fn metrics_endpoint(registry: web::Data<MetricsRegistry>) -> HttpResponse {
    match registry.render() {
        Ok(text) => HttpResponse::Ok()
            .content_type(ContentType(
                prometheus::TEXT_FORMAT.parse().expect("static mime type"),
            ))
            .body(text),
        Err(error) => {
            log::error!("could not encode metrics: {error}");
            HttpResponse::InternalServerError()
                .json(serde_json::json!({"error": "could not encode metrics"}))
        }
    }
}
