//! Calls to geolocator and iss-distance, and how their outcomes become the gateway's.
//!
//! A 4xx from a downstream is the user's problem and passes through with its
//! body; unreachable or 5xx is 502; no answer within the deadline is 504.

use actix_web::http::StatusCode;
use serde_json::Value;
use telemetry::client::{TracedClient, UpstreamError};
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum DownstreamError {
    /// A downstream 4xx, passed through as is.
    #[error("{service} rejected the request with HTTP {status}")]
    Rejected {
        service: &'static str,
        status: StatusCode,
        body: Value,
    },
    #[error("{service} did not answer in time")]
    Timeout { service: &'static str },
    #[error("{service} is unavailable: {reason}")]
    Unavailable {
        service: &'static str,
        reason: String,
    },
}

/// `GET url` on `service`, expecting a JSON object.
pub async fn get_json(
    client: &TracedClient,
    service: &'static str,
    url: &Url,
) -> Result<Value, DownstreamError> {
    let response = client.get(url).await.map_err(|error| match error {
        UpstreamError::Timeout { .. } => DownstreamError::Timeout { service },
        other => DownstreamError::Unavailable {
            service,
            reason: other.to_string(),
        },
    })?;
    let body: Option<Value> = serde_json::from_slice(&response.body)
        .ok()
        .filter(Value::is_object);
    let status = response.status;
    if status.is_client_error() {
        // Pass the downstream's own explanation through; a body that is not JSON gets a plain one.
        let body = body.unwrap_or_else(
            || serde_json::json!({ "error": format!("{service} rejected the request.") }),
        );
        return Err(DownstreamError::Rejected {
            service,
            status,
            body,
        });
    }
    if !status.is_success() {
        return Err(DownstreamError::Unavailable {
            service,
            reason: format!("HTTP {status}"),
        });
    }
    body.ok_or_else(|| DownstreamError::Unavailable {
        service,
        reason: "the answer is not a JSON object".into(),
    })
}
