//! The real platform processes the end-to-end tests run: the collector
//! distribution of `otel-collector/builder-config.yaml` and Prometheus 3.14,
//! both built by `scripts/build-platform-tools.sh` into
//! `target/platform-tools/`.
//!
//! Compose reaches its components by name (`tempo:4317`, `prometheus:9090`,
//! `otel-collector:8888`). So that the repository's config files run here
//! unchanged, [`Hosts`] gives each name a loopback address of its own, and
//! [`Hosts::spawn`] starts a process in a private mount namespace
//! (`unshare --mount`) whose `/etc/hosts` says so. The binaries are static Go
//! builds whose resolver reads `/etc/hosts`; the machine's own file is never
//! touched. Programs that ask a DNS server instead (Prometheus' DNS service
//! discovery) get a private `/etc/resolv.conf` as well, naming a
//! [`crate::dns::DnsStandIn`] ([`Hosts::with_nameserver`]).

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{target_dir, Json};
use testkit::Process;

/// A compose host name and the loopback address it has in the tests.
pub const HOSTS: &[(&str, Ipv4Addr)] = &[
    ("prometheus", Ipv4Addr::new(127, 0, 0, 90)),
    ("otel-collector", Ipv4Addr::new(127, 0, 0, 91)),
    ("tempo", Ipv4Addr::new(127, 0, 0, 92)),
    ("loki", Ipv4Addr::new(127, 0, 0, 93)),
];

/// The loopback address a compose host name stands for in the tests.
pub fn host_ip(name: &str) -> IpAddr {
    let (_, ip) = HOSTS
        .iter()
        .find(|(host, _)| *host == name)
        .unwrap_or_else(|| panic!("no test address for host {name}"));
    IpAddr::V4(*ip)
}

/// A binary built by `scripts/build-platform-tools.sh`; a clear failure if it is missing.
pub fn platform_tool(name: &str) -> PathBuf {
    let path = target_dir().join("platform-tools").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run scripts/build-platform-tools.sh (scripts/test.sh does)",
        path.display()
    );
    path
}

/// The `/etc/hosts` the platform processes see, written into a test directory.
pub struct Hosts {
    file: PathBuf,
    /// Bind-mounted over `/etc/resolv.conf` too, when set.
    resolv_conf: Option<PathBuf>,
}

impl Hosts {
    pub fn write(dir: &Path) -> Self {
        Self::write_with(dir, &[])
    }

    /// [`HOSTS`] and `extra` names; a name given several times resolves to
    /// every one of its addresses, as a DNS name of several A records does.
    pub fn write_with(dir: &Path, extra: &[(&str, Ipv4Addr)]) -> Self {
        let hosts = Self {
            file: dir.join("hosts"),
            resolv_conf: None,
        };
        hosts.update(extra);
        hosts
    }

    /// Also gives the processes an `/etc/resolv.conf` naming `nameserver`
    /// alone (on port 53, the only port resolv.conf can name), for programs
    /// that send DNS queries rather than read `/etc/hosts`.
    pub fn with_nameserver(mut self, nameserver: Ipv4Addr) -> Self {
        let file = self
            .file
            .with_file_name(format!("resolv-{nameserver}.conf"));
        std::fs::write(&file, format!("nameserver {nameserver}\n"))
            .expect("write the resolv.conf file");
        self.resolv_conf = Some(file);
        self
    }

    /// Rewrites the file in place (same inode, so the processes that have it
    /// bind-mounted as their `/etc/hosts` see the change): how a test adds or
    /// removes an address behind a name while the processes run.
    pub fn update(&self, extra: &[(&str, Ipv4Addr)]) {
        let mut text = String::from("127.0.0.1 localhost\n");
        for (name, ip) in HOSTS.iter().chain(extra) {
            text.push_str(&format!("{ip} {name}\n"));
        }
        std::fs::write(&self.file, text).expect("write the hosts file");
    }

    /// Starts `program` in a private mount namespace with these hosts, its
    /// stdout and stderr in `<dir>/<name>.log`, killed when dropped.
    pub fn spawn(
        &self,
        name: &str,
        program: &Path,
        args: &[String],
        env: &[(&str, String)],
        dir: &Path,
    ) -> Process {
        let mut command = Command::new("unshare");
        command.arg("--mount");
        if !is_root() {
            // Unprivileged: a user namespace makes the bind mount allowed.
            command.arg("--map-root-user");
        }
        command.args(["--", "/bin/sh", "-c"]);
        match &self.resolv_conf {
            None => command
                .arg(r#"mount --bind "$0" /etc/hosts && exec "$@""#)
                .arg(&self.file),
            Some(resolv_conf) => command
                .arg(
                    r#"mount --bind "$0" /etc/hosts && mount --bind "$1" /etc/resolv.conf && shift && exec "$@""#,
                )
                .arg(&self.file)
                .arg(resolv_conf),
        };
        command
            .arg(program)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (k, v)));
        Process::spawn(name, command, dir)
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("Uid:"))?;
            Some(line.split_whitespace().nth(2)? == "0")
        })
        .unwrap_or(false)
}

/// Polls `check` every 200 ms until it returns Some; panics naming `what`
/// once `timeout` has passed.
pub async fn wait_for<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    timeout: std::time::Duration,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// An instant query to the Prometheus at `base` (`http://host:port`); Err
/// carries Prometheus' own error (a parse error, say) or the transport's.
pub async fn prometheus_query(
    client: &reqwest::Client,
    base: &str,
    expr: &str,
) -> Result<Vec<Json>, String> {
    let url = reqwest::Url::parse_with_params(&format!("{base}/api/v1/query"), [("query", expr)])
        .map_err(|e| e.to_string())?;
    let response = client.get(url).send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.text().await.map_err(|e| e.to_string())?;
    let value: Json =
        serde_json::from_str(&body).map_err(|e| format!("HTTP {status}: {e}: {body}"))?;
    if value["status"] != "success" {
        return Err(format!(
            "HTTP {status}: {}: {}",
            value["errorType"], value["error"]
        ));
    }
    Ok(value["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}
