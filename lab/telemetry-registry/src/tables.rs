//! The span, span event and metric tables of `docs/TELEMETRY.md`, rendered
//! from the registry, so that the document says what the registry says
//! without anyone copying it. The `telemetry-tables` binary rewrites each
//! table between its marker comments; a test fails while the document differs
//! from what [`update`] makes of it.

use crate::{AttributeType, AttributeUse, Instrument, Registry, Requirement};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The command that rewrites the tables, for messages that ask for it.
pub const COMMAND: &str = "cargo run -p telemetry-registry --bin telemetry-tables";

/// The generated sections, by the name in their markers
/// (`<!-- registry:spans:begin -->` ... `<!-- registry:spans:end -->`).
pub const SECTIONS: [&str; 3] = ["spans", "events", "metrics"];

/// The document, relative to the repository root.
pub const DOCUMENT: &str = "docs/TELEMETRY.md";

/// [`DOCUMENT`] in the repository (this crate lives in `lab/`).
pub fn document_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(DOCUMENT)
}

pub fn begin_marker(section: &str) -> String {
    format!("<!-- registry:{section}:begin -->")
}

pub fn end_marker(section: &str) -> String {
    format!("<!-- registry:{section}:end -->")
}

/// The Markdown table of one section; `None` for a name not in [`SECTIONS`].
pub fn render(registry: &Registry, section: &str) -> Option<String> {
    match section {
        "spans" => Some(spans(registry)),
        "events" => Some(events(registry)),
        "metrics" => Some(metrics(registry)),
        _ => None,
    }
}

/// `document` with every section's table replaced by the rendered one.
/// Each section's begin and end markers must be there once, in that order.
pub fn update(document: &str, registry: &Registry) -> Result<String, String> {
    let mut out = document.to_string();
    for section in SECTIONS {
        let (begin, end) = (begin_marker(section), end_marker(section));
        let count = |marker: &str| out.matches(marker).count();
        if count(&begin) != 1 || count(&end) != 1 {
            return Err(format!(
                "the document needs {begin} and {end} once each, around the {section} table"
            ));
        }
        let start = out.find(&begin).expect("counted") + begin.len();
        let stop = out.find(&end).expect("counted");
        if stop < start {
            return Err(format!("{end} comes before {begin}"));
        }
        let table = render(registry, section).expect("a known section");
        out.replace_range(start..stop, &format!("\n{table}"));
    }
    Ok(out)
}

/// A table: the header cells, then one row of cells per item.
fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut out = format!("| {} |\n", header.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

/// Text fit for one table cell: on one line, with `|` escaped.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn code(text: &str) -> String {
    format!("`{text}`")
}

fn codes<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    items.into_iter().map(code).collect::<Vec<_>>().join(", ")
}

/// A registry condition as a clause: "If a response arrived." -> "if a response arrived".
fn clause(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = text.trim_end_matches('.');
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        // Lower the first word unless it is an acronym (`HTTP ...`).
        (Some(first), Some(second)) if !second.is_uppercase() => {
            first.to_lowercase().chain(text.chars().skip(1)).collect()
        }
        _ => text.to_string(),
    }
}

/// Each attribute as its key, with its values when the registry lists them
/// and its requirement unless it is required.
fn attributes(registry: &Registry, uses: &[AttributeUse]) -> String {
    if uses.is_empty() {
        return "none".into();
    }
    let rendered: Vec<String> = uses
        .iter()
        .map(|attribute| {
            let mut notes = Vec::new();
            if let Some(AttributeType::Enum(values)) =
                registry.attributes.get(&attribute.key).map(|a| &a.ty)
            {
                notes.push(values.iter().map(|v| code(v)).collect::<Vec<_>>().join("/"));
            }
            match &attribute.requirement {
                Requirement::Required => {}
                Requirement::ConditionallyRequired(condition) => notes.push(clause(condition)),
                Requirement::Recommended => notes.push("recommended".into()),
                Requirement::OptIn => notes.push("opt-in".into()),
            }
            if notes.is_empty() {
                code(&attribute.key)
            } else {
                format!("{} ({})", code(&attribute.key), notes.join("; "))
            }
        })
        .collect();
    rendered.join(", ")
}

/// Every service that emits anything, by `service.name`.
fn all_services(registry: &Registry) -> BTreeSet<&str> {
    let spans = registry.spans.iter().map(|s| &s.emitted_by);
    let metrics = registry.metrics.iter().map(|m| &m.emitted_by);
    spans
        .chain(metrics)
        .flat_map(|by| by.keys().map(String::as_str))
        .collect()
}

/// `all` when every service always emits it; else each service, with the
/// configuration under which it does.
fn emitted_by(all: &BTreeSet<&str>, by: &BTreeMap<String, String>) -> String {
    let always = |service: &str| by.get(service).is_some_and(|c| c == "always");
    if all.iter().all(|service| always(service)) {
        return "all".into();
    }
    by.iter()
        .map(|(service, condition)| match condition.as_str() {
            "always" => service.clone(),
            condition => format!("{service} ({condition})"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn spans(registry: &Registry) -> String {
    let all = all_services(registry);
    let rows = registry.spans.iter().map(|span| {
        vec![
            codes(span.names.iter().map(String::as_str)),
            span.kind.as_str().into(),
            span.brief.clone(),
            emitted_by(&all, &span.emitted_by),
            attributes(registry, &span.attributes),
            if span.events.is_empty() {
                "none".into()
            } else {
                codes(span.events.iter().map(String::as_str))
            },
        ]
    });
    table(
        &["span", "kind", "what", "emitted by", "attributes", "events"],
        rows,
    )
}

fn events(registry: &Registry) -> String {
    let rows = registry.events.iter().map(|event| {
        let on = registry
            .spans
            .iter()
            .filter(|span| span.events.contains(&event.name))
            .map(|span| span.names[0].as_str());
        vec![
            code(&event.name),
            codes(on),
            attributes(registry, &event.attributes),
        ]
    });
    table(&["event", "on spans", "attributes"], rows)
}

fn metrics(registry: &Registry) -> String {
    let all = all_services(registry);
    let rows = registry.metrics.iter().map(|metric| {
        let mut prometheus = code(&metric.prometheus_name());
        if metric.instrument == Instrument::Histogram {
            prometheus.push_str(" (`_bucket`, `_sum`, `_count`)");
        }
        vec![
            code(&metric.name),
            metric.instrument.as_str().into(),
            code(&metric.unit),
            prometheus,
            metric.brief.clone(),
            emitted_by(&all, &metric.emitted_by),
            attributes(registry, &metric.attributes),
        ]
    });
    table(
        &[
            "metric",
            "instrument",
            "unit",
            "Prometheus name",
            "what",
            "emitted by",
            "attributes",
        ],
        rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "schema_url: https://example.com/schemas/1.0.0
dependencies:
  - schema_url: https://opentelemetry.io/schemas/1.42.0
    registry_path: ./semconv
";

    const MODEL: &str = r#"
groups:
  - id: registry.thing
    type: attribute_group
    brief: Things.
    attributes:
      - id: thing.kind
        type:
          members:
            - {id: a, value: a, stability: development}
            - {id: b, value: b, stability: development}
        stability: development
        brief: Its kind.
  - id: metric.thing.duration
    type: metric
    metric_name: thing.duration
    instrument: histogram
    unit: s
    stability: development
    brief: How long a thing | took.
    annotations:
      emitted_by: {one: always, two: THING=on}
    attributes:
      - ref: thing.kind
        requirement_level: required
      - ref: error.type
        requirement_level:
          conditionally_required: >
            If it
            failed.
  - id: metric.things
    type: metric
    metric_name: things
    instrument: counter
    unit: "{thing}"
    stability: development
    brief: Things counted.
    annotations:
      emitted_by: {one: always, two: always}
  - id: span.thing
    type: span
    span_kind: internal
    stability: development
    brief: Doing a thing.
    annotations:
      span_names: ["doing {thing.kind}", "doing"]
      emitted_by: {one: always, two: always}
    events: [event.oops]
    attributes:
      - ref: thing.kind
        requirement_level: recommended
      - ref: url.path
        requirement_level:
          conditionally_required: HTTP only.
  - id: event.oops
    type: event
    name: oops
    stability: development
    brief: It went wrong.
    attributes:
      - ref: exception.message
        requirement_level: required
"#;

    fn registry() -> Registry {
        Registry::parse(MANIFEST, &[("model.yaml".into(), MODEL.into())])
            .unwrap_or_else(|problems| panic!("{problems:#?}"))
    }

    #[test]
    fn metrics_are_rendered_with_prometheus_names_services_and_attribute_notes() {
        assert_eq!(
            render(&registry(), "metrics").unwrap(),
            "| metric | instrument | unit | Prometheus name | what | emitted by | attributes |\n\
             |---|---|---|---|---|---|---|\n\
             | `thing.duration` | histogram | `s` | `thing_duration_seconds` (`_bucket`, `_sum`, `_count`) \
             | How long a thing \\| took. | one, two (THING=on) | `thing.kind` (`a`/`b`), `error.type` (if it failed) |\n\
             | `things` | counter | `{thing}` | `things_total` | Things counted. | all | none |\n"
        );
    }

    #[test]
    fn spans_and_events_are_rendered_with_their_names_and_requirements() {
        let registry = registry();
        assert_eq!(
            render(&registry, "spans").unwrap(),
            "| span | kind | what | emitted by | attributes | events |\n\
             |---|---|---|---|---|---|\n\
             | `doing {thing.kind}`, `doing` | internal | Doing a thing. | all \
             | `thing.kind` (`a`/`b`; recommended), `url.path` (HTTP only) | `oops` |\n"
        );
        assert_eq!(
            render(&registry, "events").unwrap(),
            "| event | on spans | attributes |\n|---|---|---|\n\
             | `oops` | `doing {thing.kind}` | `exception.message` |\n"
        );
        assert_eq!(render(&registry, "logs"), None);
    }

    fn document(spans: &str) -> String {
        let mut doc = String::from("# Telemetry\n\nintro\n\n");
        for section in SECTIONS {
            let body = if section == "spans" { spans } else { "" };
            doc.push_str(&format!(
                "{}\n{body}{}\n\nprose after {section}\n\n",
                begin_marker(section),
                end_marker(section)
            ));
        }
        doc
    }

    #[test]
    fn update_replaces_only_the_text_between_the_markers() {
        let registry = registry();
        let updated = update(&document("| stale |\n"), &registry).unwrap();
        assert!(!updated.contains("stale"), "{updated}");
        assert!(
            updated.starts_with("# Telemetry\n\nintro\n\n<!-- registry:spans:begin -->\n| span |")
        );
        for section in SECTIONS {
            let table = render(&registry, section).unwrap();
            let expected = format!(
                "{}\n{table}{}\n\nprose after {section}\n",
                begin_marker(section),
                end_marker(section)
            );
            assert!(updated.contains(&expected), "{section}:\n{updated}");
        }
        assert_eq!(update(&updated, &registry).unwrap(), updated, "idempotent");
    }

    #[test]
    fn a_missing_or_repeated_marker_is_an_error_naming_it() {
        let registry = registry();
        let without = document("").replace(&end_marker("metrics"), "");
        let error = update(&without, &registry).unwrap_err();
        assert!(error.contains("<!-- registry:metrics:end -->"), "{error}");

        let twice = format!("{}{}", document(""), begin_marker("events"));
        let error = update(&twice, &registry).unwrap_err();
        assert!(error.contains("<!-- registry:events:begin -->"), "{error}");

        let swapped = document("")
            .replace(&begin_marker("spans"), "@")
            .replace(&end_marker("spans"), &begin_marker("spans"))
            .replace('@', &end_marker("spans"));
        let error = update(&swapped, &registry).unwrap_err();
        assert!(error.contains("comes before"), "{error}");
    }

    #[test]
    fn conditions_become_clauses_and_acronyms_keep_their_case() {
        assert_eq!(clause("If a response arrived."), "if a response arrived");
        assert_eq!(clause("HTTP only."), "HTTP only");
        assert_eq!(clause("  If it\n  failed.\n"), "if it failed");
    }
}
