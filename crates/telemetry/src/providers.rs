//! Builds the tracer, meter and logger providers from the environment, and
//! the guard that flushes and stops them.

use crate::config::{OtlpProtocol, TelemetryConfig};
use crate::metrics::MetricsRegistry;
use crate::{logs, resource, ServiceInfo};
use opentelemetry::global;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry_otlp::{LogExporter, MetricExporter, SpanExporter};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Set by [`init`] under `OTEL_SDK_DISABLED=true`: the instrumentation then skips the work whose
/// result the no-op providers would throw away (attributes, span names, context extraction).
static SDK_DISABLED: AtomicBool = AtomicBool::new(false);

/// Whether spans and metrics recorded now can go anywhere (false only under `OTEL_SDK_DISABLED=true`).
pub(crate) fn sdk_enabled() -> bool {
    !SDK_DISABLED.load(Ordering::Relaxed)
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error(transparent)]
    Config(#[from] env_config::ConfigError),
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

/// Owns the providers; call [`shutdown`](Self::shutdown) once the server has drained.
pub struct TelemetryGuard {
    tracer: Option<SdkTracerProvider>,
    meter: Option<SdkMeterProvider>,
    logger: Option<SdkLoggerProvider>,
    registry: MetricsRegistry,
    /// Drives the gRPC exporter's connections. It is ours rather than actix's so an export
    /// never waits on a busy (or stopped) actix thread, and shutdown cannot stall on it.
    export_runtime: Option<tokio::runtime::Runtime>,
}

/// Sets up propagation, the three providers and the global logger for `service`.
/// The tracer provider only exists when spans have an exporter: without one nothing is
/// recorded, and the global no-op provider passes each request's trace context on.
///
/// Call once, at the top of `main`, outside any async runtime (the HTTP
/// exporter's blocking client may neither be built nor dropped inside one). Each signal goes where its
/// `OTEL_*_EXPORTER` variable says (see [`TelemetryConfig`]); by default
/// nothing is pushed without an OTLP endpoint, while `/metrics` and stderr
/// logs still work; with `OTEL_SDK_DISABLED=true` only stderr logs remain.
pub fn init(service: ServiceInfo) -> Result<TelemetryGuard, TelemetryError> {
    let config = TelemetryConfig::from_env(&env_config::EnvReader::from_process())?;
    crate::client_address::set_trusted(config.trusted_proxies.clone());
    if config.sdk_disabled {
        SDK_DISABLED.store(true, Ordering::Relaxed);
        logs::install(None);
        return Ok(TelemetryGuard {
            tracer: None,
            meter: None,
            logger: None,
            registry: MetricsRegistry::default(),
            export_runtime: None,
        });
    }
    global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
    let resource = resource::build(service, std::env::var("OTEL_SERVICE_NAME").ok());

    let export_runtime = match (config.uses_otlp(), config.otlp_protocol) {
        (true, OtlpProtocol::Grpc) => Some(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("otlp-export")
                .enable_all()
                .build()
                .map_err(TelemetryError::Runtime)?,
        ),
        _ => None,
    };
    let otlp = build_otlp_exporters(&config, export_runtime.as_ref())?;

    let registry = MetricsRegistry::default();
    let mut tracer = SdkTracerProvider::builder().with_resource(resource.clone());
    let mut meter = SdkMeterProvider::builder().with_resource(resource.clone());
    let mut logger = SdkLoggerProvider::builder().with_resource(resource);
    if config.metrics.prometheus {
        let prometheus_reader = opentelemetry_prometheus::exporter()
            .with_registry(registry.0.clone())
            .build()
            .map_err(|error| TelemetryError::Prometheus(error.to_string()))?;
        meter = meter.with_reader(prometheus_reader);
    }
    if let Some(spans) = otlp.spans {
        tracer = tracer.with_batch_exporter(spans);
    }
    if let Some(metrics) = otlp.metrics {
        meter = meter.with_reader(PeriodicReader::builder(metrics).build());
    }
    if let Some(logs) = otlp.logs {
        logger = logger.with_batch_exporter(logs);
    }
    // Console output is batched too, so printing never runs on a request thread.
    if config.traces.console {
        tracer = tracer.with_batch_exporter(opentelemetry_stdout::SpanExporter::default());
    }
    if config.metrics.console {
        meter = meter.with_reader(
            PeriodicReader::builder(opentelemetry_stdout::MetricExporter::default()).build(),
        );
    }
    if config.logs.console {
        logger = logger.with_batch_exporter(opentelemetry_stdout::LogExporter::default());
    }
    // Spans that no exporter receives are not recorded at all (for speed): the global no-op
    // tracer provider passes each request's incoming trace context on to its outgoing calls.
    let tracer = (config.traces.otlp || config.traces.console).then(|| tracer.build());
    let meter = meter.build();
    let logger = (config.logs.otlp || config.logs.console).then(|| logger.build());
    if let Some(tracer) = &tracer {
        global::set_tracer_provider(tracer.clone());
    }
    global::set_meter_provider(meter.clone());
    logs::install(logger.as_ref());

    Ok(TelemetryGuard {
        tracer,
        meter: Some(meter),
        logger,
        registry,
        export_runtime,
    })
}

/// The OTLP exporters of the signals that use `otlp`.
#[derive(Default)]
struct OtlpExporters {
    spans: Option<SpanExporter>,
    metrics: Option<MetricExporter>,
    logs: Option<LogExporter>,
}

fn build_otlp_exporters(
    config: &TelemetryConfig,
    runtime: Option<&tokio::runtime::Runtime>,
) -> Result<OtlpExporters, TelemetryError> {
    if !config.uses_otlp() {
        return Ok(OtlpExporters::default());
    }
    let (traces, metrics, logs) = (config.traces.otlp, config.metrics.otlp, config.logs.otlp);
    let error = |signal| move |source| TelemetryError::Exporter { signal, source };
    match config.otlp_protocol {
        OtlpProtocol::Grpc => {
            // tonic channels spawn their connection tasks on the runtime entered at build time.
            let _entered = runtime.expect("gRPC export runtime").enter();
            Ok(OtlpExporters {
                spans: traces
                    .then(|| SpanExporter::builder().with_tonic().build())
                    .transpose()
                    .map_err(error("span"))?,
                metrics: metrics
                    .then(|| MetricExporter::builder().with_tonic().build())
                    .transpose()
                    .map_err(error("metric"))?,
                logs: logs
                    .then(|| LogExporter::builder().with_tonic().build())
                    .transpose()
                    .map_err(error("log"))?,
            })
        }
        OtlpProtocol::HttpProtobuf => Ok(OtlpExporters {
            spans: traces
                .then(|| SpanExporter::builder().with_http().build())
                .transpose()
                .map_err(error("span"))?,
            metrics: metrics
                .then(|| MetricExporter::builder().with_http().build())
                .transpose()
                .map_err(error("metric"))?,
            logs: logs
                .then(|| LogExporter::builder().with_http().build())
                .transpose()
                .map_err(error("log"))?,
        }),
    }
}

impl TelemetryGuard {
    /// The registry to serve at `/metrics`.
    pub fn metrics_registry(&self) -> MetricsRegistry {
        self.registry.clone()
    }

    /// Flushes and stops the tracer, logger and meter providers, side by side so a dead
    /// collector costs one export timeout rather than three; reports each error on stderr;
    /// then (dropping the guard) waits until every log line has reached stderr.
    ///
    /// Blocking: call it after the server's runtime has returned, as `main` does.
    pub fn shutdown(mut self) {
        self.shutdown_providers();
    }

    fn shutdown_providers(&mut self) {
        let report = |signal: &str, result: opentelemetry_sdk::error::OTelSdkResult| {
            if let Err(error) = result {
                // The logger itself may be the one shutting down, so report on stderr directly.
                eprintln!("telemetry: {signal} provider shutdown: {error}");
            }
        };
        let (tracer, logger, meter) = (self.tracer.take(), self.logger.take(), self.meter.take());
        // In parallel: against a dead collector each provider waits out its own 5 s timeout, and
        // one after the other (15 s) they outlast `docker stop`'s 10 s grace period.
        std::thread::scope(|scope| {
            if let Some(tracer) = tracer {
                scope.spawn(move || report("tracer", tracer.shutdown()));
            }
            if let Some(logger) = logger {
                scope.spawn(move || report("logger", logger.shutdown()));
            }
            if let Some(meter) = meter {
                scope.spawn(move || report("meter", meter.shutdown()));
            }
        });
        if let Some(runtime) = self.export_runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        // A runtime may not be dropped (blocking) inside another; let its threads go in the background.
        if let Some(runtime) = self.export_runtime.take() {
            runtime.shutdown_background();
        }
        // Last, after the shutdown reports: with or without `shutdown`, no log line stays queued.
        crate::stderr_lines::flush();
    }
}
