//! The logger provider, and [`LogBridge`]: the `log` records' way into it.
//!
//! The program owns its one `log` logger (the service kit's writes stderr,
//! filtered by `RUST_LOG`) and forwards each record it keeps to the bridge.
//! Records emitted while a request's span is current carry its trace and span
//! ids (the bridge reads the current context). Records from the exporter's own
//! transport stack are not exported: exporting them would log about the
//! export in a loop.

use crate::config::Exporters;
use crate::error::TelemetryError;
use crate::extra::Addition;
use crate::otlp::Otlp;
use log::{Log, Metadata, Record};
use opentelemetry_appender_log::OpenTelemetryLogBridge;
use opentelemetry_otlp::LogExporter;
use opentelemetry_sdk::logs::{LoggerProviderBuilder, SdkLogger, SdkLoggerProvider};
use opentelemetry_sdk::Resource;

/// Built only when a log exporter exists (`otlp`, `console` or an extra processor).
pub(crate) fn init(
    resource: &Resource,
    exporters: &Exporters,
    otlp: Option<&Otlp>,
    extra: Vec<Addition<LoggerProviderBuilder>>,
) -> Result<Option<SdkLoggerProvider>, TelemetryError> {
    if !exporters.otlp && !exporters.console && extra.is_empty() {
        return Ok(None);
    }
    let mut builder = SdkLoggerProvider::builder().with_resource(resource.clone());
    if let (true, Some(otlp)) = (exporters.otlp, otlp) {
        builder = builder.with_batch_exporter(otlp.exporter::<LogExporter>()?);
    }
    // Batched too, so printing never runs on a request thread.
    if exporters.console {
        builder = builder.with_batch_exporter(opentelemetry_stdout::LogExporter::default());
    }
    for add in extra {
        builder = add(builder);
    }
    Ok(Some(builder.build()))
}

/// Targets (crate prefixes) of the OTLP transport that must not be exported as logs.
const TRANSPORT_TARGETS: [&str; 8] = [
    "hyper",
    "h2",
    "tonic",
    "tower",
    "reqwest",
    "opentelemetry",
    "rustls",
    "want",
];

fn is_transport_target(target: &str) -> bool {
    TRANSPORT_TARGETS.iter().any(|prefix| {
        target
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::") || rest.starts_with('_'))
    })
}

/// A `log::Log` that exports each record it is given as an OpenTelemetry log
/// record, except the transport's own. It filters nothing else: the program's
/// logger decides which records reach it.
pub struct LogBridge(OpenTelemetryLogBridge<SdkLoggerProvider, SdkLogger>);

impl LogBridge {
    pub(crate) fn new(provider: &SdkLoggerProvider) -> Self {
        Self(OpenTelemetryLogBridge::new(provider))
    }
}

impl Log for LogBridge {
    fn enabled(&self, metadata: &Metadata) -> bool {
        !is_transport_target(metadata.target())
    }

    fn log(&self, record: &Record) {
        if !is_transport_target(record.target()) {
            self.0.log(record);
        }
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    use super::is_transport_target;

    #[test]
    fn transport_crates_are_recognised_by_prefix_only() {
        for target in [
            "hyper",
            "hyper_util::client",
            "h2::codec",
            "tonic::transport",
            "opentelemetry_sdk",
        ] {
            assert!(is_transport_target(target), "{target}");
        }
        for target in [
            "gateway",
            "iss_distance::iss_position",
            "hyperspace",
            "towers",
        ] {
            assert!(!is_transport_target(target), "{target}");
        }
    }
}
