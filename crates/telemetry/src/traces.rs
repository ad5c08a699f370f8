//! The tracer provider: built only when spans have somewhere to go.
//!
//! Spans that no exporter receives are not recorded at all (for speed); the
//! middleware then passes each request's incoming trace context on to its
//! outgoing calls and log records as it came.

use crate::config::Exporters;
use crate::error::TelemetryError;
use crate::extra::Addition;
use crate::otlp::Otlp;
use opentelemetry_otlp::SpanExporter;
use opentelemetry_sdk::trace::{SdkTracerProvider, TracerProviderBuilder};
use opentelemetry_sdk::Resource;

pub(crate) fn init(
    resource: &Resource,
    exporters: &Exporters,
    otlp: Option<&Otlp>,
    extra: Vec<Addition<TracerProviderBuilder>>,
) -> Result<Option<SdkTracerProvider>, TelemetryError> {
    if !exporters.otlp && !exporters.console && extra.is_empty() {
        return Ok(None);
    }
    let mut builder = SdkTracerProvider::builder().with_resource(resource.clone());
    if let (true, Some(otlp)) = (exporters.otlp, otlp) {
        builder = builder.with_batch_exporter(otlp.exporter::<SpanExporter>()?);
    }
    // Batched too, so printing never runs on a request thread.
    if exporters.console {
        builder = builder.with_batch_exporter(opentelemetry_stdout::SpanExporter::default());
    }
    for add in extra {
        builder = add(builder);
    }
    Ok(Some(builder.build()))
}
