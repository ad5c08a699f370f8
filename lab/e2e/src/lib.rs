//! Helpers for the end-to-end telemetry tests in `tests/e2e`: the four real
//! service binaries as child processes (started by `testkit`) pointed at an
//! in-process OTLP receiver, a small traced load driver, and a strict parser
//! for the Prometheus text format served at `/metrics`.

pub mod load;
pub mod prom_text;

pub use load::{new_trace_id, percentile, Outcome, TracedClient};
pub use testkit::{Process, Protocol, Stack, StackBuilder};

/// The `service.name` of each service binary, as the telemetry contract fixes it.
pub const SERVICE_NAMES: [(&str, &str); 4] = [
    ("frontend", "frontend"),
    ("gateway", "gateway"),
    ("geolocator", "geolocator-service"),
    ("iss-distance", "iss-distance-service"),
];

/// Latency histogram boundaries (seconds) the contract requires on every duration histogram.
pub const LATENCY_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The trace id the frontend page shows (`id="trace-id"`): 32 lowercase hex digits,
/// which need no escaping, so the page's markup can be read as it is.
pub fn trace_id_from_page(html: &str) -> Option<String> {
    let (_, after) = html.split_once(" id=\"trace-id\">")?;
    let (id, _) = after.split_once('<')?;
    let hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
    (id.len() == 32 && id.chars().all(hex)).then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::trace_id_from_page;

    #[test]
    fn the_trace_id_is_read_from_the_page() {
        let html = r#"<p class="trace">Trace <code id="trace-id">4bf92f3577b34da6a3ce929d0e0e4736</code></p>"#;
        assert_eq!(
            trace_id_from_page(html).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(trace_id_from_page("<p>no trace</p>"), None);
        assert_eq!(
            trace_id_from_page(r#"<code id="trace-id">not-an-id</code>"#),
            None
        );
    }
}
