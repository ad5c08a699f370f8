//! The process's one `log` logger: every record `RUST_LOG` (default `info`)
//! keeps goes to stderr, written by the `stderr_lines` thread, and, when the
//! telemetry has a log exporter, to OpenTelemetry through its bridge.

use log::{Log, Metadata, Record};
use telemetry::logs::LogBridge;

struct TeeLogger {
    stderr: env_logger::Logger,
    export: Option<LogBridge>,
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
        if let Some(export) = &self.export {
            export.log(record);
        }
    }

    fn flush(&self) {
        self.stderr.flush();
    }
}

/// Installs the logger, also sending records to `export`
/// (`telemetry.log_bridge()`). Keep the returned guard to the end of `main`:
/// dropping it waits until every line has reached stderr.
///
/// `log` allows one logger per process: a second call (as in tests that start
/// several apps) keeps the first.
pub fn install(export: Option<LogBridge>) -> StderrFlush {
    let stderr =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
            // For speed: lines reach stderr from a thread of their own, batched under load.
            .target(env_logger::Target::Pipe(Box::new(
                crate::stderr_lines::writer(),
            )))
            .build();
    let max_level = stderr.filter();
    let tee = TeeLogger { stderr, export };
    if log::set_boxed_logger(Box::new(tee)).is_ok() {
        log::set_max_level(max_level);
    }
    StderrFlush(())
}

/// Waits, when dropped, until every queued log line has reached stderr.
#[must_use = "dropped at once, it flushes at once; keep it to the end of main"]
pub struct StderrFlush(());

impl Drop for StderrFlush {
    fn drop(&mut self) {
        crate::stderr_lines::flush();
    }
}
