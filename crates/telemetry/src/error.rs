//! What can keep [`crate::init`] from building the providers.

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("could not build the {signal} exporter: {source}")]
    Exporter {
        signal: &'static str,
        source: opentelemetry_otlp::ExporterBuildError,
    },
    #[error("could not build the Prometheus exporter: {0}")]
    Prometheus(String),
    #[error("could not start the telemetry runtime: {0}")]
    Runtime(std::io::Error),
}
