//! Command-line parsing (by hand: a dozen flags do not justify a parser crate).

use crate::engine::{LoadConfig, Mode};
use std::time::Duration;

pub const USAGE: &str = "\
loadgen: HTTP/1.1 load generator with HDR latency percentiles

usage:
  loadgen --url URL [--url URL ...] --rate R [--connections N]     open loop: R requests/s
  loadgen --url URL [--url URL ...] --concurrency C                 closed loop: C in flight

options:
  --url URL           http:// URL; {city}, {lat} and {lon} rotate through 24 real places
                      (e.g. 'http://127.0.0.1:5001/?location={city}'); several --url alternate
  --rate R            open loop: request i is due at i/R s and its latency counts from then
  --connections N     open loop: connection pool size (default 32)
  --concurrency C     closed loop: C clients, each sends when its previous answer arrived
  --duration D        stop scheduling after D (default 10s; at most 24h; e.g. 500ms, 60s, 5m)
  --requests N        stop after N requests (open loop: default rate x duration)
  --timeout D         per-request deadline, from the due time in the open loop (default 5s)
  --warmup D          apply the same load for D first, unmeasured (default 0s)
  --json PATH         write the report as JSON to PATH ('-' for stdout)
  --quiet             no progress line
  --allow-remote      allow targets that are not loopback addresses (compose service names)
";

/// Bounds every run, however it is invoked.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone)]
pub struct Args {
    pub urls: Vec<String>,
    pub load: LoadConfig,
    pub json: Option<String>,
    pub allow_remote: bool,
}

/// `Err(None)` means help was asked for; `Err(Some(message))` a usage error.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, Option<String>> {
    let mut urls = Vec::new();
    let mut rate = None;
    let mut concurrency = None;
    let mut connections = None;
    let mut duration = Duration::from_secs(10);
    let mut max_requests = None;
    let mut timeout = Duration::from_secs(5);
    let mut warmup = Duration::ZERO;
    let mut json = None;
    let mut quiet = false;
    let mut allow_remote = false;
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let (flag, inline) = match flag.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (flag, None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| Some(format!("{name} needs a value")))
        };
        match flag.as_str() {
            "-h" | "--help" => return Err(None),
            "--url" => urls.push(value("--url")?),
            "--rate" => rate = Some(positive_f64("--rate", &value("--rate")?)?),
            "--concurrency" => {
                concurrency = Some(positive_usize("--concurrency", &value("--concurrency")?)?)
            }
            "--connections" => {
                connections = Some(positive_usize("--connections", &value("--connections")?)?)
            }
            "--duration" => duration = parse_duration("--duration", &value("--duration")?)?,
            "--requests" => {
                max_requests = Some(positive_usize("--requests", &value("--requests")?)? as u64)
            }
            "--timeout" => timeout = parse_duration("--timeout", &value("--timeout")?)?,
            "--warmup" => warmup = parse_duration("--warmup", &value("--warmup")?)?,
            "--json" => json = Some(value("--json")?),
            "--quiet" => quiet = true,
            "--allow-remote" => allow_remote = true,
            other => return Err(Some(format!("unknown argument '{other}'"))),
        }
    }
    if urls.is_empty() {
        return Err(Some("--url is required".into()));
    }
    for (name, d) in [("--duration", duration), ("--warmup", warmup)] {
        if d > MAX_DURATION {
            return Err(Some(format!("{name} is at most 24h")));
        }
    }
    if duration.is_zero() || timeout.is_zero() {
        return Err(Some("--duration and --timeout must be positive".into()));
    }
    let mode = match (rate, concurrency) {
        (Some(rate), None) => Mode::Open {
            rate,
            connections: connections.unwrap_or(32),
        },
        (None, Some(concurrency)) => {
            if connections.is_some() {
                return Err(Some(
                    "--connections is for the open loop; the closed loop uses one per --concurrency"
                        .into(),
                ));
            }
            Mode::Closed { concurrency }
        }
        (Some(_), Some(_)) => {
            return Err(Some(
                "give --rate (open loop) or --concurrency (closed loop), not both".into(),
            ))
        }
        (None, None) => {
            return Err(Some(
                "give --rate (open loop) or --concurrency (closed loop)".into(),
            ))
        }
    };
    Ok(Args {
        urls,
        load: LoadConfig {
            mode,
            duration,
            max_requests,
            timeout,
            warmup,
            progress: !quiet,
        },
        json,
        allow_remote,
    })
}

fn positive_f64(name: &str, text: &str) -> Result<f64, Option<String>> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(Some(format!(
            "{name} must be a positive number, got '{text}'"
        ))),
    }
}

fn positive_usize(name: &str, text: &str) -> Result<usize, Option<String>> {
    match text.parse::<usize>() {
        Ok(v) if v > 0 => Ok(v),
        _ => Err(Some(format!(
            "{name} must be a positive integer, got '{text}'"
        ))),
    }
}

/// `500ms`, `10s`, `5m`, `1h`, or plain seconds (`2.5`).
pub fn parse_duration(name: &str, text: &str) -> Result<Duration, Option<String>> {
    let text = text.trim();
    let (number, unit_seconds) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = text.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (text, 1.0)
    };
    match number.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 && v * unit_seconds <= 1e9 => {
            Ok(Duration::from_secs_f64(v * unit_seconds))
        }
        _ => Err(Some(format!(
            "{name} must be a duration like 500ms, 10s, 5m or 1h, got '{text}'"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args, Option<String>> {
        parse(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn open_and_closed_loops_are_chosen_by_flag() {
        let open = args(&[
            "--url",
            "http://127.0.0.1:1/",
            "--rate",
            "1000",
            "--duration=60s",
        ])
        .unwrap();
        assert_eq!(
            open.load.mode,
            Mode::Open {
                rate: 1000.0,
                connections: 32
            }
        );
        assert_eq!(open.load.duration, Duration::from_secs(60));
        assert!(open.load.progress);
        let closed = args(&[
            "--url",
            "http://127.0.0.1:1/",
            "--concurrency",
            "8",
            "--requests",
            "500",
            "--quiet",
            "--json",
            "-",
        ])
        .unwrap();
        assert_eq!(closed.load.mode, Mode::Closed { concurrency: 8 });
        assert_eq!(closed.load.max_requests, Some(500));
        assert!(!closed.load.progress);
        assert_eq!(closed.json.as_deref(), Some("-"));
    }

    #[test]
    fn mistakes_are_named() {
        let error = |list: &[&str]| args(list).unwrap_err().unwrap();
        assert!(error(&["--rate", "5"]).contains("--url"));
        assert!(error(&["--url", "http://x/"]).contains("--rate"));
        assert!(
            error(&["--url", "http://x/", "--rate", "5", "--concurrency", "2"])
                .contains("not both")
        );
        assert!(error(&["--url", "http://x/", "--rate", "-5"]).contains("--rate"));
        assert!(error(&["--url", "http://x/", "--rate", "NaN"]).contains("--rate"));
        assert!(error(&["--url", "http://x/", "--rate", "5", "--duration", "25h"]).contains("24h"));
        assert!(error(&["--url", "http://x/", "--concurrency", "0"]).contains("--concurrency"));
        assert!(error(&["--url", "http://x/", "--rate", "5", "--bogus"]).contains("--bogus"));
        assert!(error(&["--url"]).contains("needs a value"));
        assert_eq!(args(&["--help"]).unwrap_err(), None);
    }

    #[test]
    fn durations_take_the_usual_units() {
        let d = |t: &str| parse_duration("--d", t).unwrap();
        assert_eq!(d("500ms"), Duration::from_millis(500));
        assert_eq!(d("10s"), Duration::from_secs(10));
        assert_eq!(d("2m"), Duration::from_secs(120));
        assert_eq!(d("1h"), Duration::from_secs(3600));
        assert_eq!(d("2.5"), Duration::from_millis(2500));
        assert!(parse_duration("--d", "ten").is_err());
        assert!(parse_duration("--d", "-1s").is_err());
    }
}
