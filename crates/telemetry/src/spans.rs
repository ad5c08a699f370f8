//! How a failed operation is recorded on its span.

use opentelemetry::trace::{Status, TraceContextExt};
use opentelemetry::{Context, KeyValue};
use std::fmt::Display;

/// Status Error plus an `exception` event, as the semantic conventions record a failure.
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
