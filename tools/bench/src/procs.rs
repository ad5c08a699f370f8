//! Service processes: start on a free loopback port, wait for `/readyz`,
//! read their memory and CPU time from `/proc`, stop them with SIGTERM.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port the OS just handed out and released. Another process could take it
/// before the service binds it; on a benchmark machine that is rare, and the
/// service then fails to start loudly rather than measuring the wrong thing.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A plain `GET` with `Connection: close`; returns the status code and the body.
pub fn http_get(
    port: u16,
    path_and_query: &str,
    timeout: Duration,
) -> std::io::Result<(u16, String)> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.set_nodelay(true)?;
    // One write: `write!` on the stream would send each formatted piece as its
    // own segment (TCP_NODELAY), and a server may answer the first piece.
    let request = format!(
        "GET {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: bench\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {text:.80}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// Resident set now and at its peak, in KiB (`VmRSS`, `VmHWM` of `/proc/<pid>/status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Memory {
    pub rss_kib: u64,
    pub hwm_kib: u64,
}

pub fn parse_status_memory(status: &str) -> Option<Memory> {
    let field = |name: &str| {
        status.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(':')?;
            rest.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()
        })
    };
    Some(Memory {
        rss_kib: field("VmRSS")?,
        hwm_kib: field("VmHWM")?,
    })
}

pub fn memory(pid: u32) -> Option<Memory> {
    parse_status_memory(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// User + system CPU time in clock ticks (fields 14 and 15 of `/proc/<pid>/stat`, all threads).
pub fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) may hold spaces and parentheses: fields start after the last ')'.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after_name starts at field 3 (state), so utime (14) is index 11 and stime (15) index 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

pub fn cpu_ticks(pid: u32) -> Option<u64> {
    parse_stat_cpu_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

pub fn own_cpu_ticks() -> Option<u64> {
    parse_stat_cpu_ticks(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// CPU time of this process's waited-for children (fields 16 and 17: cutime + cstime), in ticks.
pub fn children_cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    Some(fields.get(13)?.parse::<u64>().ok()? + fields.get(14)?.parse::<u64>().ok()?)
}

/// The whole machine's CPU time from the first line of `/proc/stat`, in ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MachineTicks {
    /// Everything but idle and iowait (steal included).
    pub busy: u64,
    pub total: u64,
    /// Time the hypervisor ran something else while a vCPU wanted to run.
    pub steal: u64,
}

pub fn parse_proc_stat(text: &str) -> Option<MachineTicks> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4)?;
    Some(MachineTicks {
        busy: total - idle,
        total,
        steal: *v.get(7)?,
    })
}

pub fn machine_ticks() -> Option<MachineTicks> {
    parse_proc_stat(&std::fs::read_to_string("/proc/stat").ok()?)
}

/// Clock ticks per second for `/proc/<pid>/stat` (`getconf CLK_TCK`; 100 on Linux in practice).
pub fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100)
}

const SIGTERM: i32 = 15;

/// How a service ended after SIGTERM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Drained, flushed and exited 0.
    Graceful,
    /// The signal's default action killed it: its handler was not installed yet.
    KilledBySignal,
}

/// One running service binary.
pub struct Service {
    pub name: &'static str,
    pub port: u16,
    pub child: Child,
    pub log_path: PathBuf,
    /// Spawn to the first 200 from `/readyz`.
    pub ready_after: Duration,
}

#[derive(Debug)]
pub struct ServiceError(pub String);

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ServiceError {}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

impl Service {
    /// Starts `bin_dir/<binary>` with exactly `env` (plus `PATH`), stderr to `log_path`,
    /// and waits until `/readyz` answers 200, polling every millisecond up to `deadline`.
    pub fn start(
        name: &'static str,
        binary: &Path,
        port: u16,
        env: &[(String, String)],
        log_path: PathBuf,
        deadline: Duration,
    ) -> Result<Self, ServiceError> {
        let log = File::create(&log_path)
            .map_err(|e| ServiceError(format!("{}: {e}", log_path.display())))?;
        let mut command = Command::new(binary);
        // Nothing from the caller's environment (an OTEL_* or RUST_LOG there) may change what is measured.
        command.env_clear();
        if let Ok(path) = std::env::var("PATH") {
            command.env("PATH", path);
        }
        command
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let spawned = Instant::now();
        let child = command.spawn().map_err(|e| {
            ServiceError(format!(
                "cannot start {} ({e}); build it first: cargo build --release -p frontend -p gateway -p geolocator -p iss-distance -p loadgen -p bench",
                binary.display()
            ))
        })?;
        let mut service = Self {
            name,
            port,
            child,
            log_path,
            ready_after: Duration::ZERO,
        };
        loop {
            if let Ok(Some(status)) = service.child.try_wait() {
                return Err(ServiceError(format!(
                    "{name} exited ({status}) before it was ready:\n{}",
                    log_tail(&service.log_path)
                )));
            }
            // Refused until the listener is bound; the first 200 is "ready".
            if let Ok((200, _)) = http_get(port, "/readyz", Duration::from_millis(500)) {
                service.ready_after = spawned.elapsed();
                return Ok(service);
            }
            if spawned.elapsed() > deadline {
                let _ = service.child.kill();
                let _ = service.child.wait();
                return Err(ServiceError(format!(
                    "{name} was not ready within {deadline:?}:\n{}",
                    log_tail(&service.log_path)
                )));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn memory(&self) -> Option<Memory> {
        memory(self.pid())
    }

    pub fn cpu_ticks(&self) -> Option<u64> {
        cpu_ticks(self.pid())
    }

    /// SIGTERM, then waits up to `deadline` for the drain and telemetry flush to finish.
    pub fn stop(self, deadline: Duration) -> Result<(), ServiceError> {
        match self.stop_reporting_sigterm_death(deadline)? {
            Stop::Graceful => Ok(()),
            Stop::KilledBySignal => Err(ServiceError(
                "killed by SIGTERM itself (no handler installed yet): no drain, no flush".into(),
            )),
        }
    }

    /// As [`stop`](Self::stop), but a process that SIGTERM killed outright (it had no
    /// handler installed yet) is reported rather than an error.
    pub fn stop_reporting_sigterm_death(
        mut self,
        deadline: Duration,
    ) -> Result<Stop, ServiceError> {
        let pid = self.pid().to_string();
        // std has no way to send SIGTERM, and unsafe code (libc::kill) is forbidden in the workspace.
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .map_err(|e| ServiceError(format!("kill -TERM {pid}: {e}")))?;
        if !sent.success() {
            return Err(ServiceError(format!("kill -TERM {pid} failed")));
        }
        let asked = Instant::now();
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(Stop::Graceful),
                Ok(Some(status)) if status.signal() == Some(SIGTERM) => {
                    return Ok(Stop::KilledBySignal)
                }
                Ok(Some(status)) => {
                    return Err(ServiceError(format!(
                        "{} exited with {status} after SIGTERM:\n{}",
                        self.name,
                        log_tail(&self.log_path)
                    )))
                }
                Ok(None) if asked.elapsed() > deadline => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return Err(ServiceError(format!(
                        "{} did not stop within {deadline:?} of SIGTERM",
                        self.name
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(error) => return Err(ServiceError(format!("{}: {error}", self.name))),
            }
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        // A service left behind by an early error must not outlive the harness.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_comes_from_vmrss_and_vmhwm() {
        let status = "Name:\tgateway\nVmPeak:\t  100 kB\nVmHWM:\t   9000 kB\nVmRSS:\t   8123 kB\nThreads:\t4\n";
        assert_eq!(
            parse_status_memory(status),
            Some(Memory {
                rss_kib: 8123,
                hwm_kib: 9000
            })
        );
        assert_eq!(parse_status_memory("Name:\tx\n"), None);
        let own = memory(std::process::id()).expect("this process has a /proc entry");
        assert!(own.rss_kib > 0 && own.hwm_kib >= own.rss_kib, "{own:?}");
    }

    #[test]
    fn cpu_ticks_skip_a_command_name_with_spaces_and_parentheses() {
        let stat = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 4 0 100 1000 200";
        assert_eq!(parse_stat_cpu_ticks(stat), Some(1234 + 567));
        assert_eq!(parse_stat_cpu_ticks("garbage"), None);
        // Burn some CPU and see it counted.
        let before = own_cpu_ticks().unwrap();
        let started = Instant::now();
        let mut x = 0u64;
        while started.elapsed() < Duration::from_millis(100) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        assert!(own_cpu_ticks().unwrap() > before);
    }

    #[test]
    fn machine_ticks_add_up_busy_idle_and_steal() {
        let stat = "cpu  100 5 20 1000 10 0 3 7 0 0\ncpu0 50 2 10 500 5 0 1 3 0 0\n";
        assert_eq!(
            parse_proc_stat(stat),
            Some(MachineTicks {
                busy: 100 + 5 + 20 + 3 + 7,
                total: 1145,
                steal: 7
            })
        );
        assert_eq!(parse_proc_stat("intr 1 2 3"), None);
        assert!(machine_ticks().is_some_and(|t| t.total > t.busy));
        assert!(children_cpu_ticks().is_some());
    }

    #[test]
    fn http_get_reads_status_and_body() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            // Read the whole request head: closing with unread bytes sends a
            // reset, which the client would see instead of the response.
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                stream.read_exact(&mut byte).unwrap();
                head.push(byte[0]);
            }
            assert!(String::from_utf8_lossy(&head).starts_with("GET /readyz HTTP/1.1"));
            stream
                .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 2\r\n\r\nno")
                .unwrap();
        });
        assert_eq!(
            http_get(port, "/readyz", Duration::from_secs(2)).unwrap(),
            (503, "no".into())
        );
        server.join().unwrap();
        let closed = free_port().unwrap();
        assert!(http_get(closed, "/", Duration::from_secs(1)).is_err());
    }
}
