//! Instrumentation scopes: who emitted a span or a metric point.
//!
//! Each component names itself once (the middleware, the client, each
//! service's domain code) with its crate version and the semantic-convention
//! schema it follows. Its tracer and meter are created on first use, which in
//! a service is after `telemetry::init`, and reused for every span and
//! instrument: no provider lookup per span.

use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::metrics::Meter;
use opentelemetry::trace::{FutureExt, TraceContextExt, Tracer};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_semantic_conventions::SCHEMA_URL;
use std::fmt::Display;
use std::future::Future;
use std::sync::OnceLock;

pub struct Instrumentation {
    name: &'static str,
    version: &'static str,
    tracer: OnceLock<BoxedTracer>,
    meter: OnceLock<Meter>,
}

impl Instrumentation {
    /// Normally `Instrumentation::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))` in a `static`.
    pub const fn new(name: &'static str, version: &'static str) -> Self {
        Self {
            name,
            version,
            tracer: OnceLock::new(),
            meter: OnceLock::new(),
        }
    }

    fn scope(&self) -> InstrumentationScope {
        InstrumentationScope::builder(self.name)
            .with_version(self.version)
            .with_schema_url(SCHEMA_URL)
            .build()
    }

    pub fn tracer(&self) -> &BoxedTracer {
        self.tracer
            .get_or_init(|| global::tracer_with_scope(self.scope()))
    }

    /// The meter to create this component's instruments from (once, in a `LazyLock`).
    pub fn meter(&self) -> &Meter {
        self.meter
            .get_or_init(|| global::meter_with_scope(self.scope()))
    }

    /// Runs `work` inside a new internal span named `name`, a child of the current context.
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
        if !crate::providers::sdk_enabled() {
            return work.await;
        }
        let tracer = self.tracer();
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
