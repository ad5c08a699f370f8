//! The live ISS position API (`ISS_API_URL`, open-notify's `iss-now.json` format).

use api::{Latitude, Longitude};
use opentelemetry::metrics::{Counter, Meter};
use opentelemetry::KeyValue;
use serde::Deserialize;
use telemetry::client::{TracedClient, UpstreamError};
use url::Url;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveFix {
    pub latitude: Latitude,
    pub longitude: Longitude,
    pub timestamp: Option<i64>,
}

#[derive(Deserialize)]
struct IssNow {
    iss_position: IssPosition,
    timestamp: Option<i64>,
}

#[derive(Deserialize)]
struct IssPosition {
    latitude: Degrees,
    longitude: Degrees,
}

/// The API sends numbers as strings; plain numbers are accepted too.
#[derive(Deserialize)]
#[serde(untagged)]
enum Degrees {
    Text(String),
    Number(f64),
}

/// The ISS API of one worker: its client, its URL, and the `iss.requests` counter.
pub struct IssApi {
    client: TracedClient,
    url: Url,
    requests: Counter<u64>,
}

impl IssApi {
    pub fn new(client: TracedClient, url: Url, meter: &Meter) -> Self {
        let requests = meter
            .u64_counter("iss.requests")
            .with_unit("{request}")
            .with_description("The number of requests made to the ISS position API.")
            .build();
        Self {
            client,
            url,
            requests,
        }
    }

    /// One call; every outcome is counted in `iss.requests{response.status}`.
    pub async fn position(&self) -> Result<LiveFix, UpstreamError> {
        let response = self.client.get(&self.url).await;
        let status = match &response {
            Ok(response) => response.status.as_u16().to_string(),
            Err(error) => error.kind().to_owned(),
        };
        self.requests
            .add(1, &[KeyValue::new("response.status", status)]);
        let now: IssNow = response?.json()?;
        checked(now).map_err(|reason| UpstreamError::Decode {
            host: self.url.host_str().unwrap_or_default().to_owned(),
            reason,
        })
    }
}

fn checked(now: IssNow) -> Result<LiveFix, String> {
    Ok(LiveFix {
        latitude: match now.iss_position.latitude {
            Degrees::Text(text) => text.parse()?,
            Degrees::Number(number) => Latitude::new(number)?,
        },
        longitude: match now.iss_position.longitude {
            Degrees::Text(text) => text.parse()?,
            Degrees::Number(number) => Longitude::new(number)?,
        },
        timestamp: now.timestamp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &[u8]) -> Result<LiveFix, String> {
        checked(serde_json::from_slice(body).map_err(|error| error.to_string())?)
    }

    #[test]
    fn parses_the_open_notify_format_and_rejects_garbage() {
        let fix = parse(br#"{"message":"success","timestamp":1700000000,"iss_position":{"latitude":"-12.5","longitude":"100.25"}}"#)
            .unwrap();
        assert_eq!(
            (
                fix.latitude.degrees(),
                fix.longitude.degrees(),
                fix.timestamp
            ),
            (-12.5, 100.25, Some(1_700_000_000))
        );
        let numbers = parse(br#"{"iss_position":{"latitude":1.5,"longitude":-2}}"#).unwrap();
        assert_eq!(
            (numbers.latitude.degrees(), numbers.longitude.degrees()),
            (1.5, -2.0)
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
