//! The load models against a tiny local HTTP/1.1 server whose behaviour the
//! test controls: exact counts, error kinds, deadlines, and the
//! coordinated-omission correction of the open loop.

use loadgen::{run, LoadConfig, Mode, Plan};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the test server answers request number `n` (counted across connections) for `path`.
type Behaviour = Arc<dyn Fn(u64, &str) -> (u16, Duration) + Send + Sync>;

async fn serve(behaviour: Behaviour) -> (SocketAddr, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let served = Arc::new(AtomicU64::new(0));
    let counter = served.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(connection(stream, behaviour.clone(), counter.clone()));
        }
    });
    (address, served)
}

async fn connection(mut stream: TcpStream, behaviour: Behaviour, counter: Arc<AtomicU64>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
        buffer.drain(..end + 4);
        let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let (status, delay) = behaviour(n, &path);
        if delay == Duration::MAX {
            // Never answer: hold the connection open until the client gives up.
            let _ = stream.read(&mut chunk).await;
            return;
        }
        tokio::time::sleep(delay).await;
        let response = format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\n\r\nok");
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn plan(address: SocketAddr, path: &str) -> Plan {
    Plan::new(&[format!("http://{address}{path}")]).unwrap()
}

fn config(mode: Mode, duration: Duration, max_requests: Option<u64>) -> LoadConfig {
    LoadConfig {
        mode,
        duration,
        max_requests,
        timeout: Duration::from_secs(2),
        warmup: Duration::ZERO,
        progress: false,
    }
}

#[tokio::test]
async fn the_closed_loop_sends_exactly_the_requests_asked_for() {
    let (address, served) = serve(Arc::new(|_, _| (200, Duration::ZERO))).await;
    let report = run(
        plan(address, "/?location={city}"),
        address,
        &config(
            Mode::Closed { concurrency: 4 },
            Duration::from_secs(30),
            Some(500),
        ),
    )
    .await;
    assert_eq!(report.requests, 500);
    assert_eq!(report.ok, 500);
    assert_eq!(report.errors, 0);
    assert_eq!(served.load(Ordering::SeqCst), 500);
    assert_eq!(report.latency_ms.count, 500);
    assert_eq!(report.bytes_received, 1000);
    assert!(report.throughput_rps > 0.0);
}

#[tokio::test]
async fn the_open_loop_keeps_its_rate_and_stops_at_its_duration() {
    let (address, served) = serve(Arc::new(|_, _| (200, Duration::ZERO))).await;
    let started = Instant::now();
    let report = run(
        plan(address, "/"),
        address,
        &config(
            Mode::Open {
                rate: 400.0,
                connections: 4,
            },
            Duration::from_millis(500),
            None,
        ),
    )
    .await;
    let took = started.elapsed();
    assert_eq!(report.requests, 200, "rate x duration");
    assert_eq!(served.load(Ordering::SeqCst), 200);
    assert!(took >= Duration::from_millis(495), "{took:?}");
    assert!(took < Duration::from_millis(1500), "{took:?}");
    assert_eq!(report.mode, "open");
}

#[tokio::test]
async fn a_stall_is_charged_to_every_request_due_during_it_in_the_open_loop_only() {
    // Request 50 takes 300 ms; every other answer is immediate.
    let stall: Behaviour = Arc::new(|n, _| {
        let delay = if n == 50 { 300 } else { 0 };
        (200, Duration::from_millis(delay))
    });
    let (address, _) = serve(stall.clone()).await;
    // One connection at 200 req/s for 1 s: ~60 requests are due during the stall.
    let open = run(
        plan(address, "/"),
        address,
        &config(
            Mode::Open {
                rate: 200.0,
                connections: 1,
            },
            Duration::from_secs(1),
            None,
        ),
    )
    .await;
    assert_eq!(open.ok, 200);
    assert!(
        open.latency_ms.p90 >= 50.0,
        "queued requests must show their wait: {:?}",
        open.latency_ms
    );
    assert!(open.latency_ms.max >= 290.0, "{:?}", open.latency_ms);
    assert!(
        open.service_time_ms.p90 < 50.0,
        "service time excludes the queue: {:?}",
        open.service_time_ms
    );

    let (address, _) = serve(stall).await;
    let closed = run(
        plan(address, "/"),
        address,
        &config(
            Mode::Closed { concurrency: 1 },
            Duration::from_secs(30),
            Some(200),
        ),
    )
    .await;
    assert_eq!(closed.ok, 200);
    assert!(closed.latency_ms.max >= 290.0, "{:?}", closed.latency_ms);
    assert!(
        closed.latency_ms.p90 < 50.0,
        "a closed loop waits politely and sees one slow request: {:?}",
        closed.latency_ms
    );
}

#[tokio::test]
async fn statuses_timeouts_and_refused_connections_are_errors_by_kind() {
    let (address, _) = serve(Arc::new(|n, path| match path {
        "/slow" => (200, Duration::MAX),
        _ if n % 2 == 0 => (404, Duration::ZERO),
        _ => (200, Duration::ZERO),
    }))
    .await;
    let report = run(
        plan(address, "/"),
        address,
        &config(
            Mode::Closed { concurrency: 1 },
            Duration::from_secs(30),
            Some(10),
        ),
    )
    .await;
    assert_eq!((report.ok, report.errors), (5, 5));
    assert_eq!(report.errors_by_kind.get("status 404"), Some(&5));

    let mut slow = config(
        Mode::Closed { concurrency: 2 },
        Duration::from_secs(30),
        Some(2),
    );
    slow.timeout = Duration::from_millis(200);
    let started = Instant::now();
    let report = run(plan(address, "/slow"), address, &slow).await;
    assert_eq!(report.errors_by_kind.get("timeout"), Some(&2));
    assert!(started.elapsed() < Duration::from_secs(2));

    // A port that refuses connections (bound, never listened on, held until the end).
    let closed = testkit::ClosedPort::new();
    let closed_port = closed.address();
    let report = run(
        plan(closed_port, "/"),
        closed_port,
        &config(
            Mode::Closed { concurrency: 1 },
            Duration::from_secs(5),
            Some(3),
        ),
    )
    .await;
    assert_eq!(report.errors_by_kind.get("connect"), Some(&3));
    assert_eq!(report.ok, 0);
}

#[tokio::test]
async fn the_closed_loop_is_bounded_by_time_too() {
    let (address, _) = serve(Arc::new(|_, _| (200, Duration::from_millis(1)))).await;
    let started = Instant::now();
    let report = run(
        plan(address, "/"),
        address,
        &config(
            Mode::Closed { concurrency: 2 },
            Duration::from_millis(300),
            None,
        ),
    )
    .await;
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_millis(1000), "{took:?}");
    assert!(report.ok > 10, "{report:?}");
}
