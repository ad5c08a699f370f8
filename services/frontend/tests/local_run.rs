//! The service binaries as a user runs them. Invalid configuration stops
//! them at start with a clear message, and the README's local-run command (`scripts/run-local.sh`) starts the four
//! services on offline defaults, answers through the frontend with no
//! network, and stops everything on Ctrl-C (SIGINT).
//!
//! Needs all four binaries built (`cargo build --workspace --bins`, as the
//! README's test command does).

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn bin_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_BIN_EXE_frontend"))
        .parent()
        .unwrap()
        .to_path_buf();
    for name in ["gateway", "geolocator", "iss-distance"] {
        assert!(
            dir.join(name).exists(),
            "{name} is not built in {}: run `cargo build --workspace --bins` first",
            dir.display()
        );
    }
    dir
}

/// Stops the script (and so its services) even when an assertion fails.
struct Script(Child);

impl Drop for Script {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_local_run_command_serves_an_answer_offline_and_stops_on_ctrl_c() {
    let ports: Vec<u16> = (0..5).map(|_| free_port()).collect();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut child = Command::new("bash")
        .arg(repo.join("scripts/run-local.sh"))
        .env("BIN_DIR", bin_dir())
        .env("FRONTEND_PORT", ports[0].to_string())
        .env("GATEWAY_PORT", ports[1].to_string())
        .env("GEOLOCATOR_PORT", ports[2].to_string())
        .env("ISS_DISTANCE_PORT", ports[3].to_string())
        .env("PROMETHEUS_PORT", ports[4].to_string())
        // Whatever the caller's environment says, this run must work offline.
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("ISS_POSITION_SOURCE")
        .env_remove("GEOCODER")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("bash runs the script");
    let stdout = child.stdout.take().unwrap();
    let mut script = Script(child);

    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut printed = Vec::new();
    while !printed
        .iter()
        .any(|line: &String| line.starts_with("Frontend: "))
    {
        let left = deadline.saturating_duration_since(Instant::now());
        printed.push(
            received
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no frontend URL printed: {printed:?}")),
        );
    }
    let frontend_url = format!("http://127.0.0.1:{}/", ports[0]);
    assert!(
        printed.contains(&format!("Frontend: {frontend_url}")),
        "{printed:?}"
    );

    let page = reqwest::get(format!("{frontend_url}?location=London"))
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("It is ") && html.contains(" km from London, United Kingdom."),
        "{html}"
    );
    assert!(html.contains("SGP4"), "offline default: the SGP4 position");

    // The telemetry level: the real pipeline when the collector and
    // Prometheus 3.14 are built (they are in CI), else Debian's Prometheus
    // scraping /metrics when it is on PATH.
    if pipeline_built(&repo) {
        wait_for_line(&received, &mut printed, "Prometheus: ", deadline);
        let log_line = printed
            .iter()
            .find_map(|line| line.strip_prefix("Collector: traces and logs in "))
            .unwrap_or_else(|| panic!("no collector log announced: {printed:?}"));
        let collector_log = PathBuf::from(log_line.split_once(' ').map_or(log_line, |(p, _)| p));
        assert_pipeline_shows_telemetry(&frontend_url, ports[4], &collector_log).await;
    } else {
        let prometheus_started = printed.iter().any(|line| line.starts_with("Prometheus: "));
        let prometheus_installed = Command::new("sh")
            .args(["-c", "command -v prometheus"])
            .output()
            .unwrap()
            .status
            .success();
        assert_eq!(
            prometheus_started, prometheus_installed,
            "without the pipeline, Prometheus starts exactly when it is on PATH: {printed:?}"
        );
    }

    let child = &mut script.0;
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let stop_deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < stop_deadline,
            "the script did not stop on SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The services, Prometheus and (in the pipeline) the collector are gone.
    let mut listeners: Vec<(&str, u16)> = ports.iter().map(|p| ("127.0.0.1", *p)).collect();
    if pipeline_built(&repo) {
        listeners.extend([("127.0.0.91", 4317), ("127.0.0.91", 13133)]);
    }
    for (host, port) in listeners {
        assert!(
            TcpStream::connect((host, port)).is_err(),
            "{host}:{port} still serves after Ctrl-C"
        );
    }
}

fn pipeline_built(repo: &Path) -> bool {
    let tools = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("target"))
        .join("platform-tools");
    tools.join("otelcol-iss").is_file() && tools.join("prometheus").is_file()
}

fn wait_for_line(
    received: &mpsc::Receiver<String>,
    printed: &mut Vec<String>,
    prefix: &str,
    deadline: Instant,
) {
    while !printed.iter().any(|line| line.starts_with(prefix)) {
        let left = deadline.saturating_duration_since(Instant::now());
        printed.push(
            received
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {prefix:?} line printed: {printed:?}")),
        );
    }
}

/// A few requests, then the p95 query of the README answers in Prometheus 3
/// (metrics pushed through the collector) and the collector's debug output
/// shows the requests' spans and logs.
async fn assert_pipeline_shows_telemetry(
    frontend_url: &str,
    prometheus_port: u16,
    collector_log: &Path,
) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    let query = "histogram_quantile(0.95, sum by (le, service_name) (rate(http_server_request_duration_seconds_bucket[1m])))";
    let url = reqwest::Url::parse_with_params(
        &format!("http://127.0.0.1:{prometheus_port}/api/v1/query"),
        [("query", query)],
    )
    .unwrap();
    loop {
        for place in ["Paris", "Tokyo"] {
            let page = client
                .get(format!("{frontend_url}?location={place}"))
                .send()
                .await
                .unwrap();
            assert_eq!(page.status().as_u16(), 200);
        }
        let answer: Option<serde_json::Value> = match client.get(url.clone()).send().await {
            Ok(response) => response.json().await.ok(),
            Err(_) => None,
        };
        let has_value = answer.as_ref().is_some_and(|a| {
            a["data"]["result"].as_array().is_some_and(|r| {
                r.iter().any(|s| {
                    s["value"][1]
                        .as_str()
                        .is_some_and(|v| v.parse::<f64>().is_ok_and(f64::is_finite))
                })
            })
        });
        let log = std::fs::read_to_string(collector_log).unwrap_or_default();
        let spans_and_logs = log.contains("calculating-iss-distance")
            && log.contains("received request from IP address");
        if has_value && spans_and_logs {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the local pipeline shows no telemetry: p95 answer {answer:?}; collector output:\n{log}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[test]
fn every_service_refuses_an_invalid_configuration_with_a_clear_message() {
    let dir = bin_dir();
    let cases: [(&str, &str, &str, &str); 9] = [
        (
            "frontend",
            "PORT",
            "abc",
            "invalid PORT='abc': a port number between 0 and 65535",
        ),
        (
            "gateway",
            "GEOLOCATOR_SERVICE_URL",
            "not a url",
            "invalid GEOLOCATOR_SERVICE_URL='not a url'",
        ),
        (
            "gateway",
            "UPSTREAM_TIMEOUT_MS",
            "-5",
            "invalid UPSTREAM_TIMEOUT_MS='-5'",
        ),
        (
            "geolocator",
            "GEOCODER",
            "google",
            "invalid GEOCODER='google': one of gazetteer, nominatim",
        ),
        (
            "iss-distance",
            "ISS_API_URL",
            "ftp://x",
            "invalid ISS_API_URL='ftp://x'",
        ),
        (
            "iss-distance",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "http/json",
            "OTEL_EXPORTER_OTLP_PROTOCOL must be grpc or http/protobuf",
        ),
        (
            "gateway",
            "OTEL_TRACES_EXPORTER",
            "zipkin",
            "OTEL_TRACES_EXPORTER='zipkin': unknown exporter 'zipkin'",
        ),
        (
            "frontend",
            "OTEL_LOGS_EXPORTER",
            "prometheus",
            "OTEL_LOGS_EXPORTER='prometheus': unknown exporter 'prometheus'",
        ),
        (
            "geolocator",
            "OTEL_METRICS_EXPORTER",
            "none,console",
            "OTEL_METRICS_EXPORTER='none,console': none cannot be combined",
        ),
    ];
    for (binary, key, value, message) in cases {
        let mut command = Command::new(dir.join(binary));
        command.env("PORT", "0").env(key, value);
        if key.starts_with("OTEL_") {
            command.env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317");
        }
        let output = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{binary} with {key}={value}: {stderr}"
        );
        assert!(
            stderr.contains(message),
            "{binary} with {key}={value}: {stderr}"
        );
    }
}
