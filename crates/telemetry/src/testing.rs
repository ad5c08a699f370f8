//! Unit-test support: the process-global providers replaced, once per test
//! binary, by the SDK's in-memory exporters, so a test can read back exactly
//! the spans and metric points that the middleware and the client produced.

use opentelemetry::{global, KeyValue, Value};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use std::sync::LazyLock;

pub struct Captured {
    spans: InMemorySpanExporter,
    metrics: InMemoryMetricExporter,
    meter_provider: SdkMeterProvider,
}

static CAPTURED: LazyLock<Captured> = LazyLock::new(|| {
    let spans = InMemorySpanExporter::default();
    let metrics = InMemoryMetricExporter::default();
    // Spans are exported as they end, so a test sees them right away.
    let tracer_provider = SdkTracerProvider::builder()
        .with_simple_exporter(spans.clone())
        .build();
    let meter_provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(metrics.clone()).build())
        .build();
    global::set_tracer_provider(tracer_provider);
    global::set_meter_provider(meter_provider.clone());
    global::set_text_map_propagator(TraceContextPropagator::new());
    Captured {
        spans,
        metrics,
        meter_provider,
    }
});

/// Call first in every test: installs the in-memory providers before any
/// component caches its tracer or meter.
pub fn captured() -> &'static Captured {
    &CAPTURED
}

impl Captured {
    /// Finished spans whose `attribute` is `value` (tests run in parallel: pick yours by a unique value).
    pub fn spans_with(&self, attribute: &str, value: &str) -> Vec<SpanData> {
        self.spans
            .get_finished_spans()
            .expect("in-memory spans")
            .into_iter()
            .filter(|span| attribute_of(&span.attributes, attribute).as_deref() == Some(value))
            .collect()
    }

    /// Attribute sets of the points of histogram `name` recorded so far.
    pub fn histogram_points(&self, name: &str) -> Vec<Vec<KeyValue>> {
        self.meter_provider.force_flush().expect("metrics flushed");
        let mut points = Vec::new();
        for resource in self
            .metrics
            .get_finished_metrics()
            .expect("in-memory metrics")
        {
            for scope in resource.scope_metrics() {
                for metric in scope.metrics().filter(|metric| metric.name() == name) {
                    if let AggregatedMetrics::F64(MetricData::Histogram(histogram)) = metric.data()
                    {
                        points.extend(
                            histogram
                                .data_points()
                                .map(|point| point.attributes().cloned().collect()),
                        );
                    }
                }
            }
        }
        points
    }
}

/// The value of `key` in `attributes`, as text.
pub fn attribute_of(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| match &kv.value {
            Value::String(text) => text.to_string(),
            other => other.to_string(),
        })
}
