//! Test helpers for the services: the status codes an OpenAPI document
//! promises, and hostile inputs for the property-based tests: query strings and
//! form bodies with arbitrary unicode, control characters, percent-encoding
//! garbage, number-like edge cases, 64 KiB values, and repeated or missing
//! parameters.

use proptest::prelude::*;

fn encoded(text: String) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// One parameter value, already in query-string form (percent-encoded or deliberately raw).
pub fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>().prop_map(encoded),
        2 => proptest::collection::vec(proptest::char::range('\u{0}', '\u{7f}'), 0..40)
            .prop_map(|chars| encoded(chars.into_iter().collect())),
        // Raw text straight into the query: broken escapes (%ZZ, %F), stray & and =.
        2 => proptest::collection::vec(proptest::sample::select(&['%', 'Z', 'F', 'f', '0', '&', '=', '+', 'a', '9', ';'][..]), 0..24)
            .prop_map(|chars| chars.into_iter().collect()),
        2 => proptest::sample::select(&[
            "", "%20", "NaN", "nan", "inf", "-inf", "infinity", "1e999", "-1e999", "1e-999", "0x10", "91", "-91",
            "90.0000001", "181", "-181", "1,5", "1%2C5", "-0", "%2B5", "%00", "%C3%28", "%E2%82", "51.5%2C%20-0.12",
            "Paris", "S%C3%A3o%20Paulo", "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        ][..]).prop_map(str::to_owned),
        1 => any::<f64>().prop_map(|number| encoded(number.to_string())),
        // About 64 KiB: over the services' 16 KiB query limit, under the 64 KiB URI limit of HTTP clients.
        1 => Just("x".repeat(63 * 1024)),
    ]
}

/// A whole query string (or form body) over `names`, plus unknown names; parameters may repeat or be missing.
pub fn query(names: &'static [&'static str]) -> impl Strategy<Value = String> {
    let name = prop_oneof![
        4 => proptest::sample::select(names).prop_map(str::to_owned),
        1 => proptest::sample::select(&["", "x", "%ZZ", "latitude%00", "LOCATION"][..]).prop_map(str::to_owned),
    ];
    proptest::collection::vec((name, value(), any::<bool>()), 0..5)
        .prop_map(|pairs| {
            let parts: Vec<String> = pairs
                .into_iter()
                .map(|(name, value, with_equals)| {
                    if with_equals {
                        format!("{name}={value}")
                    } else {
                        name
                    }
                })
                .collect();
            parts.join("&")
        })
        .prop_filter("must fit in a URI", |query| query.len() < 65_000)
}

/// The status codes `document` promises for `GET path`: what a test must be able to reach.
pub fn documented_statuses(
    document: &utoipa::openapi::OpenApi,
    path: &str,
) -> std::collections::BTreeSet<u16> {
    document
        .paths
        .paths
        .get(path)
        .and_then(|item| item.get.as_ref())
        .map(|operation| {
            operation
                .responses
                .responses
                .keys()
                .filter_map(|code| code.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}
