//! [`Extra`]: processors and readers a caller adds to the configured exporters.

use opentelemetry_sdk::logs::{LogProcessor, LoggerProviderBuilder};
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::MeterProviderBuilder;
use opentelemetry_sdk::trace::{SpanProcessor, TracerProviderBuilder};

/// One addition to a provider's builder.
pub(crate) type Addition<B> = Box<dyn FnOnce(B) -> B>;

/// Span processors, metric readers and log processors that [`crate::init_with`] adds
/// to the exporters the configuration names: a test's in-memory exporters, a
/// benchmark's exporters that drop everything.
#[derive(Default)]
pub struct Extra {
    pub(crate) traces: Vec<Addition<TracerProviderBuilder>>,
    pub(crate) metrics: Vec<Addition<MeterProviderBuilder>>,
    pub(crate) logs: Vec<Addition<LoggerProviderBuilder>>,
}

impl Extra {
    /// Spans also go to `processor` (and are recorded even if the configuration exports none).
    pub fn span_processor(mut self, processor: impl SpanProcessor + 'static) -> Self {
        self.traces.push(Box::new(move |builder| {
            builder.with_span_processor(processor)
        }));
        self
    }

    pub fn metric_reader(mut self, reader: impl MetricReader + 'static) -> Self {
        self.metrics
            .push(Box::new(move |builder| builder.with_reader(reader)));
        self
    }

    /// Log records also go to `processor` (through [`crate::Telemetry::log_bridge`]).
    pub fn log_processor(mut self, processor: impl LogProcessor + 'static) -> Self {
        self.logs.push(Box::new(move |builder| {
            builder.with_log_processor(processor)
        }));
        self
    }
}
