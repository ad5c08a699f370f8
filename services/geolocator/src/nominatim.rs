//! Nominatim (OpenStreetMap) geocoding within its usage policy: a User-Agent
//! naming the project, at most one request per second across all workers,
//! and a cache so repeated places are not asked again.
//!
//! [`NominatimPolicy`] (the rate limit and the cache) is shared by all
//! workers; each worker's [`Nominatim`] owns its HTTP client and the URL.

use crate::place::FoundPlace;
use api::{Latitude, Longitude};
use serde::Deserialize;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use telemetry::client::{TracedClient, UpstreamError};
use url::Url;

/// Places remembered; the oldest entry is forgotten first.
const CACHE_CAPACITY: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum NominatimError {
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error("too many geocoding requests are waiting for Nominatim's 1 request/s limit")]
    Busy,
}

impl NominatimError {
    /// The `error.type` value for logs and spans.
    pub fn kind(&self) -> &str {
        match self {
            Self::Upstream(error) => error.kind(),
            Self::Busy => "busy",
        }
    }
}

#[derive(Deserialize)]
struct SearchResult {
    lat: String,
    lon: String,
    display_name: String,
}

/// Hands out request slots at least `interval` apart, shared by all workers.
struct RateLimiter {
    interval: Duration,
    next_slot: Mutex<Instant>,
}

impl RateLimiter {
    /// Reserves the next slot and returns how long to wait for it, or `None` if that is longer than `max_wait`.
    fn reserve(&self, max_wait: Duration) -> Option<Duration> {
        let mut next_slot = self
            .next_slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        let slot = (*next_slot).max(now);
        let wait = slot - now;
        if wait > max_wait {
            return None;
        }
        *next_slot = slot + self.interval;
        Some(wait)
    }
}

#[derive(Default)]
struct Cache {
    entries: HashMap<String, Option<FoundPlace>>,
    order: VecDeque<String>,
}

/// The usage policy all workers share: one request slot per interval, and the cache.
pub struct NominatimPolicy {
    limiter: RateLimiter,
    /// Bounds the time a request may queue for a slot.
    max_wait: Duration,
    cache: Mutex<Cache>,
}

/// What a lookup found and whether the cache answered.
pub struct NominatimAnswer {
    pub place: Option<FoundPlace>,
    pub cached: bool,
}

impl NominatimPolicy {
    pub fn new(interval: Duration, max_wait: Duration) -> Self {
        Self {
            limiter: RateLimiter {
                interval,
                next_slot: Mutex::new(Instant::now()),
            },
            max_wait,
            cache: Mutex::default(),
        }
    }

    fn cached(&self, key: &str) -> Option<Option<FoundPlace>> {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entries
            .get(key)
            .cloned()
    }

    fn remember(&self, key: &str, place: Option<FoundPlace>) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.entries.insert(key.to_owned(), place).is_none() {
            cache.order.push_back(key.to_owned());
            if cache.order.len() > CACHE_CAPACITY {
                if let Some(oldest) = cache.order.pop_front() {
                    cache.entries.remove(&oldest);
                }
            }
        }
    }
}

/// Nominatim for one worker: its HTTP client, the search URL and the shared policy.
pub struct Nominatim {
    client: TracedClient,
    url: Url,
    policy: Arc<NominatimPolicy>,
}

impl Nominatim {
    pub fn new(client: TracedClient, url: Url, policy: Arc<NominatimPolicy>) -> Self {
        Self {
            client,
            url,
            policy,
        }
    }

    /// `key` is the folded query (cache key); `query` is what is sent.
    pub async fn lookup(&self, key: &str, query: &str) -> Result<NominatimAnswer, NominatimError> {
        if let Some(place) = self.policy.cached(key) {
            return Ok(NominatimAnswer {
                place,
                cached: true,
            });
        }
        let wait = self
            .policy
            .limiter
            .reserve(self.policy.max_wait)
            .ok_or(NominatimError::Busy)?;
        tokio::time::sleep(wait).await;
        let mut url = self.url.clone();
        url.query_pairs_mut()
            .append_pair("q", query)
            .append_pair("format", "jsonv2")
            .append_pair("limit", "1");
        let results: Vec<SearchResult> = self.client.get_json(&url).await?;
        let place = first_place(results).map_err(|reason| UpstreamError::Decode {
            host: url.host_str().unwrap_or_default().to_owned(),
            reason,
        })?;
        self.policy.remember(key, place.clone());
        Ok(NominatimAnswer {
            place,
            cached: false,
        })
    }
}

/// The best (first) result, with its coordinates checked.
fn first_place(results: Vec<SearchResult>) -> Result<Option<FoundPlace>, String> {
    let Some(first) = results.into_iter().next() else {
        return Ok(None);
    };
    let latitude: Latitude = first.lat.parse()?;
    let longitude: Longitude = first.lon.parse()?;
    Ok(Some(FoundPlace {
        latitude: latitude.degrees(),
        longitude: longitude.degrees(),
        name: first.display_name,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_an_interval_apart_and_long_queues_are_refused() {
        let limiter = RateLimiter {
            interval: Duration::from_secs(1),
            next_slot: Mutex::new(Instant::now()),
        };
        assert!(limiter.reserve(Duration::from_secs(2)).unwrap() < Duration::from_millis(50));
        let second = limiter.reserve(Duration::from_secs(2)).unwrap();
        assert!(second > Duration::from_millis(900), "{second:?}");
        assert!(limiter.reserve(Duration::from_secs(2)).unwrap() > Duration::from_millis(1900));
        assert!(
            limiter.reserve(Duration::from_secs(2)).is_none(),
            "a 3 s wait exceeds the 2 s bound"
        );
    }

    fn parse(body: &[u8]) -> Result<Option<FoundPlace>, String> {
        first_place(serde_json::from_slice(body).map_err(|error| error.to_string())?)
    }

    #[test]
    fn parses_results_and_rejects_garbage() {
        let found = parse(br#"[{"lat":"48.85","lon":"2.35","display_name":"Paris, France"}]"#)
            .unwrap()
            .unwrap();
        assert_eq!(found.name, "Paris, France");
        assert_eq!(parse(b"[]").unwrap(), None);
        assert!(parse(br#"[{"lat":"x","lon":"2","display_name":"?"}]"#).is_err());
        assert!(parse(br#"[{"lat":"95","lon":"2","display_name":"?"}]"#).is_err());
        assert!(parse(b"{").is_err());
    }
}
