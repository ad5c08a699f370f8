//! The OTLP transport the three signals share: one function builds any
//! signal's exporter over the configured protocol (gRPC or HTTP/protobuf).

use crate::config::OtlpProtocol;
use crate::error::TelemetryError;
use opentelemetry_otlp::{ExporterBuildError, LogExporter, MetricExporter, SpanExporter};

/// A signal's OTLP exporter, buildable over either protocol.
pub(crate) trait OtlpExporter: Sized {
    /// The signal's name in errors ("span", "metric", "log").
    const SIGNAL: &'static str;
    fn grpc() -> Result<Self, ExporterBuildError>;
    fn http() -> Result<Self, ExporterBuildError>;
}

/// Endpoints, headers, timeout and compression come from the `OTEL_EXPORTER_OTLP_*`
/// variables, which the exporters' builders read themselves.
macro_rules! otlp_exporter {
    ($($exporter:ty => $signal:literal),*) => {$(
        impl OtlpExporter for $exporter {
            const SIGNAL: &'static str = $signal;
            fn grpc() -> Result<Self, ExporterBuildError> {
                <$exporter>::builder().with_tonic().build()
            }
            fn http() -> Result<Self, ExporterBuildError> {
                <$exporter>::builder().with_http().build()
            }
        }
    )*};
}

otlp_exporter!(SpanExporter => "span", MetricExporter => "metric", LogExporter => "log");

/// The protocol, and for gRPC the runtime its connections live on.
pub(crate) struct Otlp {
    protocol: OtlpProtocol,
    /// Drives the gRPC exporters' connections. It is ours rather than actix's so an export
    /// never waits on a busy (or stopped) actix thread, and shutdown cannot stall on it.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Otlp {
    pub(crate) fn new(protocol: OtlpProtocol) -> Result<Self, TelemetryError> {
        let runtime = match protocol {
            OtlpProtocol::Grpc => Some(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("otlp-export")
                    .enable_all()
                    .build()
                    .map_err(TelemetryError::Runtime)?,
            ),
            OtlpProtocol::HttpProtobuf => None,
        };
        Ok(Self { protocol, runtime })
    }

    /// The exporter of signal `E` over this transport.
    pub(crate) fn exporter<E: OtlpExporter>(&self) -> Result<E, TelemetryError> {
        // tonic channels spawn their connection tasks on the runtime entered at build time.
        let _entered = self.runtime.as_ref().map(tokio::runtime::Runtime::enter);
        match self.protocol {
            OtlpProtocol::Grpc => E::grpc(),
            OtlpProtocol::HttpProtobuf => E::http(),
        }
        .map_err(|source| TelemetryError::Exporter {
            signal: E::SIGNAL,
            source,
        })
    }

    /// The runtime, for the guard to stop after the providers.
    pub(crate) fn into_runtime(self) -> Option<tokio::runtime::Runtime> {
        self.runtime
    }
}
