//! A container health probe for images that have no shell, curl or wget.
//!
//! `healthcheck` sends `GET /healthz` to `127.0.0.1:$PORT` (the services'
//! convention); `healthcheck http://127.0.0.1:13133/` probes any other plain
//! HTTP URL (the collector's `health_check` extension). Exit status 0 means the
//! answer was HTTP 200, 1 means anything else, so it fits Docker's
//! `HEALTHCHECK CMD` / compose `test: ["CMD", ...]` directly.
//!
//! It is std-only on purpose: the Dockerfile builds this one file with `rustc`,
//! without the workspace, into a static binary that runs in `scratch` images.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

/// Docker kills a probe at its own `timeout`; answering sooner keeps the
/// failure message ours instead of an opaque "timed out".
const TIMEOUT: Duration = Duration::from_secs(2);

/// Where to send the probe.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    host: String,
    port: u16,
    path: String,
}

impl Target {
    /// The probe target from the command line, or from `PORT` when no URL is given.
    fn from_args(url: Option<&str>, port_env: Option<&str>) -> Result<Self, String> {
        match url {
            Some(url) => Self::parse_url(url),
            None => {
                let port = port_env
                    .ok_or("PORT is not set and no URL was given")?
                    .parse::<u16>()
                    .map_err(|e| format!("PORT is not a port number: {e}"))?;
                Ok(Self {
                    host: "127.0.0.1".into(),
                    port,
                    path: "/healthz".into(),
                })
            }
        }
    }

    /// Parses `http://host:port/path`; TLS is out of scope for a loopback probe.
    fn parse_url(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("only http:// URLs are supported, got {url:?}"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse::<u16>()
                    .map_err(|e| format!("bad port in {url:?}: {e}"))?,
            ),
            None => (authority, 80),
        };
        if host.is_empty() {
            return Err(format!("no host in {url:?}"));
        }
        Ok(Self {
            host: host.into(),
            port,
            path: path.into(),
        })
    }
}

/// Sends the request and accepts only an HTTP 200 status line.
fn probe(target: &Target, timeout: Duration) -> Result<(), String> {
    let addr = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", target.host))?
        .next()
        .ok_or_else(|| format!("{} resolves to no address", target.host))?;
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| format!("socket timeouts: {e}"))?;
    // HTTP/1.0 with Connection: close, so the server never keeps us waiting for more.
    let request = format!(
        "GET {} HTTP/1.0\r\nHost: {}:{}\r\nUser-Agent: healthcheck\r\nConnection: close\r\n\r\n",
        target.path, target.host, target.port
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("send to {addr}: {e}"))?;
    // The status line is all we need; read until it is complete or the peer closes.
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 256];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 4096 {
        let n = stream
            .read(&mut buf)
            .map_err(|e| format!("read from {addr}: {e}"))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let status_line = text.lines().next().unwrap_or("");
    let mut parts = status_line.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some(version), Some("200")) if version.starts_with("HTTP/1.") => Ok(()),
        _ => Err(format!("{addr}{} answered {status_line:?}", target.path)),
    }
}

fn main() -> ExitCode {
    let url = std::env::args().nth(1);
    let port = std::env::var("PORT").ok();
    let result = Target::from_args(url.as_deref(), port.as_deref())
        .and_then(|target| probe(&target, TIMEOUT));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("unhealthy: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::thread;

    /// A one-shot server that answers the first request with `response`
    /// and hands back the request it received.
    fn serve_once(response: &'static str) -> (u16, thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 512];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = conn.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
            }
            conn.write_all(response.as_bytes()).unwrap();
            String::from_utf8(request).unwrap()
        });
        (port, handle)
    }

    fn local(port: u16, path: &str) -> Target {
        Target {
            host: "127.0.0.1".into(),
            port,
            path: path.into(),
        }
    }

    #[test]
    fn a_200_answer_is_healthy_and_the_request_asks_for_the_path() {
        let (port, server) = serve_once("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        assert_eq!(probe(&local(port, "/healthz"), TIMEOUT), Ok(()));
        let request = server.join().unwrap();
        assert!(
            request.starts_with("GET /healthz HTTP/1.0\r\n"),
            "{request}"
        );
    }

    #[test]
    fn a_503_answer_is_unhealthy() {
        let (port, server) = serve_once("HTTP/1.1 503 Service Unavailable\r\n\r\n");
        let err = probe(&local(port, "/healthz"), TIMEOUT).unwrap_err();
        assert!(err.contains("503"), "{err}");
        server.join().unwrap();
    }

    #[test]
    fn a_non_http_answer_is_unhealthy() {
        let (port, server) = serve_once("SSH-2.0-OpenSSH\r\n");
        assert!(probe(&local(port, "/"), TIMEOUT).is_err());
        server.join().unwrap();
    }

    #[test]
    fn a_closed_port_is_unhealthy() {
        // Nothing can listen on port 0, so the connection is refused, always.
        let error = probe(&local(0, "/healthz"), TIMEOUT).unwrap_err();
        assert!(error.starts_with("connect 127.0.0.1:0"), "{error}");
    }

    #[test]
    fn a_server_that_never_answers_fails_within_the_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let started = std::time::Instant::now();
        let result = probe(&local(port, "/healthz"), Duration::from_millis(200));
        assert!(result.is_err());
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(listener);
    }

    #[test]
    fn without_a_url_the_target_is_healthz_on_port_from_the_environment() {
        assert_eq!(
            Target::from_args(None, Some("5001")),
            Ok(local(5001, "/healthz"))
        );
        assert!(Target::from_args(None, None).is_err());
        assert!(Target::from_args(None, Some("http")).is_err());
    }

    #[test]
    fn urls_are_split_into_host_port_and_path() {
        assert_eq!(
            Target::from_args(Some("http://127.0.0.1:13133/"), None),
            Ok(local(13133, "/"))
        );
        assert_eq!(
            Target::parse_url("http://localhost:3200/ready"),
            Ok(Target {
                host: "localhost".into(),
                port: 3200,
                path: "/ready".into()
            })
        );
        assert_eq!(Target::parse_url("http://example").unwrap().port, 80);
        assert!(Target::parse_url("https://127.0.0.1/").is_err());
        assert!(Target::parse_url("http://:80/").is_err());
    }
}
