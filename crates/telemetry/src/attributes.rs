//! Pure functions from request facts to HTTP semantic-convention attributes.
//!
//! Everything a caller controls (method, scheme, host) is bounded here before
//! it can reach a metric attribute, so made-up values add no time series.

use actix_web::http::{StatusCode, Version};
use opentelemetry::KeyValue;
use opentelemetry_semantic_conventions::attribute as semconv;
use url::Url;

/// The methods the HTTP semantic conventions know; any other is recorded as `_OTHER`.
const KNOWN_METHODS: [&str; 9] = [
    "CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE",
];

pub const OTHER_METHOD: &str = "_OTHER";

/// Callers choose the method: only known values may reach metric attributes,
/// or every made-up one becomes a new time series.
pub fn known_method(sent: &str) -> &'static str {
    KNOWN_METHODS
        .iter()
        .find(|known| **known == sent)
        .copied()
        .unwrap_or(OTHER_METHOD)
}

/// Callers choose the scheme too (`X-Forwarded-Proto`): anything but http/https is ignored.
pub fn url_scheme(forwarded_or_actual: &str, secure: bool) -> &'static str {
    match forwarded_or_actual {
        "https" => "https",
        "http" => "http",
        _ if secure => "https",
        _ => "http",
    }
}

/// `network.protocol.version`: one of five values.
pub fn protocol_version(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

/// Splits `host:port` (or `[v6]:port`) into its parts; a bare host has no port.
pub fn split_host_port(authority: &str) -> (String, Option<i64>) {
    if let Some(rest) = authority.strip_prefix('[') {
        if let Some((host, tail)) = rest.split_once(']') {
            let port = tail.strip_prefix(':').and_then(|p| p.parse().ok());
            return (host.to_owned(), port);
        }
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(port) => (host.to_owned(), Some(port)),
            Err(_) => (authority.to_owned(), None),
        },
        _ => (authority.to_owned(), None),
    }
}

/// A server's `http.response.status_code`, and `error.type` for a 5xx (a 4xx is the caller's problem).
pub fn server_outcome(status: StatusCode) -> Vec<KeyValue> {
    let mut attributes = vec![KeyValue::new(
        semconv::HTTP_RESPONSE_STATUS_CODE,
        i64::from(status.as_u16()),
    )];
    if status.is_server_error() {
        attributes.push(KeyValue::new(
            semconv::ERROR_TYPE,
            status.as_str().to_owned(),
        ));
    }
    attributes
}

/// For a client every 4xx and 5xx is a failed call.
pub fn is_client_failure(status: StatusCode) -> bool {
    status.is_client_error() || status.is_server_error()
}

/// The attributes of both a client span and its duration metric, known before the call.
pub fn client_request(url: &Url) -> Vec<KeyValue> {
    let mut attributes = vec![
        KeyValue::new(semconv::HTTP_REQUEST_METHOD, "GET"),
        KeyValue::new(
            semconv::SERVER_ADDRESS,
            url.host_str().unwrap_or_default().to_owned(),
        ),
    ];
    if let Some(port) = url.port_or_known_default() {
        attributes.push(KeyValue::new(semconv::SERVER_PORT, i64::from(port)));
    }
    attributes
}

/// `url.full` without the query: it may hold user input (a place name).
pub fn url_without_query(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.to_string()
}

/// A call's outcome on its span and its duration metric: the answer's status,
/// or the kind of failure.
pub fn client_outcome(answer: Result<StatusCode, &str>) -> Vec<KeyValue> {
    match answer {
        Ok(status) => {
            let code = i64::from(status.as_u16());
            let mut attributes = vec![KeyValue::new(semconv::HTTP_RESPONSE_STATUS_CODE, code)];
            if is_client_failure(status) {
                attributes.push(KeyValue::new(semconv::ERROR_TYPE, code.to_string()));
            }
            attributes
        }
        Err(kind) => vec![KeyValue::new(semconv::ERROR_TYPE, kind.to_owned())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::attribute_of;

    #[test]
    fn methods_and_schemes_outside_the_conventions_are_bounded() {
        assert_eq!(known_method("GET"), "GET");
        assert_eq!(known_method("get"), "_OTHER");
        assert_eq!(known_method("FOO"), "_OTHER");
        assert_eq!(url_scheme("https", false), "https");
        assert_eq!(url_scheme("gopher", false), "http");
        assert_eq!(url_scheme("gopher", true), "https");
    }

    #[test]
    fn a_server_error_has_an_error_type_and_a_4xx_has_none() {
        let not_found = server_outcome(StatusCode::NOT_FOUND);
        assert_eq!(attribute_of(&not_found, "error.type"), None);
        let failed = server_outcome(StatusCode::BAD_GATEWAY);
        assert_eq!(attribute_of(&failed, "error.type").as_deref(), Some("502"));
    }

    #[test]
    fn a_client_call_fails_on_any_4xx_or_5xx() {
        let ok = client_outcome(Ok(StatusCode::OK));
        assert_eq!(attribute_of(&ok, "error.type"), None);
        let missing = client_outcome(Ok(StatusCode::NOT_FOUND));
        assert_eq!(attribute_of(&missing, "error.type").as_deref(), Some("404"));
        let timeout = client_outcome(Err("timeout"));
        assert_eq!(
            attribute_of(&timeout, "error.type").as_deref(),
            Some("timeout")
        );
    }

    #[test]
    fn protocol_versions_are_named_as_the_conventions_do() {
        assert_eq!(protocol_version(Version::HTTP_10), "1.0");
        assert_eq!(protocol_version(Version::HTTP_11), "1.1");
        assert_eq!(protocol_version(Version::HTTP_2), "2");
    }

    #[test]
    fn host_and_port_are_split_for_names_ipv4_and_ipv6() {
        assert_eq!(
            split_host_port("gateway:5001"),
            ("gateway".into(), Some(5001))
        );
        assert_eq!(split_host_port("127.0.0.1"), ("127.0.0.1".into(), None));
        assert_eq!(split_host_port("[::1]:80"), ("::1".into(), Some(80)));
        assert_eq!(split_host_port("::1"), ("::1".into(), None));
    }

    #[test]
    fn the_query_never_reaches_url_full() {
        let url = Url::parse("http://geolocator:5002/?location=Paris").unwrap();
        assert_eq!(url_without_query(&url), "http://geolocator:5002/");
        let attributes = client_request(&url);
        assert_eq!(
            attribute_of(&attributes, "server.port").as_deref(),
            Some("5002")
        );
    }
}
