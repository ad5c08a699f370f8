//! Instrumentation scopes: who emitted a span or a metric point.
//!
//! Each component names itself once (the middleware, the client, each
//! service's domain code) with its crate version and the semantic-convention
//! schema it follows, through [`crate::Telemetry::scope`]. The [`Scope`] holds
//! the tracer and meter of the providers `init` built, so its spans and
//! instruments go where that `Telemetry` sends them, whenever they are made.

use opentelemetry::metrics::{Meter, MeterProvider, NoopMeterProvider};
use opentelemetry::trace::{FutureExt, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_semantic_conventions::SCHEMA_URL;
use std::fmt::Display;
use std::future::Future;

/// One component's tracer (when spans are recorded) and meter. Cheap to clone.
#[derive(Clone)]
pub struct Scope {
    tracer: Option<SdkTracer>,
    meter: Meter,
    /// False under `OTEL_SDK_DISABLED=true`: the meter is a no-op, and nothing is propagated.
    enabled: bool,
}

impl Scope {
    pub(crate) fn new(
        tracer_provider: Option<&SdkTracerProvider>,
        meter_provider: Option<&SdkMeterProvider>,
        name: &'static str,
        version: &'static str,
    ) -> Self {
        let scope = InstrumentationScope::builder(name)
            .with_version(version)
            .with_schema_url(SCHEMA_URL)
            .build();
        let meter = match meter_provider {
            Some(provider) => provider.meter_with_scope(scope.clone()),
            None => NoopMeterProvider::new().meter_with_scope(scope.clone()),
        };
        Self {
            tracer: tracer_provider.map(|provider| provider.tracer_with_scope(scope)),
            meter,
            enabled: meter_provider.is_some(),
        }
    }

    /// The meter to create this component's instruments from, when the app is built.
    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// The tracer, when spans are recorded.
    pub fn tracer(&self) -> Option<&SdkTracer> {
        self.tracer.as_ref()
    }

    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    /// Runs `work` inside a new internal span named `name`, a child of the current context
    /// (when spans are recorded; otherwise just runs it).
    ///
    /// The span ends when `work` finishes; an `Err` sets status Error and records an
    /// `exception` event. Code inside `work` can add attributes with
    /// [`opentelemetry::trace::get_active_span`].
    pub async fn in_span<T, E, F>(
        &self,
        name: &'static str,
        attributes: Vec<KeyValue>,
        work: F,
    ) -> Result<T, E>
    where
        E: Display,
        F: Future<Output = Result<T, E>>,
    {
        let Some(tracer) = &self.tracer else {
            return work.await;
        };
        let span = tracer
            .span_builder(name)
            .with_attributes(attributes)
            .start(tracer);
        let cx = Context::current_with_span(span);
        let result = work.with_context(cx.clone()).await;
        if let Err(error) = &result {
            crate::spans::mark_error(&cx, "error", error);
        }
        cx.span().end();
        result
    }
}
