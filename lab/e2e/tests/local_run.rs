//! The service binaries as a user runs them. Invalid configuration stops
//! them at start with a clear message, and the README's local-run command
//! (`scripts/run-local.sh`) starts the four services on offline defaults,
//! answers through the frontend with no network, and stops everything on
//! Ctrl-C (SIGINT). It says "ready" only when its own processes are: a port
//! already taken, or a service that dies while starting, ends the run with a
//! message that names it.
//!
//! Needs all four binaries built (`cargo build --workspace --bins`, as the
//! README's test command does).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use testkit::Process;

/// The loopback address the script runs everything on: no other test
/// listens there, so its default ports (5000-5003, Prometheus 9090) are free
/// for it, whatever else runs on 127.0.0.1.
const LOCAL_RUN_ADDRESS: &str = "127.0.0.94";
const PORTS: [u16; 5] = [5000, 5001, 5002, 5003, 9090];
/// The runs that must fail, each on an address of its own, so that they run
/// beside the one above.
const TAKEN_PORT_ADDRESS: &str = "127.0.0.95";
const DYING_SERVICE_ADDRESS: &str = "127.0.0.96";
/// Building nothing, the script starts and readies four debug services.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(60);

fn bin_dir() -> PathBuf {
    let dir = testkit::binary(testkit::Profile::Debug, "frontend")
        .parent()
        .expect("the target directory")
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

/// The line of the script's output that starts with `prefix`, without it.
fn after(prefix: &str) -> impl Fn(&str) -> Option<String> + '_ {
    move |line: &str| line.strip_prefix(prefix).map(str::to_owned)
}

/// `scripts/run-local.sh` on the built binaries, listening on `address` at
/// its default ports, whatever the caller's environment says.
fn local_run(address: &str) -> Command {
    let repo = testkit::workspace_root();
    let mut command = Command::new("bash");
    command
        .arg(repo.join("scripts/run-local.sh"))
        .env("BIN_DIR", bin_dir())
        .env("BIND_ADDRESS", address)
        // This run must work offline.
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("ISS_POSITION_SOURCE")
        .env_remove("GEOCODER");
    for port in [
        "FRONTEND_PORT",
        "GATEWAY_PORT",
        "GEOLOCATOR_PORT",
        "ISS_DISTANCE_PORT",
        "PROMETHEUS_PORT",
    ] {
        command.env_remove(port);
    }
    command
}

#[tokio::test]
async fn the_local_run_command_serves_an_answer_offline_and_stops_on_ctrl_c() {
    let command = local_run(LOCAL_RUN_ADDRESS);
    // Killed with its services (its process group) if the test fails.
    let mut script = Process::spawn("run-local", command, &testkit::log_dir("local_run"));
    let deadline = Instant::now() + SCRIPT_DEADLINE;
    let frontend_url = script
        .wait_for_line("the frontend URL", SCRIPT_DEADLINE, after("Frontend: "))
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let output = script.output();
    assert!(
        !output.contains("Connection refused"),
        "polling for readiness is silent:\n{output}"
    );
    assert_eq!(
        frontend_url,
        format!("http://{LOCAL_RUN_ADDRESS}:{}/", PORTS[0])
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
    if pipeline_built() {
        let left = deadline.saturating_duration_since(Instant::now());
        script
            .wait_for_line("the Prometheus URL", left, after("Prometheus: "))
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        let log_line = script
            .output()
            .lines()
            .find_map(after("Collector: traces and logs in "))
            .unwrap_or_else(|| panic!("no collector log announced\n{}", script.output_tail()));
        let collector_log = PathBuf::from(log_line.split_once(' ').map_or(&*log_line, |(p, _)| p));
        let prometheus_url = format!("http://{LOCAL_RUN_ADDRESS}:{}", PORTS[4]);
        assert_pipeline_shows_telemetry(&frontend_url, &prometheus_url, &collector_log).await;
    } else {
        // Printed before the frontend's URL.
        let prometheus_started = script
            .output()
            .lines()
            .any(|line| line.starts_with("Prometheus: "));
        let prometheus_installed = Command::new("sh")
            .args(["-c", "command -v prometheus"])
            .output()
            .unwrap()
            .status
            .success();
        assert_eq!(
            prometheus_started,
            prometheus_installed,
            "without the pipeline, Prometheus starts exactly when it is on PATH\n{}",
            script.output_tail()
        );
    }

    script.interrupt();
    if script
        .exit_status_within(Duration::from_secs(30))
        .await
        .is_none()
    {
        panic!(
            "the script did not stop on SIGINT\n{}",
            script.output_tail()
        );
    }
    // The services, Prometheus and (in the pipeline) the collector are gone.
    let mut listeners: Vec<(&str, u16)> = PORTS.iter().map(|p| (LOCAL_RUN_ADDRESS, *p)).collect();
    if pipeline_built() {
        listeners.extend([("127.0.0.91", 4317), ("127.0.0.91", 13133)]);
    }
    for (host, port) in listeners {
        assert!(
            TcpStream::connect((host, port)).is_err(),
            "{host}:{port} still serves after Ctrl-C"
        );
    }
}

#[tokio::test]
async fn the_local_run_command_names_a_port_that_is_already_taken_and_starts_nothing() {
    // What an earlier run, or anything else, still listening looks like.
    let taken = TcpListener::bind((TAKEN_PORT_ADDRESS, PORTS[1])).unwrap();
    let mut command = local_run(TAKEN_PORT_ADDRESS);
    // The collector's address is shared by every run: leave it to the test above.
    command.env("RUN_PROMETHEUS", "0");
    // Each test its own log directory: log_dir empties it.
    let mut script = Process::spawn(
        "run-local",
        command,
        &testkit::log_dir("local_run_port_taken"),
    );
    let Some(status) = script.exit_status_within(SCRIPT_DEADLINE).await else {
        panic!(
            "the script did not stop though port {} is taken\n{}",
            PORTS[1],
            script.output_tail()
        );
    };
    let output = script.output();
    assert!(!status.success(), "{status}\n{output}");
    let message = format!(
        "port {} on {TAKEN_PORT_ADDRESS} (gateway) is already in use",
        PORTS[1]
    );
    assert!(output.contains(&message), "names the port:\n{output}");
    if Command::new("sh")
        .args(["-c", "command -v ss"])
        .output()
        .unwrap()
        .status
        .success()
    {
        // This test's process, or a child forked by a test beside it that
        // holds the socket until it execs: some process, by name and pid.
        let holder = output
            .split_once(&format!("{message} by "))
            .is_some_and(|(_, rest)| rest.contains(" (pid "));
        assert!(holder, "and what holds it:\n{output}");
    }
    let says_ready = output
        .split(|c: char| !c.is_ascii_alphabetic())
        .any(|word| word.eq_ignore_ascii_case("ready"));
    assert!(!says_ready, "nothing is ready:\n{output}");
    assert!(!output.contains("Frontend: "), "{output}");
    for port in [PORTS[0], PORTS[2], PORTS[3]] {
        assert!(
            TcpStream::connect((TAKEN_PORT_ADDRESS, port)).is_err(),
            "port {port}: no service was started\n{output}"
        );
    }
    drop(taken);
}

#[tokio::test]
async fn the_local_run_command_reports_a_service_that_dies_while_starting() {
    let mut command = local_run(DYING_SERVICE_ADDRESS);
    command.env("RUN_PROMETHEUS", "0").env("GEOCODER", "google");
    let mut script = Process::spawn(
        "run-local",
        command,
        &testkit::log_dir("local_run_dying_service"),
    );
    let Some(status) = script.exit_status_within(SCRIPT_DEADLINE).await else {
        panic!(
            "the script did not stop when the geolocator died\n{}",
            script.output_tail()
        );
    };
    let output = script.output();
    assert!(!status.success(), "{status}\n{output}");
    assert!(
        output.contains("geolocator exited (status 2) before it was ready"),
        "names the service and its exit status:\n{output}"
    );
    let tail = output
        .split_once("the end of its output")
        .map(|(_, tail)| tail)
        .unwrap_or_default();
    assert!(
        tail.contains("invalid GEOCODER='google'"),
        "shows the service's own last words:\n{output}"
    );
    assert!(!output.contains("All services ready"), "{output}");
    assert!(!output.contains("Frontend: "), "{output}");
    for port in &PORTS[..4] {
        assert!(
            TcpStream::connect((DYING_SERVICE_ADDRESS, *port)).is_err(),
            "port {port}: the services it started are stopped\n{output}"
        );
    }
}

/// Whether the script finds the collector and Prometheus 3.14 as it looks for
/// them: linked under the target directory, or in the build script's cache.
fn pipeline_built() -> bool {
    let tools = testkit::target_dir().join("platform-tools");
    let build_script = testkit::workspace_root().join("scripts/build-platform-tools.sh");
    ["otelcol-iss", "prometheus"].iter().all(|tool| {
        tools.join(tool).is_file()
            || Command::new("bash")
                .arg(&build_script)
                .args(["--path", tool])
                .output()
                .is_ok_and(|output| output.status.success())
    })
}

/// A few requests, then the p95 query of the README answers in Prometheus 3
/// (metrics pushed through the collector) and the collector's debug output
/// shows the requests' spans and logs.
async fn assert_pipeline_shows_telemetry(
    frontend_url: &str,
    prometheus_url: &str,
    collector_log: &Path,
) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    let query = "histogram_quantile(0.95, sum by (le, service_name) (rate(http_server_request_duration_seconds_bucket[1m])))";
    let url = reqwest::Url::parse_with_params(
        &format!("{prometheus_url}/api/v1/query"),
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
            // The frontend exports its spans to the collector, so the page
            // names its trace; there is no Grafana here, so nothing links it.
            let html = page.text().await.unwrap();
            assert!(html.contains(r#"id="trace-id""#), "no trace id: {html}");
            assert!(
                !html.contains(r#"id="trace-link""#),
                "a dead Grafana link: {html}"
            );
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
            "invalid OTEL_EXPORTER_OTLP_PROTOCOL='http/json': grpc or http/protobuf",
        ),
        (
            "gateway",
            "OTEL_TRACES_EXPORTER",
            "zipkin",
            "invalid OTEL_TRACES_EXPORTER='zipkin': unknown exporter 'zipkin'",
        ),
        (
            "frontend",
            "OTEL_LOGS_EXPORTER",
            "prometheus",
            "invalid OTEL_LOGS_EXPORTER='prometheus': unknown exporter 'prometheus'",
        ),
        (
            "geolocator",
            "OTEL_METRICS_EXPORTER",
            "none,console",
            "invalid OTEL_METRICS_EXPORTER='none,console': none cannot be combined",
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
