//! Domain spans for handlers: one call opens an internal span, runs a future
//! inside it and closes it, marking it as an error when the future fails.

use opentelemetry::trace::{FutureExt, Status, TraceContextExt, Tracer};
use opentelemetry::{global, Context, KeyValue};
use std::fmt::Display;
use std::future::Future;

/// Name of the tracer (instrumentation scope) used for every span of the stack.
pub(crate) const SCOPE: &str = "iss-distance-app";

/// Runs `work` inside a new internal span named `name`, a child of the current context.
///
/// The span ends when `work` finishes; an `Err` sets status Error and records an
/// `exception` event. Code inside `work` can add attributes with
/// [`opentelemetry::trace::get_active_span`].
pub async fn in_span<T, E, F>(
    name: &'static str,
    attributes: Vec<KeyValue>,
    work: F,
) -> Result<T, E>
where
    E: Display,
    F: Future<Output = Result<T, E>>,
{
    let span = global::tracer(SCOPE)
        .span_builder(name)
        .with_attributes(attributes)
        .start(&global::tracer(SCOPE));
    let cx = Context::current_with_span(span);
    let result = work.with_context(cx.clone()).await;
    if let Err(error) = &result {
        mark_error(&cx, "error", error);
    }
    cx.span().end();
    result
}

pub(crate) fn mark_error(cx: &Context, kind: &str, error: &dyn Display) {
    let span = cx.span();
    let message = error.to_string();
    span.add_event(
        "exception",
        vec![
            KeyValue::new("exception.type", kind.to_string()),
            KeyValue::new("exception.message", message.clone()),
        ],
    );
    span.set_status(Status::error(message));
}
