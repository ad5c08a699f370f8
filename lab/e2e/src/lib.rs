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

/// The trace id in the frontend page's Grafana link (`id="trace-link"`): the Tempo query of its `panes`.
pub fn trace_id_from_page(html: &str) -> Option<String> {
    let (_, after) = html.split_once("id=\"trace-link\" href=\"")?;
    let (href, _) = after.split_once('"')?;
    let href = href
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let url = reqwest::Url::parse(&href).ok()?;
    let panes = url.query_pairs().find(|(key, _)| key == "panes")?.1;
    let panes: serde_json::Value = serde_json::from_str(&panes).ok()?;
    let pane = panes.as_object()?.values().next()?;
    pane["queries"][0]["query"].as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::trace_id_from_page;

    #[test]
    fn the_trace_id_is_read_from_the_escaped_grafana_link() {
        let html = r#"<p class="trace">Trace of this request: <a id="trace-link" href="http://g:3000/explore?schemaVersion=1&amp;orgId=1&amp;panes=%7B%22iss%22%3A%7B%22queries%22%3A%5B%7B%22query%22%3A%224bf92f3577b34da6a3ce929d0e0e4736%22%7D%5D%7D%7D">open in Grafana</a></p>"#;
        assert_eq!(
            trace_id_from_page(html).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(trace_id_from_page("<p>no link</p>"), None);
    }
}
