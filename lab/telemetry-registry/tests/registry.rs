//! The registry in telemetry-schema/ is well formed, and the structural
//! checks standing in for `weaver registry check` catch what they claim to.

use telemetry_registry::{
    semconv, AttributeType, Instrument, Observed, Registry, Requirement, SpanKind,
};

const MANIFEST: &str = "schema_url: https://example.com/schemas/1.0.0
dependencies:
  - schema_url: https://opentelemetry.io/schemas/1.42.0
    registry_path: ./semconv
";

const GOOD: &str = r#"
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
  - id: metric.things
    type: metric
    metric_name: things
    instrument: counter
    unit: "{thing}"
    stability: development
    brief: Things counted.
    annotations:
      emitted_by: {svc: always}
    attributes:
      - ref: thing.kind
        requirement_level: required
      - ref: error.type
        requirement_level:
          conditionally_required: If it failed.
  - id: span.thing
    type: span
    span_kind: internal
    stability: development
    brief: Doing a thing.
    annotations:
      span_names: ["doing {thing.kind}"]
      emitted_by: {svc: always}
    attributes:
      - ref: thing.kind
        requirement_level: required
  - id: entity.svc
    type: entity
    name: service
    stability: stable
    brief: The service.
    attributes:
      - ref: service.name
        requirement_level: required
        role: identifying
      - ref: process.command_args
        requirement_level: opt_in
        role: descriptive
      - ref: host.id
        requirement_level:
          conditionally_required: If the machine has an id.
"#;

fn parse(model: &str) -> Result<Registry, Vec<String>> {
    Registry::parse(MANIFEST, &[("model.yaml".to_string(), model.to_string())])
}

/// The problems of a model that must fail, as one string to search.
fn problems(model: &str) -> String {
    parse(model).expect_err("the model is rejected").join("\n")
}

#[test]
fn the_repository_registry_resolves_and_depends_on_the_services_semconv_version() {
    let registry = Registry::load();
    assert_eq!(
        registry.semconv_schema_url,
        semconv::SCHEMA_URL,
        "manifest.yaml's dependency is the semantic-conventions version the services' crate implements"
    );
    assert!(registry.metrics.len() >= 7, "{:#?}", registry.metrics);
    assert!(registry.spans.len() >= 5, "{:#?}", registry.spans);
    // The resource every service sets, by reference to the semantic conventions.
    let resource: Vec<String> = registry
        .resource_attributes()
        .into_iter()
        .filter(|a| a.requirement == Requirement::Required)
        .map(|a| a.key)
        .collect();
    for key in [
        "service.name",
        "service.namespace",
        "service.version",
        "service.instance.id",
        "deployment.environment.name",
        "telemetry.sdk.language",
        "process.pid",
    ] {
        assert!(resource.iter().any(|k| k == key), "{key}: {resource:?}");
        assert!(!registry.attributes[key].own, "{key} is the conventions'");
    }
    for name in [
        "http.server.request.duration",
        "http.client.request.duration",
    ] {
        let metric = registry.metric(name).unwrap();
        assert!(
            metric.attribute_keys().contains("network.protocol.version"),
            "{name} declares the recommended network.protocol.version"
        );
    }
    assert_eq!(
        registry
            .metric("http.server.request.duration")
            .map(|m| m.instrument),
        Some(Instrument::Histogram)
    );
}

#[test]
fn a_valid_model_resolves_refs_to_own_and_semconv_attributes() {
    let registry = parse(GOOD).unwrap();
    let metric = registry.metric("things").unwrap();
    assert_eq!(metric.prometheus_name(), "things_total");
    assert_eq!(metric.attributes[0].requirement, Requirement::Required);
    assert_eq!(
        registry.attributes["thing.kind"].ty,
        AttributeType::Enum(vec!["a".into(), "b".into()])
    );
    assert!(!registry.attributes["error.type"].own);
}

#[test]
fn unknown_fields_and_missing_metric_fields_are_rejected() {
    let typo = GOOD.replace("metric_name: things", "metric_nme: things");
    assert!(problems(&typo).contains("unknown field `metric_nme`"));
    let no_unit = GOOD.replace("    unit: \"{thing}\"\n", "");
    assert!(problems(&no_unit).contains("needs metric_name, instrument and unit"));
    let bad_instrument = GOOD.replace("instrument: counter", "instrument: meter");
    assert!(problems(&bad_instrument).contains("unknown instrument meter"));
}

#[test]
fn a_ref_must_resolve_to_the_registry_or_the_semantic_conventions() {
    let unknown = GOOD.replace("ref: error.type", "ref: error.kind");
    assert!(problems(&unknown).contains("ref error.kind: neither defined"));
}

#[test]
fn enum_members_must_be_unique() {
    let twice = GOOD.replace("{id: b, value: b,", "{id: b, value: a,");
    assert!(problems(&twice).contains("enum value a is used twice"));
    let same_id = GOOD.replace("{id: b, value: b,", "{id: a, value: b,");
    assert!(problems(&same_id).contains("enum member id a is used twice"));
}

#[test]
fn ids_metric_names_and_span_placeholders_are_checked() {
    let twice = format!(
        "{GOOD}{}",
        r#"
  - id: metric.things
    type: metric
    metric_name: things
    instrument: counter
    unit: "{thing}"
    stability: development
    brief: Again.
    annotations:
      emitted_by: {svc: always}
"#
    );
    let found = problems(&twice);
    assert!(
        found.contains("group id metric.things is used twice"),
        "{found}"
    );
    assert!(found.contains("metric things is declared twice"), "{found}");
    let placeholder = GOOD.replace("doing {thing.kind}", "doing {thing.size}");
    assert!(problems(&placeholder).contains("placeholder {thing.size}"));
    let redefined = GOOD.replace("id: thing.kind", "id: url.path");
    assert!(problems(&redefined).contains("ref it, do not redefine it"));
}

#[test]
fn observed_telemetry_is_held_to_the_registry() {
    let registry = parse(GOOD).unwrap();
    let kind = |v: &str| [("thing.kind", Observed::Str(v.into()))];
    assert!(registry
        .check_metric("things", Instrument::Counter, "{thing}", &kind("a"))
        .is_empty());
    let wrong = registry.check_metric("things", Instrument::Histogram, "1", &kind("c"));
    assert_eq!(wrong.len(), 3, "{wrong:#?}");
    let missing = registry.check_metric("things", Instrument::Counter, "{thing}", &[]);
    assert!(missing[0].contains("required attribute thing.kind is missing"));
    let extra = [
        ("thing.kind", Observed::Str("a".into())),
        ("thing.size", Observed::Int(1)),
    ];
    let undeclared = registry.check_metric("things", Instrument::Counter, "{thing}", &extra);
    assert!(undeclared[0].contains("thing.size is not declared"));
    assert!(registry
        .check_span(SpanKind::Internal, "doing a", &kind("a"), &[])
        .is_empty());
    assert!(!registry
        .check_span(SpanKind::Internal, "doing b", &kind("a"), &[])
        .is_empty());
    let event = [("surprise", vec![])];
    assert!(
        registry.check_span(SpanKind::Internal, "doing a", &kind("a"), &event)[0]
            .contains("event surprise is not declared")
    );
}

#[test]
fn entity_groups_need_a_name_and_a_known_role() {
    let registry = parse(GOOD).unwrap();
    assert_eq!(registry.entities.len(), 1);
    assert_eq!(registry.entities[0].name, "service");
    assert_eq!(
        registry.attributes["process.command_args"].ty,
        AttributeType::StringArray
    );
    let nameless = GOOD.replace("    name: service\n", "");
    assert!(problems(&nameless).contains("an entity group needs a name"));
    let bad_role = GOOD.replace("role: identifying", "role: primary");
    assert!(problems(&bad_role).contains("service.name: role must be one of"));
    let span_role = GOOD.replace(
        "      - ref: thing.kind\n        requirement_level: required\n  - id: entity.svc",
        "      - ref: thing.kind\n        requirement_level: required\n        role: identifying\n  - id: entity.svc",
    );
    assert!(problems(&span_role).contains("role belongs to the attributes of entity groups"));
    let twice = format!(
        "{GOOD}{}",
        r#"
  - id: entity.svc.again
    type: entity
    name: service
    stability: stable
    brief: Again.
    attributes:
      - ref: service.version
"#
    );
    assert!(problems(&twice).contains("entity service is declared twice"));
}

#[test]
fn a_resource_is_held_to_the_entities() {
    let registry = parse(GOOD).unwrap();
    let name = ("service.name", Observed::Str("svc".into()));
    let args = (
        "process.command_args",
        Observed::StrArray(vec!["svc".into(), "--flag".into()]),
    );
    assert_eq!(
        registry.check_resource(&[name.clone(), args.clone()]),
        Vec::<String>::new()
    );
    let undeclared =
        registry.check_resource(&[name.clone(), ("os.type", Observed::Str("linux".into()))]);
    assert_eq!(undeclared, ["resource: attribute os.type is not declared"]);
    let missing = registry.check_resource(&[args]);
    assert_eq!(
        missing,
        ["resource: required attribute service.name is missing"]
    );
    let mistyped = registry.check_resource(&[
        name,
        ("process.command_args", Observed::Str("svc --flag".into())),
    ]);
    assert!(
        mistyped[0].starts_with("resource: process.command_args: "),
        "{mistyped:?}"
    );
}
