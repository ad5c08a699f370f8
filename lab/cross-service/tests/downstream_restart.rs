//! A downstream that dies during load and comes back: the gateway answers
//! 502 fast while it is gone (no request waits for the timeout, none piles
//! up), and recovers by itself once it is back on the same port.

use cross_service::{start_gateway, start_geolocator, start_iss_distance};
use std::time::{Duration, Instant};

const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);

/// Sends `count` concurrent requests; returns their statuses and the slowest latency.
async fn burst(client: &reqwest::Client, url: &str, count: usize) -> (Vec<u16>, Duration) {
    let requests = (0..count).map(|_| async {
        let started = Instant::now();
        let status = client
            .get(url)
            .send()
            .await
            .expect("the gateway always answers")
            .status()
            .as_u16();
        (status, started.elapsed())
    });
    let results = futures_util::future::join_all(requests).await;
    let slowest = results
        .iter()
        .map(|(_, elapsed)| *elapsed)
        .max()
        .unwrap_or_default();
    (
        results.into_iter().map(|(status, _)| status).collect(),
        slowest,
    )
}

#[tokio::test]
async fn the_gateway_fails_fast_while_iss_distance_is_down_and_recovers_when_it_returns() {
    let geolocator = start_geolocator();
    let iss = start_iss_distance(0);
    let iss_port = iss.url.port().expect("explicit port");
    let gateway = start_gateway(&geolocator.url, &iss.url, UPSTREAM_TIMEOUT);
    let url = format!("{}?location=Paris", gateway.url);
    let client = reqwest::Client::new();

    let (statuses, _) = burst(&client, &url, 20).await;
    assert!(statuses.iter().all(|s| *s == 200), "healthy: {statuses:?}");

    iss.handle.stop(false).await;
    let (statuses, slowest) = burst(&client, &url, 50).await;
    assert!(statuses.iter().all(|s| *s == 502), "down: {statuses:?}");
    assert!(
        slowest < UPSTREAM_TIMEOUT / 2,
        "refused connections fail fast, not at the timeout: {slowest:?}"
    );

    let _iss = start_iss_distance(iss_port);
    // Pooled connections to the dead server may fail once; within a few bursts all must succeed.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (statuses, _) = burst(&client, &url, 20).await;
        if statuses.iter().all(|s| *s == 200) {
            break;
        }
        assert!(Instant::now() < deadline, "no recovery: {statuses:?}");
    }
}
