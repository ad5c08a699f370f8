//! What a service answers when an upstream call failed it.

use actix_web::http::StatusCode;
use telemetry::client::UpstreamError;

/// The status a service relays for a failed upstream call.
pub trait RelayedStatus {
    /// 504 when the upstream ran out of time, 502 for every other failure.
    fn relayed_status(&self) -> StatusCode;
}

impl RelayedStatus for UpstreamError {
    fn relayed_status(&self) -> StatusCode {
        match self {
            Self::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::BAD_GATEWAY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_timeout_is_a_504_and_every_other_failure_a_502() {
        let host = || "upstream".to_owned();
        let timeout = UpstreamError::Timeout {
            host: host(),
            timeout: Duration::from_secs(1),
        };
        assert_eq!(timeout.relayed_status(), StatusCode::GATEWAY_TIMEOUT);
        for failure in [
            UpstreamError::Connect {
                host: host(),
                reason: "refused".into(),
            },
            UpstreamError::Status {
                host: host(),
                status: StatusCode::NOT_FOUND,
                body: Default::default(),
            },
            UpstreamError::Decode {
                host: host(),
                reason: "not JSON".into(),
            },
        ] {
            assert_eq!(
                failure.relayed_status(),
                StatusCode::BAD_GATEWAY,
                "{failure}"
            );
        }
    }
}
