//! The real services, exporting to an in-process OTLP receiver (as a user's
//! export to the collector behind Grafana), and a real headless Chromium for one test, started by
//! `testkit`: every process in its own group, killed with it when the test
//! ends (so no service, ChromeDriver or Chromium outlives a failure), its
//! output in `target/test-logs/<test>/` and its last lines printed when the
//! test fails.

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use otlp_receiver::OtlpReceiver;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use testkit::{target_dir, Process, Protocol, Stack, StackBuilder};

/// ChromeDriver starts Chromium on demand; on a busy 2-core machine that can take a while.
const STARTUP_DEADLINE: Duration = Duration::from_secs(60);

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const GRAFANA_URL: &str = "http://127.0.0.1:3000";

/// Test screenshots, kept after the run.
pub fn artifact_path(file: &str) -> PathBuf {
    let dir = target_dir().join("artifacts");
    fs::create_dir_all(&dir).expect("create target/artifacts");
    dir.join(file)
}

/// The port in `ChromeDriver was started successfully on port <port>.`
fn chromedriver_port(line: &str) -> Option<u16> {
    let rest = line.split_once("started successfully on port ")?.1;
    rest.trim().trim_end_matches('.').parse().ok()
}

/// The four services wired together, plus ChromeDriver driving a fresh headless Chromium.
pub struct Browser {
    /// The WebDriver session; `None` once closed.
    client: Option<Client>,
    pub frontend_url: String,
    profile: PathBuf,
    /// `None` once killed: it goes first, with Chromium, before the profile is removed.
    chromedriver: Option<Process>,
    _stack: Stack,
    /// What the services exported (a trace link must lead to a trace that exists).
    pub receiver: OtlpReceiver,
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
        let receiver = OtlpReceiver::start().expect("start the OTLP receiver");
        let stack = StackBuilder::new(test_name)
            .env("GRAFANA_URL", GRAFANA_URL)
            .otlp(&receiver.endpoint(), Protocol::Grpc)
            .start()
            .await;
        let logs = testkit::log_dir(&format!("{test_name}-chromedriver"));

        let mut command = Command::new(CHROMEDRIVER);
        // Port 0: ChromeDriver picks a free port and logs it.
        command.args(["--port=0", "--allowed-ips=127.0.0.1"]);
        let mut chromedriver = Process::spawn("chromedriver", command, &logs);
        let webdriver_port = chromedriver
            .wait_for_port(STARTUP_DEADLINE, chromedriver_port)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        let webdriver_url = format!("http://127.0.0.1:{webdriver_port}");
        chromedriver
            .wait_until_ready(
                &format!("{webdriver_url}/status"),
                STARTUP_DEADLINE,
                |body| {
                    serde_json::from_str::<serde_json::Value>(body)
                        .is_ok_and(|status| status["value"]["ready"] == true)
                },
            )
            .await
            .unwrap_or_else(|error| panic!("{error}"));

        let profile = logs.join("chromium-profile");
        fs::create_dir_all(&profile).expect("create the Chromium profile directory");
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(chrome_capabilities(&profile))
            .connect(&webdriver_url)
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "ChromeDriver could not start Chromium: {error}\n{}",
                    chromedriver.output_tail()
                )
            });
        Self {
            client: Some(client),
            frontend_url: stack.frontend.url(),
            profile,
            chromedriver: Some(chromedriver),
            _stack: stack,
            receiver,
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
        self.chromedriver = None;
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
