//! Prometheus' scrape job for the collectors of the compose profile
//! `scale-out` (otel-agent, otel-gateway-1, otel-gateway-2), found by DNS so
//! that with the profile off nothing is down.
//!
//! - consistency: the job's DNS names are exactly the profile's collector
//!   services and its port their telemetry port, as compose runs them;
//! - a real Prometheus 3.14 runs the job taken from prometheus/prometheus.yml
//!   (only its refresh interval shortened), asking a DNS stand-in as it would
//!   ask compose's: a real agent (otel-collector/agent.yaml) answers on the
//!   name that resolves and is scraped, up, under its service name; a name
//!   that does not exist and a name whose lookup fails give no target at all,
//!   so no `up == 0` series exists for them. Once the agent's name stops
//!   resolving, its target goes too; a failed lookup keeps it.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use platform::dns::{Answer, DnsStandIn};
use platform::local::{platform_tool, prometheus_query, wait_for, Hosts};
use platform::*;
use testkit::Process;

const PROFILE: &str = "scale-out";
const JOB: &str = "otel-collector-scale-out";
/// This test's own loopback addresses (other tests use 127.0.0.x and 127.0.2x.x).
const AGENT: Ipv4Addr = Ipv4Addr::new(127, 0, 31, 1);
const NAMESERVER: Ipv4Addr = Ipv4Addr::new(127, 0, 31, 53);
const PROMETHEUS: &str = "127.0.31.90:9090";
const TIMEOUT: Duration = Duration::from_secs(60);

/// The scrape job of prometheus/prometheus.yml that uses DNS discovery; there must be one.
fn scale_out_job() -> Yaml {
    let prometheus = yaml("prometheus/prometheus.yml");
    let jobs: Vec<&Yaml> = prometheus["scrape_configs"]
        .as_sequence()
        .expect("scrape_configs")
        .iter()
        .filter(|job| job.get("dns_sd_configs").is_some())
        .collect();
    assert_eq!(
        jobs.len(),
        1,
        "prometheus.yml should have one job with dns_sd_configs"
    );
    assert_eq!(ystr(&jobs[0]["job_name"]).as_deref(), Some(JOB));
    jobs[0].clone()
}

/// The job's one dns_sd_configs entry: its names, type and port.
fn dns_sd(job: &Yaml) -> (BTreeSet<String>, String, u16) {
    let configs = job["dns_sd_configs"].as_sequence().expect("a list");
    assert_eq!(configs.len(), 1, "one dns_sd_configs entry");
    let config = &configs[0];
    let names = config["names"]
        .as_sequence()
        .expect("names")
        .iter()
        .map(|name| ystr(name).expect("a name"))
        .collect();
    let kind = ystr(&config["type"]).expect("type");
    let port = ystr(&config["port"])
        .and_then(|port| port.parse().ok())
        .expect("a port");
    (names, kind, port)
}

/// A compose service's environment as (name, value) pairs, map or list form.
fn environment(service: &Yaml) -> Vec<(String, String)> {
    match &service["environment"] {
        Yaml::Mapping(map) => map
            .iter()
            .filter_map(|(k, v)| Some((ystr(k)?, ystr(v).unwrap_or_default())))
            .collect(),
        Yaml::Sequence(list) => list
            .iter()
            .filter_map(ystr)
            .filter_map(|entry| {
                let (k, v) = entry.split_once('=')?;
                Some((k.to_string(), v.to_string()))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The port a compose collector service serves its own metrics on: the
/// Prometheus reader of the config file it mounts, with the service's
/// environment over the config's `${env:...:-default}`.
fn telemetry_port(name: &str, service: &Yaml) -> u16 {
    let command: Vec<String> = service["command"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{name} has a command"))
        .iter()
        .filter_map(ystr)
        .collect();
    let config_in_container = command
        .iter()
        .find_map(|arg| arg.strip_prefix("--config="))
        .unwrap_or_else(|| panic!("{name} runs a --config= file"));
    let config_in_repo = service["volumes"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{name} mounts volumes"))
        .iter()
        .filter_map(ystr)
        .find_map(|volume| {
            let mut parts = volume.split(':');
            let (from, to) = (parts.next()?, parts.next()?);
            (to == config_in_container).then(|| from.trim_start_matches("./").to_string())
        })
        .unwrap_or_else(|| panic!("{name} mounts no file at {config_in_container}"));
    let config: Yaml = serde_yaml_ng::from_str(&read(&config_in_repo)).unwrap();
    let readers = yget(&config, &["service", "telemetry", "metrics", "readers"])
        .and_then(Yaml::as_sequence)
        .unwrap_or_else(|| panic!("{config_in_repo} has telemetry readers"));
    let ports: Vec<String> = readers
        .iter()
        .filter_map(|reader| yget(reader, &["pull", "exporter", "prometheus", "port"]))
        .filter_map(ystr)
        .collect();
    assert_eq!(
        ports.len(),
        1,
        "{config_in_repo} has one Prometheus pull reader"
    );
    let env = environment(service);
    let port = match env_defaults(&ports[0]).as_slice() {
        [] => ports[0].clone(),
        [(variable, default)] => env
            .iter()
            .find(|(k, _)| k == variable)
            .map_or(default.clone(), |(_, v)| v.clone()),
        more => panic!("{config_in_repo}: port {more:?}"),
    };
    port.parse()
        .unwrap_or_else(|_| panic!("{config_in_repo}: port {port}"))
}

#[test]
fn the_dns_names_are_the_scale_out_collectors_on_their_telemetry_port() {
    let (names, kind, port) = dns_sd(&scale_out_job());
    assert_eq!(kind, "A", "compose's DNS answers A records");

    let compose = yaml("docker-compose.yml");
    let services = compose["services"].as_mapping().expect("services");
    let collectors: Vec<(String, &Yaml)> = services
        .iter()
        .filter(|(_, service)| {
            service["profiles"]
                .as_sequence()
                .is_some_and(|p| p.iter().any(|p| ystr(p).as_deref() == Some(PROFILE)))
        })
        .filter(|(_, service)| {
            ystr(&service["image"]).is_some_and(|image| image.contains("otel-collector"))
        })
        .map(|(name, service)| (ystr(name).unwrap(), service))
        .collect();
    let collector_names: BTreeSet<String> =
        collectors.iter().map(|(name, _)| name.clone()).collect();
    assert_eq!(
        names, collector_names,
        "the DNS names should be exactly the collectors of the {PROFILE} profile"
    );
    for (name, service) in &collectors {
        assert_eq!(
            telemetry_port(name, service),
            port,
            "{name} serves its metrics on another port than the job scrapes"
        );
    }

    // instance is the service name, not the address DNS gave.
    let relabel = job_relabel_sets_instance(&scale_out_job());
    assert!(
        relabel,
        "the job should relabel __meta_dns_name into instance"
    );
}

fn job_relabel_sets_instance(job: &Yaml) -> bool {
    job["relabel_configs"].as_sequence().is_some_and(|rules| {
        rules.iter().any(|rule| {
            rule["source_labels"]
                .as_sequence()
                .is_some_and(|s| s.iter().filter_map(ystr).eq(["__meta_dns_name"]))
                && ystr(&rule["target_label"]).as_deref() == Some("instance")
        })
    })
}

/// The agent, otel-collector/agent.yaml unchanged, on this test's address;
/// its own metrics on the config's default telemetry port.
async fn start_agent(hosts: &Hosts, dir: &Path) -> Process {
    let env = [
        ("OTELCOL_OTLP_GRPC_ENDPOINT", format!("{AGENT}:4317")),
        ("OTELCOL_OTLP_HTTP_ENDPOINT", format!("{AGENT}:4318")),
        ("OTELCOL_HEALTH_CHECK_ENDPOINT", format!("{AGENT}:13133")),
        ("OTELCOL_TELEMETRY_HOST", AGENT.to_string()),
    ];
    let config = repo_root().join("otel-collector/agent.yaml");
    let mut agent = hosts.spawn(
        "otel-agent",
        &platform_tool("otelcol-iss"),
        &[format!("--config={}", config.display())],
        &env,
        dir,
    );
    agent
        .wait_until_ready(&format!("http://{AGENT}:13133/"), TIMEOUT, |_| true)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    agent
}

/// Prometheus with the job alone, a 1s scrape interval and a 1s DNS refresh.
async fn start_prometheus(hosts: &Hosts, dir: &Path) -> Process {
    let mut job = scale_out_job();
    job["dns_sd_configs"][0]["refresh_interval"] = Yaml::from("1s");
    let mut config: Yaml =
        serde_yaml_ng::from_str("global: {scrape_interval: 1s, evaluation_interval: 1s}").unwrap();
    config["scrape_configs"] = Yaml::Sequence(vec![job]);
    let config_path = dir.join("prometheus.yml");
    std::fs::write(&config_path, serde_yaml_ng::to_string(&config).unwrap()).unwrap();
    let mut prometheus = hosts.spawn(
        "prometheus",
        &platform_tool("prometheus"),
        &[
            format!("--config.file={}", config_path.display()),
            format!("--storage.tsdb.path={}", dir.join("data").display()),
            format!("--web.listen-address={PROMETHEUS}"),
        ],
        &[],
        dir,
    );
    prometheus
        .wait_until_ready(&format!("http://{PROMETHEUS}/-/ready"), TIMEOUT, |_| true)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    prometheus
}

/// The job's active targets, as /api/v1/targets lists them; and whether it
/// lists any dropped one.
async fn targets(client: &reqwest::Client) -> (Vec<Json>, usize) {
    let url = format!("http://{PROMETHEUS}/api/v1/targets?state=any&scrapePool={JOB}");
    let body: Json = client
        .get(url)
        .send()
        .await
        .expect("Prometheus answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(body["status"], "success", "{body}");
    let of_job = |list: &Json| -> Vec<Json> {
        list.as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["scrapePool"] == JOB)
            .cloned()
            .collect()
    };
    (
        of_job(&body["data"]["activeTargets"]),
        of_job(&body["data"]["droppedTargets"]).len(),
    )
}

async fn query(client: &reqwest::Client, expr: &str) -> Vec<Json> {
    prometheus_query(client, &format!("http://{PROMETHEUS}"), expr)
        .await
        .unwrap_or_else(|error| panic!("{expr}: {error}"))
}

/// Waits until `dns` has answered `count` more queries for each of `names`.
async fn wait_lookups(dns: &DnsStandIn, names: &[&str], count: u64) {
    let start: Vec<u64> = names.iter().map(|n| dns.asked(n)).collect();
    wait_for(
        &format!("{count} more lookups of {names:?}"),
        TIMEOUT,
        || {
            let done = names
                .iter()
                .zip(&start)
                .all(|(name, before)| dns.asked(name) >= before + count);
            async move { done.then_some(()) }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_collectors_whose_names_resolve_and_no_other() {
    let (names, _, port) = dns_sd(&scale_out_job());
    assert!(
        names.contains("otel-agent") && names.len() == 3,
        "{names:?}"
    );
    let dir = testkit::log_dir("prometheus_scrape");
    let dns = DnsStandIn::start(NAMESERVER);
    // The profile half up: the agent's name resolves; one gateway's name
    // does not exist, the other's lookup fails (SERVFAIL).
    dns.set("otel-agent", Answer::Addresses(vec![AGENT]));
    dns.set("otel-gateway-1", Answer::NxDomain);
    dns.set("otel-gateway-2", Answer::ServFail);
    let hosts = Hosts::write(&dir).with_nameserver(NAMESERVER);
    let mut agent = start_agent(&hosts, &dir).await;
    let mut prometheus = start_prometheus(&hosts, &dir).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    // The agent is discovered and scraped, under its service name.
    let up = format!(r#"up{{job="{JOB}"}}"#);
    let series = wait_for("the agent's target to be scraped", TIMEOUT, || {
        let client = &client;
        let up = &up;
        async move { Some(query(client, up).await).filter(|s| !s.is_empty()) }
    })
    .await;
    assert_eq!(series.len(), 1, "one target: {series:?}");
    assert_eq!(series[0]["metric"]["instance"], "otel-agent", "{series:?}");
    assert_eq!(series[0]["value"][1], "1", "the agent is up: {series:?}");
    // Its own telemetry arrives with that instance: what the collector
    // dashboard and alerts read.
    let rss = query(
        &client,
        &format!(r#"otelcol_process_memory_rss{{job="{JOB}", instance="otel-agent"}}"#),
    )
    .await;
    assert_eq!(rss.len(), 1, "{rss:?}");

    // After more refreshes, still that one target: the other names give none,
    // not even a dropped one.
    wait_lookups(&dns, &["otel-gateway-1", "otel-gateway-2"], 2).await;
    let (active, dropped) = targets(&client).await;
    assert_eq!(active.len(), 1, "{active:?}");
    assert_eq!(dropped, 0);
    let target = &active[0];
    assert_eq!(target["labels"]["instance"], "otel-agent");
    assert_eq!(target["discoveredLabels"]["__meta_dns_name"], "otel-agent");
    assert_eq!(
        target["scrapeUrl"],
        format!("http://{AGENT}:{port}/metrics"),
        "the job's port, at the address DNS gave"
    );
    assert_eq!(target["health"], "up", "{target}");
    // No `up` sample ever existed for the names that do not resolve, so
    // TargetDown (up == 0) has nothing to fire on.
    assert!(query(&client, &format!("{up} == 0")).await.is_empty());
    let ever = query(&client, &format!("{up}[1h]")).await;
    let instances: BTreeSet<String> = ever
        .iter()
        .map(|s| s["metric"]["instance"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(instances, BTreeSet::from(["otel-agent".to_string()]));

    // A lookup that fails keeps what the name had: the agent stays a target.
    dns.set("otel-agent", Answer::ServFail);
    wait_lookups(&dns, &["otel-agent"], 2).await;
    let (active, _) = targets(&client).await;
    assert_eq!(active.len(), 1, "kept across failed lookups: {active:?}");

    // The profile stopped: the name no longer exists, and the target goes.
    dns.set("otel-agent", Answer::NxDomain);
    wait_for("the agent's target to go", TIMEOUT, || {
        let client = &client;
        async move { targets(client).await.0.is_empty().then_some(()) }
    })
    .await;
    assert!(query(&client, &format!("{up} == 0")).await.is_empty());

    agent.assert_running();
    prometheus.assert_running();
}
