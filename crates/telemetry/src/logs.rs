//! The process's one `log` logger: a tee to `env_logger` (stderr, `RUST_LOG`,
//! written by [`crate::stderr_lines`]) and, when a log exporter exists (`otlp`
//! or `console`), to `opentelemetry-appender-log`.
//!
//! Records emitted while a request's span is current carry its trace and span
//! ids (the bridge reads the current context). Records from the exporter's own
//! transport stack never reach the exporter branch: exporting them would log
//! about the export in a loop.

use log::{Log, Metadata, Record};
use opentelemetry_appender_log::OpenTelemetryLogBridge;
use opentelemetry_sdk::logs::{SdkLogger, SdkLoggerProvider};

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

struct TeeLogger {
    stderr: env_logger::Logger,
    exporter: Option<OpenTelemetryLogBridge<SdkLoggerProvider, SdkLogger>>,
}

impl Log for TeeLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        self.stderr.enabled(metadata)
    }

    fn log(&self, record: &Record) {
        if !self.stderr.matches(record) {
            return;
        }
        self.stderr.log(record);
        if let Some(exporter) = &self.exporter {
            if !is_transport_target(record.target()) {
                exporter.log(record);
            }
        }
    }

    fn flush(&self) {
        self.stderr.flush();
    }
}

/// Installs the global logger; `RUST_LOG` (default `info`) filters both branches.
/// A second call (as in tests that start several apps) keeps the first logger.
pub(crate) fn install(provider: Option<&SdkLoggerProvider>) {
    let stderr =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
            // For speed: lines reach stderr from a thread of their own, batched under load.
            .target(env_logger::Target::Pipe(Box::new(
                crate::stderr_lines::writer(),
            )))
            .build();
    let max_level = stderr.filter();
    let tee = TeeLogger {
        stderr,
        exporter: provider.map(OpenTelemetryLogBridge::new),
    };
    if log::set_boxed_logger(Box::new(tee)).is_ok() {
        log::set_max_level(max_level);
    }
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
