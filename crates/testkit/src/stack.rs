//! The four service binaries, started on `PORT=0` and wired to each other.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::paths::{binary, log_dir, Profile};
use crate::process::{Process, ProcessError};

/// The service binaries in dependency order: each is wired only to those before it.
pub const SERVICES: [&str; 4] = ["geolocator", "iss-distance", "gateway", "frontend"];

/// The topology: (service, its URL variable, the service that variable points at).
const WIRING: [(&str, &str, &str); 3] = [
    ("gateway", "GEOLOCATOR_SERVICE_URL", "geolocator"),
    ("gateway", "ISS_DISTANCE_SERVICE_URL", "iss-distance"),
    ("frontend", "GATEWAY_URL", "gateway"),
];

/// The module that logs "started application <name> <version> on port <port>":
/// kept at `info` whatever `RUST_LOG` says, as the port is read from that line.
const STARTUP_LOG_TARGET: &str = "service_kit::server";

/// Debug builds on a busy 2-core machine take a while to bind and load their data.
const STARTUP_DEADLINE: Duration = Duration::from_secs(60);

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

/// The port in `... started application <name> <version> on port <port>`.
fn started_port(line: &str) -> Option<u16> {
    let (_, rest) = line.split_once("started application ")?;
    rest.rsplit_once(" on port ")?.1.trim().parse().ok()
}

/// The environment and binaries of a set of service processes; later settings win.
pub struct StackBuilder {
    log_dir: PathBuf,
    binary_dir: Option<PathBuf>,
    startup_deadline: Duration,
    common: Vec<(String, String)>,
    per_service: Vec<(String, String, String)>,
    /// (service, program, arguments) run in place of the service's own binary.
    programs: Vec<(String, PathBuf, Vec<String>)>,
}

impl StackBuilder {
    /// A test's services: offline defaults, `RUST_LOG=info`, backtraces, a
    /// Grafana URL, no OTLP yet; output in `target/test-logs/<test_name>/<binary>.stderr|.stdout`.
    pub fn new(test_name: &str) -> Self {
        Self::offline(&log_dir(test_name))
            .env("RUST_LOG", "info")
            .env("RUST_BACKTRACE", "1")
            // Any base URL makes the frontend render its trace link, which carries the trace id.
            .env("GRAFANA_URL", "http://grafana.invalid:3000/")
    }

    /// Only the offline defaults (SGP4 ISS position, gazetteer geocoder); output in `log_dir` (created).
    pub fn offline(log_dir: &Path) -> Self {
        std::fs::create_dir_all(log_dir)
            .unwrap_or_else(|error| panic!("create {}: {error}", log_dir.display()));
        Self {
            log_dir: log_dir.to_path_buf(),
            binary_dir: None,
            startup_deadline: STARTUP_DEADLINE,
            common: Vec::new(),
            per_service: Vec::new(),
            programs: Vec::new(),
        }
        .env("ISS_POSITION_SOURCE", "sgp4")
        .env("GEOCODER", "gazetteer")
    }

    /// Binaries from `dir` instead of the workspace's debug build.
    pub fn binaries(mut self, dir: &Path) -> Self {
        self.binary_dir = Some(dir.to_path_buf());
        self
    }

    /// How long each service may take to announce its port and answer `/readyz`.
    pub fn startup_deadline(mut self, within: Duration) -> Self {
        self.startup_deadline = within;
        self
    }

    /// Exports to `endpoint` over `protocol`, with short export intervals so tests need not wait long.
    pub fn otlp(self, endpoint: &str, protocol: Protocol) -> Self {
        self.env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
            .env("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.env_value())
            .env("OTEL_METRIC_EXPORT_INTERVAL", "500")
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            .env("OTEL_BLRP_SCHEDULE_DELAY", "100")
    }

    /// iss-distance asks the ISS API at `url` (a mock, a closed port) in `source` mode (`live`, `auto`).
    pub fn iss_api(self, source: &str, url: &str) -> Self {
        self.service_env("iss-distance", "ISS_POSITION_SOURCE", source)
            .service_env("iss-distance", "ISS_API_URL", url)
    }

    /// Runs `program args` as the service `name` instead of its binary: a stand-in
    /// that speaks the same start-up protocol (the "on port N" line, `/readyz`)
    /// is wired, named and awaited exactly like the service it replaces.
    pub fn program(mut self, name: &str, program: &Path, args: &[&str]) -> Self {
        self.programs.retain(|(service, _, _)| service != name);
        self.programs.push((
            name.to_owned(),
            program.to_path_buf(),
            args.iter().map(|arg| (*arg).to_owned()).collect(),
        ));
        self
    }

    /// A variable for every service.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.common.push((key.to_owned(), value.to_owned()));
        self
    }

    /// A variable for one binary only; it wins over the stack's own wiring.
    pub fn service_env(mut self, binary: &str, key: &str, value: &str) -> Self {
        self.per_service
            .push((binary.to_owned(), key.to_owned(), value.to_owned()));
        self
    }

    /// `binary`'s command: exactly this environment (nothing inherited, so no
    /// stray `OTEL_*` or `RUST_LOG` of the caller changes what is tested), on
    /// 127.0.0.1 and a port the kernel picks.
    fn command(&self, binary_name: &str, running: &[&Process]) -> Command {
        let wiring = WIRING
            .iter()
            .filter(|(service, _, _)| *service == binary_name)
            .filter_map(|(_, key, downstream)| {
                let process = running.iter().find(|p| p.name() == *downstream)?;
                Some(((*key).to_owned(), process.url()))
            });
        let mut env: Vec<(String, String)> = self.common.clone();
        env.extend(wiring);
        env.extend(
            self.per_service
                .iter()
                .filter(|(b, _, _)| b == binary_name)
                .map(|(_, k, v)| (k.clone(), v.clone())),
        );
        let rust_log = env
            .iter()
            .rev()
            .find(|(key, _)| key == "RUST_LOG")
            .map_or("info".to_owned(), |(_, value)| value.clone());
        let stand_in = self
            .programs
            .iter()
            .find(|(service, _, _)| service == binary_name);
        let path = match (stand_in, &self.binary_dir) {
            (Some((_, program, _)), _) => program.clone(),
            (None, Some(dir)) => dir.join(binary_name),
            (None, None) => binary(Profile::Debug, binary_name),
        };
        let mut command = Command::new(path);
        if let Some((_, _, args)) = stand_in {
            command.args(args);
        }
        command
            .env_clear()
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .envs(env)
            .env("RUST_LOG", format!("{rust_log},{STARTUP_LOG_TARGET}=info"));
        command
    }

    /// Starts `binary` wired to the `running` services; returns once it has
    /// announced its port, without waiting for `/readyz`.
    pub async fn spawn_service(
        &self,
        binary_name: &str,
        running: &[&Process],
    ) -> Result<Process, ProcessError> {
        let command = self.command(binary_name, running);
        let mut process = Process::spawn_separate(binary_name, command, &self.log_dir);
        process
            .wait_for_port(self.startup_deadline, started_port)
            .await?;
        Ok(process)
    }

    /// Starts `binary` wired to the `running` services and waits until it serves `/readyz`.
    pub async fn try_start_service(
        &self,
        binary_name: &str,
        running: &[&Process],
    ) -> Result<Process, ProcessError> {
        let mut process = self.spawn_service(binary_name, running).await?;
        let readyz = format!("{}readyz", process.url());
        process
            .wait_until_ready(&readyz, self.startup_deadline, |_| true)
            .await?;
        Ok(process)
    }

    /// Starts one binary on its own (no downstream wiring) and waits until it is ready.
    pub async fn start_one(&self, binary_name: &str) -> Process {
        self.try_start_service(binary_name, &[])
            .await
            .unwrap_or_else(|error| panic!("{error}"))
    }

    /// Starts `binaries` one after the other, in [`SERVICES`] order, each
    /// wired to those started before it and ready before the next starts.
    pub async fn try_start_services(
        &self,
        binaries: &[&str],
    ) -> Result<Vec<Process>, ProcessError> {
        let mut started: Vec<Process> = Vec::new();
        for name in SERVICES.iter().filter(|name| binaries.contains(name)) {
            let running: Vec<&Process> = started.iter().collect();
            let process = self.try_start_service(name, &running).await?;
            started.push(process);
        }
        Ok(started)
    }

    /// Starts the four services wired to each other: frontend -> gateway -> geolocator and iss-distance.
    pub async fn start(self) -> Stack {
        let (geolocator, iss_distance) =
            tokio::join!(self.start_one("geolocator"), self.start_one("iss-distance"));
        let gateway = self
            .try_start_service("gateway", &[&geolocator, &iss_distance])
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        let frontend = self
            .try_start_service("frontend", &[&gateway])
            .await
            .unwrap_or_else(|error| panic!("{error}"));
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
    pub frontend: Process,
    pub gateway: Process,
    pub geolocator: Process,
    pub iss_distance: Process,
}

impl Stack {
    pub fn processes(&self) -> [&Process; 4] {
        [
            &self.frontend,
            &self.gateway,
            &self.geolocator,
            &self.iss_distance,
        ]
    }

    pub fn processes_mut(&mut self) -> [&mut Process; 4] {
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
            started_port("[2026-01-01T00:00:00Z INFO  service_kit::server] started application gateway 0.1.0 on port 40123"),
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

    #[test]
    fn a_service_is_wired_to_the_running_ones_and_its_own_settings_win() {
        let builder = StackBuilder::new("testkit-wiring")
            .binaries(Path::new("/nonexistent"))
            .env("RUST_LOG", "warn")
            .service_env("gateway", "ISS_DISTANCE_SERVICE_URL", "http://127.0.0.1:1/");
        let command = builder.command("gateway", &[]);
        let env: Vec<(String, String)> = command
            .get_envs()
            .filter_map(|(k, v)| Some((k.to_str()?.to_owned(), v?.to_str()?.to_owned())))
            .collect();
        let last = |key: &str| {
            env.iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(last("PORT"), Some("0"));
        assert_eq!(last("RUST_LOG"), Some("warn,service_kit::server=info"));
        assert_eq!(
            last("ISS_DISTANCE_SERVICE_URL"),
            Some("http://127.0.0.1:1/")
        );
        // Nothing runs, so there is nothing to wire the geolocator URL to.
        assert_eq!(last("GEOLOCATOR_SERVICE_URL"), None);
    }

    #[test]
    fn a_stand_in_program_replaces_only_its_service() {
        let builder = StackBuilder::new("testkit-stand-in")
            .binaries(Path::new("/bin-dir"))
            .program("gateway", Path::new("/tools/bare"), &["--role", "gateway"]);
        let gateway = builder.command("gateway", &[]);
        assert_eq!(gateway.get_program(), "/tools/bare");
        assert_eq!(
            gateway.get_args().collect::<Vec<_>>(),
            ["--role", "gateway"]
        );
        let geolocator = builder.command("geolocator", &[]);
        assert_eq!(geolocator.get_program(), "/bin-dir/geolocator");
        assert_eq!(geolocator.get_args().count(), 0);
    }
}
