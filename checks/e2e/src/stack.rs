//! The real service binaries as child processes.
//!
//! Each binary is started with `PORT=0` and its bound port is read from its
//! own "started application ... on port N" log line, so parallel tests never
//! race for ports; downstream URLs are wired in dependency order. Every
//! process's stderr goes to `target/e2e-logs/<test>/<binary>.stderr` for
//! diagnosis, and a process still running when its handle drops is killed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Service binaries take this long at most to bind and answer `/readyz` (debug builds, busy machine).
const STARTUP_DEADLINE: Duration = Duration::from_secs(60);
/// Poll interval while waiting for a process to start or exit.
const POLL: Duration = Duration::from_millis(25);

/// `OTEL_EXPORTER_OTLP_PROTOCOL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Grpc,
    HttpProtobuf,
}

impl Protocol {
    pub fn env_value(self) -> &'static str {
        match self {
            Self::Grpc => "grpc",
            Self::HttpProtobuf => "http/protobuf",
        }
    }
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
    }
}

/// Where `cargo build --workspace --bins` put the service binaries.
pub fn binary_dir() -> PathBuf {
    // The test executable lives in <target>/debug/deps, next to the binaries of the same build.
    let beside_tests = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.to_path_buf()));
    let candidates = beside_tests.into_iter().chain([target_dir().join("debug")]);
    let binaries = ["frontend", "gateway", "geolocator", "iss-distance"];
    let mut tried = Vec::new();
    for dir in candidates {
        if binaries.iter().all(|name| dir.join(name).is_file()) {
            return dir;
        }
        tried.push(dir.display().to_string());
    }
    panic!(
        "the service binaries are not built (looked in {}): run `cargo build --workspace --bins` first",
        tried.join(", ")
    );
}

/// A fresh directory for one test's process logs.
fn log_dir(test_name: &str) -> PathBuf {
    let dir = target_dir().join("e2e-logs").join(test_name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create the e2e log directory under target/");
    dir
}

/// One running service binary.
pub struct ServiceProcess {
    pub binary: &'static str,
    port: u16,
    child: Child,
    stderr_path: PathBuf,
    stdout_path: PathBuf,
}

impl ServiceProcess {
    /// Starts `binary` with exactly `env` (nothing inherited) and waits until it serves `/readyz`.
    pub async fn start(binary: &'static str, env: &[(String, String)], log_dir: &Path) -> Self {
        let stderr_path = log_dir.join(format!("{binary}.stderr"));
        let stderr = fs::File::create(&stderr_path).expect("create the stderr file");
        // stdout carries the console exporters' output (OTEL_*_EXPORTER=console).
        let stdout_path = log_dir.join(format!("{binary}.stdout"));
        let stdout = fs::File::create(&stdout_path).expect("create the stdout file");
        let child = Command::new(binary_dir().join(binary))
            .env_clear()
            .envs(env.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {binary}: {error}"));
        let mut process = Self {
            binary,
            port: 0,
            child,
            stderr_path,
            stdout_path,
        };
        process.port = process.wait_for_port().await;
        process.wait_ready().await;
        process
    }

    async fn wait_for_port(&mut self) -> u16 {
        let deadline = Instant::now() + STARTUP_DEADLINE;
        loop {
            if let Some(port) = self.stderr().lines().find_map(started_port) {
                return port;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited with {status} before it started; stderr:\n{}",
                    self.binary,
                    self.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} logged no 'started application' line within {STARTUP_DEADLINE:?}; stderr:\n{}",
                self.binary,
                self.stderr()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    async fn wait_ready(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + STARTUP_DEADLINE;
        loop {
            let ready = client
                .get(format!("{}readyz", self.url()))
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .is_ok_and(|response| response.status().is_success());
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} is not ready within {STARTUP_DEADLINE:?}; stderr:\n{}",
                self.binary,
                self.stderr()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>/`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the process wrote to stdout so far.
    pub fn stdout(&self) -> String {
        fs::read_to_string(&self.stdout_path).unwrap_or_default()
    }

    /// What the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Sends SIGTERM, as `docker stop` or systemd would.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM {} failed", self.pid());
    }

    /// Waits for the process to exit and returns its status.
    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the child") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit within {within:?}; stderr:\n{}",
                self.binary,
                self.stderr()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// SIGTERM, then the exit status (within `within`).
    pub async fn stop(&mut self, within: Duration) -> ExitStatus {
        self.terminate();
        self.wait_exit(within).await
    }

    /// Resident set size in KiB, from `/proc/<pid>/status`.
    pub fn rss_kib(&self) -> u64 {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .unwrap_or_else(|error| panic!("{} is gone: {error}", self.binary));
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/<pid>/status")
    }

    /// `GET /metrics` as text.
    pub async fn scrape(&self) -> String {
        let response = reqwest::get(format!("{}metrics", self.url()))
            .await
            .unwrap_or_else(|error| panic!("scrape {}: {error}", self.binary));
        assert_eq!(response.status(), 200, "/metrics of {}", self.binary);
        response.text().await.expect("a text body")
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The port in `... started application <name> <version> on port <port>`.
fn started_port(line: &str) -> Option<u16> {
    let (_, rest) = line.split_once("started application ")?;
    rest.rsplit_once(" on port ")?.1.trim().parse().ok()
}

/// Environment for a set of service processes; later settings win.
pub struct StackBuilder {
    log_dir: PathBuf,
    common: Vec<(String, String)>,
    per_service: Vec<(&'static str, String, String)>,
}

impl StackBuilder {
    /// Offline defaults (SGP4 ISS position, gazetteer geocoder), `RUST_LOG=info`, no OTLP yet.
    pub fn new(test_name: &str) -> Self {
        let builder = Self {
            log_dir: log_dir(test_name),
            common: Vec::new(),
            per_service: Vec::new(),
        };
        builder
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("RUST_LOG", "info")
            .env("RUST_BACKTRACE", "1")
            .env("ISS_POSITION_SOURCE", "sgp4")
            .env("GEOCODER", "gazetteer")
            // Any base URL makes the frontend render its trace link, which carries the trace id.
            .env("GRAFANA_URL", "http://grafana.invalid:3000/")
    }

    /// Exports to `endpoint` over `protocol`, with short export intervals so tests need not wait long.
    pub fn otlp(self, endpoint: &str, protocol: Protocol) -> Self {
        self.env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
            .env("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.env_value())
            .env("OTEL_METRIC_EXPORT_INTERVAL", "500")
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            .env("OTEL_BLRP_SCHEDULE_DELAY", "100")
    }

    /// A variable for every service.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.common.push((key.to_owned(), value.to_owned()));
        self
    }

    /// A variable for one binary only.
    pub fn service_env(mut self, binary: &'static str, key: &str, value: &str) -> Self {
        self.per_service
            .push((binary, key.to_owned(), value.to_owned()));
        self
    }

    fn env_for(&self, binary: &str, wiring: &[(&str, String)]) -> Vec<(String, String)> {
        let mut env = self.common.clone();
        env.extend(wiring.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        env.extend(
            self.per_service
                .iter()
                .filter(|(b, _, _)| *b == binary)
                .map(|(_, k, v)| (k.clone(), v.clone())),
        );
        env
    }

    /// Starts one binary on its own (no downstream wiring).
    pub async fn start_one(&self, binary: &'static str) -> ServiceProcess {
        ServiceProcess::start(binary, &self.env_for(binary, &[]), &self.log_dir).await
    }

    /// Starts the four services wired to each other: frontend -> gateway -> geolocator and iss-distance.
    pub async fn start(self) -> Stack {
        let (geolocator, iss_distance) =
            tokio::join!(self.start_one("geolocator"), self.start_one("iss-distance"));
        let gateway_env = self.env_for(
            "gateway",
            &[
                ("GEOLOCATOR_SERVICE_URL", geolocator.url()),
                ("ISS_DISTANCE_SERVICE_URL", iss_distance.url()),
            ],
        );
        let gateway = ServiceProcess::start("gateway", &gateway_env, &self.log_dir).await;
        let frontend_env = self.env_for("frontend", &[("GATEWAY_URL", gateway.url())]);
        let frontend = ServiceProcess::start("frontend", &frontend_env, &self.log_dir).await;
        Stack {
            frontend,
            gateway,
            geolocator,
            iss_distance,
        }
    }
}

/// The four services of one test.
pub struct Stack {
    pub frontend: ServiceProcess,
    pub gateway: ServiceProcess,
    pub geolocator: ServiceProcess,
    pub iss_distance: ServiceProcess,
}

impl Stack {
    pub fn processes(&self) -> [&ServiceProcess; 4] {
        [
            &self.frontend,
            &self.gateway,
            &self.geolocator,
            &self.iss_distance,
        ]
    }

    pub fn processes_mut(&mut self) -> [&mut ServiceProcess; 4] {
        [
            &mut self.frontend,
            &mut self.gateway,
            &mut self.geolocator,
            &mut self.iss_distance,
        ]
    }

    /// The frontend's answer page for `location` (query-encoded here).
    pub fn frontend_page_url(&self, location: &str) -> String {
        with_location(&self.frontend.url(), location)
    }

    /// The gateway's JSON answer for `location`.
    pub fn gateway_url(&self, location: &str) -> String {
        with_location(&self.gateway.url(), location)
    }
}

/// `base?location=<encoded>`.
pub fn with_location(base: &str, location: &str) -> String {
    let mut url = reqwest::Url::parse(base).expect("a service URL");
    url.query_pairs_mut().append_pair("location", location);
    url.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_is_read_from_the_started_line_only() {
        assert_eq!(
            started_port("[2026-01-01T00:00:00Z INFO  service_common::server] started application gateway 0.1.0 on port 40123"),
            Some(40123)
        );
        assert_eq!(
            started_port("received request from IP address 127.0.0.1"),
            None
        );
        assert_eq!(
            started_port("started application gateway 0.1.0 on port x"),
            None
        );
    }

    #[test]
    fn locations_are_query_encoded() {
        assert_eq!(
            with_location("http://127.0.0.1:1/", "São Paulo, Brazil"),
            "http://127.0.0.1:1/?location=S%C3%A3o+Paulo%2C+Brazil"
        );
    }
}
