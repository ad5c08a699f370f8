//! How an OpenTelemetry instrument and its attributes are named in
//! Prometheus: the opentelemetry-prometheus exporter (`/metrics`) and
//! Prometheus' OTLP receiver under `UnderscoreEscapingWithSuffixes` agree.

/// OTel attribute name -> Prometheus label name: every character outside
/// `[A-Za-z0-9_]` becomes `_`.
pub fn prometheus_label(attribute: &str) -> String {
    attribute
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// OTel instrument -> Prometheus metric name: invalid characters become `_`,
/// the unit becomes a suffix (annotations in braces are dropped), monotonic
/// counters get `_total`. `kind` is the instrument (`counter`, `histogram`,
/// `updowncounter`, `gauge`).
pub fn prometheus_name(otel_name: &str, kind: &str, unit: Option<&str>) -> String {
    let mut name: String = otel_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let unit_suffix = match unit.unwrap_or("") {
        "s" => "seconds",
        "ms" => "milliseconds",
        "By" => "bytes",
        u if u.starts_with('{') || u.is_empty() || u == "1" => "",
        other => panic!("unit {other:?} has no mapping here; add it"),
    };
    if !unit_suffix.is_empty() && !name.ends_with(unit_suffix) {
        name = format!("{name}_{unit_suffix}");
    }
    if kind == "counter" && !name.ends_with("_total") {
        name.push_str("_total");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otel_names_translate_like_the_prometheus_exporter() {
        assert_eq!(
            prometheus_name("http.server.request.duration", "histogram", Some("s")),
            "http_server_request_duration_seconds"
        );
        assert_eq!(
            prometheus_name("incoming.requests", "counter", Some("{request}")),
            "incoming_requests_total"
        );
        assert_eq!(
            prometheus_name(
                "http.server.active_requests",
                "updowncounter",
                Some("{request}")
            ),
            "http_server_active_requests"
        );
        assert_eq!(
            prometheus_label("http.response.status_code"),
            "http_response_status_code"
        );
    }
}
