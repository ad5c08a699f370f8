//! Assertions shared by the end-to-end tests.

use e2e::{Process, SERVICE_NAMES};
use otlp_receiver::{Received, Resource, Span, SpanKind};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Generous bound for anything the services export on their own schedule (busy 2-core machines).
pub const EXPORT_DEADLINE: Duration = Duration::from_secs(60);

/// The four `service.name`s.
pub const SERVICES: [&str; 4] = [
    SERVICE_NAMES[0].1,
    SERVICE_NAMES[1].1,
    SERVICE_NAMES[2].1,
    SERVICE_NAMES[3].1,
];

/// One API request to a running iss-distance (Paris), answered 200.
pub async fn ask_iss_distance(process: &Process) {
    let answer = reqwest::get(format!("{}?latitude=48.85&longitude=2.35", process.url()))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{}", process.name());
}

/// The `service.name` of a binary.
pub fn service_name(binary: &str) -> &'static str {
    SERVICE_NAMES
        .iter()
        .find(|(b, _)| *b == binary)
        .map(|(_, name)| *name)
        .expect("a service binary")
}

/// Readiness probes and scrapes make single-span traces of their own.
pub fn is_probe(span: &Span) -> bool {
    matches!(
        span.attr_str("url.path"),
        Some("/readyz" | "/healthz" | "/metrics")
    )
}

/// The one span of `service` with this kind and name.
pub fn one_span<'a>(spans: &[&'a Span], service: &str, kind: SpanKind, name: &str) -> &'a Span {
    let found: Vec<&Span> = spans
        .iter()
        .copied()
        .filter(|s| s.service_name() == service && s.kind == kind && s.name == name)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "exactly one {kind:?} span '{name}' of {service}: {spans:#?}"
    );
    found[0]
}

/// Every resource that sent a span, metric point or log record, by service name,
/// checked for the attributes the contract puts on all of them.
pub fn assert_shared_resource(received: &Received, services: &[&str]) {
    let mut by_service: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let resources = received
        .spans
        .iter()
        .map(|s| &*s.resource)
        .chain(received.metrics.iter().map(|p| &*p.resource))
        .chain(received.logs.iter().map(|l| &*l.resource));
    for resource in resources {
        let name = resource.service_name();
        assert!(
            services.contains(&name),
            "unexpected service.name '{name}': {resource:?}"
        );
        assert_resource_attributes(resource);
        by_service.entry(name).or_default().insert(
            resource
                .get("service.instance.id")
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert_eq!(
        by_service.keys().copied().collect::<Vec<_>>(),
        services
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>(),
        "every service sent telemetry"
    );
    let mut all_ids = BTreeSet::new();
    for (service, ids) in &by_service {
        assert_eq!(
            ids.len(),
            1,
            "{service}: one service.instance.id across traces, metrics and logs: {ids:?}"
        );
        assert!(
            all_ids.insert(ids.iter().next().unwrap().clone()),
            "{service} shares its instance id"
        );
    }
}

fn assert_resource_attributes(resource: &Resource) {
    let get = |key| resource.get(key).unwrap_or_default();
    assert_eq!(get("service.namespace"), "iss-distance-app", "{resource:?}");
    assert_eq!(
        get("service.version"),
        env!("CARGO_PKG_VERSION"),
        "{resource:?}"
    );
    assert_eq!(
        get("deployment.environment.name"),
        "development",
        "{resource:?}"
    );
    assert!(!get("service.instance.id").is_empty(), "{resource:?}");
    assert!(
        !get("host.name").is_empty(),
        "host attributes: {resource:?}"
    );
    assert!(
        resource.attributes.contains_key("process.pid"),
        "process attributes: {resource:?}"
    );
    assert_eq!(get("telemetry.sdk.language"), "rust", "{resource:?}");
}

/// No span attribute may carry a query string (it holds user input).
pub fn assert_no_query_strings(spans: &[&Span]) {
    for span in spans {
        for (key, value) in &span.attributes {
            let text = value.to_string();
            let leaks = text.contains('?')
                || ["location=", "latitude=", "longitude="]
                    .iter()
                    .any(|p| text.contains(p));
            assert!(
                !leaks,
                "{key}={text} on span '{}' of {}",
                span.name,
                span.service_name()
            );
        }
    }
}

/// Held by the tests that generate sustained load or measure latency and memory, so
/// they do not skew each other on a small machine; the light tests run beside them.
pub static LOAD: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
