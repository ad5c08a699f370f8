//! `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` override the code's
//! resource as the OpenTelemetry specification says: the service name from
//! `OTEL_SERVICE_NAME` wins over a `service.name` in `OTEL_RESOURCE_ATTRIBUTES`,
//! which wins over the built-in default.

use crate::support::{ask_iss_distance, EXPORT_DEADLINE};
use e2e::{prom_text, Protocol, StackBuilder};
use otlp_receiver::{OtlpReceiver, Received, Resource};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otel_service_name_and_resource_attributes_override_the_built_in_resource() {
    let receiver = OtlpReceiver::start().unwrap();
    let attributes =
        "service.name=named-by-attributes,deployment.environment.name=staging,team.name=orbit";
    let both = StackBuilder::new("resource-both")
        .otlp(&receiver.endpoint(), Protocol::Grpc)
        .env("OTEL_SERVICE_NAME", "named-by-env")
        .env("OTEL_RESOURCE_ATTRIBUTES", attributes);
    let attributes_only = StackBuilder::new("resource-attributes")
        .otlp(&receiver.endpoint(), Protocol::Grpc)
        .env("OTEL_RESOURCE_ATTRIBUTES", attributes);
    let (both, attributes_only) = tokio::join!(
        both.start_one("iss-distance"),
        attributes_only.start_one("iss-distance")
    );
    for process in [&both, &attributes_only] {
        ask_iss_distance(process).await;
    }

    let received = receiver
        .wait_until(
            EXPORT_DEADLINE,
            "spans, metrics and logs of both processes",
            |r| {
                let all = ["named-by-env", "named-by-attributes"].iter().all(|name| {
                    !r.spans_of(name).is_empty()
                        && !r.logs_of(name).is_empty()
                        && !r.metric_names(name).is_empty()
                });
                all.then(|| r.clone())
            },
        )
        .await
        .unwrap();
    let names = received.service_names();
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["named-by-attributes", "named-by-env"],
        "the default name is gone"
    );

    let by_env = resources_of(&received, "named-by-env");
    let by_attributes = resources_of(&received, "named-by-attributes");
    for resource in by_env.iter().chain(&by_attributes) {
        assert_eq!(
            resource.get("deployment.environment.name"),
            Some("staging"),
            "{resource:?}"
        );
        assert_eq!(resource.get("team.name"), Some("orbit"), "{resource:?}");
        assert_eq!(
            resource.get("service.namespace"),
            Some("iss-distance-app"),
            "code defaults stay: {resource:?}"
        );
        assert_eq!(
            resource.get("service.version"),
            Some(env!("CARGO_PKG_VERSION"))
        );
    }

    // The pull path shows the same resource in target_info.
    let families = prom_text::parse(&both.scrape().await).expect("valid exposition");
    let info = &families["target_info"].samples[0].labels;
    assert_eq!(
        info.get("service_name").map(String::as_str),
        Some("named-by-env")
    );
    assert_eq!(
        info.get("deployment_environment_name").map(String::as_str),
        Some("staging")
    );
}

fn resources_of(received: &Received, service: &str) -> Vec<Resource> {
    let spans = received
        .spans_of(service)
        .into_iter()
        .map(|s| (*s.resource).clone());
    let logs = received
        .logs_of(service)
        .into_iter()
        .map(|l| (*l.resource).clone());
    let metrics = received
        .metrics
        .iter()
        .filter(|p| p.service_name() == service)
        .map(|p| (*p.resource).clone());
    spans.chain(logs).chain(metrics).collect()
}
