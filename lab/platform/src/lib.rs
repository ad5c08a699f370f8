//! Helpers for the platform tests in `tests/`: loading the repo's configs,
//! the metrics the stack emits (the services' from the telemetry registry in
//! `telemetry-schema/`), a small PromQL reference scanner,
//! and Grafana variable substitution.
//!
//! The real OpenTelemetry Collector (built from `otel-collector/builder-config.yaml`)
//! and a real Prometheus 3.14 run in `tests/collector_e2e.rs` and
//! `tests/prometheus_e2e.rs`. Tempo, Loki and Grafana are AGPL-licensed and
//! never built here: their configs are checked for consistency with each
//! other, with what the services emit and with facts read from their sources
//! at the pinned versions (`tests/consistency.rs`, `image-inventory.txt`).

pub mod dns;
pub mod local;

use std::collections::BTreeSet;
use std::path::PathBuf;

pub use testkit::target_dir;

pub use serde_json::Value as Json;
pub use serde_yaml_ng::Value as Yaml;
pub use telemetry_registry::{prometheus_label, prometheus_name, Registry};

/// The repository root.
pub fn repo_root() -> PathBuf {
    testkit::workspace_root()
}

/// Reads a file below the repository root, with the path in the panic message.
pub fn read(rel: &str) -> String {
    let path = repo_root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

pub fn yaml(rel: &str) -> Yaml {
    serde_yaml_ng::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel} is not valid YAML: {e}"))
}

pub fn json(rel: &str) -> Json {
    serde_json::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel} is not valid JSON: {e}"))
}

/// The dashboards provisioned from `grafana/dashboards`, as (file name, JSON).
pub fn dashboards() -> Vec<(String, Json)> {
    repo_files("grafana/dashboards", "json")
        .into_iter()
        .map(|rel| {
            let value = json(&rel);
            (rel, value)
        })
        .collect()
}

/// The files with `extension` directly in the repo folder `dir`, as sorted repo-relative
/// paths ("dir/name"); an empty folder is an error, as every caller expects content.
pub fn repo_files(dir: &str, extension: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(repo_root().join(dir))
        .unwrap_or_else(|e| panic!("{dir} is not readable: {e}"))
        .map(|entry| entry.expect("readable dir entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == extension))
        .map(|path| format!("{dir}/{}", path.file_name().unwrap().to_string_lossy()))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .{extension} files in {dir}");
    files
}

/// Every `${env:NAME:-default}` of a config text: where it stands, the
/// variable, and its default (`None` without `:-`).
fn env_references(text: &str) -> Vec<(std::ops::Range<usize>, &str, Option<&str>)> {
    let mut references = Vec::new();
    let mut from = 0;
    while let Some(start) = text[from..].find("${env:").map(|i| from + i) {
        let end = start
            + text[start..]
                .find('}')
                .unwrap_or_else(|| panic!("unclosed ${{env:...}} in {:?}", &text[start..]));
        let reference = &text[start + "${env:".len()..end];
        let (name, default) = match reference.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (reference, None),
        };
        references.push((start..end + 1, name, default));
        from = end + 1;
    }
    references
}

/// A config text with every `${env:NAME:-default}` replaced by its default:
/// the collector config as compose runs it (compose sets none of the
/// variables; [`env_defaults`] lists them for that check).
pub fn expand_env_defaults(text: &str) -> String {
    let mut out = String::new();
    let mut copied = 0;
    for (range, name, default) in env_references(text) {
        let default = default.unwrap_or_else(|| panic!("${{env:{name}}} has no compose default"));
        out.push_str(&text[copied..range.start]);
        out.push_str(default);
        copied = range.end;
    }
    out.push_str(&text[copied..]);
    out
}

/// The (variable, default) pairs of every `${env:NAME:-default}` in a text.
pub fn env_defaults(text: &str) -> Vec<(String, String)> {
    env_references(text)
        .into_iter()
        .map(|(_, name, default)| (name.to_string(), default.unwrap_or_default().to_string()))
        .collect()
}

/// Looks up a nested YAML mapping key path such as `["otlp", "translation_strategy"]`.
pub fn yget<'a>(value: &'a Yaml, path: &[&str]) -> Option<&'a Yaml> {
    path.iter().try_fold(value, |v, key| v.get(*key))
}

/// A YAML scalar as a string (numbers and booleans included).
pub fn ystr(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Emitted metrics

/// A metric the dashboards, rules and links may use, as Prometheus holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricSpec {
    /// `services` (from the telemetry registry), `connectors`, `collector`,
    /// `gateway`, `agent` or `prometheus`.
    pub origin: String,
    pub kind: String,
    /// The Prometheus name (without the histogram suffixes).
    pub name: String,
    /// The instrument, for `services` metrics.
    pub otel_name: Option<String>,
    pub unit: Option<String>,
    /// OTel attribute names for `services` metrics, Prometheus labels otherwise.
    pub labels: Vec<String>,
}

impl MetricSpec {
    /// The series names this metric produces in Prometheus.
    pub fn series_names(&self) -> Vec<String> {
        if self.kind == "histogram" {
            ["_bucket", "_sum", "_count"]
                .iter()
                .map(|s| format!("{}{s}", self.name))
                .collect()
        } else {
            vec![self.name.clone()]
        }
    }

    /// Every label a series of this metric may carry: its own and the
    /// common ones.
    pub fn declared_labels(&self) -> BTreeSet<String> {
        self.prometheus_labels()
            .into_iter()
            .chain(COMMON_LABELS.iter().map(|s| s.to_string()))
            .collect()
    }

    /// The Prometheus label names of this metric, without the common ones.
    pub fn prometheus_labels(&self) -> Vec<String> {
        let mut labels: Vec<String> = self.labels.iter().map(|l| prometheus_label(l)).collect();
        if self.kind == "histogram" {
            labels.push("le".into());
        }
        labels
    }
}

/// Labels any series may carry: Prometheus' own, the resource attributes
/// promoted by the OTLP receiver (or set as static labels by
/// prometheus-local.yml), the exporter's scope labels.
pub const COMMON_LABELS: &[&str] = &[
    "__name__",
    "job",
    "instance",
    "service_name",
    "service_namespace",
    "service_version",
    "service_instance_id",
    "deployment_environment_name",
    "otel_scope_name",
    "otel_scope_version",
    "otel_scope_schema_url",
];

/// Every metric the stack puts in Prometheus: the services' (from the
/// telemetry registry in `telemetry-schema/`), then the platform's own
/// (`lab/platform/emitted-metrics.txt`).
pub fn emitted_metrics() -> Vec<MetricSpec> {
    let mut metrics = service_metrics(&Registry::load());
    metrics.extend(parse_emitted(&read("lab/platform/emitted-metrics.txt")));
    metrics
}

/// The registry's instruments under their Prometheus names, plus `target_info`:
/// not an instrument but the resource, which every OTel-to-Prometheus
/// translation writes as that one series.
pub fn service_metrics(registry: &Registry) -> Vec<MetricSpec> {
    let instruments = registry.metrics.iter().map(|metric| MetricSpec {
        origin: "services".into(),
        kind: metric.instrument.as_str().into(),
        name: metric.prometheus_name(),
        otel_name: Some(metric.name.clone()),
        unit: Some(metric.unit.clone()),
        labels: metric.attributes.iter().map(|a| a.key.clone()).collect(),
    });
    let target_info = MetricSpec {
        origin: "services".into(),
        kind: "gauge".into(),
        name: "target_info".into(),
        otel_name: None,
        unit: None,
        labels: Vec::new(),
    };
    instruments.chain([target_info]).collect()
}

/// Rows of `emitted-metrics.txt`: `origin kind prometheus_name labels`.
pub fn parse_emitted(text: &str) -> Vec<MetricSpec> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(
                cols.len(),
                4,
                "emitted-metrics.txt: 4 columns expected in {line:?}"
            );
            assert_ne!(
                cols[0], "services",
                "emitted-metrics.txt: the services' metrics come from telemetry-schema/, not {line:?}"
            );
            MetricSpec {
                origin: cols[0].into(),
                kind: cols[1].into(),
                name: cols[2].into(),
                otel_name: None,
                unit: None,
                labels: match cols[3] {
                    "-" => Vec::new(),
                    labels => labels.split(',').map(String::from).collect(),
                },
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// PromQL scanning

/// Metric names and label names an expression refers to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PromqlRefs {
    pub metrics: BTreeSet<String>,
    pub labels: BTreeSet<String>,
}

/// PromQL functions, aggregations and keywords: identifiers that are never
/// metric names.
const PROMQL_WORDS: &[&str] = &[
    "sum",
    "avg",
    "min",
    "max",
    "count",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "group",
    "limitk",
    "limit_ratio",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "inf",
    "nan",
    "atan2",
];

/// Keywords followed by a parenthesised list of label names.
const LABEL_LIST_WORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// Extracts metric and label names from a PromQL expression. A scanner, not a
/// parser: syntax is left to Prometheus itself (promtool, the HTTP API).
pub fn promql_refs(expr: &str) -> Result<PromqlRefs, String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut refs = PromqlRefs::default();
    let mut i = 0;
    let is_ident_start = |c: char| c.is_ascii_alphabetic() || c == '_' || c == ':';
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let skip_string = |i: &mut usize| -> Result<(), String> {
        let quote = chars[*i];
        *i += 1;
        while *i < chars.len() && chars[*i] != quote {
            if chars[*i] == '\\' && quote != '`' {
                *i += 1;
            }
            *i += 1;
        }
        if *i >= chars.len() {
            return Err(format!("unterminated string in {expr:?}"));
        }
        *i += 1;
        Ok(())
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            skip_string(&mut i)?;
        } else if c == '#' {
            // A comment runs to the end of the line.
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '{' {
            // Label matchers: name op "value", ...
            i += 1;
            loop {
                while i < chars.len() && (chars[i].is_whitespace() || chars[i] == ',') {
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(format!("unterminated {{ in {expr:?}"));
                }
                if chars[i] == '}' {
                    i += 1;
                    break;
                }
                if chars[i] == '"' {
                    // A quoted (UTF-8) name; treat like a label name.
                    let start = i + 1;
                    skip_string(&mut i)?;
                    refs.labels.insert(chars[start..i - 1].iter().collect());
                } else if is_ident_start(chars[i]) {
                    let start = i;
                    while i < chars.len() && is_ident(chars[i]) {
                        i += 1;
                    }
                    refs.labels.insert(chars[start..i].iter().collect());
                } else {
                    return Err(format!("unexpected {:?} in matchers of {expr:?}", chars[i]));
                }
                while i < chars.len() && "=!~ \t\n".contains(chars[i]) {
                    i += 1;
                }
                if i < chars.len() && (chars[i] == '"' || chars[i] == '\'' || chars[i] == '`') {
                    skip_string(&mut i)?;
                } else {
                    return Err(format!("matcher without a quoted value in {expr:?}"));
                }
            }
        } else if c == '[' {
            while i < chars.len() && chars[i] != ']' {
                i += 1;
            }
            i += 1;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            // Numbers and durations (5m, 1e-3, 0x1f).
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if is_ident_start(c) {
            let start = i;
            while i < chars.len() && is_ident(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut j = i;
            while j < chars.len() && chars[j].is_whitespace() {
                j += 1;
            }
            let followed_by_paren = chars.get(j) == Some(&'(');
            if LABEL_LIST_WORDS.contains(&word.as_str()) {
                if followed_by_paren {
                    let close = chars[j..]
                        .iter()
                        .position(|&c| c == ')')
                        .ok_or_else(|| format!("unterminated label list in {expr:?}"))?;
                    let list: String = chars[j + 1..j + close].iter().collect();
                    for label in list.split(',').map(str::trim).filter(|l| !l.is_empty()) {
                        refs.labels.insert(label.to_string());
                    }
                    i = j + close + 1;
                }
            } else if followed_by_paren || PROMQL_WORDS.contains(&word.as_str()) {
                // A function call or keyword.
            } else {
                refs.metrics.insert(word);
            }
        } else {
            i += 1;
        }
    }
    Ok(refs)
}

/// Replaces Grafana variables (`$name`, `${name}`, `${name:format}`,
/// `[[name]]`) with the given values; any variable without a value is an error.
pub fn substitute_grafana_vars(expr: &str, vars: &[(&str, &str)]) -> Result<String, String> {
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (name, consumed) = if let Some(inner) = after.strip_prefix('{') {
            let end = inner
                .find('}')
                .ok_or_else(|| format!("unterminated ${{ in {expr:?}"))?;
            let name = inner[..end].split(':').next().unwrap_or("");
            (name, end + 2)
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        let value = vars
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| format!("no value for Grafana variable ${name} in {expr:?}"))?;
        out.push_str(value);
        rest = &after[consumed..];
    }
    out.push_str(rest);
    if out.contains("[[") {
        return Err(format!("deprecated [[var]] syntax in {expr:?}"));
    }
    Ok(out)
}

/// Values for Grafana's variables when dashboard queries are scanned or
/// evaluated: "All" for the selectors, short windows that suit the
/// end-to-end test's 1s scrape interval.
pub const GRAFANA_VARS: &[(&str, &str)] = &[
    ("service", ".*"),
    ("route", ".*"),
    ("__rate_interval", "1m"),
    ("__interval", "15s"),
    ("__range", "5m"),
    ("__auto", "1m"),
];

// ---------------------------------------------------------------------------
// Dashboards and rules

/// A query of a dashboard panel.
#[derive(Debug, Clone)]
pub struct PanelQuery {
    pub dashboard: String,
    pub panel: String,
    pub datasource_uid: String,
    /// `expr` (PromQL/LogQL) or `query` (TraceQL); empty for e.g. a service map.
    pub text: String,
    pub target: Json,
    pub panel_json: Json,
}

/// Every PromQL expression of the stack, as (where it is, the expression
/// with Grafana's variables substituted, the alert's name for alert rules):
/// the Prometheus queries of every dashboard panel, then every rule.
pub fn promql_expressions() -> Vec<(String, String, Option<String>)> {
    let mut expressions = Vec::new();
    for (file, dashboard) in dashboards() {
        for q in panel_queries(&file, &dashboard)
            .into_iter()
            .filter(|q| q.datasource_uid == "prometheus")
        {
            let expr = substitute_grafana_vars(&q.text, GRAFANA_VARS)
                .unwrap_or_else(|e| panic!("{file}: {}: {e}", q.panel));
            let ref_id = q.target["refId"].as_str().unwrap_or("?");
            expressions.push((format!("{file}: {} [{ref_id}]", q.panel), expr, None));
        }
    }
    for rule in rules() {
        let alert = rule.is_alert.then(|| rule.name.clone());
        expressions.push((format!("{}: {}", rule.file, rule.name), rule.expr, alert));
    }
    expressions
}

/// Every query of every panel (rows included), with its effective datasource.
pub fn panel_queries(file: &str, dashboard: &Json) -> Vec<PanelQuery> {
    fn walk(file: &str, panels: &[Json], out: &mut Vec<PanelQuery>) {
        for panel in panels {
            if let Some(inner) = panel.get("panels").and_then(Json::as_array) {
                walk(file, inner, out);
            }
            let panel_uid = panel
                .pointer("/datasource/uid")
                .and_then(Json::as_str)
                .unwrap_or("");
            let title = panel.get("title").and_then(Json::as_str).unwrap_or("?");
            for target in panel
                .get("targets")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
            {
                let uid = target
                    .pointer("/datasource/uid")
                    .and_then(Json::as_str)
                    .unwrap_or(panel_uid);
                let text = target
                    .get("expr")
                    .or_else(|| target.get("query"))
                    .and_then(Json::as_str)
                    .unwrap_or("");
                out.push(PanelQuery {
                    dashboard: file.to_string(),
                    panel: title.to_string(),
                    datasource_uid: uid.to_string(),
                    text: text.to_string(),
                    target: target.clone(),
                    panel_json: panel.clone(),
                });
            }
        }
    }
    let mut out = Vec::new();
    if let Some(panels) = dashboard.get("panels").and_then(Json::as_array) {
        walk(file, panels, &mut out);
    }
    out
}

/// Every `"datasource": {"uid": ...}` anywhere in a JSON document.
pub fn datasource_uids(value: &Json) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Json, out: &mut Vec<String>) {
        match v {
            Json::Object(map) => {
                for (k, child) in map {
                    if k == "datasource" {
                        if let Some(uid) = child.get("uid").and_then(Json::as_str) {
                            out.push(uid.to_string());
                        }
                    }
                    walk(child, out);
                }
            }
            Json::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    walk(value, &mut out);
    out
}

/// A recording or alerting rule from `prometheus/rules/*.yml`.
#[derive(Debug, Clone)]
pub struct Rule {
    pub file: String,
    /// The `record:` or `alert:` name.
    pub name: String,
    pub is_alert: bool,
    pub expr: String,
    /// The names of the labels the rule adds to what it records or alerts.
    pub labels: Vec<String>,
}

pub fn rules() -> Vec<Rule> {
    let mut out = Vec::new();
    for rel in repo_files("prometheus/rules", "yml") {
        let doc = yaml(&rel);
        for group in doc["groups"].as_sequence().expect("groups list") {
            for rule in group["rules"].as_sequence().expect("rules list") {
                let (name, is_alert) = match (rule.get("record"), rule.get("alert")) {
                    (Some(r), None) => (r, false),
                    (None, Some(a)) => (a, true),
                    _ => panic!("{rel}: a rule needs exactly one of record/alert"),
                };
                out.push(Rule {
                    file: rel.clone(),
                    name: ystr(name).expect("rule name"),
                    is_alert,
                    expr: ystr(&rule["expr"]).expect("rule expr"),
                    labels: rule
                        .get("labels")
                        .and_then(Yaml::as_mapping)
                        .into_iter()
                        .flatten()
                        .filter_map(|(name, _)| ystr(name))
                        .collect(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_references_expand_to_their_compose_defaults() {
        let text = "endpoint: ${env:TEMPO:-tempo:4317}\nport: 8888\nlimit: ${env:LIMIT:-200}";
        assert_eq!(
            expand_env_defaults(text),
            "endpoint: tempo:4317\nport: 8888\nlimit: 200"
        );
        assert_eq!(
            env_defaults(text),
            vec![
                ("TEMPO".to_string(), "tempo:4317".to_string()),
                ("LIMIT".to_string(), "200".to_string())
            ]
        );
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn promql_refs_separate_metrics_from_functions_and_labels() {
        let refs = promql_refs(
            r#"histogram_quantile(0.95, sum by (le, service_name) (rate(http_server_request_duration_seconds_bucket{service_name=~"gate.*", http_route!="/metrics"}[5m])))"#,
        )
        .unwrap();
        assert_eq!(
            refs.metrics,
            set(&["http_server_request_duration_seconds_bucket"])
        );
        assert_eq!(refs.labels, set(&["le", "service_name", "http_route"]));
    }

    #[test]
    fn promql_refs_handle_binary_operators_offsets_and_strings() {
        let refs = promql_refs(
            r#"(sum(rate(a_total{x="1"}[5m] offset 1h)) or sum(b) * 0) / on (job) group_left(svc) c unless label_replace(vector(1), "service_name", "frontend", "", "")"#,
        )
        .unwrap();
        assert_eq!(refs.metrics, set(&["a_total", "b", "c"]));
        assert_eq!(refs.labels, set(&["x", "job", "svc"]));
        assert!(promql_refs(r#"foo{bar="x}"#).is_err());
    }

    #[test]
    fn grafana_variables_are_substituted_and_unknown_ones_rejected() {
        let vars = [("service", ".*"), ("__rate_interval", "1m")];
        assert_eq!(
            substitute_grafana_vars(
                r#"rate(x{s=~"$service"}[$__rate_interval]) + ${service:regex}"#,
                &vars
            )
            .unwrap(),
            r#"rate(x{s=~".*"}[1m]) + .*"#
        );
        assert!(substitute_grafana_vars("x[$__range]", &vars).is_err());
    }
}
