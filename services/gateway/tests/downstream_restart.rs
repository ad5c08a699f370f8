//! A downstream that dies during load and comes back: the gateway answers
//! 502 fast while it is gone (no request waits for the timeout, none piles
//! up), and recovers by itself once it is back on the same port.

use actix_web::dev::ServerHandle;
use std::time::{Duration, Instant};
use telemetry::MetricsRegistry;
use url::Url;

const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);

async fn start_iss_distance(port: u16) -> (u16, ServerHandle) {
    let mut config = iss_distance::Config::for_tests(
        iss_distance::config::PositionMode::Sgp4,
        Url::parse("http://127.0.0.1:9/").unwrap(),
    );
    config.listen.port = port;
    let app = iss_distance::startup::build(config, MetricsRegistry::default())
        .expect("port is free again");
    let (port, handle) = (app.port(), app.handle());
    tokio::spawn(app.run_until_stopped());
    (port, handle)
}

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
    let geolocator = geolocator::startup::build(
        geolocator::Config::for_tests(
            geolocator::config::GeocoderKind::Gazetteer,
            Url::parse("http://127.0.0.1:9/").unwrap(),
        ),
        MetricsRegistry::default(),
    )
    .unwrap();
    let geolocator_url = Url::parse(&format!("http://127.0.0.1:{}/", geolocator.port())).unwrap();
    tokio::spawn(geolocator.run_until_stopped());
    let (iss_port, iss) = start_iss_distance(0).await;
    let gateway = gateway::startup::build(
        gateway::Config::for_tests(
            geolocator_url,
            Url::parse(&format!("http://127.0.0.1:{iss_port}/")).unwrap(),
            UPSTREAM_TIMEOUT,
        ),
        MetricsRegistry::default(),
    )
    .unwrap();
    let url = format!("http://127.0.0.1:{}/?location=Paris", gateway.port());
    tokio::spawn(gateway.run_until_stopped());
    let client = reqwest::Client::new();

    let (statuses, _) = burst(&client, &url, 20).await;
    assert!(statuses.iter().all(|s| *s == 200), "healthy: {statuses:?}");

    iss.stop(false).await;
    let (statuses, slowest) = burst(&client, &url, 50).await;
    assert!(statuses.iter().all(|s| *s == 502), "down: {statuses:?}");
    assert!(
        slowest < UPSTREAM_TIMEOUT / 2,
        "refused connections fail fast, not at the timeout: {slowest:?}"
    );

    let (_, _iss) = start_iss_distance(iss_port).await;
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
