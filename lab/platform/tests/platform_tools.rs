//! The real collector and Prometheus 3.14 check the repository's configs with
//! their own validators, and the pinned versions agree everywhere they are
//! written. A broken config must fail with the component's own message.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use platform::local::platform_tool;
use platform::*;

const COLLECTOR_VERSION: &str = "0.159.0";
const PROMETHEUS_VERSION: &str = "3.14.0";

fn run(program: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(repo_root())
        .env_clear()
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", program.display()))
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A scratch copy of a repo file with one edit, in a directory of its own.
fn broken_copy(rel: &str, from: &str, to: &str) -> std::path::PathBuf {
    let original = read(rel);
    assert!(original.contains(from), "{rel} has no {from:?}");
    let dir = target_dir().join("platform-e2e").join(format!(
        "broken-{}-{}",
        std::process::id(),
        rel.replace('/', "-")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(Path::new(rel).file_name().unwrap());
    std::fs::write(&path, original.replacen(from, to, 1)).unwrap();
    path
}

#[test]
fn the_collector_validates_its_config_and_rejects_a_misspelt_key_in_its_own_words() {
    let otelcol = platform_tool("otelcol-iss");
    let ok = run(
        &otelcol,
        &["validate", "--config=otel-collector/config.yaml"],
    );
    assert!(ok.status.success(), "otelcol validate:\n{}", text(&ok));

    // The local run's overlay, merged over it, is valid as well.
    let local = run(
        &otelcol,
        &[
            "validate",
            "--config=otel-collector/config.yaml",
            "--config=otel-collector/local.yaml",
        ],
    );
    assert!(
        local.status.success(),
        "otelcol validate with local.yaml:\n{}",
        text(&local)
    );

    let broken = broken_copy(
        "otel-collector/config.yaml",
        "send_batch_size",
        "send_batch_sise",
    );
    let refused = run(
        &otelcol,
        &["validate", &format!("--config={}", broken.display())],
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("send_batch_sise"),
        "the collector's message names the key:\n{}",
        text(&refused)
    );
}

/// Component types a config section uses (`otlp_grpc/tempo` -> `otlp_grpc`).
fn used_types(config: &Yaml, kind: &str) -> BTreeSet<String> {
    config[kind]
        .as_mapping()
        .map(|m| {
            m.keys()
                .filter_map(ystr)
                .map(|id| id.split('/').next().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_distribution_has_exactly_the_components_the_config_uses() {
    let listed = run(&platform_tool("otelcol-iss"), &["components"]);
    assert!(listed.status.success(), "{}", text(&listed));
    let components: Yaml = serde_yaml_ng::from_slice(&listed.stdout).expect("components is YAML");
    let built = |kind: &str| -> BTreeSet<String> {
        components[kind]
            .as_sequence()
            .map(|s| s.iter().filter_map(|c| ystr(&c["name"])).collect())
            .unwrap_or_default()
    };
    let configs: Vec<Yaml> = [
        "otel-collector/config.yaml",
        "otel-collector/local.yaml",
        "otel-collector/agent.yaml",
        "otel-collector/gateway.yaml",
    ]
    .iter()
    .map(|rel| serde_yaml_ng::from_str(&expand_env_defaults(&read(rel))).unwrap())
    .collect();
    for kind in [
        "receivers",
        "processors",
        "exporters",
        "extensions",
        "connectors",
    ] {
        let used: BTreeSet<String> = configs.iter().flat_map(|c| used_types(c, kind)).collect();
        assert_eq!(
            built(kind),
            used,
            "{kind}: builder-config.yaml and the configs in otel-collector/ disagree"
        );
    }
    assert_eq!(
        ystr(&components["buildinfo"]["version"]).as_deref(),
        Some(COLLECTOR_VERSION)
    );
    for component in [
        "receivers",
        "processors",
        "exporters",
        "extensions",
        "connectors",
    ]
    .iter()
    .flat_map(|kind| components[*kind].as_sequence().cloned().unwrap_or_default())
    {
        let module = ystr(&component["module"]).unwrap();
        assert!(
            module.ends_with(&format!(" v{COLLECTOR_VERSION}")),
            "{module} is not at the pinned release"
        );
    }
}

#[test]
fn the_collector_and_prometheus_pins_agree_everywhere_they_are_written() {
    let compose = read("docker-compose.yml");
    let dockerfile = read("Dockerfile");
    let script = read("scripts/build-platform-tools.sh");
    let manifest = yaml("otel-collector/builder-config.yaml");
    assert_eq!(
        ystr(&manifest["dist"]["version"]).as_deref(),
        Some(COLLECTOR_VERSION)
    );
    assert!(compose.contains(&format!(
        "image: iss-distance-app/otel-collector:{COLLECTOR_VERSION}"
    )));
    assert!(dockerfile.contains(&format!("ARG COLLECTOR_VERSION={COLLECTOR_VERSION}")));
    assert!(script.contains(&format!("COLLECTOR_VERSION={COLLECTOR_VERSION}")));
    assert!(compose.contains(&format!("image: prom/prometheus:v{PROMETHEUS_VERSION}")));
    assert!(script.contains(&format!("PROMETHEUS_VERSION={PROMETHEUS_VERSION}")));

    let otelcol = run(&platform_tool("otelcol-iss"), &["--version"]);
    assert!(
        text(&otelcol).contains(COLLECTOR_VERSION),
        "{}",
        text(&otelcol)
    );
    let prometheus = run(&platform_tool("prometheus"), &["--version"]);
    assert!(
        text(&prometheus).contains(&format!("version {PROMETHEUS_VERSION}")),
        "{}",
        text(&prometheus)
    );
}

#[test]
fn promtool_3_checks_the_compose_config_with_its_rules_and_rejects_a_broken_one() {
    let promtool = platform_tool("promtool");
    let ok = run(&promtool, &["check", "config", "prometheus/prometheus.yml"]);
    assert!(ok.status.success(), "promtool check config:\n{}", text(&ok));
    // The rule files are found relative to the config, as compose mounts them.
    let rule_files = repo_files("prometheus/rules", "yml").len();
    assert!(
        text(&ok).contains(&format!("SUCCESS: {rule_files} rule files found")),
        "{}",
        text(&ok)
    );

    let broken = broken_copy(
        "prometheus/prometheus.yml",
        "translation_strategy:",
        "translation_stratgy:",
    );
    let refused = run(&promtool, &["check", "config", broken.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("translation_stratgy"),
        "promtool's message names the key:\n{}",
        text(&refused)
    );
}

#[test]
fn promtool_3_runs_the_rule_unit_tests() {
    let promtool = platform_tool("promtool");
    for test in repo_files("prometheus/tests", "yml") {
        let out = run(&promtool, &["test", "rules", &test]);
        assert!(out.status.success(), "{test}:\n{}", text(&out));
    }
}
