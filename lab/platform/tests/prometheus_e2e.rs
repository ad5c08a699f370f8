//! The local run's path (no Docker, no collector) with a real Prometheus 3.14:
//! the four service binaries on loopback, Prometheus scraping their /metrics
//! with prometheus-local.yml, load through the frontend and gateway, then
//! every PromQL expression of every dashboard panel and every recording rule
//! evaluated through the HTTP API; then iss-distance stops and the gateway's
//! availability SLO must page.
//!
//! Expressions over the collector's span metrics and service graph or its own
//! metrics have no data on this path: they are checked for syntax only and listed.
//! The compose path, through the real collector, is tests/collector_e2e.rs.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use platform::local::{host_ip, platform_tool, prometheus_query as query, wait_for};
use platform::*;
use testkit::{ClosedPort, Process, Stack, StackBuilder};

/// Prometheus listens at the compose name's own loopback address, which no
/// other process uses, on its usual port.
const PROMETHEUS_PORT: u16 = 9090;

/// Written straight to stderr so the line shows even when the harness
/// captures test output (a skip or a list must not pass silently).
fn report(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

const TIMEOUT: Duration = Duration::from_secs(10);

struct Platform {
    services: Stack,
    prometheus: Process,
    /// `http://<address>`
    prom: String,
    client: reqwest::Client,
    /// The ISS API iss-distance is pointed at: it refuses every connection.
    _iss_api: ClosedPort,
}

impl Platform {
    fn assert_running(&mut self) {
        self.services
            .processes_mut()
            .into_iter()
            .for_each(Process::assert_running);
        self.prometheus.assert_running();
    }
}

async fn start_platform() -> Platform {
    // "auto" against a port that refuses connections: every live call fails
    // at once and SGP4 answers, which exercises iss.requests, the client
    // histogram's error_type and the fallback counter without leaving this machine.
    let iss_api = ClosedPort::new();
    // A clean environment: no OTLP endpoint from the caller's shell, so the
    // services serve /metrics and push nothing.
    let services = StackBuilder::new("prometheus_e2e")
        .env("RUST_LOG", "warn")
        .env("GRAFANA_URL", "http://127.0.0.1:3000")
        .iss_api("auto", &format!("{}iss-now.json", iss_api.url()))
        .start()
        .await;
    let address = |process: &Process| format!("127.0.0.1:{}", process.port());

    // prometheus-local.yml with this run's ports, a 1s scrape and evaluation
    // interval, and the rule files by absolute path.
    let dir = testkit::log_dir("prometheus_e2e-prometheus");
    let mut config = read("prometheus/prometheus-local.yml");
    let mut substitute = |from: &str, to: &str| {
        assert_eq!(
            config.matches(from).count(),
            1,
            "prometheus-local.yml should contain {from:?} once"
        );
        config = config.replace(from, to);
    };
    substitute("127.0.0.1:5000", &address(&services.frontend));
    substitute("127.0.0.1:5001", &address(&services.gateway));
    substitute("127.0.0.1:5002", &address(&services.geolocator));
    substitute("127.0.0.1:5003", &address(&services.iss_distance));
    substitute("scrape_interval: 5s", "scrape_interval: 1s");
    substitute("evaluation_interval: 5s", "evaluation_interval: 1s");
    let rules = repo_root().join("prometheus/rules/*.yml");
    substitute("- rules/*.yml", &format!("- {}", rules.display()));
    let config_path = dir.join("prometheus.yml");
    std::fs::write(&config_path, config).unwrap();
    let listen = format!("{}:{PROMETHEUS_PORT}", host_ip("prometheus"));
    let mut command = Command::new(platform_tool("prometheus"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .args([
            format!("--config.file={}", config_path.display()),
            format!("--storage.tsdb.path={}", dir.join("data").display()),
            format!("--web.listen-address={listen}"),
            "--log.level=warn".into(),
        ]);
    let mut prometheus = Process::spawn("prometheus", command, &dir);
    let prom = format!("http://{listen}");
    prometheus
        .wait_until_ready(&format!("{prom}/-/ready"), Duration::from_secs(60), |_| {
            true
        })
        .await
        .unwrap_or_else(|error| panic!("{error}"));

    Platform {
        services,
        prometheus,
        prom,
        client: reqwest::Client::builder().timeout(TIMEOUT).build().unwrap(),
        _iss_api: iss_api,
    }
}

/// A few hundred requests: found places, coordinates, an unknown place
/// (404 at the geolocator, passed through by the gateway) and missing or
/// invalid input (400), through the frontend and the gateway.
async fn drive_load(platform: &mut Platform) {
    let places = [
        "London",
        "Paris",
        "Tokyo",
        "Nairobi",
        "48.8566, 2.3522",
        "Atlantis Nowhere Xyz",
    ];
    let mut statuses = std::collections::BTreeMap::<(String, u16), u32>::new();
    let services = &platform.services;
    let mut requests: Vec<(&str, String)> = Vec::new();
    for round in 0..40 {
        for place in places {
            requests.push(("frontend", services.frontend_page_url(place)));
            requests.push(("gateway", services.gateway_url(place)));
        }
        requests.push(("gateway", services.gateway.url()));
        requests.push((
            "geolocator",
            format!("{}?location=", services.geolocator.url()),
        ));
        requests.push((
            "iss-distance",
            format!("{}?latitude=95&longitude=0", services.iss_distance.url()),
        ));
        requests.push((
            "iss-distance",
            format!(
                "{}?latitude={}&longitude=10",
                services.iss_distance.url(),
                round % 80
            ),
        ));
    }
    for (who, url) in requests {
        let response = platform
            .client
            .get(&url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        *statuses
            .entry((who.to_string(), response.status().as_u16()))
            .or_default() += 1;
    }
    platform.assert_running();
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

/// Requests to one URL, a few a second, until stopped.
struct SteadyTraffic {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<u32>,
}

impl SteadyTraffic {
    /// Stops the requests and returns how many were answered with a 2xx.
    async fn stop(self) -> u32 {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap()
    }
}

fn steady_traffic(client: reqwest::Client, url: String) -> SteadyTraffic {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let task = tokio::spawn(async move {
        let mut ok = 0;
        while !flag.load(Ordering::Relaxed) {
            let response = client.get(&url).send().await;
            ok += u32::from(response.is_ok_and(|r| r.status().is_success()));
            // Pacing, not waiting for anything: about ten requests a second.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        ok
    });
    SteadyTraffic { stop, task }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_and_recording_rule_expression_returns_data_from_a_real_prometheus() {
    let mut platform = start_platform().await;
    drive_load(&mut platform).await;
    let (client, prom) = (platform.client.clone(), platform.prom.clone());

    let emitted = emitted_metrics();
    let platform_only: BTreeSet<String> = emitted
        .iter()
        .filter(|m| ["connectors", "collector", "gateway", "agent"].contains(&m.origin.as_str()))
        .flat_map(|m| m.series_names())
        .collect();

    // Prometheus has scraped all four services.
    wait_for(
        "all four services in Prometheus",
        Duration::from_secs(60),
        || async {
            let result = query(
                &client,
                &prom,
                "count by (service_name) (http_server_request_duration_seconds_count)",
            )
            .await
            .ok()?;
            (result.len() == 4).then_some(())
        },
    )
    .await;

    // Every services metric of the contract is really served, with no label
    // the emitted list does not declare.
    let mut problems = Vec::new();
    for m in emitted.iter().filter(|m| m.origin == "services") {
        let declared = m.declared_labels();
        for series in m.series_names() {
            let result = wait_for(
                &format!("{series} in Prometheus"),
                Duration::from_secs(30),
                || async {
                    let result = query(&client, &prom, &series).await;
                    result.ok().filter(|r| !r.is_empty())
                },
            )
            .await;
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
    // The gateway keeps serving while the expressions are evaluated, as a
    // live one does: an SLO's SLI has no sample while no request arrives
    // (by design, see prometheus/slo/gateway.yml), and the load above may
    // have ended before Prometheus' first scrape saw a counter move.
    let steady = steady_traffic(client.clone(), platform.services.gateway_url("London"));
    let mut syntax_only = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut failures = Vec::new();
    for (where_, expr, alert) in &exprs {
        let refs = promql_refs(expr).unwrap();
        let needs_platform = refs.metrics.iter().any(|m| platform_only.contains(m));
        if needs_platform || *alert {
            match query(&client, &prom, expr).await {
                Ok(_) => {
                    syntax_only.push(format!("{where_}{}", if *alert { " (alert)" } else { "" }))
                }
                Err(e) => failures.push(format!("{where_}: {e}\n    {expr}")),
            }
            continue;
        }
        // Poll: recording rules and 5m windows fill within a few evaluations.
        loop {
            match query(&client, &prom, expr).await {
                Ok(result) if !result.is_empty() => break,
                Ok(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(500)).await
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
    let served = steady.stop().await;
    platform.assert_running();
    report(&format!(
        "prometheus_e2e: {} expressions returned data; checked for syntax only (need Tempo, the collector, or are alerts):\n  {}",
        exprs.len() - syntax_only.len() - failures.len(),
        syntax_only.join("\n  ")
    ));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(served > 0, "the steady gateway traffic got no 2xx");
    assert!(
        exprs.len() - syntax_only.len() >= 25,
        "too few expressions were evaluated for data"
    );

    // Last, as it stops a service: the availability SLO pages.
    the_availability_slo_pages_when_iss_distance_stops(&mut platform).await;
}

/// With iss-distance gone every gateway answer is a 502. The SLO's recording
/// rules (over the real gateway's metrics) must see the errors in their 5m
/// and 1h windows, and the page alert (14.4x the budget over both) must
/// fire, with its runbook. Sloth's alerts have no `for`: an alert is firing
/// from the first evaluation that sees the burn, never pending.
async fn the_availability_slo_pages_when_iss_distance_stops(platform: &mut Platform) {
    let (client, prom) = (platform.client.clone(), platform.prom.clone());
    platform
        .services
        .iss_distance
        .stop(Duration::from_secs(10))
        .await;
    let url = platform.services.gateway_url("London");
    let page = r#"ALERTS{alertname="GatewayAvailabilityBudgetBurn", sloth_severity="page"}"#;
    let mut sent = 0;
    let alert = wait_for(
        "GatewayAvailabilityBudgetBurn (page) in ALERTS",
        Duration::from_secs(120),
        || {
            let (client, prom, url) = (client.clone(), prom.clone(), url.clone());
            sent += 10;
            async move {
                // A few failing requests per poll keep the error share rising.
                for _ in 0..10 {
                    let response = client.get(&url).send().await.expect("the gateway answers");
                    assert_eq!(response.status().as_u16(), 502, "iss-distance is down");
                }
                query(&client, &prom, page)
                    .await
                    .unwrap()
                    .into_iter()
                    .next()
            }
        },
    )
    .await;
    report(&format!(
        "prometheus_e2e: the availability page went {} after {sent} failing requests",
        alert["metric"]["alertstate"]
    ));
    // No `for`: never pending, firing at once.
    assert_eq!(alert["metric"]["alertstate"], "firing", "{alert}");
    assert_eq!(alert["metric"]["severity"], "page", "{alert}");
    assert_eq!(alert["metric"]["sloth_slo"], "requests-availability");

    // Both windows the page needs really hold the burn, above 14.4 x 0.5%.
    for window in ["5m", "1h"] {
        let expr =
            format!(r#"slo:sli_error:ratio_rate{window}{{sloth_slo="requests-availability"}}"#);
        let result = query(&client, &prom, &expr).await.unwrap();
        let value: f64 = result[0]["value"][1].as_str().unwrap().parse().unwrap();
        assert!(value > 14.4 * 0.005, "{expr} = {value}");
    }

    // What an operator sees in the alert: the runbook and the dashboard.
    let body: Json = client
        .get(format!("{prom}/api/v1/alerts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let alert = body["data"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| {
            a["labels"]["alertname"] == "GatewayAvailabilityBudgetBurn"
                && a["labels"]["sloth_severity"] == "page"
        })
        .unwrap_or_else(|| panic!("the page is not in /api/v1/alerts: {body}"));
    assert_eq!(
        alert["annotations"]["runbook_url"],
        "docs/SLO.md#gatewayavailabilitybudgetburn"
    );
    assert_eq!(alert["annotations"]["dashboard"], "/d/iss-slo");
    assert!(read("docs/SLO.md").contains("\n### GatewayAvailabilityBudgetBurn\n"));
}
