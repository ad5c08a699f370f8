//! The upstream semantic-convention attributes the registry may `ref`.
//!
//! Weaver would resolve them from the dependency named in the manifest; that
//! registry is not reachable offline, so the tests know them from the
//! `opentelemetry-semantic-conventions` crate the services use: each key is
//! one of its constants, so a misspelt or removed attribute does not compile.

use opentelemetry_semantic_conventions::attribute as semconv;

/// The schema URL of the semantic conventions the services' crate implements.
pub const SCHEMA_URL: &str = opentelemetry_semantic_conventions::SCHEMA_URL;

/// (key, type) of every upstream attribute the registry refers to, with the
/// type the semantic conventions give it (an enum's values being strings,
/// `string` for it here: the conventions' enums are open).
pub const ATTRIBUTES: &[(&str, &str)] = &[
    (semconv::CLIENT_ADDRESS, "string"),
    (semconv::DEPLOYMENT_ENVIRONMENT_NAME, "string"),
    (semconv::ERROR_TYPE, "string"),
    (semconv::EXCEPTION_MESSAGE, "string"),
    (semconv::EXCEPTION_TYPE, "string"),
    (semconv::HTTP_REQUEST_METHOD, "string"),
    (semconv::HTTP_REQUEST_METHOD_ORIGINAL, "string"),
    (semconv::HTTP_RESPONSE_STATUS_CODE, "int"),
    (semconv::HTTP_ROUTE, "string"),
    (semconv::HOST_ARCH, "string"),
    (semconv::HOST_ID, "string"),
    (semconv::HOST_NAME, "string"),
    (semconv::NETWORK_PEER_ADDRESS, "string"),
    (semconv::NETWORK_PROTOCOL_VERSION, "string"),
    (semconv::OS_TYPE, "string"),
    (semconv::PROCESS_COMMAND_ARGS, "string[]"),
    (semconv::PROCESS_PID, "int"),
    (semconv::PROCESS_RUNTIME_DESCRIPTION, "string"),
    (semconv::PROCESS_RUNTIME_NAME, "string"),
    (semconv::PROCESS_RUNTIME_VERSION, "string"),
    (semconv::SERVER_ADDRESS, "string"),
    (semconv::SERVER_PORT, "int"),
    (semconv::SERVICE_INSTANCE_ID, "string"),
    (semconv::SERVICE_NAME, "string"),
    (semconv::SERVICE_NAMESPACE, "string"),
    (semconv::SERVICE_VERSION, "string"),
    (semconv::TELEMETRY_SDK_LANGUAGE, "string"),
    (semconv::TELEMETRY_SDK_NAME, "string"),
    (semconv::TELEMETRY_SDK_VERSION, "string"),
    (semconv::URL_FULL, "string"),
    (semconv::URL_PATH, "string"),
    (semconv::URL_SCHEME, "string"),
    (semconv::USER_AGENT_ORIGINAL, "string"),
];

/// The semantic-convention type of an upstream attribute this module knows.
pub fn attribute_type(key: &str) -> Option<&'static str> {
    ATTRIBUTES.iter().find(|(k, _)| *k == key).map(|(_, t)| *t)
}
