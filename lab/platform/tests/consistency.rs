//! Consistency of the platform configs with each other, with the telemetry
//! the services emit, and with facts read from the pinned upstream versions.
//! Tempo, Loki and Grafana are AGPL-licensed and never built or run here, so
//! these tests are what stands between a typo in a port, hostname, uid or
//! metric name and a dashboard that silently shows nothing. (The collector and
//! Prometheus also run for real: tests/collector_e2e.rs.)

use std::collections::{BTreeMap, BTreeSet};

use platform::*;

const PLATFORM: &str = "docker-compose.yml";
const SERVICES: &str = "docker-compose-services.yml";

/// The contract: compose service -> (service.name, port, binary).
const APP_SERVICES: &[(&str, &str, u16)] = &[
    ("frontend", "frontend", 5000),
    ("gateway", "gateway", 5001),
    ("geolocator", "geolocator-service", 5002),
    ("iss-distance", "iss-distance-service", 5003),
];

/// The collector config as compose runs it: every `${env:VAR:-default}` at
/// its default, after checking that compose really sets none of them.
fn collector_config() -> Yaml {
    let text = read("otel-collector/config.yaml");
    let compose_env = env(service(&compose_services(PLATFORM), "otel-collector"));
    for (name, default) in env_defaults(&text) {
        assert!(
            !default.is_empty(),
            "${{env:{name}}} needs a default: the compose value"
        );
        assert!(
            !compose_env.contains_key(&name),
            "compose sets {name}: the default in the config is then not what compose runs"
        );
    }
    serde_yaml_ng::from_str(&expand_env_defaults(&text)).expect("collector config is YAML")
}

fn compose_services(file: &str) -> Vec<(String, Yaml)> {
    let doc = yaml(file);
    doc["services"]
        .as_mapping()
        .unwrap_or_else(|| panic!("{file}: no services"))
        .iter()
        .map(|(k, v)| (ystr(k).unwrap(), v.clone()))
        .collect()
}

fn service<'a>(services: &'a [(String, Yaml)], name: &str) -> &'a Yaml {
    &services
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no compose service {name}"))
        .1
}

fn strings(value: &Yaml) -> Vec<String> {
    value
        .as_sequence()
        .map(|s| s.iter().filter_map(ystr).collect())
        .unwrap_or_default()
}

/// `http://host:port/path` -> (host, port, path)
fn split_url(url: &str) -> (String, u16, String) {
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("not an http:// URL: {url}"));
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = authority
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("no port in {url}"));
    (
        host.to_string(),
        port.parse().expect("numeric port"),
        path.to_string(),
    )
}

/// The port of a `host:port` listen address.
fn port_of(endpoint: &str) -> u16 {
    endpoint
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {endpoint}"))
}

/// The environment of a compose service as a map (mapping syntax only).
fn env(svc: &Yaml) -> BTreeMap<String, String> {
    svc.get("environment")
        .and_then(Yaml::as_mapping)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (ystr(k).unwrap(), ystr(v).unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
}

/// Container ports published by a service, as (host ip, host port, container port).
fn published(svc: &Yaml) -> Vec<(String, u16, u16)> {
    strings(svc.get("ports").unwrap_or(&Yaml::Null))
        .iter()
        .map(|p| {
            let parts: Vec<&str> = p.split(':').collect();
            assert_eq!(parts.len(), 3, "port {p:?} must be ip:host:container");
            (
                parts[0].to_string(),
                parts[1].parse().unwrap(),
                parts[2].parse().unwrap(),
            )
        })
        .collect()
}

fn healthcheck_test(svc: &Yaml) -> Vec<String> {
    strings(yget(svc, &["healthcheck", "test"]).unwrap_or(&Yaml::Null))
}

#[test]
fn every_image_is_pinned_to_a_version() {
    let mut problems = Vec::new();
    for file in [PLATFORM, SERVICES] {
        for (name, svc) in compose_services(file) {
            if svc.get("build").is_some() {
                // A local build: the Dockerfile's FROM lines are checked below.
                continue;
            }
            let image = svc
                .get("image")
                .and_then(ystr)
                .unwrap_or_else(|| panic!("{file}: {name} has neither image nor build"));
            if !is_pinned(&image) {
                problems.push(format!("{file}: {name} uses unpinned image {image}"));
            }
        }
    }
    let dockerfile = read("Dockerfile");
    let mut args = BTreeMap::new();
    let mut stages = BTreeSet::new();
    for line in dockerfile.lines().map(str::trim) {
        if let Some(arg) = line.strip_prefix("ARG ") {
            if let Some((k, v)) = arg.split_once('=') {
                args.insert(format!("${{{k}}}"), v.to_string());
            }
        }
        if let Some(from) = line.strip_prefix("FROM ") {
            let words: Vec<&str> = from.split_whitespace().collect();
            let mut image = words[0].to_string();
            for (k, v) in &args {
                image = image.replace(k.as_str(), v);
            }
            // `scratch` is the empty image, not a pull.
            if !stages.contains(&image) && image != "scratch" && !is_pinned(&image) {
                problems.push(format!("Dockerfile: unpinned base image {image}"));
            }
            if let Some(pos) = words.iter().position(|w| w.eq_ignore_ascii_case("as")) {
                stages.insert(words[pos + 1].to_string());
            }
        }
    }
    assert!(stages.len() >= 6, "Dockerfile stages: {stages:?}");
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The official golang image sets `GOPATH=/go`, so Go keeps its module cache
/// in /go/pkg/mod; a cache mount anywhere else is never used and every build
/// downloads all modules again.
#[test]
fn go_stages_mount_the_module_cache_where_the_golang_image_keeps_it() {
    let dockerfile = read("Dockerfile");
    let mut in_go_stage = false;
    let mut module_mounts = 0;
    for line in dockerfile.lines().map(str::trim) {
        if let Some(from) = line.strip_prefix("FROM ") {
            in_go_stage = from.starts_with("golang:");
        }
        for mount in line.split_whitespace().filter(|w| w.contains("type=cache")) {
            let target = mount
                .split(',')
                .find_map(|kv| kv.strip_prefix("target="))
                .unwrap_or_else(|| panic!("cache mount without target: {line}"));
            if in_go_stage && target.ends_with("pkg/mod") {
                assert_eq!(target, "/go/pkg/mod", "{line}");
                module_mounts += 1;
            }
        }
    }
    assert!(
        module_mounts > 0,
        "no Go module cache mount in the Dockerfile"
    );
}

/// A tag (or digest) that names a version: not `latest`, not missing.
fn is_pinned(image: &str) -> bool {
    if image.contains("@sha256:") {
        return true;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) => tag != "latest" && tag.chars().any(|c| c.is_ascii_digit()),
        None => false,
    }
}

#[test]
fn the_image_pin_rule_rejects_latest_and_missing_tags() {
    assert!(is_pinned("grafana/tempo:3.0.3"));
    assert!(!is_pinned("gcr.io/distroless/cc-debian12:nonroot"));
    assert!(is_pinned(
        "gcr.io/distroless/cc-debian12:nonroot@sha256:9dac0a79"
    ));
    assert!(is_pinned("localhost:5000/x:1.2"));
    assert!(!is_pinned("grafana/tempo:latest"));
    assert!(!is_pinned("grafana/tempo"));
    assert!(!is_pinned("localhost:5000/x"));
}

#[test]
fn every_container_is_health_checked_hardened_and_on_loopback() {
    let mut problems = Vec::new();
    for file in [PLATFORM, SERVICES] {
        for (name, svc) in compose_services(file) {
            let mut bad = |what: &str| problems.push(format!("{file}: {name}: {what}"));
            let test = healthcheck_test(&svc);
            if test.len() < 2 || !["CMD", "CMD-SHELL"].contains(&test[0].as_str()) {
                bad("needs a healthcheck test");
            }
            if test.iter().any(|t| t == "true" || t == "exit 0") {
                bad("healthcheck that cannot fail");
            }
            match svc.get("user").and_then(ystr) {
                Some(user) if !(user == "root" || user == "0" || user.starts_with("0:")) => {}
                _ => bad("must run as an explicit non-root user"),
            }
            if svc.get("read_only") != Some(&Yaml::Bool(true)) {
                bad("root filesystem must be read_only");
            }
            if !strings(svc.get("cap_drop").unwrap_or(&Yaml::Null)).contains(&"ALL".to_string()) {
                bad("must drop all capabilities");
            }
            if yget(&svc, &["deploy", "resources", "limits", "memory"]).is_none() {
                bad("needs a memory limit");
            }
            // A list of names, or a mapping of names to settings (a fixed address, aliases).
            let networks: Vec<String> = match svc.get("networks") {
                Some(Yaml::Mapping(map)) => map.keys().filter_map(ystr).collect(),
                Some(list) => strings(list),
                None => Vec::new(),
            };
            if !networks.contains(&"observability".into()) {
                bad("must join the observability network");
            }
            for (ip, _, _) in published(&svc) {
                if ip != "127.0.0.1" {
                    bad("ports must be published on 127.0.0.1 only");
                }
            }
            if let Some(deps) = svc.get("depends_on") {
                match deps.as_mapping() {
                    Some(map) => {
                        for (dep, cond) in map {
                            if cond.get("condition").and_then(ystr).as_deref()
                                != Some("service_healthy")
                            {
                                bad(&format!(
                                    "depends_on {} must wait for service_healthy",
                                    ystr(dep).unwrap()
                                ));
                            }
                        }
                    }
                    None => bad("depends_on must use the long form with a condition"),
                }
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn both_compose_files_share_one_named_network_and_have_distinct_project_names() {
    let platform = yaml(PLATFORM);
    let services = yaml(SERVICES);
    let p_net = &platform["networks"]["observability"];
    let s_net = &services["networks"]["observability"];
    let name = ystr(&p_net["name"]).expect("platform network has a fixed name");
    assert_eq!(ystr(&s_net["name"]).as_deref(), Some(name.as_str()));
    assert_eq!(s_net.get("external"), Some(&Yaml::Bool(true)));
    assert!(
        p_net.get("external").is_none(),
        "the platform file creates the network"
    );
    let (pn, sn) = (
        ystr(&platform["name"]).unwrap(),
        ystr(&services["name"]).unwrap(),
    );
    assert_ne!(
        pn, sn,
        "one project name would make each file's containers orphans of the other"
    );
}

#[test]
fn every_mounted_file_and_named_volume_exists() {
    let root = repo_root();
    let mut problems = Vec::new();
    for file in [PLATFORM, SERVICES] {
        let doc = yaml(file);
        let declared: BTreeSet<String> = doc
            .get("volumes")
            .and_then(Yaml::as_mapping)
            .map(|m| m.keys().filter_map(ystr).collect())
            .unwrap_or_default();
        for (name, svc) in compose_services(file) {
            for volume in strings(svc.get("volumes").unwrap_or(&Yaml::Null)) {
                let source = volume.split(':').next().unwrap();
                if source.starts_with("./") {
                    if !root.join(source).exists() {
                        problems.push(format!("{file}: {name} mounts missing {source}"));
                    }
                    if !volume.ends_with(":ro") {
                        problems.push(format!("{file}: {name} must mount {source} read-only"));
                    }
                } else if !declared.contains(source) {
                    problems.push(format!("{file}: {name} uses undeclared volume {source}"));
                }
            }
            for watch in yget(&svc, &["develop", "watch"])
                .and_then(Yaml::as_sequence)
                .into_iter()
                .flatten()
            {
                let path = ystr(&watch["path"]).unwrap();
                if !root.join(&path).exists() {
                    problems.push(format!("{file}: {name} watches missing {path}"));
                }
            }
        }
    }
    for line in read("Dockerfile").lines() {
        if let Some(rest) = line.trim().strip_prefix("COPY ") {
            if rest.starts_with("--from") || rest.starts_with(". ") {
                continue;
            }
            let source = rest.split_whitespace().next().unwrap();
            if !root.join(source).exists() {
                problems.push(format!("Dockerfile copies missing {source}"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn endpoints_agree_across_compose_collector_prometheus_tempo_loki_and_grafana() {
    let platform = compose_services(PLATFORM);
    let apps = compose_services(SERVICES);
    let collector = collector_config();
    let prometheus = yaml("prometheus/prometheus.yml");
    let tempo = yaml("tempo/tempo.yaml");
    let loki = yaml("loki/loki.yaml");
    let grafana = yaml("grafana/provisioning/datasources/datasources.yaml");

    let has = |name: &str| platform.iter().any(|(n, _)| n == name);
    let container_ports = |name: &str| -> BTreeSet<u16> {
        published(service(&platform, name))
            .iter()
            .map(|p| p.2)
            .collect()
    };

    // Listening ports, from each component's own config.
    let otlp_grpc =
        port_of(&ystr(&collector["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]).unwrap());
    let otlp_http =
        port_of(&ystr(&collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"]).unwrap());
    let collector_health =
        port_of(&ystr(&collector["extensions"]["health_check"]["endpoint"]).unwrap());
    let collector_metrics = yget(&collector, &["service", "telemetry", "metrics", "readers"])
        .and_then(Yaml::as_sequence)
        .and_then(|r| {
            r.iter()
                .find_map(|r| yget(r, &["pull", "exporter", "prometheus", "port"]))
        })
        .and_then(ystr)
        .expect("collector exposes its metrics for scraping")
        .parse::<u16>()
        .unwrap();
    let prom_cmd = strings(&service(&platform, "prometheus")["command"]);
    let prom_port = prom_cmd
        .iter()
        .find_map(|a| a.strip_prefix("--web.listen-address="))
        .map(port_of)
        .expect("prometheus --web.listen-address");
    let tempo_http = ystr(&tempo["server"]["http_listen_port"])
        .unwrap()
        .parse::<u16>()
        .unwrap();
    let tempo_otlp_grpc = port_of(
        &ystr(&tempo["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]).unwrap(),
    );
    let loki_http = ystr(&loki["server"]["http_listen_port"])
        .unwrap()
        .parse::<u16>()
        .unwrap();

    // Prometheus accepts what is pushed to it: everything comes over OTLP.
    for flag in [
        "--web.enable-otlp-receiver",
        "--enable-feature=exemplar-storage",
    ] {
        assert!(
            prom_cmd.iter().any(|a| a == flag),
            "prometheus needs {flag}"
        );
    }

    // Collector exporters point at the right service and port.
    let exporters = &collector["exporters"];
    let tempo_ep = ystr(&exporters["otlp_grpc/tempo"]["endpoint"]).unwrap();
    assert_eq!(tempo_ep, format!("tempo:{tempo_otlp_grpc}"));
    assert_eq!(
        ystr(&exporters["otlp_http/prometheus"]["endpoint"]).unwrap(),
        format!("http://prometheus:{prom_port}/api/v1/otlp")
    );
    assert_eq!(
        ystr(&exporters["otlp_http/loki"]["endpoint"]).unwrap(),
        format!("http://loki:{loki_http}/otlp")
    );
    for host in ["tempo", "prometheus", "loki", "grafana", "otel-collector"] {
        assert!(has(host), "{PLATFORM} has no service {host}");
    }

    // Prometheus scrapes the platform components on their real ports.
    let targets: BTreeSet<String> = prometheus["scrape_configs"]
        .as_sequence()
        .unwrap()
        .iter()
        // Jobs found by service discovery (dns_sd_configs) list no targets.
        .filter_map(|sc| sc["static_configs"].as_sequence())
        .flatten()
        .flat_map(|st| strings(&st["targets"]))
        .collect();
    for expected in [
        format!("otel-collector:{collector_metrics}"),
        format!("tempo:{tempo_http}"),
        format!("loki:{loki_http}"),
    ] {
        assert!(
            targets.contains(&expected),
            "prometheus.yml does not scrape {expected}: {targets:?}"
        );
    }

    // Health checks probe the ports the components listen on.
    let probe = |name: &str| healthcheck_test(service(&platform, name)).join(" ");
    assert!(probe("otel-collector").contains(&format!("127.0.0.1:{collector_health}/")));
    assert!(probe("prometheus").contains(&format!("127.0.0.1:{prom_port}/-/ready")));
    assert!(probe("tempo").contains(&format!("127.0.0.1:{tempo_http}/ready")));
    assert!(probe("loki").contains(&format!("127.0.0.1:{loki_http}/ready")));
    assert!(probe("grafana").contains("127.0.0.1:3000/api/health"));

    // Published ports are the ones the components listen on.
    assert_eq!(
        container_ports("otel-collector"),
        BTreeSet::from([otlp_grpc, otlp_http])
    );
    assert_eq!(container_ports("prometheus"), BTreeSet::from([prom_port]));
    assert_eq!(container_ports("tempo"), BTreeSet::from([tempo_http]));
    assert_eq!(container_ports("loki"), BTreeSet::from([loki_http]));
    assert_eq!(container_ports("grafana"), BTreeSet::from([3000]));

    // Grafana's datasources point at the compose services.
    let urls: BTreeMap<String, String> = grafana["datasources"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|d| (ystr(&d["type"]).unwrap(), ystr(&d["url"]).unwrap()))
        .collect();
    assert_eq!(urls["prometheus"], format!("http://prometheus:{prom_port}"));
    assert_eq!(urls["tempo"], format!("http://tempo:{tempo_http}"));
    assert_eq!(urls["loki"], format!("http://loki:{loki_http}"));

    // The services push to the collector's OTLP gRPC receiver (or, with
    // OTLP_ENDPOINT set, to the scale-out profile's agent on the same port)
    // and call each other on their contract ports.
    let agent = service(&platform, "otel-agent");
    assert_eq!(strings(&agent["profiles"]), ["scale-out"]);
    assert_eq!(
        port_of(
            ystr(
                &yaml("otel-collector/agent.yaml")["receivers"]["otlp"]["protocols"]["grpc"]
                    ["endpoint"]
            )
            .unwrap()
            .trim_end_matches('}')
        ),
        otlp_grpc
    );
    for (compose_name, _, port) in APP_SERVICES {
        let svc = service(&apps, compose_name);
        let e = env(svc);
        assert_eq!(
            e["OTEL_EXPORTER_OTLP_ENDPOINT"],
            format!("${{OTLP_ENDPOINT:-http://otel-collector:{otlp_grpc}}}"),
            "{compose_name}"
        );
        assert_eq!(e["OTEL_EXPORTER_OTLP_PROTOCOL"], "grpc", "{compose_name}");
        assert_eq!(e["PORT"], port.to_string(), "{compose_name}");
        assert_eq!(
            published(svc),
            vec![("127.0.0.1".into(), *port, *port)],
            "{compose_name}"
        );
        let build_target = ystr(&svc["build"]["target"]).unwrap();
        assert_eq!(&build_target, compose_name);
    }
    let e = |n: &str| env(service(&apps, n));
    assert_eq!(e("frontend")["GATEWAY_URL"], "http://gateway:5001");
    assert_eq!(
        e("gateway")["GEOLOCATOR_SERVICE_URL"],
        "http://geolocator:5002"
    );
    assert_eq!(
        e("gateway")["ISS_DISTANCE_SERVICE_URL"],
        "http://iss-distance:5003"
    );
    let (host, port, _) = split_url(&e("frontend")["GRAFANA_URL"]);
    assert_eq!(
        (host.as_str(), port),
        ("127.0.0.1", 3000),
        "the browser follows this link"
    );

    // The Dockerfile's targets listen where compose expects them.
    let dockerfile = read("Dockerfile");
    for (target, _, port) in APP_SERVICES {
        let stage = dockerfile
            .split("\nFROM ")
            .find(|s| {
                s.trim_end()
                    .lines()
                    .next()
                    .unwrap_or("")
                    .ends_with(&format!(" AS {target}"))
            })
            .unwrap_or_else(|| panic!("Dockerfile has no stage {target}"));
        assert!(
            stage.contains(&format!("ENV PORT={port}")),
            "stage {target}"
        );
        assert!(stage.contains(&format!("EXPOSE {port}")), "stage {target}");
    }
}

#[test]
fn the_local_prometheus_config_scrapes_the_four_services_with_the_otlp_labels() {
    let local = yaml("prometheus/prometheus-local.yml");
    let configs = local["scrape_configs"].as_sequence().unwrap();
    assert_eq!(configs.len(), APP_SERVICES.len());
    for (_, service_name, port) in APP_SERVICES {
        let job = format!("iss-distance-app/{service_name}");
        let sc = configs
            .iter()
            .find(|c| ystr(&c["job_name"]).as_deref() == Some(job.as_str()))
            .unwrap_or_else(|| {
                panic!("no job {job}: the job must equal what an OTLP push derives")
            });
        let st = &sc["static_configs"][0];
        assert_eq!(strings(&st["targets"]), vec![format!("127.0.0.1:{port}")]);
        assert_eq!(
            ystr(&st["labels"]["service_name"]).as_deref(),
            Some(*service_name)
        );
        assert_eq!(
            ystr(&st["labels"]["service_namespace"]).as_deref(),
            Some("iss-distance-app")
        );
        assert!(st["labels"].get("deployment_environment_name").is_some());
    }
}

#[test]
fn collector_config_uses_release_0_159_component_names_and_sane_pipelines() {
    let c = collector_config();
    let defined = |kind: &str| -> BTreeSet<String> {
        c[kind]
            .as_mapping()
            .map(|m| m.keys().filter_map(ystr).collect())
            .unwrap_or_default()
    };
    let type_of = |id: &str| id.split('/').next().unwrap().to_string();
    // Current releases renamed the exporters to snake_case; the old names fail to load.
    for id in defined("exporters") {
        assert!(
            ["otlp_grpc", "otlp_http", "debug"].contains(&type_of(&id).as_str()),
            "exporter {id}"
        );
    }
    for id in defined("processors") {
        assert!(
            ["memory_limiter", "batch", "attributes"].contains(&type_of(&id).as_str()),
            "processor {id}"
        );
    }
    for id in defined("receivers") {
        assert_eq!(type_of(&id), "otlp", "receiver {id}");
    }
    // Also renamed in current releases (spanmetrics, servicegraph before).
    assert_eq!(
        defined("connectors"),
        BTreeSet::from(["span_metrics".into(), "service_graph".into()])
    );
    assert_eq!(
        strings(&c["service"]["extensions"]),
        vec!["health_check".to_string()]
    );
    assert!(defined("extensions").contains("health_check"));

    let pipelines = c["service"]["pipelines"].as_mapping().unwrap();
    let names: BTreeSet<String> = pipelines.keys().filter_map(ystr).collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "traces".into(),
            "metrics".into(),
            "logs".into(),
            "metrics/from_spans".into()
        ])
    );
    let connectors = defined("connectors");
    let mut used = BTreeSet::new();
    for (name, p) in pipelines {
        let name = ystr(name).unwrap();
        let procs = strings(&p["processors"]);
        // A pipeline fed only by connectors has nothing to refuse.
        let from_receivers = strings(&p["receivers"])
            .iter()
            .any(|r| !connectors.contains(r));
        if from_receivers {
            assert_eq!(
                procs.first().map(String::as_str),
                Some("memory_limiter"),
                "{name}: memory_limiter first"
            );
        }
        if name == "traces" {
            // Tempo's exporter queue batches the spans, by size.
            assert!(
                !procs.contains(&"batch".to_string()),
                "{name}: no batch processor"
            );
        } else {
            assert_eq!(
                procs.last().map(String::as_str),
                Some("batch"),
                "{name}: batch last"
            );
        }
        for (kind, list) in [
            ("receivers", strings(&p["receivers"])),
            ("processors", procs),
            ("exporters", strings(&p["exporters"])),
        ] {
            for id in list {
                let is_connector = kind != "processors" && connectors.contains(&id);
                assert!(
                    defined(kind).contains(&id) || is_connector,
                    "{name} uses undefined {kind} {id}"
                );
                used.insert(id);
            }
        }
    }
    for kind in ["receivers", "processors", "exporters", "connectors"] {
        for id in defined(kind) {
            assert!(
                used.contains(&id),
                "{kind} {id} is defined but in no pipeline"
            );
        }
    }
    // Exports to Tempo stay under the 4 MiB a gRPC server takes by default
    // (grpc-go's defaultServerMaxReceiveMessageSize; Tempo sets no other),
    // in the single collector and in the gateways.
    for config in [&c, &yaml("otel-collector/gateway.yaml")] {
        let batch = &config["exporters"]["otlp_grpc/tempo"]["sending_queue"]["batch"];
        assert_eq!(ystr(&batch["sizer"]).as_deref(), Some("bytes"));
        let max: u64 = ystr(&batch["max_size"]).unwrap().parse().unwrap();
        assert!(max > 0 && max < 4 * 1024 * 1024, "max_size {max}");
    }
    let exporters_of = |p: &str| strings(&c["service"]["pipelines"][p]["exporters"]);
    assert_eq!(
        exporters_of("traces"),
        ["otlp_grpc/tempo", "span_metrics", "service_graph"]
    );
    for metrics in ["metrics", "metrics/from_spans"] {
        assert_eq!(exporters_of(metrics), ["otlp_http/prometheus"]);
    }
    assert_eq!(exporters_of("logs"), vec!["otlp_http/loki".to_string()]);
}

/// Keys of the `otlp:` block documented for Prometheus v3.14
/// (docs/configuration/configuration.md at that tag).
const PROMETHEUS_3_OTLP_KEYS: &[&str] = &[
    "promote_resource_attributes",
    "promote_all_resource_attributes",
    "ignore_resource_attributes",
    "translation_strategy",
    "keep_identifying_resource_attributes",
    "convert_histograms_to_nhcb",
    "promote_scope_metadata",
    "label_name_underscore_sanitization",
    "label_name_preserve_multiple_underscores",
];

#[test]
fn prometheus_3_only_settings_match_the_pinned_documentation() {
    let p = yaml("prometheus/prometheus.yml");
    let top: BTreeSet<String> = p.as_mapping().unwrap().keys().filter_map(ystr).collect();
    let allowed_top = [
        "global",
        "runtime",
        "rule_files",
        "scrape_config_files",
        "scrape_configs",
        "alerting",
        "remote_write",
        "otlp",
        "remote_read",
        "storage",
        "tracing",
    ];
    for key in &top {
        assert!(
            allowed_top.contains(&key.as_str()),
            "unknown top-level key {key}"
        );
    }
    let otlp = p["otlp"].as_mapping().expect("otlp block");
    for key in otlp.keys().filter_map(ystr) {
        assert!(
            PROMETHEUS_3_OTLP_KEYS.contains(&key.as_str()),
            "otlp.{key} is not a v3.14 key"
        );
    }
    // The only strategy under which pushed names equal the scraped exporter's
    // names (http_server_request_duration_seconds_bucket, incoming_requests_total).
    assert_eq!(
        ystr(&p["otlp"]["translation_strategy"]).as_deref(),
        Some("UnderscoreEscapingWithSuffixes")
    );
    let promoted = strings(&p["otlp"]["promote_resource_attributes"]);
    for attr in [
        "service.name",
        "service.namespace",
        "deployment.environment.name",
    ] {
        assert!(
            promoted.contains(&attr.to_string()),
            "{attr} must be promoted"
        );
    }
    assert_eq!(
        p["otlp"].get("keep_identifying_resource_attributes"),
        Some(&Yaml::Bool(true))
    );
    let ooo = ystr(&p["storage"]["tsdb"]["out_of_order_time_window"]).expect("out-of-order window");
    assert!(
        ooo.ends_with('m') && ooo.trim_end_matches('m').parse::<u32>().unwrap() > 0,
        "{ooo}"
    );
    // The rule glob is relative to the config file, so it resolves to the
    // directory compose mounts beside it, and to prometheus/rules when the
    // end-to-end test loads the file from the repository.
    assert_eq!(strings(&p["rule_files"]), vec!["rules/*.yml".to_string()]);
    // Retention lives in the config file: the flag is deprecated in 3.14.
    assert!(ystr(&p["storage"]["tsdb"]["retention"]["time"]).is_some());
    let platform = compose_services(PLATFORM);
    assert!(
        !strings(&service(&platform, "prometheus")["command"])
            .iter()
            .any(|flag| flag.starts_with("--storage.tsdb.retention")),
        "--storage.tsdb.retention.* flags are deprecated in 3.14: use storage.tsdb.retention in prometheus.yml"
    );
    let volumes = strings(&service(&platform, "prometheus")["volumes"]);
    assert!(volumes.contains(&"./prometheus/rules:/etc/prometheus/rules:ro".to_string()));
    assert!(volumes
        .contains(&"./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro".to_string()));
}

#[test]
fn tempo_config_has_nothing_tempo_3_removed_and_no_metrics_generator() {
    let text = read("tempo/tempo.yaml");
    let t = yaml("tempo/tempo.yaml");
    for removed in [
        "ingester",
        "ingester_client",
        "compactor",
        "metrics_generator_client",
    ] {
        assert!(
            t.get(removed).is_none(),
            "Tempo 3 removed the {removed} block"
        );
    }
    let config_only: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    assert!(!config_only.contains("local_blocks") && !config_only.contains("local-blocks"));
    // Span metrics and the service graph come from the collector's
    // connectors, which see every span; Tempo's generator would count only
    // the sampled traces, and a second writer of traces_spanmetrics_* would
    // double the dashboards' rates. Without metrics_generator.storage.path
    // Tempo 3.0.3 runs the module idle (generator.ErrUnconfigured).
    assert!(
        t.get("metrics_generator").is_none(),
        "no metrics_generator block"
    );
    assert!(
        !config_only.contains("span-metrics") && !config_only.contains("service-graphs"),
        "no generator processor is enabled"
    );
    assert_eq!(
        ystr(&t["storage"]["trace"]["backend"]).as_deref(),
        Some("local")
    );
    let platform = compose_services(PLATFORM);
    let volumes = strings(&service(&platform, "tempo")["volumes"]);
    assert!(volumes.contains(&"tempo-data:/var/tempo".to_string()));
    for path in [
        ["storage", "trace", "wal", "path"].as_slice(),
        &["storage", "trace", "local", "path"],
    ] {
        let p = ystr(yget(&t, path).unwrap()).unwrap();
        assert!(
            p.starts_with("/var/tempo/"),
            "{path:?} = {p} is outside the data volume"
        );
    }
}

#[test]
fn loki_takes_otlp_with_structured_metadata_and_service_name_labels() {
    let l = yaml("loki/loki.yaml");
    let schema = &l["schema_config"]["configs"][0];
    assert_eq!(ystr(&schema["store"]).as_deref(), Some("tsdb"));
    assert_eq!(ystr(&schema["schema"]).as_deref(), Some("v13"));
    assert_eq!(
        l["limits_config"].get("allow_structured_metadata"),
        Some(&Yaml::Bool(true))
    );
    let resource = &l["limits_config"]["otlp_config"]["resource_attributes"];
    // Without ignore_defaults Loki also indexes its default list, which holds
    // service.instance.id: a new stream set at every restart.
    assert_eq!(resource.get("ignore_defaults"), Some(&Yaml::Bool(true)));
    let mut indexed = BTreeSet::new();
    for config in resource["attributes_config"].as_sequence().unwrap() {
        if ystr(&config["action"]).as_deref() == Some("index_label") {
            indexed.extend(strings(&config["attributes"]));
        }
    }
    assert_eq!(
        indexed,
        BTreeSet::from([
            "service.name".to_string(),
            "service.namespace".to_string(),
            "deployment.environment.name".to_string()
        ])
    );
    assert_eq!(ystr(&l["common"]["path_prefix"]).as_deref(), Some("/loki"));
    let platform = compose_services(PLATFORM);
    assert!(
        strings(&service(&platform, "loki")["volumes"]).contains(&"loki-data:/loki".to_string())
    );
}

/// A Prometheus-style duration ("7d", "168h", "90m") in seconds.
fn duration_secs(text: &str) -> u64 {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or_else(|| panic!("no unit in {text:?}"));
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .unwrap_or_else(|_| panic!("no number in {text:?}"));
    number
        * match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            _ => panic!("unit {unit:?} of {text:?}"),
        }
}

/// One retention for metrics, logs and traces, so that a trace linked from a
/// metric or a log line is still there. The keys were read from the pinned
/// sources, since Loki and Tempo (AGPL) are never built or run here: Loki
/// v3.7.6 pkg/validation/limits.go (limits_config.retention_period, default
/// 0s: forever) and pkg/compactor/config.go (compactor.retention_enabled,
/// default false; delete_request_store required when it is on); Tempo v3.0.3
/// tempodb/config.go and modules/backendworker/config.go
/// (backend_worker.compaction.block_retention, default 336h).
#[test]
fn metrics_logs_and_traces_are_kept_for_the_same_time() {
    let prometheus = yaml("prometheus/prometheus.yml");
    let loki = yaml("loki/loki.yaml");
    let tempo = yaml("tempo/tempo.yaml");
    let metrics = ystr(&prometheus["storage"]["tsdb"]["retention"]["time"])
        .expect("prometheus.yml sets storage.tsdb.retention.time");
    let logs = ystr(&loki["limits_config"]["retention_period"])
        .expect("loki.yaml sets limits_config.retention_period");
    let traces = ystr(&tempo["backend_worker"]["compaction"]["block_retention"])
        .expect("tempo.yaml sets backend_worker.compaction.block_retention");
    // Without the compactor's retention Loki never deletes anything.
    assert_eq!(
        loki["compactor"]["retention_enabled"],
        Yaml::Bool(true),
        "loki.yaml: compactor.retention_enabled"
    );
    let store = ystr(&loki["compactor"]["delete_request_store"])
        .expect("loki.yaml: compactor.delete_request_store is required with retention");
    let object_store = ystr(&loki["schema_config"]["configs"][0]["object_store"]).unwrap();
    assert_eq!(
        store, object_store,
        "deletes kept in the object store in use"
    );
    let working = ystr(&loki["compactor"]["working_directory"]).unwrap();
    assert!(
        working.starts_with("/loki/"),
        "the compactor works on the data volume (the image is read-only): {working}"
    );
    let [m, l, t] = [&metrics, &logs, &traces].map(|d| duration_secs(d));
    assert!(
        m == l && l == t,
        "retention differs: metrics {metrics}, logs {logs}, traces {traces}"
    );
    // The chart's upstream values keep the same policy.
    let upstream_prometheus = yaml("deploy/helm/upstream/prometheus.yaml");
    let upstream_loki = yaml("deploy/helm/upstream/loki.yaml");
    let upstream_tempo = yaml("deploy/helm/upstream/tempo.yaml");
    for (file, value) in [
        (
            "prometheus.yaml server.retention",
            &upstream_prometheus["server"]["retention"],
        ),
        (
            "loki.yaml loki.limits_config.retention_period",
            &upstream_loki["loki"]["limits_config"]["retention_period"],
        ),
        (
            "tempo.yaml tempo.retention",
            &upstream_tempo["tempo"]["retention"],
        ),
    ] {
        let value = ystr(value).unwrap_or_else(|| panic!("deploy/helm/upstream/{file} is not set"));
        assert_eq!(duration_secs(&value), m, "deploy/helm/upstream/{file}");
    }
    assert_eq!(
        upstream_loki["loki"]["compactor"]["retention_enabled"],
        Yaml::Bool(true)
    );
}

fn datasource_uids_by_type() -> BTreeMap<String, String> {
    let g = yaml("grafana/provisioning/datasources/datasources.yaml");
    let mut out = BTreeMap::new();
    for d in g["datasources"].as_sequence().unwrap() {
        let uid = ystr(&d["uid"]).expect("every datasource has a fixed uid");
        assert!(
            out.insert(uid, ystr(&d["type"]).unwrap()).is_none(),
            "duplicate uid"
        );
    }
    out
}

#[test]
fn grafana_datasources_link_every_signal_to_the_others() {
    let uids = datasource_uids_by_type();
    let g = yaml("grafana/provisioning/datasources/datasources.yaml");
    let by_type = |t: &str| {
        g["datasources"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|d| ystr(&d["type"]).as_deref() == Some(t))
            .unwrap_or_else(|| panic!("no {t} datasource"))
            .clone()
    };
    let (prom, tempo, loki) = (by_type("prometheus"), by_type("tempo"), by_type("loki"));
    let uid = |d: &Yaml| ystr(&d["uid"]).unwrap();
    let link = |v: Option<&Yaml>| -> String {
        let target = ystr(v.expect("link present")).unwrap();
        assert!(
            uids.contains_key(&target),
            "link to unknown datasource uid {target}"
        );
        target
    };

    // Prometheus exemplars -> Tempo: everything arrives over OTLP, whose
    // exemplars carry the label trace_id (traceIDKey in Prometheus 3.14's
    // storage/remote/otlptranslator/prometheusremotewrite/helper.go).
    let dests = prom["jsonData"]["exemplarTraceIdDestinations"]
        .as_sequence()
        .unwrap();
    let names: BTreeSet<String> = dests.iter().map(|d| ystr(&d["name"]).unwrap()).collect();
    assert_eq!(names, BTreeSet::from(["trace_id".to_string()]));
    for d in dests {
        assert_eq!(link(d.get("datasourceUid")), uid(&tempo));
    }
    // Tempo -> Loki, filtered by trace id (structured metadata of OTLP logs).
    let t = &tempo["jsonData"];
    assert_eq!(
        link(yget(t, &["tracesToLogsV2", "datasourceUid"])),
        uid(&loki)
    );
    let q = ystr(&t["tracesToLogsV2"]["query"]).unwrap();
    assert!(q.contains(r#"trace_id="$${__trace.traceId}""#), "{q}");
    assert!(q.contains("$${__tags}"), "{q}");
    // Tempo -> Prometheus: metrics, service map. `lokiSearch` is the legacy
    // key that tracesToLogsV2 replaced: it must not come back.
    assert_eq!(
        link(yget(t, &["tracesToMetrics", "datasourceUid"])),
        uid(&prom)
    );
    assert_eq!(link(yget(t, &["serviceMap", "datasourceUid"])), uid(&prom));
    assert!(t.get("lokiSearch").is_none(), "lokiSearch is a legacy key");
    assert_eq!(t["nodeGraph"].get("enabled"), Some(&Yaml::Bool(true)));
    // Loki trace_id -> Tempo.
    let field = &loki["jsonData"]["derivedFields"][0];
    assert_eq!(link(field.get("datasourceUid")), uid(&tempo));
    assert_eq!(ystr(&field["matcherType"]).as_deref(), Some("label"));
    assert_eq!(ystr(&field["matcherRegex"]).as_deref(), Some("trace_id"));
    // Grafana expands $VAR in provisioning files; an unescaped ${__...} would be blanked.
    let raw = read("grafana/provisioning/datasources/datasources.yaml");
    for (i, _) in raw.match_indices("{__") {
        assert!(
            raw[..i].ends_with("$$"),
            "unescaped Grafana variable near byte {i}"
        );
    }
}

#[test]
fn dashboards_use_provisioned_datasources_and_are_provisioned_from_the_mounted_folder() {
    let uids = datasource_uids_by_type();
    let mut dashboard_uids = BTreeSet::new();
    for (file, d) in dashboards() {
        for uid in datasource_uids(&d) {
            assert!(
                uids.contains_key(&uid),
                "{file} uses unknown datasource uid {uid}"
            );
        }
        let uid = d["uid"].as_str().expect("dashboard uid").to_string();
        assert!(
            dashboard_uids.insert(uid),
            "{file}: duplicate dashboard uid"
        );
    }
    let provider = yaml("grafana/provisioning/dashboards/dashboards.yaml");
    let p = &provider["providers"][0];
    assert!(
        ystr(&p["folder"]).is_some_and(|f| !f.is_empty()),
        "dashboards go in a folder"
    );
    let path = ystr(&p["options"]["path"]).unwrap();
    let platform = compose_services(PLATFORM);
    let volumes = strings(&service(&platform, "grafana")["volumes"]);
    assert!(
        volumes.contains(&format!("./grafana/dashboards:{path}:ro")),
        "{volumes:?}"
    );
    assert!(volumes.contains(&"./grafana/provisioning:/etc/grafana/provisioning:ro".to_string()));
    let env = env(service(&platform, "grafana"));
    assert_eq!(
        env["GF_SECURITY_ADMIN_PASSWORD"], "${GRAFANA_ADMIN_PASSWORD:-admin}",
        "no password in the repo"
    );
    let home = &env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"];
    let home_file = home
        .strip_prefix(&format!("{path}/"))
        .expect("home dashboard in the mounted folder");
    assert!(repo_root()
        .join("grafana/dashboards")
        .join(home_file)
        .exists());
}

fn variables(d: &Json) -> Vec<String> {
    d.pointer("/templating/list")
        .and_then(Json::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|v| v["name"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn dashboards_cover_red_upstreams_logs_traces_service_graph_and_collector() {
    let all = dashboards();
    let find = |uid: &str| {
        &all.iter()
            .find(|(_, d)| d["uid"] == uid)
            .unwrap_or_else(|| panic!("no dashboard {uid}"))
            .1
    };
    let queries = |uid: &str| panel_queries(uid, find(uid));

    let red = find("iss-red-overview");
    assert_eq!(
        variables(red),
        vec!["service".to_string(), "route".to_string()]
    );
    let red_q = queries("iss-red-overview");
    for q in ["0.5", "0.95", "0.99"] {
        let t = red_q
            .iter()
            .find(|p| p.text.starts_with(&format!("histogram_quantile({q}, ")))
            .unwrap_or_else(|| panic!("RED overview lacks p{q}"));
        assert!(t.text.contains("$service") && t.text.contains("$route"));
        // The SDK records no exemplars yet: asking the services' histogram
        // for them would only cost a query.
        assert_eq!(t.target["exemplar"], false, "p{q}: no SDK exemplars yet");
    }
    // Exemplar dots today: the collector's span metrics beside the services'
    // own histogram, in the same panel, which says why there are two sources.
    let exemplar_sources: Vec<_> = red_q
        .iter()
        .filter(|p| p.target["exemplar"] == true)
        .collect();
    assert_eq!(
        exemplar_sources.len(),
        1,
        "one exemplar source on the RED overview"
    );
    let source = exemplar_sources[0];
    assert!(
        source
            .text
            .contains("traces_spanmetrics_duration_seconds_bucket"),
        "{}",
        source.text
    );
    assert!(source.text.contains("$service") && source.text.contains("$route"));
    let description = source.panel_json["description"]
        .as_str()
        .unwrap_or_default();
    assert!(
        description.contains("span metrics") && description.contains("opentelemetry-rust#3369"),
        "the latency panel says why its exemplars come from the span metrics: {description}"
    );
    assert!(
        description.contains("tail sampling dropped"),
        "the latency panel says what a dot of a dropped trace does: {description}"
    );
    assert!(
        red_q.iter().any(|p| p.panel == source.panel
            && p.text
                .contains("http_server_request_duration_seconds_bucket")),
        "the exemplars sit beside the services' own histogram"
    );
    assert!(
        red_q
            .iter()
            .any(|p| p.text.contains(r#"http_response_status_code=~"5..""#)),
        "error ratio"
    );
    for uid in ["iss-upstreams", "iss-logs-traces", "iss-service-graph"] {
        assert!(
            variables(find(uid)).contains(&"service".to_string()),
            "{uid} has a service variable"
        );
    }
    let up = queries("iss-upstreams")
        .iter()
        .map(|p| p.text.clone())
        .collect::<Vec<_>>()
        .join("\n");
    for m in [
        "iss_requests_total",
        "iss_position_lookups_total",
        "geocoder_lookups_total",
        "http_client_request_duration_seconds_bucket",
    ] {
        assert!(up.contains(m), "upstreams dashboard lacks {m}");
    }
    let lt = queries("iss-logs-traces");
    assert!(lt
        .iter()
        .any(|p| p.datasource_uid == "loki" && p.panel_json["type"] == "logs"));
    assert!(lt.iter().any(|p| p.datasource_uid == "tempo"
        && p.target["queryType"] == "traceql"
        && p.text.contains("status = error")));
    assert!(lt
        .iter()
        .any(|p| p.datasource_uid == "tempo" && p.text.contains("duration >")));
    // Grafana looks panels up by their exact plugin id, which for the node
    // graph is "nodeGraph" (public/app/plugins/panel/nodeGraph/plugin.json in
    // Grafana's source); any other spelling shows "Panel plugin not found".
    let sg = queries("iss-service-graph");
    assert!(sg
        .iter()
        .any(|p| p.panel_json["type"] == "nodeGraph" && p.target["queryType"] == "serviceMap"));
    assert!(queries("iss-collector")
        .iter()
        .any(|p| p.text.contains("otelcol_receiver_refused_spans")));
}

#[test]
fn every_metric_and_label_used_is_one_the_stack_emits() {
    let emitted = emitted_metrics();
    let rules = rules();
    let mut known_metrics: BTreeSet<String> =
        emitted.iter().flat_map(|m| m.series_names()).collect();
    known_metrics.extend(rules.iter().filter(|r| !r.is_alert).map(|r| r.name.clone()));
    let mut known_labels: BTreeSet<String> =
        emitted.iter().flat_map(|m| m.prometheus_labels()).collect();
    known_labels.extend(COMMON_LABELS.iter().map(|s| s.to_string()));
    // What a rule records or alerts carries the labels the rule sets
    // (Sloth's sloth_slo, sloth_window, the alerts' severity).
    known_labels.extend(rules.iter().flat_map(|r| r.labels.iter().cloned()));

    let mut exprs: Vec<(String, String)> = Vec::new();
    for r in &rules {
        exprs.push((format!("{} rule {}", r.file, r.name), r.expr.clone()));
    }
    for (file, d) in dashboards() {
        for q in panel_queries(&file, &d)
            .into_iter()
            .filter(|q| q.datasource_uid == "prometheus")
        {
            let expr = substitute_grafana_vars(&q.text, GRAFANA_VARS)
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            exprs.push((format!("{file} panel {:?}", q.panel), expr));
        }
        // Variable queries: label_values(<selector>, <label>)
        for v in d
            .pointer("/templating/list")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            let def = v["definition"].as_str().unwrap_or("");
            let inner = def
                .strip_prefix("label_values(")
                .and_then(|s| s.strip_suffix(')'))
                .expect("label_values variable");
            let (selector, label) = inner.rsplit_once(',').unwrap();
            let selector = substitute_grafana_vars(selector, GRAFANA_VARS).unwrap();
            exprs.push((
                format!("{file} variable {}", v["name"]),
                format!("{selector} + on({}) vector(0)", label.trim()),
            ));
        }
    }
    let g = yaml("grafana/provisioning/datasources/datasources.yaml");
    for d in g["datasources"].as_sequence().unwrap() {
        for q in yget(d, &["jsonData", "tracesToMetrics", "queries"])
            .and_then(Yaml::as_sequence)
            .into_iter()
            .flatten()
        {
            let expr = ystr(&q["query"])
                .unwrap()
                .replace("$$__tags", r#"service_name="gateway""#);
            exprs.push(("tracesToMetrics".into(), expr));
        }
    }
    assert!(exprs.len() > 40, "found only {} expressions", exprs.len());

    let mut problems = Vec::new();
    for (where_, expr) in &exprs {
        let refs = promql_refs(expr).unwrap_or_else(|e| panic!("{where_}: {e}"));
        assert!(
            !refs.metrics.is_empty() || expr.contains("vector("),
            "{where_}: no metric in {expr}"
        );
        for m in refs.metrics.difference(&known_metrics) {
            problems.push(format!("{where_}: metric {m} is not emitted"));
        }
        for l in refs.labels.difference(&known_labels) {
            problems.push(format!("{where_}: label {l} is not emitted"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn a_misspelt_metric_or_label_is_caught_by_the_emitted_list() {
    // Guards the check above against becoming vacuous.
    let emitted = emitted_metrics();
    let names: BTreeSet<String> = emitted.iter().flat_map(|m| m.series_names()).collect();
    let refs = promql_refs(
        r#"sum by (http_status) (rate(http_server_request_duration_count{service_name="x"}[5m]))"#,
    )
    .unwrap();
    assert!(refs.metrics.iter().any(|m| !names.contains(m)));
    let labels: BTreeSet<String> = emitted.iter().flat_map(|m| m.prometheus_labels()).collect();
    assert!(!labels.contains("http_status"));
}

#[test]
fn the_services_metrics_are_the_registry_instruments_under_their_prometheus_names() {
    let registry = Registry::load();
    let emitted = emitted_metrics();
    let services: Vec<&MetricSpec> = emitted.iter().filter(|m| m.origin == "services").collect();
    for metric in &registry.metrics {
        let spec = services
            .iter()
            .find(|m| m.otel_name.as_deref() == Some(metric.name.as_str()))
            .unwrap_or_else(|| panic!("{} from the registry is emitted", metric.name));
        assert_eq!(
            spec.name,
            prometheus_name(&metric.name, metric.instrument.as_str(), Some(&metric.unit))
        );
        let labels: BTreeSet<String> = spec.prometheus_labels().into_iter().collect();
        for attribute in &metric.attributes {
            assert!(
                labels.contains(&prometheus_label(&attribute.key)),
                "{}",
                metric.name
            );
        }
    }
    assert_eq!(
        services.len(),
        registry.metrics.len() + 1,
        "the registry's instruments and target_info"
    );
    // One Prometheus name, one metric: no two instruments, and no instrument
    // and platform metric, may translate to the same series.
    let mut names = BTreeSet::new();
    for series in emitted.iter().flat_map(|m| m.series_names()) {
        assert!(names.insert(series.clone()), "{series} is emitted twice");
    }
}

#[test]
fn every_service_metric_of_the_registry_is_on_a_dashboard() {
    let used: BTreeSet<String> = promql_expressions()
        .iter()
        .filter(|(place, _, _)| place.starts_with("grafana/dashboards/"))
        .flat_map(|(place, expr, _)| {
            promql_refs(expr)
                .unwrap_or_else(|e| panic!("{place}: {e}"))
                .metrics
        })
        .collect();
    let registry = Registry::load();
    for metric in service_metrics(&registry) {
        let Some(instrument) = &metric.otel_name else {
            continue; // target_info: the resource, not a measurement
        };
        assert!(
            metric.series_names().iter().any(|s| used.contains(s)),
            "{instrument} ({}) is on no dashboard: a metric nobody can see",
            metric.name
        );
    }
}

#[test]
fn loki_queries_select_streams_by_labels_loki_creates() {
    // Loki's OTLP endpoint indexes only the configured resource attributes.
    let allowed = [
        "service_name",
        "service_namespace",
        "deployment_environment_name",
    ];
    for (file, d) in dashboards() {
        for q in panel_queries(&file, &d)
            .into_iter()
            .filter(|q| q.datasource_uid == "loki")
        {
            let expr = substitute_grafana_vars(&q.text, GRAFANA_VARS).unwrap();
            let selector = &expr[expr.find('{').unwrap() + 1..expr.find('}').unwrap()];
            for matcher in selector.split(',') {
                let label = matcher.split(['=', '!', '~']).next().unwrap().trim();
                assert!(
                    allowed.contains(&label),
                    "{file}: Loki has no label {label}"
                );
            }
        }
    }
    let tempo_link = ystr(
        &yaml("grafana/provisioning/datasources/datasources.yaml")["datasources"][1]["jsonData"]
            ["tracesToLogsV2"]["tags"][0]["value"],
    )
    .unwrap();
    assert!(allowed.contains(&tempo_link.as_str()));
}

/// One line of `lab/platform/image-inventory.txt`.
struct ImageFacts {
    image: String,
    base: String,
    user: String,
    shell: Option<String>,
    binaries: Vec<String>,
    source: String,
}

fn image_inventory() -> Vec<ImageFacts> {
    read("lab/platform/image-inventory.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let cols: Vec<&str> = line.split(" | ").map(str::trim).collect();
            assert_eq!(cols.len(), 6, "image-inventory.txt: 6 columns in {line:?}");
            ImageFacts {
                image: cols[0].into(),
                base: cols[1].into(),
                user: cols[2].into(),
                shell: (cols[3] != "-").then(|| cols[3].to_string()),
                binaries: cols[4].split(',').map(String::from).collect(),
                source: cols[5].into(),
            }
        })
        .collect()
}

/// Directories a bare command name (`wget`) is looked up in.
const PATH_DIRS: &[&str] = &["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"];

/// Why a compose health check cannot run in an image, if it cannot.
fn probe_problem(test: &[String], facts: &ImageFacts) -> Option<String> {
    match test.first().map(String::as_str) {
        Some("CMD-SHELL") if facts.shell.is_none() => {
            Some(format!("CMD-SHELL needs a shell; {} has none", facts.image))
        }
        Some("CMD-SHELL") => None,
        Some("CMD") => {
            let program = test.get(1)?;
            let found = if program.starts_with('/') {
                facts.binaries.contains(program)
            } else {
                facts.binaries.iter().any(|b| {
                    b.rsplit_once('/')
                        .is_some_and(|(dir, name)| name == program && PATH_DIRS.contains(&dir))
                })
            };
            (!found).then(|| {
                format!(
                    "calls {program}, which {} does not have (it has {:?}; see {})",
                    facts.image, facts.binaries, facts.source
                )
            })
        }
        other => Some(format!("unknown health check form {other:?}")),
    }
}

#[test]
fn every_health_check_calls_a_binary_its_pinned_image_has() {
    let inventory = image_inventory();
    let mut problems = Vec::new();
    for file in [PLATFORM, SERVICES] {
        for (name, svc) in compose_services(file) {
            let image = ystr(&svc["image"]).unwrap_or_else(|| panic!("{name} names no image"));
            let Some(facts) = inventory.iter().find(|f| f.image == image) else {
                problems.push(format!(
                    "{file}: {name}: {image} is not in image-inventory.txt (a moved pin needs its line re-read upstream)"
                ));
                continue;
            };
            if let Some(problem) = probe_problem(&healthcheck_test(&svc), facts) {
                problems.push(format!("{file}: {name}: {problem}"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_probe_rule_rejects_the_wget_check_that_broke_loki() {
    let loki = image_inventory()
        .into_iter()
        .find(|f| f.image.starts_with("grafana/loki:"))
        .unwrap();
    let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(probe_problem(
        &args(&["CMD", "wget", "-q", "http://127.0.0.1:3100/ready"]),
        &loki
    )
    .is_some());
    assert!(probe_problem(
        &args(&["CMD-SHELL", "wget -q -O- localhost:3100/ready"]),
        &loki
    )
    .is_some());
    assert!(probe_problem(
        &args(&[
            "CMD",
            "/usr/bin/loki",
            "-health",
            "-health.url=http://127.0.0.1:3100/ready"
        ]),
        &loki
    )
    .is_none());
}

/// The images built here: the inventory must say what the Dockerfile does.
#[test]
fn the_inventory_of_the_images_built_here_matches_the_dockerfile() {
    let dockerfile = read("Dockerfile");
    let stage = |target: &str| -> String {
        dockerfile
            .split("\nFROM ")
            .find(|s| {
                s.lines()
                    .next()
                    .unwrap_or("")
                    .trim_end()
                    .ends_with(&format!(" AS {target}"))
            })
            .unwrap_or_else(|| panic!("Dockerfile has no stage {target}"))
            .to_string()
    };
    let mut checked = 0;
    for facts in image_inventory() {
        let Some(target) = facts
            .source
            .strip_prefix("this repository: Dockerfile target ")
        else {
            continue;
        };
        checked += 1;
        let own = stage(target);
        let from = own
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap();
        // Service targets build on the shared `runtime` stage.
        let (base_stage, base) = if from == "runtime" {
            let runtime = stage("runtime");
            let base = runtime
                .lines()
                .next()
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap()
                .to_string();
            (runtime, base)
        } else {
            (String::new(), from.to_string())
        };
        assert!(
            base.split('@').next() == Some(facts.base.as_str()),
            "{}: inventory says base {}, Dockerfile says {base}",
            facts.image,
            facts.base
        );
        let text = format!("{base_stage}\n{own}");
        for binary in &facts.binaries {
            assert!(
                text.lines().any(
                    |l| l.starts_with("COPY ") && l.trim_end().ends_with(&format!(" {binary}"))
                ),
                "{}: the Dockerfile copies no {binary}",
                facts.image
            );
        }
        assert!(
            text.contains(&format!("USER {}:", facts.user))
                || text.contains(&format!("USER {}\n", facts.user)),
            "{}: USER {} not in the Dockerfile",
            facts.image,
            facts.user
        );
        assert_eq!(
            facts.shell, None,
            "{}: nothing here adds a shell",
            facts.image
        );
    }
    assert_eq!(
        checked, 6,
        "collector, four services and the load generator"
    );
}

/// The connectors of the single collector and of the gateways, as the
/// dashboards read them: the same series whichever pipeline runs.
#[test]
fn single_collector_and_gateways_compute_the_same_span_derived_series() {
    let single = yaml("otel-collector/config.yaml");
    let gateway = yaml("otel-collector/gateway.yaml");
    assert_eq!(single["connectors"], gateway["connectors"]);
    for (name, config) in [("config.yaml", &single), ("gateway.yaml", &gateway)] {
        // Named for Prometheus as emitted-metrics.txt lists them: the
        // span_metrics namespace becomes the traces_spanmetrics_ prefix.
        assert_eq!(
            ystr(&config["connectors"]["span_metrics"]["namespace"]).as_deref(),
            Some("traces.spanmetrics"),
            "{name}"
        );
        // The series leave through a pipeline that names the collector, so
        // two gateways never write one series.
        let pipelines = config["service"]["pipelines"].as_mapping().unwrap();
        let from_spans: Vec<_> = pipelines
            .iter()
            .filter(|(_, p)| strings(&p["receivers"]).contains(&"service_graph".to_string()))
            .collect();
        assert_eq!(
            from_spans.len(),
            1,
            "{name}: one pipeline takes the connectors"
        );
        let pipeline = from_spans[0].1;
        assert_eq!(
            strings(&pipeline["receivers"]),
            ["span_metrics", "service_graph"],
            "{name}"
        );
        assert!(
            strings(&pipeline["processors"]).contains(&"attributes/collector_instance".to_string()),
            "{name}"
        );
        let action = &config["processors"]["attributes/collector_instance"]["actions"][0];
        assert_eq!(
            ystr(&action["key"]).as_deref(),
            Some("collector.instance.id")
        );
        assert_eq!(ystr(&action["action"]).as_deref(), Some("upsert"));
        // Every span reaches the connectors: in a gateway, through a
        // pipeline without the sampler.
        for (pipeline_name, p) in pipelines {
            let exporters = strings(&p["exporters"]);
            if exporters.contains(&"span_metrics".to_string()) {
                assert!(
                    !strings(&p["processors"]).contains(&"tail_sampling".to_string()),
                    "{name}: {pipeline_name:?} samples before the connectors"
                );
            }
        }
    }
    // Bucketed like the services' own http.server.request.duration.
    let buckets: Vec<String> =
        strings(&single["connectors"]["span_metrics"]["histogram"]["explicit"]["buckets"]);
    let seconds: Vec<f64> = buckets
        .iter()
        .map(|b| {
            b.strip_suffix("ms")
                .map(|ms| ms.parse::<f64>().unwrap() / 1000.0)
                .or_else(|| b.strip_suffix('s').map(|s| s.parse().unwrap()))
                .unwrap_or_else(|| panic!("bucket {b}"))
        })
        .collect();
    assert_eq!(seconds, telemetry::LATENCY_BUCKETS_SECONDS);
}

/// Whether `.dockerignore` leaves `path` out of the build context: its
/// patterns in order (the last match wins), `dir/` and `**/dir/` for folders,
/// `!` to take a path back, as Docker reads them (the forms this file uses).
fn docker_ignores(patterns: &[String], path: &str) -> bool {
    let mut ignored = false;
    for pattern in patterns {
        let (keep, pattern) = match pattern.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, pattern.as_str()),
        };
        let matches = if let Some(dir) = pattern.strip_prefix("**/") {
            let dir = dir.trim_end_matches('/');
            path.split('/').any(|component| component == dir)
        } else if let Some(ext) = pattern.strip_prefix('*') {
            path.ends_with(ext)
        } else {
            let p = pattern.trim_end_matches('/');
            path == p || path.starts_with(&format!("{p}/"))
        };
        if matches {
            ignored = !keep;
        }
    }
    ignored
}

#[test]
fn every_file_the_dockerfile_copies_is_in_the_build_context() {
    let patterns: Vec<String> = read(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    assert!(docker_ignores(&patterns, "otel-collector/config.yaml"));
    assert!(docker_ignores(&patterns, "lab/bench/target/x"));
    let mut checked = 0;
    for line in read("Dockerfile").lines() {
        let Some(args) = line.strip_prefix("COPY ") else {
            continue;
        };
        if args.starts_with("--from") || args.starts_with(". ") {
            continue;
        }
        let source = args.split_whitespace().next().unwrap();
        assert!(
            repo_root().join(source).exists(),
            "Dockerfile copies {source}, which does not exist"
        );
        assert!(
            !docker_ignores(&patterns, source),
            "Dockerfile copies {source}, which .dockerignore leaves out of the build context"
        );
        checked += 1;
    }
    assert!(checked >= 2, "the manifest and the health probe source");
}
