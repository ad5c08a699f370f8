//! The real services and a real headless Chromium for one test.
//!
//! Every child process is started in its own process group and killed with
//! that group when its guard drops, so a failing test leaves no service,
//! ChromeDriver or Chromium behind. Each process writes its output to
//! `target/browser-checks/<test>/<name>.log`; on a failure the tail of every
//! log is printed.

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Debug builds on a busy 2-core machine can take a while to bind and load their data.
const STARTUP_DEADLINE: Duration = Duration::from_secs(60);
/// Poll interval while waiting for a log line or a ready endpoint.
const POLL: Duration = Duration::from_millis(50);
/// Lines of each log printed when a test fails.
const LOG_TAIL_LINES: usize = 40;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const GRAFANA_URL: &str = "http://127.0.0.1:3000";

const SERVICES: [&str; 4] = ["frontend", "gateway", "geolocator", "iss-distance"];

pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
    }
}

/// Where `cargo build --workspace --bins` put the service binaries.
fn binary_dir() -> PathBuf {
    let dir = target_dir().join("debug");
    let missing: Vec<_> = SERVICES
        .iter()
        .filter(|name| !dir.join(name).is_file())
        .collect();
    assert!(
        missing.is_empty(),
        "service binaries {missing:?} are missing from {}: run `cargo build --workspace --bins` before these tests",
        dir.display()
    );
    dir
}

/// Test screenshots, kept after the run.
pub fn artifact_path(file: &str) -> PathBuf {
    let dir = target_dir().join("artifacts");
    fs::create_dir_all(&dir).expect("create target/artifacts");
    dir.join(file)
}

/// One child process, killed together with its descendants when dropped.
struct Process {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Process {
    fn spawn(name: &str, mut command: Command, log: PathBuf) -> Self {
        let out = fs::File::create(&log).expect("create a log file under target/");
        let err = out.try_clone().expect("clone the log file handle");
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // Its own group, so Chromium (a child of ChromeDriver) dies with it.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {name}: {error}"));
        Self {
            name: name.to_owned(),
            child,
            log,
        }
    }

    fn output(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls the log until `parse` finds a line it accepts.
    async fn wait_for_line<T>(&mut self, what: &str, parse: impl Fn(&str) -> Option<T>) -> T {
        let deadline = Instant::now() + STARTUP_DEADLINE;
        loop {
            if let Some(found) = self.output().lines().find_map(&parse) {
                return found;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited with {status} before {what}; output:\n{}",
                    self.name,
                    self.output()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not log {what} within {STARTUP_DEADLINE:?}; output:\n{}",
                self.name,
                self.output()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Polls `url` until `ready` accepts a 200 response body.
    async fn wait_until_ready(&mut self, url: &str, ready: impl Fn(&str) -> bool) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + STARTUP_DEADLINE;
        loop {
            if let Ok(response) = client.get(url).timeout(Duration::from_secs(5)).send().await {
                if response.status().is_success()
                    && ready(&response.text().await.unwrap_or_default())
                {
                    return;
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited with {status} before it was ready; output:\n{}",
                    self.name,
                    self.output()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} was not ready at {url} within {STARTUP_DEADLINE:?}; output:\n{}",
                self.name,
                self.output()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    fn print_tail(&self) {
        let output = self.output();
        let lines: Vec<_> = output.lines().collect();
        let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
        eprintln!(
            "----- last {} lines of {} ({}) -----\n{}",
            tail.len(),
            self.name,
            self.log.display(),
            tail.join("\n")
        );
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.print_tail();
        }
        // The whole group: ChromeDriver leaves Chromium running when killed alone.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port in `... started application <name> <version> on port <port>`.
fn service_port(line: &str) -> Option<u16> {
    let (_, rest) = line.split_once("started application ")?;
    rest.rsplit_once(" on port ")?.1.trim().parse().ok()
}

/// The port in `ChromeDriver was started successfully on port <port>.`
fn chromedriver_port(line: &str) -> Option<u16> {
    let rest = line.split_once("started successfully on port ")?.1;
    rest.trim().trim_end_matches('.').parse().ok()
}

/// Starts one service binary on a port the kernel picks and waits for `/readyz`.
async fn start_service(binary: &str, env: &[(&str, String)], logs: &Path) -> (Process, String) {
    let mut command = Command::new(binary_dir().join(binary));
    // Nothing inherited: no stray OTEL_* or RUST_LOG from the caller changes what is tested.
    command
        .env_clear()
        .env("HOST", "127.0.0.1")
        // Port 0 (the kernel picks a free one, read back from the start-up log line) never races.
        .env("PORT", "0")
        .env("RUST_LOG", "info")
        .env("RUST_BACKTRACE", "1")
        .envs(env.iter().map(|(key, value)| (key, value)));
    let mut process = Process::spawn(binary, command, logs.join(format!("{binary}.log")));
    let port = process
        .wait_for_line("its 'started application' line", service_port)
        .await;
    let url = format!("http://127.0.0.1:{port}/");
    process
        .wait_until_ready(&format!("{url}readyz"), |_| true)
        .await;
    (process, url)
}

/// The four services wired together, plus ChromeDriver driving a fresh headless Chromium.
pub struct Browser {
    /// The WebDriver session; `None` once closed.
    client: Option<Client>,
    pub frontend_url: String,
    profile: PathBuf,
    /// ChromeDriver first, then the services: killed in this order.
    processes: Vec<Process>,
}

impl Browser {
    /// Starts everything for the test `test_name`.
    pub async fn start(test_name: &str) -> Self {
        for (path, what) in [(CHROMIUM, "Chromium"), (CHROMEDRIVER, "ChromeDriver")] {
            assert!(
                Path::new(path).is_file(),
                "{what} is missing ({path}): install it with `apt-get install -y chromium chromium-driver`"
            );
        }
        let logs = target_dir().join("browser-checks").join(test_name);
        let _ = fs::remove_dir_all(&logs);
        fs::create_dir_all(&logs).expect("create the log directory under target/");
        // ChromeDriver cannot find Chromium's DevToolsActivePort under a path with `..` in it.
        let logs = fs::canonicalize(&logs).expect("resolve the log directory");

        let geolocator_env = [("GEOCODER", "gazetteer".to_owned())];
        let iss_env = [("ISS_POSITION_SOURCE", "sgp4".to_owned())];
        let ((geolocator, geolocator_url), (iss_distance, iss_url)) = tokio::join!(
            start_service("geolocator", &geolocator_env, &logs),
            start_service("iss-distance", &iss_env, &logs),
        );
        let gateway_env = [
            ("GEOLOCATOR_SERVICE_URL", geolocator_url),
            ("ISS_DISTANCE_SERVICE_URL", iss_url),
        ];
        let (gateway, gateway_url) = start_service("gateway", &gateway_env, &logs).await;
        let frontend_env = [
            ("GATEWAY_URL", gateway_url),
            ("GRAFANA_URL", GRAFANA_URL.to_owned()),
        ];
        let (frontend, frontend_url) = start_service("frontend", &frontend_env, &logs).await;

        let mut command = Command::new(CHROMEDRIVER);
        // Port 0: ChromeDriver picks a free port and logs it.
        command.args(["--port=0", "--allowed-ips=127.0.0.1"]);
        let mut chromedriver =
            Process::spawn("chromedriver", command, logs.join("chromedriver.log"));
        let port = chromedriver
            .wait_for_line("its 'started successfully' line", chromedriver_port)
            .await;
        let webdriver_url = format!("http://127.0.0.1:{port}");
        chromedriver
            .wait_until_ready(&format!("{webdriver_url}/status"), |body| {
                serde_json::from_str::<serde_json::Value>(body)
                    .is_ok_and(|status| status["value"]["ready"] == true)
            })
            .await;

        let profile = logs.join("chromium-profile");
        fs::create_dir_all(&profile).expect("create the Chromium profile directory");
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(chrome_capabilities(&profile))
            .connect(&webdriver_url)
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "ChromeDriver could not start Chromium: {error}; output:\n{}",
                    chromedriver.output()
                )
            });
        Self {
            client: Some(client),
            frontend_url,
            profile,
            processes: vec![chromedriver, frontend, gateway, geolocator, iss_distance],
        }
    }

    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("the session is open")
    }

    /// Ends the WebDriver session cleanly (Chromium quits); the processes go on drop.
    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            client.close().await.expect("close the WebDriver session");
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Chromium must be gone before its profile is removed.
        self.processes.clear();
        let _ = fs::remove_dir_all(&self.profile);
    }
}

fn chrome_capabilities(profile: &Path) -> Capabilities {
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        // Tall enough for the whole answer page (form, sentence and map) in one screenshot.
        "--window-size=900,900",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect::<Vec<_>>();
    serde_json::from_value(serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
    }))
    .expect("capabilities are a JSON object")
}
