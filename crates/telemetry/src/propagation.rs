//! W3C `traceparent`/`baggage` over actix's `http` 0.2 header maps.
//!
//! `opentelemetry-http` targets `http` 1.x, which actix-web 4 and awc 3 do
//! not use, so the two small adapters live here.

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::{global, Context};

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

/// The remote parent context carried by incoming request headers (or an empty one).
pub fn extract_context(headers: &HeaderMap) -> Context {
    global::get_text_map_propagator(|propagator| propagator.extract(&HeaderExtractor(headers)))
}

/// Headers (`traceparent`, `tracestate`, `baggage`) that carry `cx` to the next service.
pub fn context_headers(cx: &Context) -> Vec<(HeaderName, HeaderValue)> {
    struct Collect(Vec<(HeaderName, HeaderValue)>);
    impl Injector for Collect {
        fn set(&mut self, key: &str, value: String) {
            // A propagator never produces an invalid header; if one did, dropping it beats failing the call.
            if let (Ok(name), Ok(value)) = (HeaderName::try_from(key), HeaderValue::try_from(value))
            {
                self.0.push((name, value));
            }
        }
    }
    let mut headers = Collect(Vec::new());
    global::get_text_map_propagator(|propagator| propagator.inject_context(cx, &mut headers));
    headers.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::propagation::TextMapCompositePropagator;
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

    #[test]
    fn a_context_survives_inject_then_extract() {
        global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
            Box::new(TraceContextPropagator::new()),
            Box::new(BaggagePropagator::new()),
        ]));
        let span_context = SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        let cx = Context::new().with_remote_span_context(span_context.clone());
        let mut map = HeaderMap::new();
        for (name, value) in context_headers(&cx) {
            map.insert(name, value);
        }
        assert_eq!(
            map.get("traceparent").unwrap(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
        let extracted = extract_context(&map);
        assert_eq!(
            extracted.span().span_context().trace_id(),
            span_context.trace_id()
        );
        assert!(extracted.span().span_context().is_remote());
    }
}
