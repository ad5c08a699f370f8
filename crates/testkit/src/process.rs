//! One child process of a test or tool.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use rustix::process::Signal;
use rustix::process::{kill_process, kill_process_group, Pid};
use tokio::sync::watch;

/// Poll interval for an exit or an HTTP readiness check; output is waited on without polling.
const POLL: Duration = Duration::from_millis(10);
/// Lines of output shown with a failure.
const TAIL_LINES: usize = 40;
/// How long the output of an exited process may take to drain from its pipes.
const DRAIN_DEADLINE: Duration = Duration::from_secs(5);

/// A process that did not do what was waited for; the message ends with its last lines of output.
#[derive(Debug)]
pub struct ProcessError(String);

impl std::fmt::Display for ProcessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProcessError {}

/// Where the output goes: services keep stdout (console exporters) apart from
/// stderr (their log); other programs get one interleaved `<name>.log`.
enum Logs {
    Separate { stdout: PathBuf, stderr: PathBuf },
    Combined(PathBuf),
}

/// A running child in its own process group, killed with its group when dropped.
pub struct Process {
    name: String,
    child: Child,
    spawned_at: Instant,
    logs: Logs,
    /// Counts the lines copied so far; closed once both pipes are at their end.
    output: watch::Receiver<u64>,
    port: Option<u16>,
    host: String,
    ready_after: Option<Duration>,
    exited: Option<ExitStatus>,
}

impl Process {
    /// Starts `command` with its stdout and stderr interleaved in `<log_dir>/<name>.log`.
    pub fn spawn(name: &str, command: Command, log_dir: &Path) -> Self {
        Self::spawn_with_logs(
            name,
            command,
            Logs::Combined(log_dir.join(format!("{name}.log"))),
        )
    }

    /// Starts `command` with its stdout and stderr in `<log_dir>/<name>.stdout` and `.stderr`.
    pub fn spawn_separate(name: &str, command: Command, log_dir: &Path) -> Self {
        Self::spawn_with_logs(
            name,
            command,
            Logs::Separate {
                stdout: log_dir.join(format!("{name}.stdout")),
                stderr: log_dir.join(format!("{name}.stderr")),
            },
        )
    }

    fn spawn_with_logs(name: &str, mut command: Command, logs: Logs) -> Self {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own group, so whatever it starts (Chromium under ChromeDriver,
            // the services under a script) goes with it.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {name}: {error}"));
        let create = |path: &Path| {
            File::create(path).unwrap_or_else(|error| panic!("create {}: {error}", path.display()))
        };
        let (stdout_file, stderr_file) = match &logs {
            Logs::Separate { stdout, stderr } => (
                Arc::new(Mutex::new(create(stdout))),
                Arc::new(Mutex::new(create(stderr))),
            ),
            Logs::Combined(path) => {
                let file = Arc::new(Mutex::new(create(path)));
                (file.clone(), file)
            }
        };
        let (lines, output) = watch::channel(0);
        let lines = Arc::new(lines);
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        copy_lines(stdout, stdout_file, lines.clone());
        copy_lines(stderr, stderr_file, lines);
        Self {
            name: name.to_owned(),
            child,
            spawned_at: Instant::now(),
            logs,
            output,
            port: None,
            host: "127.0.0.1".to_owned(),
            ready_after: None,
            exited: None,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// From its start to the first answer [`wait_until_ready`](Self::wait_until_ready) accepted.
    pub fn ready_after(&self) -> Option<Duration> {
        self.ready_after
    }

    /// The port it announced ([`wait_for_port`](Self::wait_for_port)).
    pub fn port(&self) -> u16 {
        self.port
            .unwrap_or_else(|| panic!("{} has announced no port", self.name))
    }

    /// `http://<host>:<port>/`
    pub fn url(&self) -> String {
        format!("http://{}:{}/", self.host, self.port())
    }

    /// The address [`url`](Self::url) uses (127.0.0.1 unless set).
    pub fn set_host(&mut self, host: &str) {
        host.clone_into(&mut self.host);
    }

    /// What it wrote to stdout so far (everything it wrote, for a combined log).
    pub fn stdout(&self) -> String {
        match &self.logs {
            Logs::Separate { stdout, .. } => read(stdout),
            Logs::Combined(path) => read(path),
        }
    }

    /// What it wrote to stderr so far (everything it wrote, for a combined log).
    pub fn stderr(&self) -> String {
        match &self.logs {
            Logs::Separate { stderr, .. } => read(stderr),
            Logs::Combined(path) => read(path),
        }
    }

    /// Everything it wrote so far: stderr, then stdout, when they are kept apart.
    pub fn output(&self) -> String {
        match &self.logs {
            Logs::Separate { stdout, stderr } => format!("{}{}", read(stderr), read(stdout)),
            Logs::Combined(path) => read(path),
        }
    }

    /// Its last lines of output, under a header naming the log files.
    pub fn output_tail(&self) -> String {
        let files = match &self.logs {
            Logs::Separate { stdout, stderr } => {
                format!("{} and {}", stderr.display(), stdout.display())
            }
            Logs::Combined(path) => path.display().to_string(),
        };
        let output = self.output();
        let lines: Vec<&str> = output.lines().collect();
        let tail = &lines[lines.len().saturating_sub(TAIL_LINES)..];
        format!(
            "----- last {} lines of {} ({files}) -----\n{}",
            tail.len(),
            self.name,
            tail.join("\n")
        )
    }

    fn error(&self, message: String) -> ProcessError {
        self.drain_if_exited();
        ProcessError(format!("{message}\n{}", self.output_tail()))
    }

    /// Once it has exited, waits (briefly) for the copy threads to reach the
    /// end of its pipes, so that its last words are in the logs.
    fn drain_if_exited(&self) {
        if self.exited.is_none() {
            return;
        }
        let deadline = Instant::now() + DRAIN_DEADLINE;
        // Closed once both copy threads are done.
        while self.output.has_changed().is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Its exit status, if it has exited.
    pub fn try_exit_status(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().ok().flatten();
        }
        self.exited
    }

    /// An error with its output if it has exited: a config error fails the test with the program's own message.
    pub fn check_running(&mut self) -> Result<(), ProcessError> {
        match self.try_exit_status() {
            Some(status) => Err(self.error(format!("{} exited with {status}", self.name))),
            None => Ok(()),
        }
    }

    /// Panics with its output if it has exited.
    pub fn assert_running(&mut self) {
        if let Err(error) = self.check_running() {
            panic!("{error}");
        }
    }

    /// Waits until a line of its output gives `find` what it looks for.
    pub async fn wait_for_line<T>(
        &mut self,
        what: &str,
        within: Duration,
        find: impl Fn(&str) -> Option<T>,
    ) -> Result<T, ProcessError> {
        let deadline = Instant::now() + within;
        loop {
            // Marked seen before reading, so a line written meanwhile wakes the wait below.
            self.output.borrow_and_update();
            if let Some(found) = self.output().lines().find_map(&find) {
                return Ok(found);
            }
            if let Some(status) = self.try_exit_status() {
                // The line may have been on its way when it exited.
                self.drain_if_exited();
                if let Some(found) = self.output().lines().find_map(&find) {
                    return Ok(found);
                }
                return Err(self.error(format!("{} exited with {status} before {what}", self.name)));
            }
            if Instant::now() >= deadline {
                return Err(self.error(format!("{} showed no {what} within {within:?}", self.name)));
            }
            // Woken by new output; the timeout notices an exit that printed nothing.
            let _ = tokio::time::timeout(POLL * 10, self.output.changed()).await;
        }
    }

    /// Waits for the line in which it announces its port, and keeps that port for [`url`](Self::url).
    pub async fn wait_for_port(
        &mut self,
        within: Duration,
        announcement: impl Fn(&str) -> Option<u16>,
    ) -> Result<u16, ProcessError> {
        let port = self
            .wait_for_line("the line announcing its port", within, announcement)
            .await?;
        self.port = Some(port);
        Ok(port)
    }

    /// Polls `url` until it answers a success whose body `accept` takes.
    pub async fn wait_until_ready(
        &mut self,
        url: &str,
        within: Duration,
        accept: impl Fn(&str) -> bool,
    ) -> Result<(), ProcessError> {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + within;
        loop {
            let answer = client.get(url).timeout(Duration::from_secs(5)).send().await;
            if let Ok(response) = answer {
                if response.status().is_success()
                    && accept(&response.text().await.unwrap_or_default())
                {
                    self.ready_after = Some(self.spawned_at.elapsed());
                    return Ok(());
                }
            }
            if let Some(status) = self.try_exit_status() {
                return Err(self.error(format!(
                    "{} exited with {status} before {url} answered",
                    self.name
                )));
            }
            if Instant::now() >= deadline {
                return Err(self.error(format!(
                    "{} was not ready at {url} within {within:?}",
                    self.name
                )));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Sends `signal` to the process itself (not its group): what a supervisor does.
    pub fn send(&self, signal: Signal) -> std::io::Result<()> {
        kill_process(Pid::from_child(&self.child), signal).map_err(std::io::Error::from)
    }

    /// SIGTERM, as `docker stop` or systemd send.
    pub fn terminate(&self) {
        self.send(Signal::TERM)
            .unwrap_or_else(|error| panic!("SIGTERM to {}: {error}", self.name));
    }

    /// SIGINT, as Ctrl-C in a terminal sends.
    pub fn interrupt(&self) {
        self.send(Signal::INT)
            .unwrap_or_else(|error| panic!("SIGINT to {}: {error}", self.name));
    }

    /// Its exit status once it has exited within `within` (and its output has
    /// drained into the logs), or `None` while it still runs.
    pub async fn exit_status_within(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.try_exit_status() {
                break status;
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(POLL).await;
        };
        // The copy threads close the channel at the end of both pipes; a child
        // it left running could hold them open, hence the bound.
        let _ = tokio::time::timeout(DRAIN_DEADLINE, async {
            while self.output.changed().await.is_ok() {}
        })
        .await;
        Some(status)
    }

    /// Waits for it to exit; panics with its output if it is still running after `within`.
    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        match self.exit_status_within(within).await {
            Some(status) => status,
            None => panic!(
                "{}",
                self.error(format!("{} did not exit within {within:?}", self.name))
            ),
        }
    }

    /// SIGTERM, then its exit status (within `within`).
    pub async fn stop(&mut self, within: Duration) -> ExitStatus {
        self.terminate();
        self.wait_exit(within).await
    }

    /// Kills its whole process group and reaps it.
    pub fn kill(&mut self) -> Option<ExitStatus> {
        if self.try_exit_status().is_none() {
            // The group: ChromeDriver killed alone leaves Chromium running.
            let _ = kill_process_group(Pid::from_child(&self.child), Signal::KILL);
            let _ = self.child.kill();
            self.exited = self.child.wait().ok();
        }
        self.exited
    }

    /// A service's `GET /metrics`, as text.
    pub async fn scrape(&self) -> String {
        let response = reqwest::get(format!("{}metrics", self.url()))
            .await
            .unwrap_or_else(|error| panic!("scrape {}: {error}", self.name));
        assert_eq!(response.status(), 200, "/metrics of {}", self.name);
        response.text().await.expect("a text body")
    }

    /// Resident set size in KiB, from `/proc/<pid>/status`.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .unwrap_or_else(|error| panic!("{} is gone: {error}", self.name));
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/<pid>/status")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.output_tail());
        }
        self.kill();
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Copies `pipe` line by line into `file`, counting lines in `lines`, until
/// the pipe ends. Through a pipe rather than straight into the file so that
/// a wait for a line is woken by it instead of polling the file.
fn copy_lines(
    pipe: impl Read + Send + 'static,
    file: Arc<Mutex<File>>,
    lines: Arc<watch::Sender<u64>>,
) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut line = Vec::new();
        while reader
            .read_until(b'\n', &mut line)
            .is_ok_and(|read| read > 0)
        {
            let _ = file
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .write_all(&line);
            line.clear();
            lines.send_modify(|count| *count += 1);
        }
        // The last sender dropped (both pipes ended) closes the channel.
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(script: &str) -> Command {
        let mut command = Command::new("/bin/sh");
        command.args(["-c", script]);
        command
    }

    fn scratch(name: &str) -> PathBuf {
        crate::log_dir(&format!("testkit-{name}"))
    }

    fn port_line(line: &str) -> Option<u16> {
        line.strip_prefix("port ")?.parse().ok()
    }

    #[tokio::test]
    async fn a_line_is_awaited_and_the_output_is_logged() {
        let dir = scratch("lines");
        let mut process = Process::spawn_separate(
            "talker",
            shell("echo to-stderr >&2; echo port 4242; exec sleep 30"),
            &dir,
        );
        let port = process
            .wait_for_port(Duration::from_secs(10), port_line)
            .await
            .unwrap();
        assert_eq!(port, 4242);
        assert_eq!(process.url(), "http://127.0.0.1:4242/");
        process.assert_running();
        process.terminate();
        let status = process.wait_exit(Duration::from_secs(10)).await;
        assert!(!status.success());
        assert_eq!(process.stdout(), "port 4242\n");
        assert_eq!(process.stderr(), "to-stderr\n");
    }

    #[tokio::test]
    async fn an_exit_before_the_line_fails_with_the_output_tail() {
        let dir = scratch("early-exit");
        let mut process = Process::spawn("quitter", shell("echo bad config >&2; exit 2"), &dir);
        let error = process
            .wait_for_port(Duration::from_secs(10), port_line)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("quitter exited with exit status: 2"),
            "{error}"
        );
        assert!(error.contains("last 1 lines of quitter"), "{error}");
        assert!(error.ends_with("bad config"), "{error}");
    }

    #[tokio::test]
    async fn sigint_reaches_the_process_and_drop_kills_its_group() {
        let dir = scratch("signals");
        let mut trapper = Process::spawn(
            "trapper",
            shell("trap 'echo interrupted; exit 0' INT; echo ready; while :; do sleep 0.05; done"),
            &dir,
        );
        trapper
            .wait_for_line("ready", Duration::from_secs(10), |l| {
                (l == "ready").then_some(())
            })
            .await
            .unwrap();
        trapper.interrupt();
        assert!(trapper.wait_exit(Duration::from_secs(10)).await.success());
        assert!(trapper.output().contains("interrupted"));

        // A grandchild in the group: gone once the handle drops.
        let mut parent = Process::spawn("parent", shell("sleep 30 & echo $!; wait"), &dir);
        let grandchild: i32 = parent
            .wait_for_line("the child's pid", Duration::from_secs(10), |l| {
                l.parse().ok()
            })
            .await
            .unwrap();
        let proc_entry = PathBuf::from(format!("/proc/{grandchild}"));
        assert!(proc_entry.exists());
        drop(parent);
        let deadline = Instant::now() + Duration::from_secs(10);
        // A killed, unreaped grandchild is a zombie until init reaps it.
        while proc_entry.exists() && !read(&proc_entry.join("status")).contains("State:\tZ") {
            assert!(Instant::now() < deadline, "the grandchild survived");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
