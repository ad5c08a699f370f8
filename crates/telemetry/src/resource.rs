//! The `Resource` shared by traces, metrics and logs of one service.
//!
//! Precedence, lowest to highest, as the OpenTelemetry spec asks: code
//! defaults, detected host/process attributes, `OTEL_RESOURCE_ATTRIBUTES`,
//! then `OTEL_SERVICE_NAME`.

use crate::{ServiceInfo, SERVICE_NAMESPACE};
use opentelemetry::KeyValue;
use opentelemetry_resource_detectors::{
    HostResourceDetector, OsResourceDetector, ProcessResourceDetector,
    ServiceInstanceIdResourceDetector,
};
use opentelemetry_sdk::resource::{
    EnvResourceDetector, ResourceDetector, TelemetryResourceDetector,
};
use opentelemetry_sdk::Resource;
use opentelemetry_semantic_conventions::resource as semconv;

pub(crate) fn build(service: ServiceInfo, service_name_override: Option<String>) -> Resource {
    let defaults = [
        KeyValue::new(semconv::SERVICE_NAME, service.name),
        KeyValue::new(semconv::SERVICE_VERSION, service.version),
        KeyValue::new(semconv::SERVICE_NAMESPACE, SERVICE_NAMESPACE),
        KeyValue::new(semconv::DEPLOYMENT_ENVIRONMENT_NAME, "development"),
    ];
    let detected: Vec<Box<dyn ResourceDetector>> = vec![
        Box::new(ServiceInstanceIdResourceDetector),
        Box::new(HostResourceDetector::default()),
        Box::new(OsResourceDetector),
        Box::new(ProcessResourceDetector),
        Box::new(TelemetryResourceDetector),
    ];
    let mut builder = Resource::builder_empty()
        .with_attributes(defaults)
        .with_detectors(&detected)
        .with_detector(Box::new(EnvResourceDetector::new()));
    if let Some(name) = service_name_override.filter(|name| !name.trim().is_empty()) {
        builder = builder.with_service_name(name);
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::Key;

    const INFO: ServiceInfo = ServiceInfo {
        name: "gateway",
        version: "1.2.3",
    };

    fn get(resource: &Resource, key: &'static str) -> Option<String> {
        resource
            .get(&Key::from_static_str(key))
            .map(|value| value.to_string())
    }

    #[test]
    fn carries_the_shared_attributes() {
        let resource = build(INFO, None);
        assert_eq!(get(&resource, "service.version").as_deref(), Some("1.2.3"));
        assert_eq!(
            get(&resource, "service.namespace").as_deref(),
            Some(SERVICE_NAMESPACE)
        );
        assert!(get(&resource, "service.instance.id").is_some());
        assert!(get(&resource, "host.name").is_some());
        assert!(get(&resource, "process.pid").is_some());
        assert_eq!(
            get(&resource, "telemetry.sdk.language").as_deref(),
            Some("rust")
        );
    }

    #[test]
    fn otel_service_name_wins_over_the_code_default() {
        let resource = build(INFO, Some("renamed".into()));
        assert_eq!(get(&resource, "service.name").as_deref(), Some("renamed"));
    }
}
