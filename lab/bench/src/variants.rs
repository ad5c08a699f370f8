//! The variants of the telemetry comparison (c): the services' telemetry
//! modes, the two measuring sticks (`bare`: the request path with no
//! telemetry at all; `contrib-peer`: the contrib crate's instrumentation),
//! and extra `--variant LABEL=BIN_DIR[:KEY=VALUE...]` runs, each with a
//! `LABEL-disabled` twin so that a lever's CPU ratio is measured before and
//! after in one run.

use std::path::PathBuf;

/// How the services' OpenTelemetry SDK is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Telemetry {
    /// OTLP/gRPC export of traces, metrics and logs to the in-process receiver.
    Otlp,
    /// SDK on (spans, metrics for /metrics), no exporter configured.
    NoExporter,
    /// `OTEL_SDK_DISABLED=true`.
    Disabled,
    /// As `Otlp`, with `RUST_LOG=warn`: no per-request log records at all.
    OtlpWarnLogs,
    /// As `Otlp`, keeping one trace in ten (`parentbased_traceidratio`, 0.1).
    OtlpSampled,
}

impl Telemetry {
    /// Whether anything should reach the receiver.
    pub fn exports(self) -> bool {
        !matches!(self, Telemetry::NoExporter | Telemetry::Disabled)
    }
}

/// What plays the stack's services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binaries {
    /// The services from `--bin-dir`.
    Services,
    /// The services from another directory (`--variant LABEL=BIN_DIR`).
    ServicesFrom(PathBuf),
    /// `bare-stack --role <service>` from `--bin-dir`.
    Bare,
    /// `contrib-peer --role <service>` from `--bin-dir`.
    ContribPeer,
}

impl Binaries {
    /// The program playing the services, when it is not the services themselves.
    pub fn stand_in(&self) -> Option<&'static str> {
        match self {
            Binaries::Bare => Some("bare-stack"),
            Binaries::ContribPeer => Some("contrib-peer"),
            Binaries::Services | Binaries::ServicesFrom(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub label: String,
    /// The row's first cell in the tables.
    pub description: String,
    pub binaries: Binaries,
    pub telemetry: Telemetry,
    /// Extra variables for every service, after the harness's own.
    pub env: Vec<(String, String)>,
    /// The variant its "vs disabled" ratios are against.
    pub reference: String,
}

pub const DISABLED: &str = "sdk-disabled";
pub const BARE: &str = "bare";
pub const CONTRIB_PEER: &str = "contrib-peer";

/// The built-in variants, in table order.
pub const BUILT_IN: [&str; 7] = [
    DISABLED,
    "no-exporter",
    "otlp",
    "otlp-warn-logs",
    "otlp-sampled-10",
    BARE,
    CONTRIB_PEER,
];

impl Variant {
    /// The services from `--bin-dir` with `telemetry`: what the other scenarios run.
    pub fn services(telemetry: Telemetry) -> Self {
        let (label, description) = match telemetry {
            Telemetry::Disabled => (DISABLED, "`OTEL_SDK_DISABLED=true`"),
            Telemetry::NoExporter => (
                "no-exporter",
                "SDK on, no exporter (`/metrics` only; no spans recorded)",
            ),
            Telemetry::Otlp => ("otlp", "OTLP/gRPC export of traces, metrics, logs"),
            Telemetry::OtlpWarnLogs => (
                "otlp-warn-logs",
                "OTLP export, `RUST_LOG=warn` (no request logs)",
            ),
            Telemetry::OtlpSampled => ("otlp-sampled-10", "OTLP export, 1 trace in 10 sampled"),
        };
        Self {
            label: label.into(),
            description: description.into(),
            binaries: Binaries::Services,
            telemetry,
            env: Vec::new(),
            reference: DISABLED.into(),
        }
    }

    /// A built-in variant by its label.
    pub fn built_in(label: &str) -> Option<Self> {
        let stick = |label: &str, description: &str, binaries, telemetry| Self {
            label: label.into(),
            description: description.into(),
            binaries,
            telemetry,
            env: Vec::new(),
            reference: DISABLED.into(),
        };
        Some(match label {
            BARE => stick(
                BARE,
                "bare-stack: the same request path, no telemetry, no logs (measuring stick)",
                Binaries::Bare,
                // It reads no OpenTelemetry variable; "disabled" is what it is.
                Telemetry::Disabled,
            ),
            CONTRIB_PEER => stick(
                CONTRIB_PEER,
                "contrib-peer: `opentelemetry-instrumentation-actix-web` traces + metrics, OTLP/gRPC",
                Binaries::ContribPeer,
                Telemetry::Otlp,
            ),
            _ => [
                Telemetry::Disabled,
                Telemetry::NoExporter,
                Telemetry::Otlp,
                Telemetry::OtlpWarnLogs,
                Telemetry::OtlpSampled,
            ]
            .into_iter()
            .map(Variant::services)
            .find(|variant| variant.label == label)?,
        })
    }

    /// `service.name` of the process playing `binary` (a service binary's name).
    pub fn service_name(&self, binary: &str, real: &str) -> String {
        match self.binaries.stand_in() {
            Some(_) => format!("bare-{binary}"),
            None => real.to_owned(),
        }
    }
}

/// An extra variant from `--variant LABEL=BIN_DIR[:KEY=VALUE...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extra {
    pub label: String,
    pub bin_dir: PathBuf,
    pub env: Vec<(String, String)>,
}

impl Extra {
    /// Parses `LABEL=BIN_DIR[:KEY=VALUE[:KEY=VALUE...]]` (no `:` in the directory or the values).
    pub fn parse(spec: &str) -> Result<Self, String> {
        let (label, rest) = spec
            .split_once('=')
            .ok_or_else(|| format!("--variant '{spec}': expected LABEL=BIN_DIR[:KEY=VALUE...]"))?;
        let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if label.is_empty() || !label.chars().all(valid) {
            return Err(format!(
                "--variant '{spec}': the label must be letters, digits, '-', '_' or '.'"
            ));
        }
        if BUILT_IN.contains(&label) {
            return Err(format!(
                "--variant '{spec}': '{label}' is a built-in variant's label"
            ));
        }
        let mut parts = rest.split(':');
        let bin_dir = parts.next().unwrap_or_default();
        if bin_dir.is_empty() {
            return Err(format!("--variant '{spec}': no BIN_DIR"));
        }
        let env = parts
            .map(|pair| match pair.split_once('=') {
                Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
                _ => Err(format!("--variant '{spec}': '{pair}' is not KEY=VALUE")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            label: label.to_owned(),
            bin_dir: PathBuf::from(bin_dir),
            env,
        })
    }

    /// The OTLP variant and its twin with the SDK disabled (same binaries, same variables).
    pub fn variants(&self) -> [Variant; 2] {
        let settings: String = self
            .env
            .iter()
            .map(|(key, value)| format!(", `{key}={value}`"))
            .collect();
        let twin = format!("{}-disabled", self.label);
        let variant = |label: &str, telemetry, what: &str| Variant {
            label: label.to_owned(),
            description: format!(
                "`{label}`: {what}, services from `{}`{settings} (ratios vs `{twin}`)",
                self.bin_dir.display()
            ),
            binaries: Binaries::ServicesFrom(self.bin_dir.clone()),
            telemetry,
            env: self.env.clone(),
            reference: twin.clone(),
        };
        [
            variant(&self.label, Telemetry::Otlp, "OTLP export"),
            variant(&twin, Telemetry::Disabled, "`OTEL_SDK_DISABLED=true`"),
        ]
    }
}

/// `--variants a,b,c`: built-in labels only, at least one.
pub fn parse_only(list: &str) -> Result<Vec<String>, String> {
    let labels: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|label| !label.is_empty())
        .map(str::to_owned)
        .collect();
    if labels.is_empty() {
        return Err("--variants needs at least one label".into());
    }
    if let Some(unknown) = labels.iter().find(|l| !BUILT_IN.contains(&l.as_str())) {
        return Err(format!(
            "--variants: unknown variant '{unknown}' (built-in: {})",
            BUILT_IN.join(", ")
        ));
    }
    Ok(labels)
}

/// The variants to run: the built-in ones (all, or those `only` names) in
/// table order, then each extra and its twin. Labels are unique.
pub fn selected(only: Option<&[String]>, extras: &[Extra]) -> Result<Vec<Variant>, String> {
    let mut variants: Vec<Variant> = BUILT_IN
        .iter()
        .filter(|label| only.is_none_or(|only| only.iter().any(|l| l == *label)))
        .filter_map(|label| Variant::built_in(label))
        .collect();
    for extra in extras {
        variants.extend(extra.variants());
    }
    for (i, variant) in variants.iter().enumerate() {
        if variants[..i].iter().any(|v| v.label == variant.label) {
            return Err(format!("variant label '{}' is used twice", variant.label));
        }
    }
    Ok(variants)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_extra_variant_has_binaries_settings_and_a_disabled_twin() {
        let extra = Extra::parse("jemalloc=/tmp/lever/bin:LD_PRELOAD=/usr/lib/libjemalloc.so.2:OTEL_BSP_MAX_QUEUE_SIZE=8192")
            .unwrap();
        assert_eq!(extra.label, "jemalloc");
        assert_eq!(extra.bin_dir, PathBuf::from("/tmp/lever/bin"));
        assert_eq!(
            extra.env,
            vec![
                (
                    "LD_PRELOAD".to_owned(),
                    "/usr/lib/libjemalloc.so.2".to_owned()
                ),
                ("OTEL_BSP_MAX_QUEUE_SIZE".to_owned(), "8192".to_owned()),
            ]
        );
        let [on, off] = extra.variants();
        assert_eq!(
            (on.label.as_str(), on.telemetry),
            ("jemalloc", Telemetry::Otlp)
        );
        assert_eq!(
            (off.label.as_str(), off.telemetry),
            ("jemalloc-disabled", Telemetry::Disabled)
        );
        for variant in [&on, &off] {
            assert_eq!(variant.reference, "jemalloc-disabled");
            assert_eq!(variant.env, extra.env);
            assert_eq!(
                variant.binaries,
                Binaries::ServicesFrom("/tmp/lever/bin".into())
            );
        }
        let plain = Extra::parse("x=target/other").unwrap();
        assert!(plain.env.is_empty());
    }

    #[test]
    fn bad_extra_variants_are_refused() {
        for spec in [
            "no-equals-sign",
            "=dir",
            "bad label=dir",
            "otlp=dir",
            "bare=dir",
            "x=",
            "x=dir:NOVALUE",
            "x=dir:=value",
        ] {
            assert!(Extra::parse(spec).is_err(), "{spec}");
        }
    }

    #[test]
    fn only_restricts_the_built_ins_and_extras_always_run() {
        let only = parse_only("otlp, bare,sdk-disabled").unwrap();
        let extra = Extra::parse("lever=dir:K=V").unwrap();
        let labels: Vec<String> = selected(Some(&only), &[extra])
            .unwrap()
            .into_iter()
            .map(|v| v.label)
            .collect();
        // Table order, not the order given.
        assert_eq!(
            labels,
            ["sdk-disabled", "otlp", "bare", "lever", "lever-disabled"]
        );
        assert_eq!(selected(None, &[]).unwrap().len(), BUILT_IN.len());
        assert!(parse_only("otlp,nonsense").is_err());
        assert!(parse_only(" , ").is_err());
        let twice = [Extra::parse("a=d1").unwrap(), Extra::parse("a=d2").unwrap()];
        assert!(selected(None, &twice).is_err());
        // A label that collides with another extra's twin.
        let twin = [
            Extra::parse("a=d1").unwrap(),
            Extra::parse("a-disabled=d2").unwrap(),
        ];
        assert!(selected(None, &twin).is_err());
    }

    #[test]
    fn the_sticks_play_the_services_under_their_own_names() {
        let bare = Variant::built_in(BARE).unwrap();
        assert_eq!(bare.binaries.stand_in(), Some("bare-stack"));
        assert!(!bare.telemetry.exports());
        let peer = Variant::built_in(CONTRIB_PEER).unwrap();
        assert!(peer.telemetry.exports());
        assert_eq!(peer.service_name("gateway", "gateway"), "bare-gateway");
        let otlp = Variant::built_in("otlp").unwrap();
        assert_eq!(
            otlp.service_name("geolocator", "geolocator-service"),
            "geolocator-service"
        );
        assert!(Variant::built_in("nonsense").is_none());
    }
}
