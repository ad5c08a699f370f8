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
/// type the semantic conventions give it.
pub const ATTRIBUTES: &[(&str, &str)] = &[
    (semconv::CLIENT_ADDRESS, "string"),
    (semconv::ERROR_TYPE, "string"),
    (semconv::EXCEPTION_MESSAGE, "string"),
    (semconv::EXCEPTION_TYPE, "string"),
    (semconv::HTTP_REQUEST_METHOD, "string"),
    (semconv::HTTP_REQUEST_METHOD_ORIGINAL, "string"),
    (semconv::HTTP_RESPONSE_STATUS_CODE, "int"),
    (semconv::HTTP_ROUTE, "string"),
    (semconv::NETWORK_PEER_ADDRESS, "string"),
    (semconv::NETWORK_PROTOCOL_VERSION, "string"),
    (semconv::SERVER_ADDRESS, "string"),
    (semconv::SERVER_PORT, "int"),
    (semconv::URL_FULL, "string"),
    (semconv::URL_PATH, "string"),
    (semconv::URL_SCHEME, "string"),
    (semconv::USER_AGENT_ORIGINAL, "string"),
];

/// The semantic-convention type of an upstream attribute this module knows.
pub fn attribute_type(key: &str) -> Option<&'static str> {
    ATTRIBUTES.iter().find(|(k, _)| *k == key).map(|(_, t)| *t)
}
