//! Reads the standard `OTEL_*` variables that decide which pipelines exist:
//! `OTEL_SDK_DISABLED`, the exporter selection of the SDK environment
//! specification (`OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER`,
//! `OTEL_LOGS_EXPORTER`), `OTEL_EXPORTER_OTLP_PROTOCOL` and
//! `OTEL_SERVICE_NAME`. `main` reads them; [`crate::init`] takes the value, so a
//! test passes a configuration of its own.
//!
//! Everything else (`OTEL_TRACES_SAMPLER`, `OTEL_BSP_*`, `OTEL_BLRP_*`,
//! `OTEL_METRIC_EXPORT_INTERVAL`, `OTEL_RESOURCE_ATTRIBUTES`, the OTLP
//! endpoints, timeout and headers) is read by the SDK and the exporters
//! themselves, where the specification puts them.

use env_config::{ConfigError, EnvReader};

/// Transport of the OTLP exporters (`OTEL_EXPORTER_OTLP_PROTOCOL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    Grpc,
    HttpProtobuf,
}

/// Where one signal goes: a set of the exporters the specification names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Exporters {
    /// `otlp`: pushed to the OTLP endpoint.
    pub otlp: bool,
    /// `console`: printed on stdout by `opentelemetry-stdout`, one block per record.
    pub console: bool,
    /// `prometheus` (metrics only): served at `GET /metrics`.
    pub prometheus: bool,
}

/// Which telemetry pipelines to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryConfig {
    /// `OTEL_SDK_DISABLED=true`: no SDK at all, `/metrics` is empty, logs go to stderr only.
    pub sdk_disabled: bool,
    /// The OTLP transport, for the signals whose exporters include `otlp`.
    pub otlp_protocol: OtlpProtocol,
    pub traces: Exporters,
    pub metrics: Exporters,
    pub logs: Exporters,
    /// `OTEL_SERVICE_NAME`: replaces the code's `service.name` when set and not blank.
    pub service_name: Option<String>,
}

impl TelemetryConfig {
    /// Whether any signal is pushed over OTLP (and so needs exporters and, for gRPC, a runtime).
    pub fn uses_otlp(&self) -> bool {
        self.traces.otlp || self.metrics.otlp || self.logs.otlp
    }

    pub fn from_env(env: &EnvReader) -> Result<Self, ConfigError> {
        let sdk_disabled = match env.get("OTEL_SDK_DISABLED") {
            None => false,
            Some(value) => match value.to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(ConfigError::new(
                        "OTEL_SDK_DISABLED",
                        &value,
                        "true or false",
                    ))
                }
            },
        };
        // Unset, the exporters keep this stack's behaviour: OTLP only where an
        // endpoint is configured (the specification's default is always OTLP,
        // to localhost), and /metrics always.
        let select = |signal: Signal| {
            let endpoint_configured = env.get("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
                || env.get(signal.endpoint_variable()).is_some();
            exporters(
                signal,
                env.get(signal.exporter_variable()),
                endpoint_configured,
            )
        };
        let (traces, metrics, logs) = (
            select(Signal::Traces)?,
            select(Signal::Metrics)?,
            select(Signal::Logs)?,
        );
        let mut config = Self {
            sdk_disabled,
            otlp_protocol: OtlpProtocol::Grpc,
            traces,
            metrics,
            logs,
            service_name: env.get("OTEL_SERVICE_NAME"),
        };
        config.otlp_protocol = match env.get("OTEL_EXPORTER_OTLP_PROTOCOL").as_deref() {
            None | Some("grpc") => OtlpProtocol::Grpc,
            Some("http/protobuf") => OtlpProtocol::HttpProtobuf,
            // Only an error where it would be used.
            Some(_) if !config.uses_otlp() => OtlpProtocol::Grpc,
            Some(other) => {
                return Err(ConfigError::new(
                    "OTEL_EXPORTER_OTLP_PROTOCOL",
                    other,
                    "grpc or http/protobuf",
                ))
            }
        };
        Ok(config)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    Traces,
    Metrics,
    Logs,
}

impl Signal {
    fn exporter_variable(self) -> &'static str {
        match self {
            Self::Traces => "OTEL_TRACES_EXPORTER",
            Self::Metrics => "OTEL_METRICS_EXPORTER",
            Self::Logs => "OTEL_LOGS_EXPORTER",
        }
    }

    fn endpoint_variable(self) -> &'static str {
        match self {
            Self::Traces => "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            Self::Metrics => "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            Self::Logs => "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
        }
    }
}

/// One `OTEL_*_EXPORTER` value: a comma-separated list of `otlp`, `console`
/// (and `prometheus` for metrics), or `none` alone.
fn exporters(
    signal: Signal,
    value: Option<String>,
    endpoint_configured: bool,
) -> Result<Exporters, ConfigError> {
    let variable = signal.exporter_variable();
    let Some(value) = value else {
        return Ok(Exporters {
            otlp: endpoint_configured,
            console: false,
            prometheus: signal == Signal::Metrics,
        });
    };
    let expected = if signal == Signal::Metrics {
        "otlp, console, prometheus or none"
    } else {
        "otlp, console or none"
    };
    let names: Vec<&str> = value.split(',').map(str::trim).collect();
    let mut selected = Exporters::default();
    for name in &names {
        match *name {
            "otlp" => selected.otlp = true,
            "console" => selected.console = true,
            "prometheus" if signal == Signal::Metrics => selected.prometheus = true,
            "none" if names.len() == 1 => {}
            "none" => {
                return Err(ConfigError::new(
                    variable,
                    &value,
                    "none cannot be combined with other exporters",
                ))
            }
            other => {
                return Err(ConfigError::new(
                    variable,
                    &value,
                    format!(
                        "unknown exporter '{other}'; expected a comma-separated list of {expected}"
                    ),
                ))
            }
        }
    }
    Ok(selected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<TelemetryConfig, String> {
        TelemetryConfig::from_env(&EnvReader::from_pairs(pairs.iter().copied()))
            .map_err(|error| error.to_string())
    }

    const NONE: Exporters = Exporters {
        otlp: false,
        console: false,
        prometheus: false,
    };
    const OTLP: Exporters = Exporters { otlp: true, ..NONE };
    const CONSOLE: Exporters = Exporters {
        console: true,
        ..NONE
    };
    const PROMETHEUS: Exporters = Exporters {
        prometheus: true,
        ..NONE
    };

    #[test]
    fn without_an_endpoint_nothing_is_pushed_and_metrics_are_served() {
        for unset in [config(&[]), config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")])] {
            let unset = unset.unwrap();
            assert_eq!(
                (unset.traces, unset.metrics, unset.logs),
                (NONE, PROMETHEUS, NONE)
            );
        }
    }

    #[test]
    fn an_endpoint_turns_otlp_on_for_its_signals_only() {
        let all = config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317")]).unwrap();
        assert_eq!((all.traces, all.logs), (OTLP, OTLP));
        assert_eq!(
            all.metrics,
            Exporters {
                otlp: true,
                ..PROMETHEUS
            }
        );
        let traces_only = config(&[(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://c:4318/v1/traces",
        )])
        .unwrap();
        assert_eq!(
            (traces_only.traces, traces_only.metrics, traces_only.logs),
            (OTLP, PROMETHEUS, NONE)
        );
    }

    #[test]
    fn otel_service_name_is_kept_when_set_and_not_blank() {
        let named = config(&[("OTEL_SERVICE_NAME", "renamed")]).unwrap();
        assert_eq!(named.service_name.as_deref(), Some("renamed"));
        assert_eq!(
            config(&[("OTEL_SERVICE_NAME", " ")]).unwrap().service_name,
            None
        );
    }

    #[test]
    fn grpc_is_the_default_protocol_and_http_protobuf_is_accepted() {
        let grpc = config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317")]).unwrap();
        assert_eq!(grpc.otlp_protocol, OtlpProtocol::Grpc);
        let http = config(&[
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://c:4318/v1/traces",
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ])
        .unwrap();
        assert_eq!(http.otlp_protocol, OtlpProtocol::HttpProtobuf);
    }

    #[test]
    fn each_exporter_value_selects_that_exporter() {
        let one = |variable: &str, value: &str| {
            let c = config(&[(variable, value)]).unwrap();
            match variable {
                "OTEL_TRACES_EXPORTER" => c.traces,
                "OTEL_METRICS_EXPORTER" => c.metrics,
                _ => c.logs,
            }
        };
        for variable in [
            "OTEL_TRACES_EXPORTER",
            "OTEL_METRICS_EXPORTER",
            "OTEL_LOGS_EXPORTER",
        ] {
            // Chosen explicitly, otlp needs no endpoint: the SDK's default applies.
            assert_eq!(one(variable, "otlp"), OTLP, "{variable}");
            assert_eq!(one(variable, "console"), CONSOLE, "{variable}");
            assert_eq!(one(variable, "none"), NONE, "{variable}");
            assert_eq!(
                one(variable, " console , otlp "),
                Exporters {
                    otlp: true,
                    console: true,
                    prometheus: false
                },
                "{variable}"
            );
        }
        assert_eq!(one("OTEL_METRICS_EXPORTER", "prometheus"), PROMETHEUS);
        assert_eq!(
            one("OTEL_METRICS_EXPORTER", "prometheus,console"),
            Exporters {
                console: true,
                ..PROMETHEUS
            }
        );
        // An explicit list replaces the default: no /metrics unless listed.
        assert_eq!(one("OTEL_METRICS_EXPORTER", "otlp"), OTLP);
    }

    #[test]
    fn bad_exporter_values_are_rejected_with_the_variable_name() {
        for (variable, value, says) in [
            (
                "OTEL_TRACES_EXPORTER",
                "zipkin",
                "unknown exporter 'zipkin'",
            ),
            (
                "OTEL_LOGS_EXPORTER",
                "prometheus",
                "unknown exporter 'prometheus'",
            ),
            (
                "OTEL_METRICS_EXPORTER",
                "none,console",
                "none cannot be combined",
            ),
            ("OTEL_TRACES_EXPORTER", "otlp,", "unknown exporter ''"),
            (
                "OTEL_METRICS_EXPORTER",
                "Console",
                "unknown exporter 'Console'",
            ),
        ] {
            let err = config(&[(variable, value)]).unwrap_err();
            assert!(
                err.starts_with(&format!("invalid {variable}='{value}': ")),
                "{err}"
            );
            assert!(err.contains(says), "{err}");
        }
    }

    #[test]
    fn unsupported_protocols_are_rejected_with_the_variable_name() {
        let err = config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ])
        .unwrap_err();
        assert!(err.contains("OTEL_EXPORTER_OTLP_PROTOCOL"), "{err}");
        // Not an error where nothing uses OTLP.
        assert!(config(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]).is_ok());
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
