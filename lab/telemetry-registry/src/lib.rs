//! The telemetry registry of the stack, `telemetry-schema/` at the
//! repository root, read for the tests: the one place where metric names,
//! units, instruments, attributes, span names and kinds are written.
//!
//! The registry is in the OpenTelemetry Weaver format (a `manifest.yaml` and
//! v1 `groups:` files). Weaver itself is not run here (see
//! `telemetry-schema/README.md`), so [`Registry::from_dir`] checks the
//! structure Weaver's `registry check` would, as far as the tests rely on it:
//! known fields only, required fields per group type, every `ref` resolved,
//! unique ids, metric names and enum members. [`conformance`] then holds
//! observed telemetry to it, and [`prometheus`] names its metrics as
//! Prometheus does.

pub mod conformance;
pub mod prometheus;
pub mod semconv;
mod spec;
pub mod tables;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub use conformance::Observed;
pub use prometheus::{prometheus_label, prometheus_name};

/// The registry folder (`telemetry-schema/` in the repository; this crate lives in `lab/`).
pub fn registry_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../telemetry-schema")
}

/// A resolved registry: every group checked, every `ref` replaced by its definition.
#[derive(Debug, Clone)]
pub struct Registry {
    pub schema_url: String,
    /// The `schema_url` of the one dependency: the semantic conventions.
    pub semconv_schema_url: String,
    /// Every attribute a signal may carry, by key: ours and the upstream ones referred to.
    pub attributes: BTreeMap<String, Attribute>,
    pub metrics: Vec<Metric>,
    pub spans: Vec<Span>,
    pub events: Vec<Event>,
    /// The attributes log records may carry (the `log_record.*` attribute groups).
    pub log_attributes: Vec<AttributeUse>,
    /// The entities the services' resource describes (`entity` groups).
    pub entities: Vec<Entity>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub key: String,
    pub ty: AttributeType,
    /// Defined in this registry (else an upstream semantic-convention attribute).
    pub own: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeType {
    String,
    Int,
    Double,
    Boolean,
    StringArray,
    /// Values as written (strings, or integers in decimal).
    Enum(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    Required,
    /// With the condition, in words.
    ConditionallyRequired(String),
    Recommended,
    OptIn,
}

/// An attribute as a signal uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeUse {
    pub key: String,
    pub requirement: Requirement,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instrument {
    Counter,
    UpDownCounter,
    Gauge,
    Histogram,
}

impl Instrument {
    /// The registry's word for it (`updowncounter`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::UpDownCounter => "updowncounter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
        }
    }

    fn parse(word: &str) -> Option<Self> {
        [
            Self::Counter,
            Self::UpDownCounter,
            Self::Gauge,
            Self::Histogram,
        ]
        .into_iter()
        .find(|i| i.as_str() == word)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    Server,
    Client,
    Internal,
    Producer,
    Consumer,
}

impl SpanKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Client => "client",
            Self::Internal => "internal",
            Self::Producer => "producer",
            Self::Consumer => "consumer",
        }
    }

    fn parse(word: &str) -> Option<Self> {
        [
            Self::Server,
            Self::Client,
            Self::Internal,
            Self::Producer,
            Self::Consumer,
        ]
        .into_iter()
        .find(|k| k.as_str() == word)
    }
}

#[derive(Debug, Clone)]
pub struct Metric {
    pub id: String,
    pub name: String,
    pub instrument: Instrument,
    pub unit: String,
    pub brief: String,
    pub attributes: Vec<AttributeUse>,
    /// `service.name` -> `always`, or the configuration under which it records the metric.
    pub emitted_by: BTreeMap<String, String>,
}

impl Metric {
    /// The metric's name in Prometheus (without the histogram suffixes).
    pub fn prometheus_name(&self) -> String {
        prometheus_name(&self.name, self.instrument.as_str(), Some(&self.unit))
    }

    pub fn attribute_keys(&self) -> BTreeSet<&str> {
        self.attributes.iter().map(|a| a.key.as_str()).collect()
    }
}

#[derive(Debug, Clone)]
pub struct Span {
    pub id: String,
    pub kind: SpanKind,
    /// Name patterns; `{key}` stands for the span's own value of attribute `key`.
    pub names: Vec<String>,
    pub brief: String,
    pub attributes: Vec<AttributeUse>,
    /// Names of the events the span may carry.
    pub events: Vec<String>,
    pub emitted_by: BTreeMap<String, String>,
}

impl Span {
    /// Whether `name` is one of the span's name patterns, filled in from its attributes.
    pub fn is_named(&self, name: &str, attribute: impl Fn(&str) -> Option<String>) -> bool {
        self.names
            .iter()
            .any(|pattern| fill_pattern(pattern, &attribute).as_deref() == Some(name))
    }

    pub fn attribute_keys(&self) -> BTreeSet<&str> {
        self.attributes.iter().map(|a| a.key.as_str()).collect()
    }
}

/// A name pattern with every `{key}` replaced; `None` if an attribute is missing.
fn fill_pattern(pattern: &str, attribute: &impl Fn(&str) -> Option<String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        let end = start + rest[start..].find('}')?;
        out.push_str(&rest[..start]);
        out.push_str(&attribute(&rest[start + 1..end])?);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// The `{key}` placeholders of a name pattern.
fn pattern_keys(pattern: &str) -> Vec<&str> {
    pattern
        .split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(key, _)| key))
        .collect()
}

/// An entity of the resource: what produced the telemetry (the service, its
/// process, its host, ...), described by resource attributes.
#[derive(Debug, Clone)]
pub struct Entity {
    pub id: String,
    pub name: String,
    pub attributes: Vec<AttributeUse>,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub id: String,
    pub name: String,
    pub attributes: Vec<AttributeUse>,
}

impl Registry {
    /// The repository's registry; panics with every problem found.
    pub fn load() -> Self {
        Self::from_dir(&registry_dir()).unwrap_or_else(|problems| {
            panic!(
                "telemetry-schema/ is not a valid registry:\n  {}",
                problems.join("\n  ")
            )
        })
    }

    /// Reads `manifest.yaml` and every other `.yaml` file below `dir`.
    pub fn from_dir(dir: &Path) -> Result<Self, Vec<String>> {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|e| vec![format!("{}: {e}", path.display())])
        };
        let manifest = read(&dir.join("manifest.yaml"))?;
        let mut files = Vec::new();
        for path in yaml_files(dir).map_err(|e| vec![format!("{}: {e}", dir.display())])? {
            if path.file_name().is_some_and(|n| n != "manifest.yaml") {
                let name = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                files.push((name, read(&path)?));
            }
        }
        Self::parse(&manifest, &files)
    }

    /// Builds a registry from a manifest and (file name, text) model files.
    pub fn parse(manifest: &str, files: &[(String, String)]) -> Result<Self, Vec<String>> {
        spec::resolve(manifest, files)
    }

    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// Every attribute the resource may carry, across its entities.
    pub fn resource_attributes(&self) -> Vec<AttributeUse> {
        self.entities
            .iter()
            .flat_map(|e| e.attributes.iter().cloned())
            .collect()
    }

    pub fn event(&self, name: &str) -> Option<&Event> {
        self.events.iter().find(|e| e.name == name)
    }

    /// The span definition a span of this kind and name belongs to, if any.
    pub fn span(
        &self,
        kind: SpanKind,
        name: &str,
        attribute: impl Fn(&str) -> Option<String>,
    ) -> Option<&Span> {
        self.spans
            .iter()
            .find(|s| s.kind == kind && s.is_named(name, &attribute))
    }
}

fn yaml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(yaml_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_patterns_are_filled_from_the_span_attributes() {
        let attrs = |key: &str| match key {
            "http.request.method" => Some("GET".to_string()),
            "http.route" => Some("/".to_string()),
            _ => None,
        };
        assert_eq!(
            fill_pattern("{http.request.method} {http.route}", &attrs).as_deref(),
            Some("GET /")
        );
        assert_eq!(fill_pattern("HTTP {url.path}", &attrs), None);
        assert_eq!(fill_pattern("plain", &attrs).as_deref(), Some("plain"));
        assert_eq!(
            pattern_keys("{http.request.method} {http.route}"),
            ["http.request.method", "http.route"]
        );
    }
}
