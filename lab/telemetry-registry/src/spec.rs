//! The registry files as written (Weaver's v1 definition syntax), and their
//! resolution into a [`Registry`]: every rule below is one `weaver registry
//! check` applies too, or a convention the semantic conventions follow
//! (own attributes defined once, in `registry.*` groups).

use crate::{
    pattern_keys, semconv, Attribute, AttributeType, AttributeUse, Entity, Event, Instrument,
    Metric, Registry, Requirement, Span, SpanKind,
};
use serde::Deserialize;
use serde_yaml_ng::Value as Yaml;
use std::collections::{BTreeMap, BTreeSet};

/// Unknown fields are errors, as in Weaver (a misspelt `metric_nme` must not pass).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestSpec {
    schema_url: String,
    #[serde(default)]
    stability: Option<String>,
    #[serde(default)]
    #[allow(dead_code)] // read for deny_unknown_fields only
    description: Option<String>,
    #[serde(default)]
    dependencies: Vec<DependencySpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DependencySpec {
    schema_url: String,
    #[serde(default)]
    registry_path: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    groups: Vec<GroupSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupSpec {
    id: String,
    #[serde(rename = "type")]
    group_type: Option<String>,
    brief: String,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
    #[serde(default)]
    stability: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    display_name: Option<String>,
    #[serde(default)]
    extends: Option<String>,
    #[serde(default)]
    attributes: Vec<AttributeSpec>,
    #[serde(default)]
    span_kind: Option<String>,
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    metric_name: Option<String>,
    #[serde(default)]
    instrument: Option<String>,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    annotations: BTreeMap<String, Yaml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttributeSpec {
    #[serde(default)]
    id: Option<String>,
    #[serde(default, rename = "ref")]
    reference: Option<String>,
    #[serde(default, rename = "type")]
    attribute_type: Option<Yaml>,
    #[serde(default)]
    brief: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
    #[serde(default)]
    stability: Option<String>,
    #[serde(default)]
    examples: Option<Yaml>,
    #[serde(default)]
    requirement_level: Option<Yaml>,
    #[serde(default)]
    #[allow(dead_code)]
    sampling_relevant: Option<bool>,
    /// Entity attributes only: `identifying` (the default) or `descriptive`.
    #[serde(default)]
    role: Option<String>,
}

const STABILITIES: [&str; 5] = [
    "stable",
    "development",
    "alpha",
    "beta",
    "release_candidate",
];
const GROUP_TYPES: [&str; 5] = ["attribute_group", "span", "event", "metric", "entity"];
const ROLES: [&str; 2] = ["identifying", "descriptive"];

pub(crate) fn resolve(manifest: &str, files: &[(String, String)]) -> Result<Registry, Vec<String>> {
    let mut problems = Vec::new();
    let (schema_url, semconv_schema_url) = check_manifest(manifest, &mut problems);

    let mut groups = Vec::new();
    for (file, text) in files {
        match serde_yaml_ng::from_str::<FileSpec>(text) {
            Ok(spec) => groups.extend(spec.groups.into_iter().map(|g| (file.as_str(), g))),
            Err(e) => problems.push(format!("{file}: {e}")),
        }
    }

    let mut ids = BTreeSet::new();
    for (file, group) in &groups {
        if !ids.insert(group.id.as_str()) {
            problems.push(format!("{file}: group id {} is used twice", group.id));
        }
        check_group_fields(file, group, &mut problems);
    }

    let attributes = define_attributes(&groups, &mut problems);
    let mut referenced = BTreeSet::new();
    let mut uses = |file: &str, group: &GroupSpec, problems: &mut Vec<String>| {
        let uses = attribute_uses(file, group, &attributes, problems);
        referenced.extend(uses.iter().map(|u| u.key.clone()));
        uses
    };

    let mut metrics: Vec<Metric> = Vec::new();
    let mut spans = Vec::new();
    let mut events = Vec::new();
    let mut log_attributes = Vec::new();
    let mut entities: Vec<Entity> = Vec::new();
    for (file, group) in &groups {
        let here = format!("{file}: {}", group.id);
        match group.group_type.as_deref() {
            Some("metric") => {
                let attributes = uses(file, group, &mut problems);
                let (Some(name), Some(instrument), Some(unit)) =
                    (&group.metric_name, &group.instrument, &group.unit)
                else {
                    continue; // reported by check_group_fields
                };
                let Some(instrument) = Instrument::parse(instrument) else {
                    problems.push(format!("{here}: unknown instrument {instrument}"));
                    continue;
                };
                if metrics.iter().any(|m| &m.name == name) {
                    problems.push(format!("{here}: metric {name} is declared twice"));
                }
                metrics.push(Metric {
                    id: group.id.clone(),
                    name: name.clone(),
                    instrument,
                    unit: unit.clone(),
                    brief: group.brief.clone(),
                    attributes,
                    emitted_by: emitted_by(&here, group, &mut problems),
                });
            }
            Some("span") => {
                let attributes = uses(file, group, &mut problems);
                let Some(kind) = group.span_kind.as_deref() else {
                    continue;
                };
                let Some(kind) = SpanKind::parse(kind) else {
                    problems.push(format!("{here}: unknown span_kind {kind}"));
                    continue;
                };
                let names = strings(group.annotations.get("span_names"));
                if names.is_empty() {
                    problems.push(format!(
                        "{here}: annotations.span_names must list the span's names"
                    ));
                }
                for key in names.iter().flat_map(|n| pattern_keys(n)) {
                    if !attributes.iter().any(|a| a.key == key) {
                        problems.push(format!(
                            "{here}: span name placeholder {{{key}}} is not an attribute of the span"
                        ));
                    }
                }
                spans.push(Span {
                    id: group.id.clone(),
                    kind,
                    names,
                    brief: group.brief.clone(),
                    attributes,
                    events: group.events.clone(), // ids for now; names below
                    emitted_by: emitted_by(&here, group, &mut problems),
                });
            }
            Some("event") => {
                let attributes = uses(file, group, &mut problems);
                if let Some(name) = &group.name {
                    events.push(Event {
                        id: group.id.clone(),
                        name: name.clone(),
                        attributes,
                    });
                }
            }
            Some("attribute_group") if group.id.starts_with("log_record.") => {
                log_attributes.extend(uses(file, group, &mut problems));
            }
            Some("entity") => {
                let attributes = uses(file, group, &mut problems);
                let Some(name) = &group.name else {
                    continue; // reported by check_group_fields
                };
                if entities.iter().any(|e| &e.name == name) {
                    problems.push(format!("{here}: entity {name} is declared twice"));
                }
                entities.push(Entity {
                    id: group.id.clone(),
                    name: name.clone(),
                    attributes,
                });
            }
            _ => {}
        }
    }
    for span in &mut spans {
        let mut names = Vec::new();
        for id in &span.events {
            match events.iter().find(|e| &e.id == id) {
                Some(event) => names.push(event.name.clone()),
                None => problems.push(format!(
                    "{}: event {id} is not an event group of the registry",
                    span.id
                )),
            }
        }
        span.events = names;
    }
    for attribute in attributes.values().filter(|a| a.own) {
        if !referenced.contains(&attribute.key) {
            problems.push(format!(
                "attribute {} is defined but no signal uses it",
                attribute.key
            ));
        }
    }

    if problems.is_empty() {
        Ok(Registry {
            schema_url,
            semconv_schema_url,
            attributes,
            metrics,
            spans,
            events,
            log_attributes,
            entities,
        })
    } else {
        Err(problems)
    }
}

fn check_manifest(text: &str, problems: &mut Vec<String>) -> (String, String) {
    let manifest: ManifestSpec = match serde_yaml_ng::from_str(text) {
        Ok(m) => m,
        Err(e) => {
            problems.push(format!("manifest.yaml: {e}"));
            return Default::default();
        }
    };
    for url in std::iter::once(&manifest.schema_url)
        .chain(manifest.dependencies.iter().map(|d| &d.schema_url))
    {
        if !is_schema_url(url) {
            problems.push(format!(
                "manifest.yaml: {url} is not a schema URL (http[s]://server/path/<version>)"
            ));
        }
    }
    if let Some(stability) = &manifest.stability {
        if !STABILITIES.contains(&stability.as_str()) {
            problems.push(format!("manifest.yaml: unknown stability {stability}"));
        }
    }
    // Weaver supports at most one dependency; ours is the semantic conventions.
    let semconv = match manifest.dependencies.as_slice() {
        [dependency] => {
            if dependency.registry_path.is_none() {
                problems.push("manifest.yaml: the dependency needs a registry_path".into());
            }
            dependency.schema_url.clone()
        }
        _ => {
            problems.push("manifest.yaml: exactly one dependency expected (semconv)".into());
            String::new()
        }
    };
    (manifest.schema_url, semconv)
}

/// `http[s]://server[:port]/path/<version>`, the version starting with a digit.
fn is_schema_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let segments: Vec<&str> = rest.split('/').collect();
    segments.len() >= 3
        && !segments[0].is_empty()
        && segments
            .last()
            .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
}

fn check_group_fields(file: &str, group: &GroupSpec, problems: &mut Vec<String>) {
    let here = format!("{file}: {}", group.id);
    let mut bad = |what: String| problems.push(format!("{here}: {what}"));
    let group_type = group.group_type.as_deref().unwrap_or("");
    if !GROUP_TYPES.contains(&group_type) {
        bad(format!("type must be one of {GROUP_TYPES:?}"));
    }
    if group.brief.trim().is_empty() {
        bad("brief is empty".into());
    }
    match &group.stability {
        Some(s) if !STABILITIES.contains(&s.as_str()) => bad(format!("unknown stability {s}")),
        None if group_type != "attribute_group" => bad("stability is required".into()),
        _ => {}
    }
    if group.extends.is_some() {
        // Weaver resolves `extends`; the tests' reader does not, so list attributes instead.
        bad("extends is not resolved by the tests; list the attributes".into());
    }
    if !["metric", "event"].contains(&group_type) && group.attributes.is_empty() {
        bad("needs attributes (Weaver requires attributes or extends)".into());
    }
    let is = |t: &str| group_type == t;
    if !is("span") && (group.span_kind.is_some() || !group.events.is_empty()) {
        bad("span_kind and events belong to span groups only".into());
    }
    if is("span") && group.span_kind.is_none() {
        bad("a span group needs span_kind".into());
    }
    if (is("event") || is("entity")) && group.name.is_none() {
        bad(format!("an {group_type} group needs a name"));
    }
    for attribute in &group.attributes {
        let key = attribute.id.as_ref().or(attribute.reference.as_ref());
        match &attribute.role {
            Some(_) if !is("entity") => bad(format!(
                "{}: role belongs to the attributes of entity groups only",
                key.map_or("?", String::as_str)
            )),
            Some(role) if !ROLES.contains(&role.as_str()) => bad(format!(
                "{}: role must be one of {ROLES:?}",
                key.map_or("?", String::as_str)
            )),
            _ => {}
        }
    }
    let metric_fields = [&group.metric_name, &group.instrument, &group.unit];
    if is("metric") && metric_fields.iter().any(|f| f.is_none()) {
        bad("a metric group needs metric_name, instrument and unit".into());
    }
    if !is("metric") && metric_fields.iter().any(|f| f.is_some()) {
        bad("metric_name, instrument and unit belong to metric groups only".into());
    }
}

/// Every attribute the groups define (`id:`) plus every upstream one they refer to.
fn define_attributes(
    groups: &[(&str, GroupSpec)],
    problems: &mut Vec<String>,
) -> BTreeMap<String, Attribute> {
    let mut attributes = BTreeMap::new();
    for (file, group) in groups {
        for spec in &group.attributes {
            let Some(key) = &spec.id else { continue };
            let here = format!("{file}: {}: {key}", group.id);
            if group.group_type.as_deref() != Some("attribute_group")
                || !group.id.starts_with("registry.")
            {
                problems.push(format!(
                    "{here}: define attributes in a registry.* attribute group; signals ref them"
                ));
            }
            if semconv::attribute_type(key).is_some() {
                problems.push(format!(
                    "{here}: a semantic-convention attribute; ref it, do not redefine it"
                ));
            }
            if spec.brief.as_deref().is_none_or(|b| b.trim().is_empty()) {
                problems.push(format!("{here}: brief is required"));
            }
            match &spec.stability {
                Some(s) if STABILITIES.contains(&s.as_str()) => {}
                _ => problems.push(format!(
                    "{here}: stability is required (one of {STABILITIES:?})"
                )),
            }
            let Some(ty) = attribute_type(&here, spec, problems) else {
                continue;
            };
            if ty == AttributeType::String && spec.examples.is_none() {
                problems.push(format!("{here}: a string attribute needs examples"));
            }
            let attribute = Attribute {
                key: key.clone(),
                ty,
                own: true,
            };
            if attributes.insert(key.clone(), attribute).is_some() {
                problems.push(format!("{here}: defined twice"));
            }
        }
    }
    for (_, group) in groups {
        for key in group.attributes.iter().filter_map(|a| a.reference.as_ref()) {
            if let (false, Some(ty)) = (attributes.contains_key(key), semconv::attribute_type(key))
            {
                let ty = match ty {
                    "int" => AttributeType::Int,
                    "string[]" => AttributeType::StringArray,
                    _ => AttributeType::String,
                };
                let attribute = Attribute {
                    key: key.clone(),
                    ty,
                    own: false,
                };
                attributes.insert(key.clone(), attribute);
            }
        }
    }
    attributes
}

fn attribute_type(
    here: &str,
    spec: &AttributeSpec,
    problems: &mut Vec<String>,
) -> Option<AttributeType> {
    let mut bad = |what: String| {
        problems.push(format!("{here}: {what}"));
        None
    };
    match &spec.attribute_type {
        Some(Yaml::String(t)) => match t.as_str() {
            "string" => Some(AttributeType::String),
            "int" => Some(AttributeType::Int),
            "double" => Some(AttributeType::Double),
            "boolean" => Some(AttributeType::Boolean),
            "string[]" => Some(AttributeType::StringArray),
            other => bad(format!(
                "type {other} is not used here; add it to the reader"
            )),
        },
        Some(Yaml::Mapping(map)) => {
            let Some(Yaml::Sequence(members)) = map.get("members") else {
                return bad("an enum type needs members".into());
            };
            if map.len() != 1 {
                return bad("an enum type has members only".into());
            }
            let (mut ids, mut values) = (BTreeSet::new(), Vec::new());
            for member in members {
                let id = member.get("id").and_then(scalar);
                let value = member.get("value").and_then(scalar);
                let stability = member.get("stability").and_then(Yaml::as_str);
                let known = [
                    "id",
                    "value",
                    "brief",
                    "note",
                    "stability",
                    "deprecated",
                    "annotations",
                ];
                let unknown: Vec<String> = member
                    .as_mapping()
                    .into_iter()
                    .flat_map(|m| m.keys())
                    .filter_map(scalar)
                    .filter(|k| !known.contains(&k.as_str()))
                    .collect();
                let (Some(id), Some(value)) = (id, value) else {
                    return bad(format!("enum member {member:?} needs an id and a value"));
                };
                if !unknown.is_empty() {
                    return bad(format!("enum member {id}: unknown fields {unknown:?}"));
                }
                if !stability.is_some_and(|s| STABILITIES.contains(&s)) {
                    return bad(format!("enum member {id} needs a stability"));
                }
                if !ids.insert(id.clone()) {
                    return bad(format!("enum member id {id} is used twice"));
                }
                if values.contains(&value) {
                    return bad(format!("enum value {value} is used twice"));
                }
                values.push(value);
            }
            if values.is_empty() {
                return bad("an enum type needs members".into());
            }
            Some(AttributeType::Enum(values))
        }
        _ => bad("type is required".into()),
    }
}

/// A string or number as written; booleans are refused (enum ids and values must be quoted).
fn scalar(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn attribute_uses(
    file: &str,
    group: &GroupSpec,
    attributes: &BTreeMap<String, Attribute>,
    problems: &mut Vec<String>,
) -> Vec<AttributeUse> {
    let mut uses: Vec<AttributeUse> = Vec::new();
    for spec in &group.attributes {
        let key = match (&spec.id, &spec.reference) {
            (Some(id), None) => id,
            (None, Some(reference)) => {
                let here = format!("{file}: {}: ref {reference}", group.id);
                if group.id.starts_with("registry.") {
                    problems.push(format!("{here}: registry groups define, they do not ref"));
                }
                if spec.attribute_type.is_some() || spec.stability.is_some() {
                    problems.push(format!("{here}: a ref takes no type or stability"));
                }
                if !attributes.contains_key(reference) {
                    problems.push(format!(
                        "{here}: neither defined in the registry nor a semantic-convention \
                         attribute known to lab/telemetry-registry/src/semconv.rs"
                    ));
                }
                reference
            }
            _ => {
                problems.push(format!(
                    "{file}: {}: an attribute has exactly one of id and ref",
                    group.id
                ));
                continue;
            }
        };
        if uses.iter().any(|u| &u.key == key) {
            problems.push(format!("{file}: {}: {key} is listed twice", group.id));
        }
        let requirement = match requirement(spec.requirement_level.as_ref()) {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("{file}: {}: {key}: {e}", group.id));
                continue;
            }
        };
        uses.push(AttributeUse {
            key: key.clone(),
            requirement,
        });
    }
    uses
}

/// `required`, `recommended`, `opt_in`, or a one-entry map with the condition in words.
fn requirement(level: Option<&Yaml>) -> Result<Requirement, String> {
    match level {
        None => Ok(Requirement::Recommended),
        Some(Yaml::String(word)) => match word.as_str() {
            "required" => Ok(Requirement::Required),
            "recommended" => Ok(Requirement::Recommended),
            "opt_in" => Ok(Requirement::OptIn),
            other => Err(format!("unknown requirement_level {other}")),
        },
        Some(Yaml::Mapping(map)) if map.len() == 1 => {
            let (word, text) = map.iter().next().expect("one entry");
            let text = text.as_str().unwrap_or("");
            if text.trim().is_empty() {
                return Err("a requirement_level condition needs its text".into());
            }
            match word.as_str() {
                Some("conditionally_required") => {
                    Ok(Requirement::ConditionallyRequired(text.to_string()))
                }
                Some("recommended") => Ok(Requirement::Recommended),
                Some("opt_in") => Ok(Requirement::OptIn),
                _ => Err(format!("unknown requirement_level {word:?}")),
            }
        }
        Some(other) => Err(format!("unknown requirement_level {other:?}")),
    }
}

fn strings(value: Option<&Yaml>) -> Vec<String> {
    value
        .and_then(Yaml::as_sequence)
        .map(|s| s.iter().filter_map(scalar).collect())
        .unwrap_or_default()
}

fn emitted_by(
    here: &str,
    group: &GroupSpec,
    problems: &mut Vec<String>,
) -> BTreeMap<String, String> {
    let map: BTreeMap<String, String> = group
        .annotations
        .get("emitted_by")
        .and_then(Yaml::as_mapping)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((scalar(k)?, scalar(v)?)))
                .collect()
        })
        .unwrap_or_default();
    if map.is_empty() {
        problems.push(format!(
            "{here}: annotations.emitted_by must map each emitting service.name to `always` or its condition"
        ));
    }
    map
}
