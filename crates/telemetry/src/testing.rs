//! Unit-test support: a [`Telemetry`] of a test's own, built by `init_with`
//! with the SDK's in-memory exporters, so the test reads back exactly the
//! spans, metric points and log records that its middleware, client or scope
//! produced.

use crate::{init_with, Extra, ServiceInfo, Telemetry, TelemetryConfig};
use env_config::EnvReader;
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::logs::{InMemoryLogExporter, SdkLogRecord, SimpleLogProcessor};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SimpleSpanProcessor, SpanData};

pub const SERVICE: ServiceInfo = ServiceInfo {
    name: "test-service",
    version: "0.0.1",
};

pub struct Captured {
    pub telemetry: Telemetry,
    spans: InMemorySpanExporter,
    metrics: InMemoryMetricExporter,
    reader: PeriodicReader<InMemoryMetricExporter>,
    logs: InMemoryLogExporter,
}

/// A configuration that names no exporter at all: only the in-memory ones record.
pub fn no_exporters() -> TelemetryConfig {
    TelemetryConfig::from_env(&EnvReader::from_pairs([
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_LOGS_EXPORTER", "none"),
    ]))
    .expect("a valid configuration")
}

impl Captured {
    /// Spans (exported as they end), metrics and logs, all in memory.
    pub fn new() -> Self {
        Self::build(true)
    }

    /// Metrics and logs in memory, and no span exporter: spans are not recorded.
    pub fn without_spans() -> Self {
        Self::build(false)
    }

    fn build(record_spans: bool) -> Self {
        let spans = InMemorySpanExporter::default();
        let metrics = InMemoryMetricExporter::default();
        let reader = PeriodicReader::builder(metrics.clone()).build();
        let logs = InMemoryLogExporter::default();
        let mut extra = Extra::default()
            .metric_reader(reader.clone())
            .log_processor(SimpleLogProcessor::new(logs.clone()));
        if record_spans {
            extra = extra.span_processor(SimpleSpanProcessor::new(spans.clone()));
        }
        let telemetry = init_with(SERVICE, &no_exporters(), extra).expect("telemetry starts");
        Self {
            telemetry,
            spans,
            metrics,
            reader,
            logs,
        }
    }

    pub fn spans(&self) -> Vec<SpanData> {
        self.spans.get_finished_spans().expect("in-memory spans")
    }

    /// Finished spans whose `attribute` is `value`.
    pub fn spans_with(&self, attribute: &str, value: &str) -> Vec<SpanData> {
        self.spans()
            .into_iter()
            .filter(|span| attribute_of(&span.attributes, attribute).as_deref() == Some(value))
            .collect()
    }

    /// Attribute sets of the points of histogram `name` recorded so far.
    pub fn histogram_points(&self, name: &str) -> Vec<Vec<KeyValue>> {
        self.reader.force_flush().expect("metrics flushed");
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

    /// Names of every metric exported so far, with their scope's name.
    pub fn metric_names(&self) -> Vec<(String, String)> {
        self.reader.force_flush().expect("metrics flushed");
        let mut names = Vec::new();
        for resource in self
            .metrics
            .get_finished_metrics()
            .expect("in-memory metrics")
        {
            for scope in resource.scope_metrics() {
                for metric in scope.metrics() {
                    names.push((scope.scope().name().to_owned(), metric.name().to_owned()));
                }
            }
        }
        names
    }

    pub fn log_records(&self) -> Vec<SdkLogRecord> {
        self.logs
            .get_emitted_logs()
            .expect("in-memory logs")
            .into_iter()
            .map(|log| log.record)
            .collect()
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
