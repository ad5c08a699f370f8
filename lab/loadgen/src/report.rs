//! The result of a run: counts, throughput and HDR latency percentiles, as
//! JSON and as a human summary.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Latencies are recorded in microseconds, from 1 µs to 60 s, 3 significant digits.
pub const HISTOGRAM_MAX_MICROS: u64 = 60_000_000;

pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HISTOGRAM_MAX_MICROS, 3).expect("valid histogram bounds")
}

/// Milliseconds at the usual quantiles.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Percentiles {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Percentiles {
    pub fn from_histogram(histogram: &Histogram<u64>) -> Self {
        if histogram.is_empty() {
            return Self::default();
        }
        let ms = |micros: u64| micros as f64 / 1000.0;
        Self {
            count: histogram.len(),
            mean: histogram.mean() / 1000.0,
            p50: ms(histogram.value_at_quantile(0.50)),
            p90: ms(histogram.value_at_quantile(0.90)),
            p99: ms(histogram.value_at_quantile(0.99)),
            p999: ms(histogram.value_at_quantile(0.999)),
            max: ms(histogram.max()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The URL templates requested.
    pub targets: Vec<String>,
    /// `open` (fixed rate) or `closed` (fixed concurrency).
    pub mode: String,
    /// Requests per second scheduled (open loop).
    pub rate: Option<f64>,
    /// Requests in flight (closed loop).
    pub concurrency: Option<usize>,
    /// Connections used.
    pub connections: usize,
    /// The configured bounds.
    pub duration_limit_s: f64,
    pub request_limit: Option<u64>,
    /// Wall time from the first scheduled request to the last answer.
    pub elapsed_s: f64,
    /// Requests that got an answer or failed (ok + errors).
    pub requests: u64,
    /// 2xx answers.
    pub ok: u64,
    pub errors: u64,
    /// `status 404`, `timeout`, `connect`, `io`.
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Completed requests per second of `elapsed_s`.
    pub throughput_rps: f64,
    /// 2xx latency. Open loop: from the time the request was *scheduled* (so a stall is
    /// charged to every request that should have been sent during it). Closed loop: from send.
    pub latency_ms: Percentiles,
    /// 2xx latency from the moment the request was written: the service time alone.
    pub service_time_ms: Percentiles,
    pub bytes_received: u64,
}

impl Report {
    /// The human summary printed after a run.
    pub fn summary(&self) -> String {
        let mut text = String::new();
        let load = match (self.rate, self.concurrency) {
            (Some(rate), _) => format!("open loop at {rate} req/s"),
            (_, Some(concurrency)) => format!("closed loop, {concurrency} in flight"),
            _ => self.mode.clone(),
        };
        let _ = writeln!(
            text,
            "{} -> {}, {} connections",
            load,
            self.targets.join(" | "),
            self.connections
        );
        let _ = writeln!(
            text,
            "  requests {:>9}   ok {:>9}   errors {:>6}   elapsed {:.2} s   throughput {:.1} req/s",
            self.requests, self.ok, self.errors, self.elapsed_s, self.throughput_rps
        );
        if !self.errors_by_kind.is_empty() {
            let kinds: Vec<String> = self
                .errors_by_kind
                .iter()
                .map(|(kind, n)| format!("{kind}: {n}"))
                .collect();
            let _ = writeln!(text, "  errors by kind: {}", kinds.join(", "));
        }
        let row = |name: &str, p: &Percentiles| {
            format!(
                "  {name:<13} p50 {:>8.3}  p90 {:>8.3}  p99 {:>8.3}  p99.9 {:>8.3}  max {:>8.3}  mean {:>8.3}  (ms)",
                p.p50, p.p90, p.p99, p.p999, p.max, p.mean
            )
        };
        let _ = writeln!(text, "{}", row("latency", &self.latency_ms));
        if self.mode == "open" {
            let _ = writeln!(text, "{}", row("service time", &self.service_time_ms));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_histogram_in_milliseconds() {
        let mut histogram = new_histogram();
        for micros in 1..=1000u64 {
            histogram.record(micros * 10).unwrap();
        }
        let p = Percentiles::from_histogram(&histogram);
        assert_eq!(p.count, 1000);
        assert!((p.p50 - 5.0).abs() < 0.01, "{p:?}");
        assert!((p.p90 - 9.0).abs() < 0.01, "{p:?}");
        assert!((p.p99 - 9.9).abs() < 0.01, "{p:?}");
        assert!((p.max - 10.0).abs() < 0.01, "{p:?}");
        assert!((p.mean - 5.005).abs() < 0.01, "{p:?}");
        assert_eq!(Percentiles::from_histogram(&new_histogram()).count, 0);
    }

    #[test]
    fn the_summary_names_errors_and_round_trips_as_json() {
        let report = Report {
            targets: vec!["http://127.0.0.1:1/".into()],
            mode: "open".into(),
            rate: Some(100.0),
            concurrency: None,
            connections: 4,
            duration_limit_s: 1.0,
            request_limit: None,
            elapsed_s: 1.0,
            requests: 100,
            ok: 98,
            errors: 2,
            errors_by_kind: BTreeMap::from([("status 503".into(), 2)]),
            throughput_rps: 100.0,
            latency_ms: Percentiles::default(),
            service_time_ms: Percentiles::default(),
            bytes_received: 0,
        };
        let summary = report.summary();
        assert!(summary.contains("open loop at 100 req/s"), "{summary}");
        assert!(summary.contains("status 503: 2"), "{summary}");
        assert!(summary.contains("service time"), "{summary}");
        let json = serde_json::to_string(&report).unwrap();
        assert_eq!(serde_json::from_str::<Report>(&json).unwrap(), report);
    }
}
