//! The README's span and metric tables say what the registry says: one row
//! per span and metric, nothing missing, every column equal.

use std::collections::BTreeSet;
use std::path::Path;
use telemetry_registry::Registry;

fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The cells of the body rows of the first table whose header is `header`.
fn table(text: &str, header: &str) -> Vec<Vec<String>> {
    let start = text
        .find(header)
        .unwrap_or_else(|| panic!("README has no table headed {header:?}"));
    text[start..]
        .lines()
        .skip(2) // header and |---| line
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            line.trim_matches('|')
                .split(" | ")
                .map(|cell| cell.trim().to_string())
                .collect()
        })
        .collect()
}

/// The `code` spans of a cell outside parentheses: names, not the notes about them.
fn names(cell: &str) -> Vec<String> {
    let mut outside = String::new();
    let mut depth = 0;
    let mut in_code = false;
    for c in cell.chars() {
        match c {
            '`' => in_code = !in_code,
            '(' if !in_code => depth += 1,
            ')' if !in_code && depth > 0 => depth -= 1,
            _ => {}
        }
        if depth == 0 && c != ')' {
            outside.push(c);
        }
    }
    outside
        .split('`')
        .skip(1)
        .step_by(2)
        .map(String::from)
        .collect()
}

fn set(items: impl IntoIterator<Item = impl Into<String>>) -> BTreeSet<String> {
    items.into_iter().map(Into::into).collect()
}

#[test]
fn the_readme_metric_table_is_the_registry() {
    let registry = Registry::load();
    let rows = table(
        &readme(),
        "| instrument | kind | unit | Prometheus name | attributes |",
    );
    let mut problems = Vec::new();
    for row in &rows {
        let [instrument, kind, unit, prometheus, attributes] = row.as_slice() else {
            panic!("5 cells expected: {row:?}");
        };
        let name = names(instrument).remove(0);
        let Some(metric) = registry.metric(&name) else {
            problems.push(format!("{name} is in the README, not in the registry"));
            continue;
        };
        let mut differ = |what: &str, readme: String, registry: String| {
            if readme != registry {
                problems.push(format!(
                    "{name}: {what} is {readme:?} in the README, {registry:?} in the registry"
                ));
            }
        };
        differ("kind", kind.clone(), metric.instrument.as_str().into());
        differ("unit", names(unit).join(""), metric.unit.clone());
        differ(
            "the Prometheus name",
            names(prometheus).remove(0),
            metric.prometheus_name(),
        );
        differ(
            "the attributes",
            format!("{:?}", set(names(attributes))),
            format!("{:?}", set(metric.attribute_keys())),
        );
    }
    let listed = set(rows.iter().map(|row| names(&row[0]).remove(0)));
    for metric in &registry.metrics {
        if !listed.contains(&metric.name) {
            problems.push(format!(
                "{} is in the registry, not in the README",
                metric.name
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_readme_span_table_is_the_registry() {
    let registry = Registry::load();
    let rows = table(
        &readme(),
        "| span | kind | services | attributes | events |",
    );
    let mut problems = Vec::new();
    let mut listed = BTreeSet::new();
    for row in &rows {
        let [name, kind, services, attributes, events] = row.as_slice() else {
            panic!("5 cells expected: {row:?}");
        };
        let name = names(name).remove(0);
        let Some(span) = registry
            .spans
            .iter()
            .find(|s| s.names[0] == name && s.kind.as_str() == kind)
        else {
            problems.push(format!(
                "{kind} span {name} is in the README, not in the registry"
            ));
            continue;
        };
        listed.insert(span.id.clone());
        let mut differ = |what: &str, readme: BTreeSet<String>, registry: BTreeSet<String>| {
            if readme != registry {
                problems.push(format!(
                    "{name}: {what} are {readme:?} in the README, {registry:?} in the registry"
                ));
            }
        };
        differ(
            "the attributes",
            set(names(attributes)),
            set(span.attribute_keys()),
        );
        differ("the events", set(names(events)), set(span.events.clone()));
        // Services by their short names: `geolocator` for geolocator-service.
        for service in span.emitted_by.keys() {
            let short = service.trim_end_matches("-service");
            if services != "all" && !services.contains(short) {
                problems.push(format!("{name}: the README does not say {short} starts it"));
            }
        }
    }
    for span in &registry.spans {
        if !listed.contains(&span.id) {
            problems.push(format!("{} is in the registry, not in the README", span.id));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn names_outside_parentheses_are_read_from_a_cell() {
    assert_eq!(names("`a.b` (`x`/`y`), `c` (when `d`), none"), ["a.b", "c"]);
    assert_eq!(
        names("`{m} {r}`, e.g. `GET /` (`GET` alone)"),
        ["{m} {r}", "GET /"]
    );
}
