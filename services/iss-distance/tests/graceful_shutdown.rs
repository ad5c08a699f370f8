//! SIGTERM to the real binary while a request is in flight: that request
//! still gets its answer, new connections are refused at once, and the
//! process exits 0. And SIGTERM at the very moment it becomes ready still
//! drains and flushes instead of killing it.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

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
    let mut child = Command::new(env!("CARGO_BIN_EXE_iss-distance"))
        .env_clear()
        .env("PORT", "0")
        .env("ISS_POSITION_SOURCE", "live")
        .env("ISS_API_URL", format!("{}/iss-now.json", iss_api.uri()))
        .env("ISS_API_TIMEOUT_MS", "5000")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let port: u16 = loop {
        let line = stderr.next().expect("the service logs its port").unwrap();
        if let Some((_, port)) = line.split_once("started application iss-distance-service") {
            break port.rsplit(' ').next().unwrap().parse().unwrap();
        }
    };
    std::thread::spawn(move || stderr.for_each(drop));

    let in_flight = tokio::spawn(reqwest::get(format!(
        "http://127.0.0.1:{port}/?latitude=0&longitude=0"
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
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();

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

    let exit_deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < exit_deadline, "no exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status}");
}

/// actix used to install its signal handlers only once it was serving: a
/// SIGTERM right after the first `/readyz` 200 killed the process with no
/// drain and no flush. Many tries, each signalled as soon as it logs its port.
#[test]
fn sigterm_at_the_moment_of_readiness_drains_and_exits_0() {
    for attempt in 0..20 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_iss-distance"))
            .env_clear()
            .env("PORT", "0")
            .env("ISS_POSITION_SOURCE", "sgp4")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (lines_tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let _ = lines_tx.send(line);
            }
        });
        let mut seen = Vec::new();
        let port: u16 = loop {
            let line = lines
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("attempt {attempt}: no port logged: {seen:?}"));
            if let Some((_, port)) = line.split_once(" on port ") {
                break port.trim().parse().unwrap();
            }
            seen.push(line);
        };
        // The port is logged once the server runs: it already answers, so
        // the signal lands in the first moments of serving.
        assert!(port > 0);
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let status = child.wait().unwrap();
        let rest: Vec<String> = lines.iter().collect();
        assert_eq!(
            status.code(),
            Some(0),
            "attempt {attempt}: killed instead of drained ({status}); stderr: {rest:?}"
        );
        assert!(
            rest.iter()
                .any(|l| l.contains("stopped serving; flushing telemetry")),
            "attempt {attempt}: {rest:?}"
        );
    }
}
