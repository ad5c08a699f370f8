//! The Kubernetes chart (`deploy/helm/iss-distance`), checked offline with
//! the real tools: Helm 4 (built from `helm.sh/helm/v4` by
//! `scripts/build-platform-tools.sh`) lints and renders it, PyPI's
//! `kubernetes-validate` checks every rendered manifest against the
//! Kubernetes schemas it ships, and the collector the other platform tests run
//! validates the chart's two collector configs. No cluster runs here: what
//! only a cluster can show is listed in docs/KUBERNETES.md.
//!
//! Every check also gets one broken input, so that it is known to fail.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use platform::local::platform_tool;
use platform::*;

const CHART: &str = "deploy/helm/iss-distance";
/// `kubernetes-validate`, as pinned in scripts/install-test-deps.sh.
const KUBERNETES_VALIDATE_VERSION: &str = "1.37.0";
/// The oldest Kubernetes the chart supports (Chart.yaml `kubeVersion`) and the
/// newest whose schemas `kubernetes-validate` ships: both must accept every manifest.
const KUBERNETES_VERSIONS: &[&str] = &["1.33.0", "1.37.0"];
const HELM_VERSION: &str = "4.3.2";
const SERVICES: &[&str] = &["frontend", "gateway", "geolocator", "iss-distance"];
/// Value files rendered besides the defaults: every optional part on, and off.
const CI_VALUES: &[&str] = &["ci/all-features-values.yaml", "ci/minimal-values.yaml"];

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A scratch directory of this test process.
fn scratch(name: &str) -> PathBuf {
    let dir = target_dir()
        .join("helm-tests")
        .join(format!("{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Helm with its cache, config and data homes in a scratch directory, so
/// that the tests neither read nor write the user's Helm setup.
fn helm(args: &[&str]) -> Output {
    let home = target_dir().join("helm-tests").join("helm-home");
    std::fs::create_dir_all(&home).unwrap();
    Command::new(platform_tool("helm"))
        .args(args)
        .current_dir(repo_root())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .output()
        .expect("run helm")
}

/// `helm template` of the chart with these extra value files, or Helm's error.
fn render(values: &[&Path]) -> Result<String, String> {
    let mut args = vec![
        "template",
        "iss",
        CHART,
        "--namespace",
        "iss-distance",
        "--kube-version",
        KUBERNETES_VERSIONS[0],
    ];
    let values: Vec<String> = values.iter().map(|p| p.display().to_string()).collect();
    for file in &values {
        args.extend(["--values", file]);
    }
    let out = helm(&args);
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        Err(text(&out))
    }
}

fn chart_file(rel: &str) -> PathBuf {
    repo_root().join(CHART).join(rel)
}

/// The chart rendered with its defaults, then with each CI values file.
fn renders() -> Vec<(String, String)> {
    let mut out = vec![("defaults".to_string(), render(&[]).expect("renders"))];
    for values in CI_VALUES {
        let rendered = render(&[&chart_file(values)]).unwrap_or_else(|e| panic!("{values}: {e}"));
        out.push((values.to_string(), rendered));
    }
    out
}

/// The documents of a `helm template` output (Helm separates them with `---`
/// lines; none of the chart's embedded files contains one).
fn documents(rendered: &str) -> Vec<Yaml> {
    let docs: Vec<Yaml> = rendered
        .split("\n---\n")
        .map(|doc| serde_yaml_ng::from_str::<Yaml>(doc).expect("each document is YAML"))
        .filter(|doc| !doc.is_null())
        .collect();
    assert_eq!(
        docs.len(),
        rendered.matches("# Source: ").count(),
        "one document per template output"
    );
    docs
}

fn find<'a>(docs: &'a [Yaml], kind: &str, name: &str) -> &'a Yaml {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in the rendered chart"))
}

fn s(value: &Yaml) -> String {
    ystr(value).unwrap_or_else(|| panic!("not a scalar: {value:?}"))
}

// ---------------------------------------------------------------------------
// Helm lint, and values.schema.json

#[test]
fn helm_lint_passes_in_strict_mode_with_the_default_and_ci_values() {
    let version = helm(&["version", "--short"]);
    assert!(
        text(&version).contains(&format!("v{HELM_VERSION}")),
        "{}",
        text(&version)
    );
    let default_run = helm(&["lint", "--strict", CHART]);
    assert!(default_run.status.success(), "{}", text(&default_run));
    for values in CI_VALUES {
        let path = chart_file(values);
        let out = helm(&[
            "lint",
            "--strict",
            CHART,
            "--values",
            path.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{values}:\n{}", text(&out));
        assert!(
            text(&out).contains("0 chart(s) failed") && !text(&out).contains("[WARNING]"),
            "{values}:\n{}",
            text(&out)
        );
    }
}

/// Writes a values file into a scratch directory.
fn values_file(name: &str, content: &str) -> PathBuf {
    let path = scratch("values").join(name);
    std::fs::write(&path, content).unwrap();
    path
}

#[test]
fn bad_values_fail_lint_and_rendering_with_the_key_named() {
    let cases = [
        (
            "negative-replicas.yaml",
            "services:\n  gateway:\n    replicas: -1\n",
            &["/services/gateway/replicas", "minimum: got -1, want 0"][..],
        ),
        (
            "unknown-exporter-protocol.yaml",
            "collector:\n  gateway:\n    exporters:\n      tempo:\n        protocol: thrift\n",
            &[
                "/collector/gateway/exporters/tempo/protocol",
                "'grpc', 'http/protobuf'",
            ][..],
        ),
        (
            "loki-over-grpc.yaml",
            "collector:\n  gateway:\n    exporters:\n      loki:\n        protocol: grpc\n",
            &[
                "/collector/gateway/exporters/loki/protocol",
                "'http/protobuf'",
            ][..],
        ),
        (
            "misspelt-key.yaml",
            "services:\n  gateway:\n    replicaz: 2\n",
            &["/services/gateway", "replicaz"][..],
        ),
        (
            "service-protocol.yaml",
            "otlp:\n  protocol: http/json\n",
            &["/otlp/protocol", "'grpc', 'http/protobuf'"][..],
        ),
        (
            "hpa-bounds.yaml",
            "services:\n  gateway:\n    autoscaling:\n      minReplicas: 5\n      maxReplicas: 2\n",
            &["minReplicas (5) is above maxReplicas (2)"][..],
        ),
    ];
    for (name, content, expected) in cases {
        let path = values_file(name, content);
        let rendered = render(&[&path]);
        let message = rendered.expect_err(&format!("{name} rendered"));
        let lint = helm(&[
            "lint",
            "--strict",
            CHART,
            "--values",
            path.to_str().unwrap(),
        ]);
        // Helm's lint logs a template's `fail` at INFO level instead of
        // failing; only schema violations fail it. The HPA bounds (which a
        // JSON schema cannot compare) fail at `helm template`/`install`.
        let schema_case = name != "hpa-bounds.yaml";
        assert_eq!(
            lint.status.success(),
            !schema_case,
            "{name}: helm lint:\n{}",
            text(&lint)
        );
        for fragment in expected {
            assert!(
                message.contains(fragment),
                "{name}: {fragment:?} missing from helm template's message: {message}"
            );
            assert!(
                !schema_case || text(&lint).contains(fragment),
                "{name}: {fragment:?} missing from helm lint's message: {}",
                text(&lint)
            );
        }
    }
}

// ---------------------------------------------------------------------------
// kubernetes-validate

fn kubernetes_validate() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("kubernetes-validate"))
        .find(|p| p.is_file())
        .expect("kubernetes-validate is not on PATH: run scripts/install-test-deps.sh")
}

/// Validates a multi-document file against every pinned Kubernetes version,
/// strictly (unknown fields are errors). Ok(documents validated per version);
/// Err(the tool's report) on any error, and also on a warning: the tool only
/// warns, with exit status 0, about a kind or apiVersion it has no schema for.
fn validate_manifests(file: &Path) -> Result<usize, String> {
    let mut command = Command::new(kubernetes_validate());
    command.arg("--strict");
    for version in KUBERNETES_VERSIONS {
        command.args(["--kubernetes-version", version]);
    }
    let out = command.arg(file).output().expect("run kubernetes-validate");
    let report = text(&out);
    let passed = report.lines().filter(|l| l.starts_with("INFO ")).count();
    let problems: Vec<&str> = report.lines().filter(|l| !l.starts_with("INFO ")).collect();
    if !out.status.success() || !problems.is_empty() {
        return Err(report);
    }
    Ok(passed / KUBERNETES_VERSIONS.len())
}

#[test]
fn every_rendered_manifest_validates_against_the_kubernetes_schemas() {
    let version = Command::new(kubernetes_validate())
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(text(&version).trim(), KUBERNETES_VALIDATE_VERSION);
    let dir = scratch("manifests");
    for (variant, rendered) in renders() {
        let file = dir.join(format!("{}.yaml", variant.replace('/', "-")));
        std::fs::write(&file, &rendered).unwrap();
        let count = validate_manifests(&file).unwrap_or_else(|e| panic!("{variant}:\n{e}"));
        assert_eq!(count, documents(&rendered).len(), "{variant}: validated");
    }

    // A misspelt field, a wrong type and an unknown apiVersion are caught.
    let rendered = render(&[]).unwrap();
    for (from, to, expected) in [
        (
            "terminationGracePeriodSeconds:",
            "terminationGracePeriodSecond:",
            "terminationGracePeriodSecond",
        ),
        ("maxUnavailable: 1", "maxUnavailable: [1]", "maxUnavailable"),
        (
            "apiVersion: policy/v1",
            "apiVersion: policy/v1beta7",
            "policy/v1beta7",
        ),
    ] {
        assert!(rendered.contains(from), "{from}");
        let file = dir.join("broken.yaml");
        std::fs::write(&file, rendered.replacen(from, to, 1)).unwrap();
        let report = validate_manifests(&file).expect_err(to);
        assert!(report.contains(expected), "{to}:\n{report}");
    }
}

// ---------------------------------------------------------------------------
// The collector configs

/// The `config.yaml` of a collector ConfigMap.
fn collector_config(docs: &[Yaml], name: &str) -> String {
    s(&find(docs, "ConfigMap", name)["data"]["config.yaml"])
}

fn otelcol_validate(config: &str, dir: &Path, name: &str) -> Output {
    let file = dir.join(format!("{name}.yaml"));
    std::fs::write(&file, config).unwrap();
    Command::new(platform_tool("otelcol-iss"))
        .args(["validate", &format!("--config={}", file.display())])
        .env_clear()
        .output()
        .expect("run otelcol-iss")
}

#[test]
fn the_charts_collector_configs_pass_otelcol_validate() {
    let dir = scratch("collector");
    for (variant, rendered) in renders() {
        let docs = documents(&rendered);
        for name in ["otel-collector-agent", "otel-collector-gateway"] {
            let out = otelcol_validate(&collector_config(&docs, name), &dir, name);
            assert!(out.status.success(), "{variant} {name}:\n{}", text(&out));
        }
    }

    // The collector's own message names a misspelt key.
    let docs = documents(&render(&[]).unwrap());
    let broken = collector_config(&docs, "otel-collector-gateway").replacen(
        "num_consumers",
        "num_consumerz",
        1,
    );
    let out = otelcol_validate(&broken, &dir, "broken");
    assert!(!out.status.success());
    assert!(text(&out).contains("num_consumerz"), "{}", text(&out));
}

fn pipelines(config: &Yaml) -> Vec<(String, &Yaml)> {
    config["service"]["pipelines"]
        .as_mapping()
        .expect("pipelines")
        .iter()
        .map(|(k, v)| (s(k), v))
        .collect()
}

fn list(value: &Yaml) -> Vec<String> {
    value
        .as_sequence()
        .map(|seq| seq.iter().map(s).collect())
        .unwrap_or_default()
}

#[test]
fn agents_balance_by_trace_over_gateways_that_sample_and_queue_on_a_volume() {
    let all_features = chart_file("ci/all-features-values.yaml");
    let minimal = chart_file("ci/minimal-values.yaml");
    for values in [None, Some(all_features.as_path()), Some(minimal.as_path())] {
        let files: Vec<&Path> = values.into_iter().collect();
        let docs = documents(&render(&files).unwrap());
        let values_yaml: Yaml = match values {
            Some(path) => serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap(),
            None => Yaml::Null,
        };
        let defaults = yaml(&format!("{CHART}/values.yaml"));
        // A value from the variant's file, else the chart default.
        let value = |path: &[&str]| -> String {
            yget(&values_yaml, path)
                .or_else(|| yget(&defaults, path))
                .map(s)
                .unwrap_or_else(|| panic!("no value {path:?}"))
        };

        let agent: Yaml =
            serde_yaml_ng::from_str(&collector_config(&docs, "otel-collector-agent")).unwrap();
        let gateway: Yaml =
            serde_yaml_ng::from_str(&collector_config(&docs, "otel-collector-gateway")).unwrap();
        // memory_limiter first wherever a receiver takes data, so that
        // pressure refuses it there (a pipeline fed only by connectors has
        // nothing to refuse).
        for (tier, config) in [("agent", &agent), ("gateway", &gateway)] {
            for (signal, pipeline) in pipelines(config) {
                if list(&pipeline["receivers"]) == ["span_metrics", "service_graph"] {
                    continue;
                }
                assert_eq!(
                    list(&pipeline["processors"]).first().map(String::as_str),
                    Some("memory_limiter"),
                    "{tier} {signal}"
                );
            }
        }

        // The agent: spans and logs by trace ID, metrics by service, to every
        // gateway pod the headless Service resolves to.
        let exporters_of = |signal: &str| list(&agent["service"]["pipelines"][signal]["exporters"]);
        assert_eq!(exporters_of("traces"), ["load_balancing/traces"]);
        assert_eq!(exporters_of("logs"), ["load_balancing/traces"]);
        assert_eq!(exporters_of("metrics"), ["load_balancing/metrics"]);
        assert_eq!(
            s(&agent["exporters"]["load_balancing/traces"]["routing_key"]),
            "traceID"
        );
        for id in ["load_balancing/traces", "load_balancing/metrics"] {
            let exporter = &agent["exporters"][id];
            let dns = &exporter["resolver"]["dns"];
            let hostname = s(&dns["hostname"]);
            assert_eq!(
                hostname,
                "otel-collector-gateway-headless.iss-distance.svc.cluster.local"
            );
            let service = find(&docs, "Service", hostname.split('.').next().unwrap());
            assert_eq!(service["spec"]["clusterIP"], "None");
            assert_eq!(
                service["spec"]["selector"]["app.kubernetes.io/name"],
                "otel-collector-gateway"
            );
            assert!(service["spec"]["ports"]
                .as_sequence()
                .unwrap()
                .iter()
                .any(|p| s(&p["port"]) == s(&dns["port"])));
            assert_eq!(
                s(&dns["interval"]),
                value(&["collector", "agent", "resolverInterval"])
            );
            // Re-routing on a changed ring needs the load balancer's own queue and retry.
            assert_eq!(
                exporter["sending_queue"]["enabled"],
                Yaml::Bool(true),
                "{id}"
            );
            assert_eq!(
                exporter["retry_on_failure"]["enabled"],
                Yaml::Bool(true),
                "{id}"
            );
        }
        let statefulset = find(&docs, "StatefulSet", "otel-collector-gateway");
        assert_eq!(
            s(&statefulset["spec"]["serviceName"]),
            "otel-collector-gateway-headless"
        );

        // The gateway: every span into the connectors, before sampling; the
        // connectors' metrics named by the pod that computed them, so two
        // gateways never write one series. The connectors are compose's.
        let pipes = &gateway["service"]["pipelines"];
        assert_eq!(list(&pipes["traces/all"]["receivers"]), ["otlp"]);
        assert!(!list(&pipes["traces/all"]["processors"]).contains(&"tail_sampling".to_string()));
        assert_eq!(
            list(&pipes["traces/all"]["exporters"]),
            ["span_metrics", "service_graph"]
        );
        assert_eq!(list(&pipes["metrics"]["receivers"]), ["otlp"]);
        assert_eq!(
            list(&pipes["metrics/from_spans"]["receivers"]),
            ["span_metrics", "service_graph"]
        );
        assert!(list(&pipes["metrics/from_spans"]["processors"])
            .contains(&"attributes/collector_instance".to_string()));
        assert_eq!(
            gateway["connectors"],
            yaml("otel-collector/gateway.yaml")["connectors"]
        );
        let instance = &gateway["processors"]["attributes/collector_instance"]["actions"][0];
        assert_eq!(s(&instance["key"]), "collector.instance.id");
        assert_eq!(
            s(&instance["value"]),
            "${env:OTELCOL_INSTANCE_ID:-otel-collector-gateway}"
        );
        let container = &statefulset["spec"]["template"]["spec"]["containers"][0];
        let instance_env = container["env"]
            .as_sequence()
            .expect("gateway container env")
            .iter()
            .find(|e| s(&e["name"]) == "OTELCOL_INSTANCE_ID")
            .expect("OTELCOL_INSTANCE_ID set");
        assert_eq!(
            s(&instance_env["valueFrom"]["fieldRef"]["fieldPath"]),
            "metadata.name"
        );
        assert!(list(&pipes["traces"]["processors"]).contains(&"tail_sampling".to_string()));
        let sampling = &gateway["processors"]["tail_sampling"];
        let policy = |name: &str| {
            sampling["policies"]
                .as_sequence()
                .unwrap()
                .iter()
                .find(|p| p["name"] == name)
                .unwrap_or_else(|| panic!("no policy {name}"))
                .clone()
        };
        assert_eq!(
            list(&policy("errors")["status_code"]["status_codes"]),
            ["ERROR"]
        );
        assert_eq!(
            s(&policy("slow")["latency"]["threshold_ms"]),
            value(&["collector", "gateway", "sampling", "slowThresholdMs"])
        );
        assert_eq!(
            s(&policy("share")["probabilistic"]["sampling_percentage"]),
            value(&["collector", "gateway", "sampling", "percentage"])
        );
        for (key, path) in [
            ("decision_wait", "decisionWait"),
            ("num_traces", "numTraces"),
            ("expected_new_traces_per_sec", "expectedNewTracesPerSec"),
        ] {
            assert_eq!(
                s(&sampling[key]),
                value(&["collector", "gateway", "sampling", path])
            );
        }

        // Each signal to its backend, with the configured protocol and
        // endpoint, through a sending queue on the file_storage extension.
        let directory = s(&gateway["extensions"]["file_storage/queue"]["directory"]);
        for (signal, backend) in [
            ("traces", "tempo"),
            ("metrics", "prometheus"),
            ("logs", "loki"),
        ] {
            let protocol = value(&["collector", "gateway", "exporters", backend, "protocol"]);
            let component = if protocol == "grpc" {
                "otlp_grpc"
            } else {
                "otlp_http"
            };
            let id = format!("{component}/{backend}");
            assert_eq!(list(&pipes[signal]["exporters"]), std::slice::from_ref(&id));
            let exporter = &gateway["exporters"][id.as_str()];
            assert_eq!(
                s(&exporter["endpoint"]),
                value(&["collector", "gateway", "exporters", backend, "endpoint"])
            );
            assert_eq!(
                s(&exporter["sending_queue"]["storage"]),
                "file_storage/queue"
            );
            assert_eq!(exporter["retry_on_failure"]["enabled"], Yaml::Bool(true));
        }
        assert!(list(&gateway["service"]["extensions"]).contains(&"file_storage/queue".to_string()));

        // The queue directory is the pod's "queue" volume: a PVC per pod
        // with persistence, else an emptyDir.
        let pod = &statefulset["spec"]["template"]["spec"];
        let mount = pod["containers"][0]["volumeMounts"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "queue")
            .expect("a queue volume mount");
        assert_eq!(s(&mount["mountPath"]), directory);
        let persistent = value(&["collector", "gateway", "persistence", "enabled"]) == "true";
        let claims = statefulset["spec"]["volumeClaimTemplates"]
            .as_sequence()
            .cloned()
            .unwrap_or_default();
        let empty_dir = pod["volumes"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(|v| v["name"] == "queue" && !v["emptyDir"].is_null());
        if persistent {
            assert_eq!(claims.len(), 1);
            assert_eq!(claims[0]["metadata"]["name"], "queue");
            assert_eq!(
                s(&claims[0]["spec"]["resources"]["requests"]["storage"]),
                value(&["collector", "gateway", "persistence", "size"])
            );
            assert!(!empty_dir);
        } else {
            assert!(claims.is_empty());
            assert!(empty_dir);
        }
        assert_eq!(s(&pod["securityContext"]["fsGroup"]), "10001");
    }

    // Production keeps a share of ordinary traces; compose keeps them all.
    let defaults = yaml(&format!("{CHART}/values.yaml"));
    let production: f64 = s(&defaults["collector"]["gateway"]["sampling"]["percentage"])
        .parse()
        .unwrap();
    let compose = yaml("docker-compose.yml");
    let compose_share =
        s(&compose["services"]["otel-gateway-1"]["environment"]["OTELCOL_SAMPLING_PERCENTAGE"]);
    assert_eq!(compose_share, "${SAMPLING_PERCENTAGE:-100}");
    assert!(production < 100.0, "the chart keeps less than compose");
}

// ---------------------------------------------------------------------------
// The chart, the services' code and compose agree

/// Every `"NAME"` literal (environment variable names) in a source file.
fn quoted_env_names(rel: &str) -> BTreeSet<String> {
    let source = read(rel);
    source
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|w| {
            w.len() > 2
                && w.chars().next().unwrap().is_ascii_uppercase()
                && w.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .map(String::from)
        .collect()
}

/// `pub const DEFAULT_PORT: u16 = 5001;` of a service's config.rs.
fn default_port(service: &str) -> String {
    let source = read(&format!("services/{service}/src/config.rs"));
    let line = source
        .lines()
        .find(|l| l.contains("const DEFAULT_PORT: u16 ="))
        .unwrap_or_else(|| panic!("{service}: no DEFAULT_PORT"));
    line.rsplit('=')
        .next()
        .unwrap()
        .trim()
        .trim_end_matches(';')
        .to_string()
}

/// The `ENV` and `EXPOSE` lines of a Dockerfile stage (`FROM ... AS <stage>` up to the next FROM).
fn dockerfile_stage(stage: &str) -> Vec<String> {
    let dockerfile = read("Dockerfile");
    let mut lines = dockerfile
        .lines()
        .skip_while(|l| !(l.starts_with("FROM ") && l.ends_with(&format!(" AS {stage}"))));
    assert!(lines.next().is_some(), "no Dockerfile stage {stage}");
    lines
        .take_while(|l| !l.starts_with("FROM "))
        .map(String::from)
        .collect()
}

/// A container's env as name -> (value or "fieldRef:<path>").
fn env_of(container: &Yaml) -> Vec<(String, String)> {
    container["env"]
        .as_sequence()
        .expect("env")
        .iter()
        .map(|e| {
            let value = match ystr(&e["value"]) {
                Some(v) => v,
                None => format!("fieldRef:{}", s(&e["valueFrom"]["fieldRef"]["fieldPath"])),
            };
            (s(&e["name"]), value)
        })
        .collect()
}

/// Host and port of an `http://host:port/...` URL.
fn host_port(url: &str) -> (String, String) {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split('/').next().unwrap();
    let (host, port) = authority.rsplit_once(':').expect("an explicit port");
    (host.to_string(), port.to_string())
}

#[test]
fn chart_services_and_compose_agree_on_names_ports_probes_and_environment() {
    // The defaults: what compose runs (the CI values choose other modes on purpose).
    assert_chart_agrees(&documents(&render(&[]).unwrap()));
}

/// Panics, naming what disagrees, unless the rendered chart agrees with the
/// services' code, the Dockerfile and compose.
fn assert_chart_agrees(docs: &[Yaml]) {
    let compose = yaml("docker-compose-services.yml");
    let server = read("crates/service-kit/src/server.rs");
    // Read by the SDK or env_logger, not by our config code; the telemetry crate documents each.
    let library_read = [
        "RUST_LOG",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_METRIC_EXPORT_INTERVAL",
    ];
    let telemetry_sources: String = ["lib.rs", "logs.rs", "config.rs", "resource.rs"]
        .iter()
        .map(|f| read(&format!("crates/telemetry/src/{f}")))
        .collect();
    for name in library_read {
        assert!(
            telemetry_sources.contains(name),
            "{name} is not mentioned by crates/telemetry"
        );
    }
    // Compose values the chart deliberately replaces, and why.
    let differs: BTreeMap<&str, &str> = [
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "the node's agent instead of the compose collector",
        ),
        ("GRAFANA_URL", "browser-facing: a port-forward by default"),
        (
            "TRUSTED_PROXIES",
            "compose's fixed frontend address; on a cluster the pod network, set in values",
        ),
    ]
    .into();

    for &name in SERVICES {
        let deployment = find(docs, "Deployment", name);
        let service = find(docs, "Service", name);
        let pod = &deployment["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        let env = env_of(container);
        let env_map: BTreeMap<&str, &str> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let composed = &compose["services"][name];
        assert!(!composed.is_null(), "compose has no service {name}");

        // One port everywhere: the code's default, the Dockerfile, compose, the chart.
        let port = default_port(name);
        let stage = dockerfile_stage(name);
        assert!(
            stage.contains(&format!("ENV PORT={port}")),
            "Dockerfile {name}: {stage:?}"
        );
        assert!(
            stage.contains(&format!("EXPOSE {port}")),
            "Dockerfile {name}: {stage:?}"
        );
        assert_eq!(s(&composed["environment"]["PORT"]), port, "compose {name}");
        assert_eq!(env_map["PORT"], port, "chart {name} PORT");
        assert_eq!(s(&container["ports"][0]["containerPort"]), port);
        assert_eq!(container["ports"][0]["name"], "http");
        assert_eq!(s(&service["spec"]["ports"][0]["port"]), port);
        assert_eq!(service["spec"]["ports"][0]["targetPort"], "http");
        assert_eq!(
            service["spec"]["selector"],
            deployment["spec"]["selector"]["matchLabels"]
        );

        // The image of the Dockerfile target compose builds.
        assert_eq!(s(&composed["build"]["target"]), name);
        let image = s(&container["image"]);
        let compose_repo = s(&composed["image"]);
        let compose_repo = compose_repo.rsplit_once(':').unwrap().0;
        assert!(
            image.starts_with(&format!("{compose_repo}:")),
            "{image} is not {compose_repo}"
        );

        // Probes: the paths service-kit serves, on the service's port.
        for path in ["/healthz", "/readyz"] {
            assert!(
                server.contains(&format!(".route(\"{path}\"")),
                "{path} not served"
            );
        }
        assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
        assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
        for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
            if !container[probe].is_null() {
                assert_eq!(
                    container[probe]["httpGet"]["port"], "http",
                    "{name} {probe}"
                );
            }
        }

        // Every variable the chart sets is read by the service, or by a library
        // the telemetry crate configures, or is a downward-API helper used by another one.
        let mut known = quoted_env_names(&format!("services/{name}/src/config.rs"));
        known.extend(quoted_env_names("crates/service-kit/src/env.rs"));
        known.extend(quoted_env_names("crates/telemetry/src/config.rs"));
        known.extend(library_read.iter().map(|s| s.to_string()));
        for (var, value) in &env {
            if var.starts_with("K8S_") {
                assert!(value.starts_with("fieldRef:"), "{name} {var}");
                assert!(
                    env.iter().any(|(_, v)| v.contains(&format!("$({var})"))),
                    "{name}: {var} is set but not used"
                );
            } else {
                assert!(known.contains(var), "{name}: {var} is read by nothing");
            }
        }
        assert!(
            !env_map.contains_key("OTEL_SERVICE_NAME"),
            "service.name stays the code's"
        );

        // What compose sets, the chart sets too, to the same value unless listed above.
        for (var, value) in composed["environment"].as_mapping().unwrap() {
            let (var, value) = (s(var), s(value));
            let chart_value = env_map
                .get(var.as_str())
                .unwrap_or_else(|| panic!("{name}: compose sets {var}, the chart does not"));
            if !differs.contains_key(var.as_str()) {
                assert_eq!(*chart_value, value, "{name} {var}");
            }
        }

        // Service URLs name a chart Service on its port, as in compose.
        for (var, value) in &env {
            if var.ends_with("_URL") && !differs.contains_key(var.as_str()) {
                let (host, port) = host_port(value);
                let target = find(docs, "Service", &host);
                assert_eq!(s(&target["spec"]["ports"][0]["port"]), port, "{name} {var}");
                assert!(SERVICES.contains(&host.as_str()), "{name} {var}: {host}");
            }
        }

        // The node-local agent through the downward API, on the agent's host port.
        assert_eq!(env_map["K8S_NODE_IP"], "fieldRef:status.hostIP");
        let agent = find(docs, "DaemonSet", "otel-collector-agent");
        let agent_ports = &agent["spec"]["template"]["spec"]["containers"][0]["ports"];
        let protocol = env_map["OTEL_EXPORTER_OTLP_PROTOCOL"];
        let port_name = if protocol == "grpc" {
            "otlp-grpc"
        } else {
            "otlp-http"
        };
        let host_port_value = agent_ports
            .as_sequence()
            .unwrap()
            .iter()
            .find(|p| p["name"] == port_name)
            .map(|p| s(&p["hostPort"]))
            .expect("the agent's OTLP host port");
        assert_eq!(
            env_map["OTEL_EXPORTER_OTLP_ENDPOINT"],
            format!("http://$(K8S_NODE_IP):{host_port_value}")
        );
        let agent_config: Yaml =
            serde_yaml_ng::from_str(&collector_config(docs, "otel-collector-agent")).unwrap();
        let receiver = if protocol == "grpc" { "grpc" } else { "http" };
        assert!(
            s(&agent_config["receivers"]["otlp"]["protocols"][receiver]["endpoint"])
                .ends_with(&format!(":{host_port_value}"))
        );

        // The Kubernetes resource attributes, from the downward API.
        let attributes: BTreeMap<&str, &str> = env_map["OTEL_RESOURCE_ATTRIBUTES"]
            .split(',')
            .map(|kv| kv.split_once('=').unwrap())
            .collect();
        for (attribute, helper, field) in [
            ("k8s.pod.name", "K8S_POD_NAME", "metadata.name"),
            ("k8s.pod.uid", "K8S_POD_UID", "metadata.uid"),
            (
                "k8s.namespace.name",
                "K8S_NAMESPACE_NAME",
                "metadata.namespace",
            ),
            ("k8s.node.name", "K8S_NODE_NAME", "spec.nodeName"),
        ] {
            assert_eq!(
                attributes[attribute],
                format!("$({helper})"),
                "{name} {attribute}"
            );
            assert_eq!(env_map[helper], format!("fieldRef:{field}"));
            // $(VAR) expands only to variables defined before it.
            let at = |v: &str| env.iter().position(|(k, _)| k == v).unwrap();
            assert!(at(helper) < at("OTEL_RESOURCE_ATTRIBUTES"));
        }
        assert_eq!(
            attributes["k8s.deployment.name"],
            s(&deployment["metadata"]["name"])
        );
        assert!(!attributes.contains_key("service.name"));
    }

    // The collectors: compose's image, the health and metrics ports of their configs.
    let compose_platform = yaml("docker-compose.yml");
    let collector_image = s(&compose_platform["services"]["otel-collector"]["image"]);
    let builder = yaml("otel-collector/builder-config.yaml");
    assert!(collector_image.ends_with(&format!(":{}", s(&builder["dist"]["version"]))));
    for (kind, name) in [
        ("DaemonSet", "otel-collector-agent"),
        ("StatefulSet", "otel-collector-gateway"),
    ] {
        let container = &find(docs, kind, name)["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(s(&container["image"]), collector_image, "{name}");
        let config: Yaml = serde_yaml_ng::from_str(&collector_config(docs, name)).unwrap();
        let health = s(&config["extensions"]["health_check"]["endpoint"]);
        let port_of = |port_name: &str| {
            container["ports"]
                .as_sequence()
                .unwrap()
                .iter()
                .find(|p| p["name"] == port_name)
                .map(|p| s(&p["containerPort"]))
                .unwrap()
        };
        assert!(health.ends_with(&format!(":{}", port_of("health"))));
        assert_eq!(
            s(
                &config["service"]["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]
                    ["prometheus"]["port"]
            ),
            port_of("metrics")
        );
        assert_eq!(
            s(&container["livenessProbe"]["httpGet"]["path"]),
            s(&config["extensions"]["health_check"]["path"])
        );
    }
}

#[test]
fn the_consistency_check_fails_when_the_chart_drifts() {
    // The gateway on another port than the code's default and compose's.
    let path = values_file(
        "drifted-port.yaml",
        "services:\n  gateway:\n    port: 6001\n",
    );
    let docs = documents(&render(&[&path]).unwrap());
    let checked =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| assert_chart_agrees(&docs)));
    let message = checked.expect_err("a drifted port is caught");
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    // The frontend's GATEWAY_URL or the gateway's PORT, whichever is checked first.
    assert!(message.contains("6001"), "{message}");
}

// ---------------------------------------------------------------------------
// Pods: hardened, sized, probed, drained; the sidecar conventions

#[test]
fn every_pod_is_hardened_sized_and_drained_within_its_grace_period() {
    for (variant, rendered) in renders() {
        let docs = documents(&rendered);
        let pods: Vec<(String, &Yaml)> = docs
            .iter()
            .filter_map(|d| {
                let spec = match s(&d["kind"]).as_str() {
                    "Deployment" | "DaemonSet" | "StatefulSet" => &d["spec"]["template"]["spec"],
                    "Pod" => &d["spec"],
                    _ => return None,
                };
                Some((s(&d["metadata"]["name"]), spec))
            })
            .collect();
        assert!(pods.len() >= 6, "{variant}");
        for (name, pod) in pods {
            assert_eq!(
                pod["securityContext"]["runAsNonRoot"],
                Yaml::Bool(true),
                "{name}"
            );
            assert_eq!(
                pod["automountServiceAccountToken"],
                Yaml::Bool(false),
                "{name}"
            );
            for container in pod["containers"].as_sequence().unwrap() {
                let sc = &container["securityContext"];
                assert_eq!(sc["allowPrivilegeEscalation"], Yaml::Bool(false), "{name}");
                assert_eq!(sc["readOnlyRootFilesystem"], Yaml::Bool(true), "{name}");
                assert_eq!(list(&sc["capabilities"]["drop"]), ["ALL"], "{name}");
                for bound in ["requests", "limits"] {
                    for resource in ["cpu", "memory"] {
                        assert!(
                            !container["resources"][bound][resource].is_null(),
                            "{variant} {name}: no {bound}.{resource}"
                        );
                    }
                }
            }
        }
    }

    let docs = documents(&render(&[]).unwrap());
    let values = yaml(&format!("{CHART}/values.yaml"));
    // Drain (SHUTDOWN_GRACE_SECS) and flush (one ~5 s export timeout) fit in the grace period.
    let server = read("crates/service-kit/src/server.rs");
    let drain: u64 = server
        .lines()
        .find_map(|l| l.strip_prefix("const SHUTDOWN_GRACE_SECS: u64 = "))
        .and_then(|v| v.trim_end_matches(';').parse().ok())
        .expect("SHUTDOWN_GRACE_SECS");
    let flush = 5;
    for &name in SERVICES {
        let deployment = find(&docs, "Deployment", name);
        let pod = &deployment["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        let grace: u64 = s(&pod["terminationGracePeriodSeconds"]).parse().unwrap();
        let pre_stop: u64 = s(&container["lifecycle"]["preStop"]["sleep"]["seconds"])
            .parse()
            .unwrap();
        assert!(
            grace >= pre_stop + drain + flush,
            "{name}: {grace} s < {pre_stop} + {drain} + {flush}"
        );
        // Every service is ready in milliseconds (the gazetteer index is compiled in): no startup probe.
        assert!(container["startupProbe"].is_null(), "{name} startupProbe");
        // The requests and limits are values.yaml's.
        assert_eq!(
            container["resources"], values["services"][name]["resources"],
            "{name}"
        );
        let pdb = find(&docs, "PodDisruptionBudget", name);
        assert_eq!(
            pdb["spec"]["selector"]["matchLabels"],
            deployment["spec"]["selector"]["matchLabels"]
        );
        let hpa = docs
            .iter()
            .find(|d| d["kind"] == "HorizontalPodAutoscaler" && d["metadata"]["name"] == name);
        assert_eq!(
            hpa.is_some(),
            name == "gateway" || name == "frontend",
            "{name}: an HPA for gateway and frontend"
        );
        if let Some(hpa) = hpa {
            assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], name);
            assert!(
                deployment["spec"]["replicas"].is_null(),
                "{name}: the HPA owns replicas"
            );
        }
    }
}

#[test]
fn network_policies_let_only_the_frontend_in_from_outside_and_only_services_reach_the_agent() {
    let docs = documents(&render(&[]).unwrap());
    let policy = |name: &str| &find(&docs, "NetworkPolicy", name)["spec"];
    let peers = |name: &str, rule: usize| -> Vec<String> {
        policy(name)["ingress"][rule]["from"]
            .as_sequence()
            .map(|from| {
                from.iter()
                    .map(|peer| serde_yaml_ng::to_string(peer).unwrap())
                    .collect()
            })
            .unwrap_or_default()
    };
    // The frontend: any source.
    assert!(policy("frontend")["ingress"][0]["from"].is_null());
    for (name, caller) in [
        ("gateway", "frontend"),
        ("geolocator", "gateway"),
        ("iss-distance", "gateway"),
    ] {
        let from = peers(name, 0);
        assert_eq!(from.len(), 1, "{name}");
        assert!(
            from[0].contains(&format!("app.kubernetes.io/name: {caller}")),
            "{name}: {from:?}"
        );
        assert_eq!(policy(name)["ingress"].as_sequence().unwrap().len(), 1);
    }
    // The agent's OTLP ports: only pods of the four services (component=service).
    let from = peers("otel-collector-agent", 0);
    assert_eq!(from.len(), 1);
    assert!(from[0].contains("app.kubernetes.io/component: service"));
    for &name in SERVICES {
        let labels = &find(&docs, "Deployment", name)["spec"]["template"]["metadata"]["labels"];
        assert_eq!(labels["app.kubernetes.io/component"], "service", "{name}");
    }
    for (kind, name) in [
        ("DaemonSet", "otel-collector-agent"),
        ("StatefulSet", "otel-collector-gateway"),
    ] {
        let labels = &find(&docs, kind, name)["spec"]["template"]["metadata"]["labels"];
        assert_ne!(labels["app.kubernetes.io/component"], "service", "{name}");
    }
    let from = peers("otel-collector-gateway", 0);
    assert!(from[0].contains("app.kubernetes.io/name: otel-collector-agent"));
}

#[test]
fn grafana_provisioning_is_the_repositorys_own_under_the_grafana_charts_sidecar_labels() {
    let docs = documents(&render(&[]).unwrap());
    let values = yaml(&format!("{CHART}/values.yaml"));
    let upstream = yaml("deploy/helm/upstream/grafana.yaml");
    let p = &values["grafana"]["provisioning"];

    // The labels the upstream Grafana chart's sidecars select by default
    // (charts/grafana/values.yaml: sidecar.dashboards.label, sidecar.datasources.label).
    assert_eq!(p["dashboardLabel"], "grafana_dashboard");
    assert_eq!(p["datasourceLabel"], "grafana_datasource");
    assert_eq!(
        upstream["sidecar"]["dashboards"]["label"],
        p["dashboardLabel"]
    );
    assert_eq!(
        upstream["sidecar"]["datasources"]["label"],
        p["datasourceLabel"]
    );
    assert_eq!(
        upstream["sidecar"]["dashboards"]["folderAnnotation"],
        p["folderAnnotation"]
    );

    let dashboards = find(&docs, "ConfigMap", "iss-distance-grafana-dashboards");
    assert_eq!(dashboards["metadata"]["labels"]["grafana_dashboard"], "1");
    let folder = yaml("grafana/provisioning/dashboards/dashboards.yaml");
    assert_eq!(
        dashboards["metadata"]["annotations"]["grafana_folder"],
        folder["providers"][0]["folder"]
    );
    let data = dashboards["data"].as_mapping().unwrap();
    let files = repo_files("grafana/dashboards", "json");
    assert_eq!(data.len(), files.len());
    for file in files {
        let key = file.rsplit('/').next().unwrap();
        assert_eq!(s(&data[key]), read(&file), "{key} is the repository's file");
    }

    let datasources = find(&docs, "ConfigMap", "iss-distance-grafana-datasources");
    assert_eq!(datasources["metadata"]["labels"]["grafana_datasource"], "1");
    let mut rendered = s(&datasources["data"]["iss-distance-datasources.yaml"]);
    for (backend, compose_url) in [
        ("prometheus", "http://prometheus:9090"),
        ("tempo", "http://tempo:3200"),
        ("loki", "http://loki:3100"),
    ] {
        let url = s(&p["datasourceUrls"][backend]);
        assert!(rendered.contains(&format!("url: {url}\n")), "{backend}");
        rendered = rendered.replace(&format!("url: {url}\n"), &format!("url: {compose_url}\n"));
    }
    // Only the URLs differ from the compose provisioning (uids, links, $$ escapes kept).
    assert_eq!(
        rendered.trim_end(),
        read("grafana/provisioning/datasources/datasources.yaml").trim_end()
    );

    // The chart refuses to render when the compose URL it replaces is gone.
    let chart_template = read(&format!("{CHART}/templates/grafana-provisioning.yaml"));
    assert!(chart_template.contains("\"http://tempo:3200\""));

    // The other upstream values files are YAML at least (not testable further offline).
    for file in ["prometheus", "tempo", "loki"] {
        yaml(&format!("deploy/helm/upstream/{file}.yaml"));
    }
}

#[test]
fn the_pins_agree_with_the_scripts() {
    let script = read("scripts/build-platform-tools.sh");
    assert!(script.contains(&format!("HELM_VERSION={HELM_VERSION}\n")));
    let deps = read("scripts/install-test-deps.sh");
    assert!(deps.contains(&format!(
        "kubernetes_validate_version={KUBERNETES_VALIDATE_VERSION}\n"
    )));
    let chart = yaml(&format!("{CHART}/Chart.yaml"));
    assert_eq!(
        s(&chart["kubeVersion"]),
        format!(">={}-0", KUBERNETES_VERSIONS[0])
    );
    let workspace = read("Cargo.toml");
    assert!(
        workspace.contains(&format!("version = \"{}\"", s(&chart["appVersion"]))),
        "appVersion is the workspace version"
    );
}
