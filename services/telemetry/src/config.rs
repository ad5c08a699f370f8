//! Reads the standard `OTEL_*` variables that decide which pipelines exist.
//!
//! Everything else (`OTEL_TRACES_SAMPLER`, `OTEL_BSP_*`, `OTEL_BLRP_*`,
//! `OTEL_METRIC_EXPORT_INTERVAL`, `OTEL_EXPORTER_OTLP_TIMEOUT`, headers) is
//! read by the SDK and the exporters themselves.

use std::env;

/// Transport of the OTLP exporters (`OTEL_EXPORTER_OTLP_PROTOCOL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    Grpc,
    HttpProtobuf,
}

/// Which telemetry pipelines to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryConfig {
    /// `OTEL_SDK_DISABLED=true`: no SDK at all, `/metrics` is empty, logs go to stderr only.
    pub sdk_disabled: bool,
    /// `None` when no OTLP endpoint is configured: nothing is pushed.
    pub otlp: Option<OtlpProtocol>,
}

impl TelemetryConfig {
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|key| env::var(key).ok())
    }

    /// Same as [`from_env`](Self::from_env) over any lookup, so tests need not mutate the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let non_empty = |key: &str| lookup(key).filter(|value| !value.trim().is_empty());
        let sdk_disabled = match non_empty("OTEL_SDK_DISABLED") {
            None => false,
            Some(value) => match value.trim().to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                other => {
                    return Err(format!(
                        "OTEL_SDK_DISABLED must be true or false, got '{other}'"
                    ))
                }
            },
        };
        let endpoint_configured = [
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
        ]
        .iter()
        .any(|key| non_empty(key).is_some());
        let otlp = if endpoint_configured {
            Some(
                match non_empty("OTEL_EXPORTER_OTLP_PROTOCOL")
                    .as_deref()
                    .map(str::trim)
                {
                    None | Some("grpc") => OtlpProtocol::Grpc,
                    Some("http/protobuf") => OtlpProtocol::HttpProtobuf,
                    Some(other) => {
                        return Err(format!(
                        "OTEL_EXPORTER_OTLP_PROTOCOL must be grpc or http/protobuf, got '{other}'"
                    ))
                    }
                },
            )
        } else {
            None
        };
        Ok(Self { sdk_disabled, otlp })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<TelemetryConfig, String> {
        TelemetryConfig::from_lookup(|key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn without_an_endpoint_nothing_is_pushed() {
        assert_eq!(config(&[]).unwrap().otlp, None);
        assert_eq!(
            config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")])
                .unwrap()
                .otlp,
            None
        );
    }

    #[test]
    fn grpc_is_the_default_protocol_and_http_protobuf_is_accepted() {
        let grpc = config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317")]).unwrap();
        assert_eq!(grpc.otlp, Some(OtlpProtocol::Grpc));
        let http = config(&[
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://c:4318/v1/traces",
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ])
        .unwrap();
        assert_eq!(http.otlp, Some(OtlpProtocol::HttpProtobuf));
    }

    #[test]
    fn unsupported_values_are_rejected_with_the_variable_name() {
        let err = config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ])
        .unwrap_err();
        assert!(err.contains("OTEL_EXPORTER_OTLP_PROTOCOL"), "{err}");
        assert!(config(&[("OTEL_SDK_DISABLED", "yes")])
            .unwrap_err()
            .contains("OTEL_SDK_DISABLED"));
        assert!(
            config(&[("OTEL_SDK_DISABLED", "TRUE")])
                .unwrap()
                .sdk_disabled
        );
    }
}
