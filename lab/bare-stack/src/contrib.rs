//! `contrib-peer`'s OpenTelemetry: an SDK tracer provider with the batch span
//! processor and a meter provider with a periodic reader, both exporting over
//! OTLP/gRPC, the W3C TraceContext propagator, `service.name` from the role;
//! no logs. Settings come from the standard variables as the SDK reads them
//! (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_METRIC_EXPORT_INTERVAL`, `OTEL_BSP_*`).

use opentelemetry::global;
use opentelemetry_otlp::{MetricExporter, SpanExporter};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use std::time::Duration;

/// The providers, and the runtime that drives the gRPC exporters' connections.
pub struct Telemetry {
    tracer: SdkTracerProvider,
    meter: SdkMeterProvider,
    /// Ours rather than actix's, as in the services: exports never wait on a
    /// busy actix worker, and shutdown does not stall on a stopped one.
    export_runtime: tokio::runtime::Runtime,
}

impl Telemetry {
    /// Sets the global propagator and providers. Call outside any async runtime.
    pub fn init(service_name: &str) -> Result<Self, String> {
        let export_runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("otlp-export")
            .enable_all()
            .build()
            .map_err(|error| format!("could not start the export runtime: {error}"))?;
        // tonic channels spawn their connection tasks on the runtime entered at build time.
        let (spans, metrics) = {
            let _entered = export_runtime.enter();
            (
                SpanExporter::builder()
                    .with_tonic()
                    .build()
                    .map_err(|error| format!("span exporter: {error}"))?,
                MetricExporter::builder()
                    .with_tonic()
                    .build()
                    .map_err(|error| format!("metric exporter: {error}"))?,
            )
        };
        let resource = Resource::builder()
            .with_service_name(service_name.to_owned())
            .build();
        let tracer = SdkTracerProvider::builder()
            .with_batch_exporter(spans)
            .with_resource(resource.clone())
            .build();
        let meter = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(metrics).build())
            .with_resource(resource)
            .build();
        global::set_text_map_propagator(TraceContextPropagator::new());
        global::set_tracer_provider(tracer.clone());
        global::set_meter_provider(meter.clone());
        Ok(Self {
            tracer,
            meter,
            export_runtime,
        })
    }

    /// Flushes and stops both providers (blocking: after the server has drained).
    pub fn shutdown(self) {
        for (signal, result) in [
            ("tracer", self.tracer.shutdown()),
            ("meter", self.meter.shutdown()),
        ] {
            if let Err(error) = result {
                eprintln!("contrib-peer: {signal} provider shutdown: {error}");
            }
        }
        self.export_runtime.shutdown_timeout(Duration::from_secs(1));
    }
}
