//! Everything a run measured, as written to `results.json` (and read back to re-render tables).

use crate::procs::Memory;
use loadgen::Report;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_gib: f64,
    pub kernel: String,
    pub rustc: String,
    pub load_before: String,
    pub load_after: String,
    pub binaries: String,
}

/// One loadgen run and the CPU the services (and the in-process receiver) spent during it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measured {
    pub report: Report,
    /// CPU milliseconds per service during the run.
    pub cpu_ms: BTreeMap<String, f64>,
    /// CPU milliseconds of the harness process (the OTLP receiver) during the run.
    pub receiver_cpu_ms: f64,
    /// Highest resident set seen per service while the load ran (sampled), and the peak (VmHWM) after.
    pub memory: BTreeMap<String, Memory>,
    /// CPU milliseconds of the loadgen process.
    #[serde(default)]
    pub loadgen_cpu_ms: f64,
    /// Share of the machine's CPU (all cores) that processes outside this benchmark used
    /// during the run, and the share the hypervisor stole: how noisy the run was.
    #[serde(default)]
    pub others_cpu_pct: f64,
    #[serde(default)]
    pub steal_pct: f64,
}

impl Measured {
    /// Service CPU microseconds per completed request, all services together.
    pub fn cpu_us_per_request(&self) -> f64 {
        let total: f64 = self.cpu_ms.values().sum();
        if self.report.requests == 0 {
            0.0
        } else {
            total * 1000.0 / self.report.requests as f64
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Startup {
    pub service: String,
    /// Spawn to first 200 from /readyz, per start.
    pub ready_ms: Vec<f64>,
    /// Resident set right after ready, per start.
    pub idle_rss_kib: Vec<u64>,
    /// Stops (SIGTERM within a millisecond of ready) that killed the process outright.
    #[serde(default)]
    pub killed_by_sigterm: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Single {
    pub service: String,
    pub closed: Measured,
    pub open: Measured,
}

/// Telemetry counts per service: spans, log records, and the final cumulative metric values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub spans: BTreeMap<String, i64>,
    pub logs: BTreeMap<String, i64>,
    /// `incoming.requests` latest cumulative total.
    pub incoming_requests: BTreeMap<String, i64>,
    /// `http.server.request.duration` latest cumulative count.
    pub server_durations: BTreeMap<String, i64>,
    /// Metric data points received, all exports (informational: depends on export timing).
    pub metric_points: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DropCheck {
    pub requests: u64,
    /// With no request: start-up and shutdown telemetry plus one /readyz per service.
    pub baseline: Counts,
    /// What one request adds (from a stack that served exactly one).
    pub per_request: Counts,
    pub expected: Counts,
    pub received: Counts,
}

impl DropCheck {
    /// (signal, service, expected, received) for every count that differs.
    pub fn mismatches(&self) -> Vec<(String, String, i64, i64)> {
        let mut out = Vec::new();
        let pairs = [
            ("spans", &self.expected.spans, &self.received.spans),
            ("logs", &self.expected.logs, &self.received.logs),
            (
                "incoming.requests",
                &self.expected.incoming_requests,
                &self.received.incoming_requests,
            ),
            (
                "http.server.request.duration count",
                &self.expected.server_durations,
                &self.received.server_durations,
            ),
        ];
        for (signal, expected, received) in pairs {
            for (service, want) in expected {
                let got = received.get(service).copied().unwrap_or(0);
                if got != *want {
                    out.push((signal.to_owned(), service.clone(), *want, got));
                }
            }
        }
        out
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndToEnd {
    /// Open loop through the gateway with OTLP export on: latency, memory, drops.
    pub open: Measured,
    pub idle_memory: BTreeMap<String, Memory>,
    pub drops: DropCheck,
    pub closed_gateway: Measured,
    pub closed_frontend: Measured,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VariantRun {
    pub variant: String,
    pub round: usize,
    pub closed: Measured,
    pub open: Measured,
}

/// A variant of the telemetry comparison, as its table rows describe it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantInfo {
    pub label: String,
    pub description: String,
    /// The variant its "vs disabled" ratios are against.
    pub reference: String,
}

/// A variant that was not run, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    pub variant: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Settings {
    pub smoke: bool,
    pub rate: f64,
    pub e2e_seconds: f64,
    pub run_seconds: f64,
    pub concurrency: usize,
    pub rounds: usize,
    pub startup_runs: usize,
    pub rust_log: String,
    pub metric_export_interval_ms: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Results {
    pub machine: Machine,
    pub settings: Settings,
    pub startup: Vec<Startup>,
    pub single: Vec<Single>,
    pub e2e: Option<EndToEnd>,
    pub telemetry: Vec<VariantRun>,
    /// The telemetry comparison's variants in table order (empty in results of older harnesses).
    #[serde(default)]
    pub variants: Vec<VariantInfo>,
    #[serde(default)]
    pub skipped: Vec<Skipped>,
    pub checks: Vec<Check>,
}

/// The median (mean of the middle two for an even count); 0 for none.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return 0.0;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[f64::NAN, 5.0]), 5.0);
    }

    #[test]
    fn mismatches_name_signal_service_and_both_counts() {
        let mut expected = Counts::default();
        expected.spans.insert("gateway".into(), 30);
        expected.logs.insert("gateway".into(), 12);
        let mut received = expected.clone();
        received.spans.insert("gateway".into(), 29);
        let check = DropCheck {
            requests: 10,
            baseline: Counts::default(),
            per_request: Counts::default(),
            expected,
            received,
        };
        assert_eq!(
            check.mismatches(),
            vec![("spans".to_owned(), "gateway".to_owned(), 30, 29)]
        );
    }
}
