//! Requests with a known trace: each carries a fresh W3C `traceparent`, so the
//! test knows the trace id of every request it made and can look for exactly
//! that trace at the receiver.

use futures_util::stream::{self, StreamExt};
use std::hash::{BuildHasher, Hasher, RandomState};
use std::time::{Duration, Instant};

/// One request and what became of it.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub url: String,
    pub trace_id: String,
    /// `None` when no response arrived (connection refused or reset, timeout).
    pub status: Option<u16>,
    pub body: String,
    pub latency: Duration,
    pub error: Option<String>,
}

fn random_u64() -> u64 {
    // RandomState is seeded randomly per process and varies per instance: enough for test ids.
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    hasher.finish()
}

/// A random, valid (non-zero) 32-hex-digit trace id.
pub fn new_trace_id() -> String {
    format!("{:016x}{:016x}", random_u64() | 1, random_u64())
}

fn new_span_id() -> String {
    format!("{:016x}", random_u64() | 1)
}

/// A sampled `traceparent` for `trace_id`, as an instrumented caller would send.
pub fn traceparent(trace_id: &str) -> String {
    format!("00-{trace_id}-{}-01", new_span_id())
}

/// The `p`-th percentile (0 < p <= 1) by the nearest-rank method.
pub fn percentile(latencies: &[Duration], p: f64) -> Duration {
    assert!(!latencies.is_empty(), "no latencies");
    let mut sorted = latencies.to_vec();
    sorted.sort();
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// An HTTP client whose every request starts a new trace.
#[derive(Clone)]
pub struct TracedClient {
    client: reqwest::Client,
}

impl Default for TracedClient {
    fn default() -> Self {
        Self::new()
    }
}

impl TracedClient {
    pub fn new() -> Self {
        Self {
            client: reqwest::Client::builder()
                .user_agent("e2e-checks/1.0")
                // Far above any service deadline: a hang shows up as a slow outcome, not a stuck test.
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client"),
        }
    }

    /// `GET url` with a fresh trace and the extra `headers`.
    pub async fn get(&self, url: &str, headers: &[(String, String)]) -> Outcome {
        let trace_id = new_trace_id();
        let mut request = self
            .client
            .get(url)
            .header("traceparent", traceparent(&trace_id));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let started = Instant::now();
        let (status, body, error) = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.text().await {
                    Ok(body) => (Some(status), body, None),
                    Err(error) => (None, String::new(), Some(error.to_string())),
                }
            }
            Err(error) => (None, String::new(), Some(error.to_string())),
        };
        Outcome {
            url: url.to_owned(),
            trace_id,
            status,
            body,
            latency: started.elapsed(),
            error,
        }
    }

    /// Every request, `concurrency` at a time; outcomes in completion order.
    pub async fn get_all(
        &self,
        requests: Vec<(String, Vec<(String, String)>)>,
        concurrency: usize,
    ) -> Vec<Outcome> {
        stream::iter(requests)
            .map(|(url, headers)| async move { self.get(&url, &headers).await })
            .buffer_unordered(concurrency)
            .collect()
            .await
    }

    /// `count` requests to `url`, `concurrency` at a time.
    pub async fn get_many(&self, url: &str, count: usize, concurrency: usize) -> Vec<Outcome> {
        let requests = (0..count).map(|_| (url.to_owned(), Vec::new())).collect();
        self.get_all(requests, concurrency).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_are_valid_and_distinct() {
        let ids: std::collections::BTreeSet<String> = (0..1000).map(|_| new_trace_id()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert_eq!(id.len(), 32);
            assert!(id
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        }
        let header = traceparent("4bf92f3577b34da6a3ce929d0e0e4736");
        assert!(
            header.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && header.ends_with("-01")
        );
        assert_eq!(header.len(), 55);
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let latencies: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&latencies, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&latencies, 0.5), Duration::from_millis(50));
        assert_eq!(percentile(&latencies, 1.0), Duration::from_millis(100));
        assert_eq!(
            percentile(&[Duration::from_millis(7)], 0.99),
            Duration::from_millis(7)
        );
    }
}
