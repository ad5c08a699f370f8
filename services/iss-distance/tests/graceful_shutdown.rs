//! SIGTERM to the real binary while a request is in flight: that request
//! still gets its answer, new connections are refused at once, and the
//! process exits 0. And SIGTERM at the very moment it becomes ready still
//! drains and flushes instead of killing it.

use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};
use testkit::StackBuilder;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The iss-distance binary cargo built for these tests, in `PORT=0` and offline defaults.
fn iss_distance(test_name: &str) -> StackBuilder {
    let binary = Path::new(env!("CARGO_BIN_EXE_iss-distance"));
    StackBuilder::new(test_name).binaries(binary.parent().expect("the binary's directory"))
}

#[tokio::test]
async fn an_in_flight_request_completes_after_sigterm_and_new_connections_are_refused() {
    let iss_api = MockServer::start().await;
    let body = serde_json::json!({"iss_position": {"latitude": "10.0", "longitude": "20.0"}, "timestamp": 1});
    // Slow enough that SIGTERM arrives while the request waits on it.
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(body)
                .set_delay(Duration::from_millis(1500)),
        )
        .mount(&iss_api)
        .await;
    let mut service = iss_distance("graceful-shutdown-in-flight")
        .iss_api("live", &format!("{}/iss-now.json", iss_api.uri()))
        .env("ISS_API_TIMEOUT_MS", "5000")
        .start_one("iss-distance")
        .await;
    let port = service.port();

    let in_flight = tokio::spawn(reqwest::get(format!(
        "{}?latitude=0&longitude=0",
        service.url()
    )));
    let deadline = Instant::now() + Duration::from_secs(10);
    while iss_api
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty()
    {
        assert!(
            Instant::now() < deadline,
            "the request never reached the ISS API"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    service.terminate();

    let refused_deadline = Instant::now() + Duration::from_secs(2);
    while TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(
            Instant::now() < refused_deadline,
            "still accepting connections after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered, not dropped");
    assert_eq!(response.status().as_u16(), 200);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["source"], "live");

    let status = service.wait_exit(Duration::from_secs(10)).await;
    assert!(status.success(), "{status}");
}

/// The signal handlers are in place before the server answers: a SIGTERM
/// right after the first `/readyz` 200 drains and flushes rather than
/// killing the process. Many tries, each signalled as soon as it logs its port.
#[tokio::test]
async fn sigterm_at_the_moment_of_readiness_drains_and_exits_0() {
    let builder = iss_distance("graceful-shutdown-at-readiness");
    for attempt in 0..20 {
        // Returns as soon as the port is logged, without polling /readyz: the
        // server already answers, so the signal lands in its first moments of serving.
        let mut service = builder
            .spawn_service("iss-distance", &[])
            .await
            .unwrap_or_else(|error| panic!("attempt {attempt}: {error}"));
        service.terminate();
        let status = service.wait_exit(Duration::from_secs(30)).await;
        let stderr = service.stderr();
        assert_eq!(
            status.code(),
            Some(0),
            "attempt {attempt}: killed instead of drained ({status}); stderr: {stderr}"
        );
        assert!(
            stderr.contains("stopped serving; flushing telemetry"),
            "attempt {attempt}: {stderr}"
        );
    }
}
