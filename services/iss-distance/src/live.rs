//! The live ISS position API (`ISS_API_URL`, open-notify's `iss-now.json` format).

use opentelemetry::metrics::Counter;
use serde::Deserialize;
use serde_json::Value;
use std::sync::LazyLock;
use telemetry::client::{TracedClient, UpstreamError};
use url::Url;

static ISS_REQUESTS: LazyLock<Counter<u64>> = LazyLock::new(|| {
    telemetry::meter()
        .u64_counter("iss.requests")
        .with_unit("{request}")
        .with_description("The number of requests made to the ISS position API.")
        .build()
});

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error("the ISS API answered HTTP {0}")]
    Status(u16),
    #[error("the ISS API answered with an unusable body: {0}")]
    Malformed(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveFix {
    pub latitude: f64,
    pub longitude: f64,
    pub timestamp: Option<i64>,
}

#[derive(Deserialize)]
struct IssNow {
    iss_position: IssPosition,
    timestamp: Option<i64>,
}

#[derive(Deserialize)]
struct IssPosition {
    latitude: Value,
    longitude: Value,
}

/// One call to the ISS API; every outcome is counted in `iss.requests{response.status}`.
pub async fn fetch(client: &TracedClient, url: &Url) -> Result<LiveFix, LiveError> {
    let response = match client.get(url).await {
        Ok(response) => response,
        Err(error) => {
            ISS_REQUESTS.add(
                1,
                &[opentelemetry::KeyValue::new(
                    "response.status",
                    error.kind(),
                )],
            );
            return Err(error.into());
        }
    };
    ISS_REQUESTS.add(
        1,
        &[opentelemetry::KeyValue::new(
            "response.status",
            response.status.as_u16().to_string(),
        )],
    );
    if !response.status.is_success() {
        return Err(LiveError::Status(response.status.as_u16()));
    }
    parse(&response.body)
}

pub(crate) fn parse(body: &[u8]) -> Result<LiveFix, LiveError> {
    let now: IssNow =
        serde_json::from_slice(body).map_err(|error| LiveError::Malformed(error.to_string()))?;
    let latitude = degrees(&now.iss_position.latitude, "latitude")?;
    let longitude = degrees(&now.iss_position.longitude, "longitude")?;
    let latitude = service_common::coordinates::parse_latitude(&latitude.to_string())
        .map_err(LiveError::Malformed)?;
    let longitude = service_common::coordinates::parse_longitude(&longitude.to_string())
        .map_err(LiveError::Malformed)?;
    Ok(LiveFix {
        latitude,
        longitude,
        timestamp: now.timestamp,
    })
}

/// The API sends numbers as strings; plain numbers are accepted too, anything else is malformed.
fn degrees(value: &Value, name: &str) -> Result<f64, LiveError> {
    let parsed = match value {
        Value::String(text) => text.trim().parse::<f64>().ok(),
        Value::Number(number) => number.as_f64(),
        _ => None,
    };
    parsed
        .filter(|v| v.is_finite())
        .ok_or_else(|| LiveError::Malformed(format!("{name} is not a number: {value}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_open_notify_format_and_rejects_garbage() {
        let fix = parse(br#"{"message":"success","timestamp":1700000000,"iss_position":{"latitude":"-12.5","longitude":"100.25"}}"#)
            .unwrap();
        assert_eq!(
            fix,
            LiveFix {
                latitude: -12.5,
                longitude: 100.25,
                timestamp: Some(1_700_000_000)
            }
        );
        for body in [
            &br#"{"iss_position":{"latitude":"north","longitude":"1"}}"#[..],
            br#"{"iss_position":{"latitude":"NaN","longitude":"1"}}"#,
            br#"{"iss_position":{"latitude":"95","longitude":"1"}}"#,
            br#"{"iss_position":{"latitude":null,"longitude":"1"}}"#,
            br#"{"message":"success"}"#,
            b"<html>",
        ] {
            assert!(parse(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
    }
}
