//! The local run's path (no Docker, no collector) with a real Prometheus 3.14:
//! the four service binaries on loopback, Prometheus scraping their /metrics
//! with prometheus-local.yml, load through the frontend and gateway, then
//! every PromQL expression of every dashboard panel and every recording rule
//! evaluated through the HTTP API.
//!
//! Expressions over Tempo's generated series or the collector's own metrics
//! have no data on this path: they are checked for syntax only and listed.
//! The compose path, through the real collector, is tests/collector_e2e.rs.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use platform_checks::platform::{platform_tool, PlatformProcess};
use platform_checks::*;

/// Written straight to stderr so the line shows even when the harness
/// captures test output (a skip or a list must not pass silently).
fn report(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

fn binary(name: &str) -> PathBuf {
    let path = target_dir().join("debug").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --workspace --bins` first",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `check` until it returns Some or the deadline passes.
fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn spawn(
    name: &str,
    program: &Path,
    args: &[String],
    env: &[(&str, String)],
    dir: &Path,
) -> PlatformProcess {
    let mut command = Command::new(program);
    // A clean environment: no OTLP endpoint from the caller's shell, so the
    // services serve /metrics and push nothing.
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)));
    PlatformProcess::spawn(name, command, dir)
}

const TIMEOUT: Duration = Duration::from_secs(10);

/// Runs an instant query; Err carries Prometheus' error (e.g. a parse error).
fn query(prom: &str, expr: &str) -> Result<Vec<Json>, String> {
    let path = format!("/api/v1/query?query={}", percent_encode(expr));
    let (status, body) = http_get(prom, &path, TIMEOUT).map_err(|e| e.to_string())?;
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

struct Stack {
    _dir: TempDir,
    services: Vec<PlatformProcess>,
    _prometheus: PlatformProcess,
    prom: String,
    frontend: String,
    gateway: String,
    geolocator: String,
    iss: String,
}

/// A scratch directory removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn start_stack() -> Stack {
    let dir = std::env::temp_dir().join(format!("platform-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let [p_front, p_gw, p_geo, p_iss, p_prom, p_dead] = [(); 6].map(|()| free_port());
    let addr = |p: u16| format!("127.0.0.1:{p}");
    let base = |p: u16| vec![("HOST", "127.0.0.1".to_string()), ("PORT", p.to_string())];

    let mut services = Vec::new();
    let mut geo_env = base(p_geo);
    geo_env.push(("GEOCODER", "gazetteer".into()));
    services.push(spawn(
        "geolocator",
        &binary("geolocator"),
        &[],
        &geo_env,
        &dir,
    ));
    // "auto" against a port nothing listens on: every live call fails at once
    // and SGP4 answers, which exercises iss.requests, the client histogram's
    // error_type and the fallback counter without leaving this machine.
    let mut iss_env = base(p_iss);
    iss_env.push(("ISS_POSITION_SOURCE", "auto".into()));
    iss_env.push((
        "ISS_API_URL",
        format!("http://127.0.0.1:{p_dead}/iss-now.json"),
    ));
    services.push(spawn(
        "iss-distance",
        &binary("iss-distance"),
        &[],
        &iss_env,
        &dir,
    ));
    let mut gw_env = base(p_gw);
    gw_env.push(("GEOLOCATOR_SERVICE_URL", format!("http://{}", addr(p_geo))));
    gw_env.push((
        "ISS_DISTANCE_SERVICE_URL",
        format!("http://{}", addr(p_iss)),
    ));
    services.push(spawn("gateway", &binary("gateway"), &[], &gw_env, &dir));
    let mut fe_env = base(p_front);
    fe_env.push(("GATEWAY_URL", format!("http://{}", addr(p_gw))));
    fe_env.push(("GRAFANA_URL", "http://127.0.0.1:3000".into()));
    services.push(spawn("frontend", &binary("frontend"), &[], &fe_env, &dir));

    for (service, port) in [
        ("geolocator", p_geo),
        ("iss-distance", p_iss),
        ("gateway", p_gw),
        ("frontend", p_front),
    ] {
        wait_for(
            &format!("{service} /readyz"),
            Duration::from_secs(60),
            || {
                services
                    .iter_mut()
                    .for_each(PlatformProcess::assert_running);
                matches!(http_get(&addr(port), "/readyz", TIMEOUT), Ok((200, _))).then_some(())
            },
        );
    }

    // prometheus-local.yml with this run's ports, a 1s scrape and evaluation
    // interval, and the rule files by absolute path.
    let mut config = read("prometheus/prometheus-local.yml");
    let mut substitute = |from: &str, to: &str| {
        assert_eq!(
            config.matches(from).count(),
            1,
            "prometheus-local.yml should contain {from:?} once"
        );
        config = config.replace(from, to);
    };
    substitute("127.0.0.1:5000", &addr(p_front));
    substitute("127.0.0.1:5001", &addr(p_gw));
    substitute("127.0.0.1:5002", &addr(p_geo));
    substitute("127.0.0.1:5003", &addr(p_iss));
    substitute("scrape_interval: 5s", "scrape_interval: 1s");
    substitute("evaluation_interval: 5s", "evaluation_interval: 1s");
    let rules = repo_root().join("prometheus/rules/*.yml");
    substitute("- rules/*.yml", &format!("- {}", rules.display()));
    let config_path = dir.join("prometheus.yml");
    std::fs::write(&config_path, config).unwrap();
    let prom = addr(p_prom);
    let mut prometheus = spawn(
        "prometheus",
        &platform_tool("prometheus"),
        &[
            format!("--config.file={}", config_path.display()),
            format!("--storage.tsdb.path={}", dir.join("data").display()),
            format!("--web.listen-address={prom}"),
            "--log.level=warn".into(),
        ],
        &[],
        &dir,
    );
    wait_for("prometheus /-/ready", Duration::from_secs(60), || {
        prometheus.assert_running();
        matches!(http_get(&prom, "/-/ready", TIMEOUT), Ok((200, _))).then_some(())
    });

    Stack {
        _dir: TempDir(dir),
        services,
        _prometheus: prometheus,
        prom,
        frontend: addr(p_front),
        gateway: addr(p_gw),
        geolocator: addr(p_geo),
        iss: addr(p_iss),
    }
}

/// A few hundred requests: found places, coordinates, an unknown place
/// (404 at the geolocator, passed through by the gateway) and missing or
/// invalid input (400), through the frontend and the gateway.
fn drive_load(stack: &mut Stack) {
    let places = [
        "London",
        "Paris",
        "Tokyo",
        "Nairobi",
        "48.8566, 2.3522",
        "Atlantis Nowhere Xyz",
    ];
    let mut statuses = std::collections::BTreeMap::<(String, u16), u32>::new();
    let mut get = |who: &str, addr: &str, path: String| {
        let (status, _) =
            http_get(addr, &path, TIMEOUT).unwrap_or_else(|e| panic!("GET {who}{path}: {e}"));
        *statuses.entry((who.to_string(), status)).or_default() += 1;
    };
    for round in 0..40 {
        for place in places {
            let q = percent_encode(place);
            get("frontend", &stack.frontend, format!("/?location={q}"));
            get("gateway", &stack.gateway, format!("/?location={q}"));
        }
        get("gateway", &stack.gateway, "/".into());
        get("geolocator", &stack.geolocator, "/?location=".into());
        get(
            "iss-distance",
            &stack.iss,
            "/?latitude=95&longitude=0".into(),
        );
        get(
            "iss-distance",
            &stack.iss,
            format!("/?latitude={}&longitude=10", round % 80),
        );
    }
    stack
        .services
        .iter_mut()
        .for_each(PlatformProcess::assert_running);
    report(&format!("load: {statuses:?}"));
    let count = |who: &str, status: u16| {
        statuses
            .get(&(who.to_string(), status))
            .copied()
            .unwrap_or(0)
    };
    assert!(
        count("gateway", 200) >= 100,
        "the gateway should mostly succeed: {statuses:?}"
    );
    assert!(
        count("gateway", 404) > 0 && count("gateway", 400) > 0,
        "4xx expected: {statuses:?}"
    );
    assert!(count("iss-distance", 400) > 0, "{statuses:?}");
}

#[test]
fn every_dashboard_and_recording_rule_expression_returns_data_from_a_real_prometheus() {
    let mut stack = start_stack();
    drive_load(&mut stack);
    let prom = stack.prom.clone();

    let emitted = emitted_metrics();
    let platform_only: BTreeSet<String> = emitted
        .iter()
        .filter(|m| m.origin == "tempo" || m.origin == "collector")
        .flat_map(|m| m.series_names())
        .collect();

    // Prometheus has scraped all four services.
    wait_for(
        "all four services in Prometheus",
        Duration::from_secs(60),
        || {
            let result = query(
                &prom,
                "count by (service_name) (http_server_request_duration_seconds_count)",
            )
            .ok()?;
            (result.len() == 4).then_some(())
        },
    );

    // Every services metric of the contract is really served, with no label
    // the emitted list does not declare.
    let mut problems = Vec::new();
    for m in emitted.iter().filter(|m| m.origin == "services") {
        let declared: BTreeSet<String> = m
            .prometheus_labels()
            .into_iter()
            .chain(COMMON_LABELS.iter().map(|s| s.to_string()))
            .collect();
        for series in m.series_names() {
            let result = wait_for(
                &format!("{series} in Prometheus"),
                Duration::from_secs(30),
                || query(&prom, &series).ok().filter(|r| !r.is_empty()),
            );
            if m.name == "target_info" {
                continue; // carries every resource attribute as a label
            }
            for s in &result {
                for label in s["metric"].as_object().unwrap().keys() {
                    if !declared.contains(label) {
                        problems.push(format!("{series} has undeclared label {label}"));
                    }
                }
            }
        }
    }
    problems.sort();
    problems.dedup();
    assert!(
        problems.is_empty(),
        "emitted-metrics.txt disagrees with /metrics: {problems:#?}"
    );

    // The expressions: dashboard panels (Prometheus datasource) and rules.
    // Alerts are empty while all is well: syntax only here (promtool unit
    // tests and tests/collector_e2e.rs make them fire).
    let exprs: Vec<(String, String, bool)> = promql_expressions()
        .into_iter()
        .map(|(place, expr, alert)| (place, expr, alert.is_some()))
        .collect();
    let mut syntax_only = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut failures = Vec::new();
    for (where_, expr, alert) in &exprs {
        let refs = promql_refs(expr).unwrap();
        let needs_platform = refs.metrics.iter().any(|m| platform_only.contains(m));
        if needs_platform || *alert {
            match query(&prom, expr) {
                Ok(_) => {
                    syntax_only.push(format!("{where_}{}", if *alert { " (alert)" } else { "" }))
                }
                Err(e) => failures.push(format!("{where_}: {e}\n    {expr}")),
            }
            continue;
        }
        // Poll: recording rules and 5m windows fill within a few evaluations.
        loop {
            match query(&prom, expr) {
                Ok(result) if !result.is_empty() => break,
                Ok(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(500))
                }
                Ok(_) => {
                    failures.push(format!("{where_}: no data\n    {expr}"));
                    break;
                }
                Err(e) => {
                    failures.push(format!("{where_}: {e}\n    {expr}"));
                    break;
                }
            }
        }
    }
    stack
        .services
        .iter_mut()
        .for_each(PlatformProcess::assert_running);
    report(&format!(
        "prometheus_e2e: {} expressions returned data; checked for syntax only (need Tempo, the collector, or are alerts):\n  {}",
        exprs.len() - syntax_only.len() - failures.len(),
        syntax_only.join("\n  ")
    ));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        exprs.len() - syntax_only.len() >= 25,
        "too few expressions were evaluated for data"
    );
}
