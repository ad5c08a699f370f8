//! [`init`]: the providers of one service, built from its configuration, and
//! the [`Telemetry`] value its app is built from.

use crate::client::ClientTelemetry;
use crate::config::TelemetryConfig;
use crate::error::TelemetryError;
use crate::extra::Extra;
use crate::logs::LogBridge;
use crate::metrics::MetricsRegistry;
use crate::middleware::RequestTelemetry;
use crate::otlp::Otlp;
use crate::scope::Scope;
use crate::{logs, metrics, resource, traces, ServiceInfo};
use opentelemetry::global;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::time::Duration;

/// What [`init`] built: the providers, and everything the app's instrumentation
/// is made from. Keep it until [`shutdown`](Self::shutdown), after the server
/// has drained: dropping it stops the providers.
pub struct Telemetry {
    /// Only when spans have somewhere to go: without it nothing is recorded, and each
    /// request's incoming trace context is passed on as it came.
    tracer: Option<SdkTracerProvider>,
    /// `None` only under `OTEL_SDK_DISABLED=true`.
    meter: Option<SdkMeterProvider>,
    logger: Option<SdkLoggerProvider>,
    registry: MetricsRegistry,
    export_runtime: Option<tokio::runtime::Runtime>,
}

/// Builds the providers `config` asks for, for `service`, and sets the W3C
/// trace-context and baggage propagator.
///
/// Call it once, at the top of `main`, outside any async runtime (the HTTP
/// exporter's blocking client may neither be built nor dropped inside one).
/// By default nothing is pushed without an OTLP endpoint while `/metrics`
/// still works; under `OTEL_SDK_DISABLED=true` nothing is built and the
/// instrumentation only calls through.
pub fn init(service: ServiceInfo, config: &TelemetryConfig) -> Result<Telemetry, TelemetryError> {
    init_with(service, config, Extra::default())
}

/// [`init`], with `extra` processors and readers beside the configured exporters.
pub fn init_with(
    service: ServiceInfo,
    config: &TelemetryConfig,
    extra: Extra,
) -> Result<Telemetry, TelemetryError> {
    if config.sdk_disabled {
        return Ok(Telemetry::disabled());
    }
    global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
    let resource = resource::build(service, config.service_name.clone());
    let otlp = config
        .uses_otlp()
        .then(|| Otlp::new(config.otlp_protocol))
        .transpose()?;
    let registry = MetricsRegistry::default();

    let tracer = traces::init(&resource, &config.traces, otlp.as_ref(), extra.traces)?;
    let meter = metrics::init(
        &resource,
        &config.metrics,
        otlp.as_ref(),
        &registry,
        extra.metrics,
    )?;
    let logger = logs::init(&resource, &config.logs, otlp.as_ref(), extra.logs)?;

    // For code that asks OpenTelemetry's globals; this crate's own instrumentation does not.
    if let Some(tracer) = &tracer {
        global::set_tracer_provider(tracer.clone());
    }
    global::set_meter_provider(meter.clone());
    Ok(Telemetry {
        tracer,
        meter: Some(meter),
        logger,
        registry,
        export_runtime: otlp.and_then(Otlp::into_runtime),
    })
}

impl Telemetry {
    /// What `init` returns under `OTEL_SDK_DISABLED=true`: nothing is recorded,
    /// propagated or exported, and `/metrics` is empty.
    pub fn disabled() -> Self {
        Self {
            tracer: None,
            meter: None,
            logger: None,
            registry: MetricsRegistry::default(),
            export_runtime: None,
        }
    }

    /// Whether spans are recorded (some exporter receives them).
    pub fn records_spans(&self) -> bool {
        self.tracer.is_some()
    }

    /// The tracer and meter of one component, named by its crate:
    /// `telemetry.scope(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))`.
    pub fn scope(&self, name: &'static str, version: &'static str) -> Scope {
        Scope::new(self.tracer.as_ref(), self.meter.as_ref(), name, version)
    }

    /// The server middleware: `App::new().wrap(telemetry.http_server())`.
    pub fn http_server(&self) -> RequestTelemetry {
        RequestTelemetry::new(self.scope("telemetry::middleware", env!("CARGO_PKG_VERSION")))
    }

    /// What each [`crate::client::TracedClient`] is built with.
    pub fn http_client(&self) -> ClientTelemetry {
        ClientTelemetry::new(self.scope("telemetry::client", env!("CARGO_PKG_VERSION")))
    }

    /// The registry to serve at `/metrics` (empty unless the `prometheus` exporter is selected).
    pub fn metrics_registry(&self) -> MetricsRegistry {
        self.registry.clone()
    }

    /// The `log` records' way into OpenTelemetry, when a log exporter exists; the
    /// program's logger forwards records to it.
    pub fn log_bridge(&self) -> Option<LogBridge> {
        self.logger.as_ref().map(LogBridge::new)
    }

    /// Flushes and stops the tracer, logger and meter providers, side by side so a dead
    /// collector costs one export timeout rather than three, and reports each error on stderr.
    ///
    /// Blocking: call it after the server's runtime has returned, as `main` does.
    pub fn shutdown(mut self) {
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

impl Drop for Telemetry {
    fn drop(&mut self) {
        // A runtime may not be dropped (blocking) inside another; let its threads go in the background.
        if let Some(runtime) = self.export_runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{no_exporters, Captured, SERVICE};
    use env_config::EnvReader;
    use log::Log;
    use opentelemetry::trace::{TraceContextExt, Tracer};
    use opentelemetry::Context;

    async fn domain_work(scope: &Scope, name: &'static str) {
        scope
            .in_span(name, vec![], async { Ok::<_, String>(()) })
            .await
            .unwrap();
        scope.meter().u64_counter("work.done").build().add(1, &[]);
    }

    #[actix_web::test]
    async fn a_scope_records_where_its_own_telemetry_says_whatever_the_order() {
        // Made and used before any init: a scope of a disabled telemetry records nothing...
        let before = Telemetry::disabled();
        let early = before.scope("domain", "1");
        domain_work(&early, "early").await;
        assert!(!early.enabled() && early.tracer().is_none());

        // ...and does not keep a later init's scopes from recording, nor an earlier
        // init's scopes from recording after a later one.
        let first = Captured::new();
        let first_scope = first.telemetry.scope("domain", "1");
        let second = Captured::new();
        let second_scope = second.telemetry.scope("domain", "1");
        domain_work(&first_scope, "first").await;
        domain_work(&second_scope, "second").await;
        domain_work(&early, "early-again").await;

        let names = |captured: &Captured| -> Vec<String> {
            captured
                .spans()
                .into_iter()
                .map(|span| span.name.into_owned())
                .collect()
        };
        assert_eq!(names(&first), ["first"]);
        assert_eq!(names(&second), ["second"]);
        for captured in [&first, &second] {
            assert!(captured
                .metric_names()
                .contains(&("domain".to_owned(), "work.done".to_owned())));
        }
    }

    #[test]
    fn init_builds_what_its_configuration_names() {
        let config = |pairs: &[(&str, &str)]| {
            TelemetryConfig::from_env(&EnvReader::from_pairs(pairs.iter().copied())).unwrap()
        };
        // The default: no span exporter, so no spans; /metrics served.
        let default = init(SERVICE, &config(&[])).unwrap();
        assert!(!default.records_spans());
        assert!(default.log_bridge().is_none());
        let scope = default.scope("domain", "1");
        scope.meter().u64_counter("work.done").build().add(3, &[]);
        let text = default.metrics_registry().render().unwrap();
        assert!(text.contains("work_done_total"), "{text}");
        assert!(text.contains("service_name=\"test-service\""), "{text}");

        let renamed = init(SERVICE, &config(&[("OTEL_SERVICE_NAME", "renamed")])).unwrap();
        renamed
            .scope("domain", "1")
            .meter()
            .u64_counter("work.done")
            .build()
            .add(1, &[]);
        let text = renamed.metrics_registry().render().unwrap();
        assert!(text.contains("service_name=\"renamed\""), "{text}");

        let disabled = init(SERVICE, &config(&[("OTEL_SDK_DISABLED", "true")])).unwrap();
        assert!(!disabled.records_spans());
        disabled
            .scope("domain", "1")
            .meter()
            .u64_counter("work.done")
            .build()
            .add(1, &[]);
        assert_eq!(disabled.metrics_registry().render().unwrap(), "");

        let none = init(SERVICE, &no_exporters()).unwrap();
        assert_eq!(none.metrics_registry().render().unwrap(), "");
    }

    #[test]
    fn log_records_reach_the_exporter_inside_their_trace_but_transport_records_do_not() {
        let captured = Captured::new();
        let bridge = captured
            .telemetry
            .log_bridge()
            .expect("a log exporter exists");
        let scope = captured.telemetry.scope("domain", "1");
        let span = scope.tracer().unwrap().start("work");
        let cx = Context::current_with_span(span);
        let trace_id = cx.span().span_context().trace_id();
        let record = |target: &str| {
            let _attached = cx.clone().attach();
            bridge.log(
                &log::Record::builder()
                    .args(format_args!("hello from {target}"))
                    .level(log::Level::Info)
                    .target(target)
                    .build(),
            );
        };
        record("gateway");
        record("tonic::transport");
        let records = captured.log_records();
        assert_eq!(records.len(), 1, "{records:?}");
        assert_eq!(
            records[0].trace_context().map(|tc| tc.trace_id),
            Some(trace_id)
        );
    }
}
