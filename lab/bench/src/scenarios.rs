//! The scenarios: start-up, each service alone, end to end with the drop
//! check, and the telemetry variants side by side (in live mode, against the
//! bare-stack ISS API mock, with the two measuring sticks among them).

use crate::procs::{self, Memory};
use crate::results::{
    Check, Counts, DropCheck, EndToEnd, Measured, Settings, Single, Skipped, Startup, VariantInfo,
    VariantRun,
};
use crate::variants::{Binaries, Telemetry, Variant, CONTRIB_PEER};
use loadgen::Report;
use otlp_receiver::OtlpReceiver;
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use testkit::{Process, Signal, StackBuilder};

/// The services, in the order a stack starts them (dependencies first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Geolocator,
    IssDistance,
    Gateway,
    Frontend,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Geolocator,
        Kind::IssDistance,
        Kind::Gateway,
        Kind::Frontend,
    ];

    fn from_binary(binary: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.binary() == binary)
    }

    pub fn binary(self) -> &'static str {
        match self {
            Kind::Geolocator => "geolocator",
            Kind::IssDistance => "iss-distance",
            Kind::Gateway => "gateway",
            Kind::Frontend => "frontend",
        }
    }

    /// `service.name` on its telemetry.
    pub fn service_name(self) -> &'static str {
        match self {
            Kind::Geolocator => "geolocator-service",
            Kind::IssDistance => "iss-distance-service",
            Kind::Gateway => "gateway",
            Kind::Frontend => "frontend",
        }
    }

    /// The API request, as a loadgen URL template path.
    pub fn api_path(self) -> &'static str {
        match self {
            Kind::IssDistance => "/?latitude={lat}&longitude={lon}",
            _ => "/?location={city}",
        }
    }
}

/// Loads of the scenarios.
#[derive(Debug, Clone, Copy)]
pub enum Load {
    Open { rate: f64, seconds: f64 },
    Closed { concurrency: usize, seconds: f64 },
}

pub struct Ctx {
    pub bin_dir: PathBuf,
    /// What the telemetry comparison runs (before skipping a missing contrib-peer in smoke mode).
    pub variants: Vec<Variant>,
    pub out_dir: PathBuf,
    pub receiver: OtlpReceiver,
    pub settings: Settings,
    pub ticks_per_second: u64,
    pub checks: Mutex<Vec<Check>>,
    pub ready_deadline: Duration,
    /// Drives testkit's waits and the few HTTP requests of the harness itself.
    pub runtime: tokio::runtime::Runtime,
}

pub type Error = Box<dyn std::error::Error + Send + Sync>;

impl Ctx {
    pub fn check(&self, name: impl Into<String>, ok: bool, detail: impl Into<String>) {
        let check = Check {
            name: name.into(),
            ok,
            detail: detail.into(),
        };
        eprintln!(
            "  check {}: {} {}",
            if check.ok { "ok" } else { "FAILED" },
            check.name,
            check.detail
        );
        self.checks.lock().expect("not poisoned").push(check);
    }

    /// The services' settings: offline defaults (and the stack's wiring, from
    /// testkit) plus the variant's binaries, telemetry and variables.
    fn services(&self, variant: &Variant, tag: &str) -> StackBuilder {
        let telemetry = variant.telemetry;
        let rust_log = match telemetry {
            Telemetry::OtlpWarnLogs => "warn",
            _ => &self.settings.rust_log,
        };
        let bin_dir = match &variant.binaries {
            Binaries::ServicesFrom(dir) => dir,
            _ => &self.bin_dir,
        };
        let mut builder = StackBuilder::offline(&self.out_dir.join("logs").join(tag))
            .binaries(bin_dir)
            .startup_deadline(self.ready_deadline)
            .env("RUST_LOG", rust_log);
        if let Some(program) = variant.binaries.stand_in() {
            for kind in [Kind::Geolocator, Kind::IssDistance, Kind::Gateway] {
                builder = builder.program(
                    kind.binary(),
                    &self.bin_dir.join(program),
                    &["--role", kind.binary()],
                );
            }
        }
        builder = match telemetry {
            Telemetry::Otlp | Telemetry::OtlpWarnLogs | Telemetry::OtlpSampled => {
                let builder = if telemetry == Telemetry::OtlpSampled {
                    builder
                        .env("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
                        .env("OTEL_TRACES_SAMPLER_ARG", "0.1")
                } else {
                    builder
                };
                builder
                    .env("OTEL_EXPORTER_OTLP_ENDPOINT", &self.receiver.endpoint())
                    .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
                    .env(
                        "OTEL_METRIC_EXPORT_INTERVAL",
                        &self.settings.metric_export_interval_ms.to_string(),
                    )
            }
            Telemetry::NoExporter => builder,
            Telemetry::Disabled => builder.env("OTEL_SDK_DISABLED", "true"),
        };
        for (key, value) in &variant.env {
            builder = builder.env(key, value);
        }
        builder
    }

    /// Starts `kinds` (dependencies first, each ready before the next) as
    /// `variant` plays them; iss-distance asks `iss_api` in live mode if given.
    pub fn start(
        &self,
        kinds: &[Kind],
        variant: &Variant,
        tag: &str,
        iss_api: Option<&str>,
    ) -> Result<Stack, Error> {
        let binaries: Vec<&str> = kinds.iter().map(|kind| kind.binary()).collect();
        let mut builder = self.services(variant, tag);
        if let Some(url) = iss_api {
            builder = builder.iss_api("live", url);
        }
        let started = self
            .runtime
            .block_on(builder.try_start_services(&binaries))?;
        let services = started
            .into_iter()
            .map(|process| {
                let kind = Kind::from_binary(process.name()).expect("one of the four services");
                (kind, process)
            })
            .collect();
        Ok(Stack {
            services,
            runtime: self.runtime.handle().clone(),
        })
    }

    /// The ISS API mock (`bare-stack --role iss-api`) the telemetry comparison runs against.
    fn start_iss_api(&self) -> Result<Process, Error> {
        let builder = StackBuilder::offline(&self.out_dir.join("logs").join("telemetry-iss-api"))
            .startup_deadline(self.ready_deadline)
            .program(
                "iss-api",
                &self.bin_dir.join("bare-stack"),
                &["--role", "iss-api"],
            );
        Ok(self
            .runtime
            .block_on(builder.try_start_service("iss-api", &[]))?)
    }

    /// `GET url`: the status code and the body.
    fn get(&self, url: &str) -> Result<(u16, String), Error> {
        self.runtime.block_on(async {
            let response = reqwest::Client::new()
                .get(url)
                .timeout(Duration::from_secs(5))
                .send()
                .await?;
            let status = response.status().as_u16();
            Ok((status, response.text().await?))
        })
    }

    /// Runs the loadgen binary against `port` and reads its JSON report.
    fn loadgen(&self, name: &str, port: u16, path: &str, load: Load) -> Result<Report, Error> {
        let json = self.out_dir.join("runs").join(format!("{name}.json"));
        let mut command = Command::new(self.bin_dir.join("loadgen"));
        command
            .arg("--url")
            .arg(format!("http://127.0.0.1:{port}{path}"))
            .args(["--quiet", "--timeout", "5s", "--json"])
            .arg(&json);
        match load {
            Load::Open { rate, seconds } => command.args([
                "--rate",
                &rate.to_string(),
                "--duration",
                &format!("{seconds}s"),
            ]),
            Load::Closed {
                concurrency,
                seconds,
            } => command.args([
                "--concurrency",
                &concurrency.to_string(),
                "--duration",
                &format!("{seconds}s"),
            ]),
        };
        let output = command.output().map_err(|e| {
            format!(
                "cannot run {}: {e} (build it: cargo build --release -p loadgen)",
                self.bin_dir.join("loadgen").display()
            )
        })?;
        if !output.status.success() {
            return Err(format!(
                "loadgen {name} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        let report: Report = serde_json::from_slice(&std::fs::read(&json)?)?;
        eprint!(
            "    {name}: {}",
            report
                .summary()
                .lines()
                .skip(1)
                .collect::<Vec<_>>()
                .join("\n    ")
        );
        eprintln!();
        Ok(report)
    }

    /// A loadgen run against `target` in `stack`, with each service's CPU time and
    /// memory (sampled every 250 ms) over exactly that run.
    pub fn measure(
        &self,
        stack: &Stack,
        name: &str,
        target: Kind,
        load: Load,
    ) -> Result<Measured, Error> {
        let before: Vec<Option<u64>> = stack
            .services
            .iter()
            .map(|(_, s)| procs::cpu_ticks(s.pid()))
            .collect();
        let receiver_before = procs::own_cpu_ticks();
        let loadgen_before = procs::children_cpu_ticks();
        let machine_before = procs::machine_ticks();
        let done = AtomicBool::new(false);
        let peaks: Mutex<BTreeMap<String, Memory>> = Mutex::new(BTreeMap::new());
        let report = std::thread::scope(|scope| {
            scope.spawn(|| {
                while !done.load(Ordering::Relaxed) {
                    sample_memory(stack, &peaks);
                    std::thread::sleep(Duration::from_millis(250));
                }
            });
            let report = self.loadgen(name, stack.port(target), target.api_path(), load);
            done.store(true, Ordering::Relaxed);
            report
        })?;
        sample_memory(stack, &peaks);
        let ms = |ticks: u64| ticks as f64 * 1000.0 / self.ticks_per_second as f64;
        let mut cpu_ms = BTreeMap::new();
        for ((kind, service), before) in stack.services.iter().zip(before) {
            if let (Some(before), Some(after)) = (before, procs::cpu_ticks(service.pid())) {
                cpu_ms.insert(kind.service_name().to_owned(), ms(after - before));
            }
        }
        let receiver_cpu_ms = match (receiver_before, procs::own_cpu_ticks()) {
            (Some(b), Some(a)) => ms(a - b),
            _ => 0.0,
        };
        let loadgen_cpu_ms = match (loadgen_before, procs::children_cpu_ticks()) {
            (Some(b), Some(a)) => ms(a - b),
            _ => 0.0,
        };
        let (others_cpu_pct, steal_pct) = match (machine_before, procs::machine_ticks()) {
            (Some(b), Some(a)) if a.total > b.total => {
                let total = ms(a.total - b.total);
                let ours = cpu_ms.values().sum::<f64>() + receiver_cpu_ms + loadgen_cpu_ms;
                let others = (ms(a.busy - b.busy) - ours).max(0.0);
                (
                    others * 100.0 / total,
                    ms(a.steal - b.steal) * 100.0 / total,
                )
            }
            _ => (0.0, 0.0),
        };
        self.check(
            format!("{name}: every request answered 2xx"),
            report.errors == 0 && report.ok > 0,
            format!(
                "{} ok, {} errors {:?}",
                report.ok, report.errors, report.errors_by_kind
            ),
        );
        Ok(Measured {
            report,
            cpu_ms,
            receiver_cpu_ms,
            memory: peaks.into_inner().expect("not poisoned"),
            loadgen_cpu_ms,
            others_cpu_pct,
            steal_pct,
        })
    }

    /// Telemetry the receiver holds, per service of `kinds`.
    pub fn counts(&self, kinds: &[Kind]) -> Counts {
        let names: Vec<String> = kinds.iter().map(|k| k.service_name().to_owned()).collect();
        self.counts_of(&names)
    }

    /// Telemetry the receiver holds, per `service.name` in `names`.
    pub fn counts_of(&self, names: &[String]) -> Counts {
        self.receiver.read(|received| {
            let mut counts = Counts::default();
            for name in names {
                let name = name.as_str();
                counts
                    .spans
                    .insert(name.into(), received.spans_of(name).len() as i64);
                counts
                    .logs
                    .insert(name.into(), received.logs_of(name).len() as i64);
                counts.incoming_requests.insert(
                    name.into(),
                    received.latest_total(name, "incoming.requests", &[]) as i64,
                );
                counts.server_durations.insert(
                    name.into(),
                    received.latest_total(name, "http.server.request.duration", &[]) as i64,
                );
                counts.metric_points.insert(
                    name.into(),
                    received
                        .metrics
                        .iter()
                        .filter(|p| p.service_name() == name)
                        .count() as i64,
                );
            }
            counts
        })
    }
}

fn sample_memory(stack: &Stack, peaks: &Mutex<BTreeMap<String, Memory>>) {
    let mut peaks = peaks.lock().expect("not poisoned");
    for (kind, service) in &stack.services {
        if let Some(now) = procs::memory(service.pid()) {
            let entry = peaks.entry(kind.service_name().to_owned()).or_insert(now);
            entry.rss_kib = entry.rss_kib.max(now.rss_kib);
            entry.hwm_kib = entry.hwm_kib.max(now.hwm_kib);
            entry.anon_kib = entry.anon_kib.max(now.anon_kib);
        }
    }
}

/// How a service ended after SIGTERM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Drained, flushed and exited 0.
    Graceful,
    /// The signal's default action killed it: its handler was not installed yet.
    KilledBySignal,
}

pub struct Stack {
    pub services: Vec<(Kind, Process)>,
    runtime: tokio::runtime::Handle,
}

impl Stack {
    pub fn port(&self, kind: Kind) -> u16 {
        self.service(kind).port()
    }

    pub fn service(&self, kind: Kind) -> &Process {
        self.services
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, s)| s)
            .expect("the stack runs this service")
    }

    pub fn memory(&self) -> BTreeMap<String, Memory> {
        self.services
            .iter()
            .filter_map(|(k, s)| Some((k.service_name().to_owned(), procs::memory(s.pid())?)))
            .collect()
    }

    /// SIGTERM, callers first (so nothing calls a stopped service), waiting for each flush.
    pub fn stop(mut self) -> Result<(), Error> {
        let mut first_error = None;
        while let Some((_, service)) = self.services.pop() {
            let stopped = match self.stop_one(service) {
                Ok(Stop::Graceful) => Ok(()),
                Ok(Stop::KilledBySignal) => Err(
                    "killed by SIGTERM itself (no handler installed yet): no drain, no flush"
                        .into(),
                ),
                Err(error) => Err(error),
            };
            if let Err(error) = stopped {
                first_error.get_or_insert(error);
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Stops a stack of one service; a process that SIGTERM killed outright
    /// (it had no handler installed yet) is reported rather than an error.
    pub fn stop_single(mut self) -> Result<Stop, Error> {
        let (_, service) = self.services.pop().expect("one service");
        assert!(self.services.is_empty(), "a stack of one service");
        self.stop_one(service)
    }

    fn stop_one(&self, mut service: Process) -> Result<Stop, Error> {
        let deadline = Duration::from_secs(20);
        service
            .send(Signal::TERM)
            .map_err(|error| format!("SIGTERM to {}: {error}", service.name()))?;
        match self.runtime.block_on(service.exit_status_within(deadline)) {
            Some(status) if status.success() => Ok(Stop::Graceful),
            Some(status) if status.signal() == Some(Signal::TERM.as_raw()) => {
                Ok(Stop::KilledBySignal)
            }
            Some(status) => Err(format!(
                "{} exited with {status} after SIGTERM:\n{}",
                service.name(),
                service.output_tail()
            )
            .into()),
            // Killed when `service` drops.
            None => Err(format!(
                "{} did not stop within {deadline:?} of SIGTERM",
                service.name()
            )
            .into()),
        }
    }
}

const CHAIN: [Kind; 3] = [Kind::Geolocator, Kind::IssDistance, Kind::Gateway];

/// (e) start-up time to ready, and (d) idle memory, per service.
pub fn startup(ctx: &Ctx) -> Result<Vec<Startup>, Error> {
    eprintln!("start-up: {} starts per service", ctx.settings.startup_runs);
    let mut results = Vec::new();
    for kind in Kind::ALL {
        let mut ready_ms = Vec::new();
        let mut idle_rss_kib = Vec::new();
        let mut killed_by_sigterm = 0;
        for run in 0..ctx.settings.startup_runs {
            ctx.receiver.clear();
            let stack = ctx.start(
                &[kind],
                &Variant::services(Telemetry::Otlp),
                &format!("startup-{run}"),
                None,
            )?;
            let service = stack.service(kind);
            let ready_after = service.ready_after().expect("started means ready");
            ready_ms.push(ready_after.as_secs_f64() * 1000.0);
            let memory = procs::memory(service.pid())
                .ok_or_else(|| format!("no /proc entry for {}", kind.binary()))?;
            idle_rss_kib.push(memory.rss_kib);
            // Stopped within a millisecond of ready, a service may not have its SIGTERM
            // handler yet; that is counted (a finding about the service), not a harness failure.
            if stack.stop_single()? == Stop::KilledBySignal {
                killed_by_sigterm += 1;
            }
        }
        eprintln!(
            "  {}: ready in {:?} ms, idle RSS {:?} KiB",
            kind.binary(),
            ready_ms
                .iter()
                .map(|v| (v * 10.0).round() / 10.0)
                .collect::<Vec<_>>(),
            idle_rss_kib
        );
        if killed_by_sigterm > 0 {
            eprintln!(
                "  {}: {killed_by_sigterm} of {} stops right after ready were deaths by SIGTERM (no handler yet)",
                kind.binary(),
                ctx.settings.startup_runs
            );
        }
        results.push(Startup {
            service: kind.binary().into(),
            ready_ms,
            idle_rss_kib,
            killed_by_sigterm,
        });
    }
    Ok(results)
}

fn closed(ctx: &Ctx) -> Load {
    Load::Closed {
        concurrency: ctx.settings.concurrency,
        seconds: ctx.settings.run_seconds,
    }
}

fn open(ctx: &Ctx, seconds: f64) -> Load {
    Load::Open {
        rate: ctx.settings.rate,
        seconds,
    }
}

fn warm_up(ctx: &Ctx, stack: &Stack, target: Kind) -> Result<(), Error> {
    // Connections, allocator arenas and caches settle before anything is measured.
    ctx.loadgen(
        "warmup",
        stack.port(target),
        target.api_path(),
        Load::Closed {
            concurrency: ctx.settings.concurrency,
            seconds: if ctx.settings.smoke { 0.5 } else { 2.0 },
        },
    )?;
    Ok(())
}

/// (b) geolocator and iss-distance alone (the gateway and frontend need their downstreams: see e2e).
pub fn single(ctx: &Ctx) -> Result<Vec<Single>, Error> {
    let mut results = Vec::new();
    for kind in [Kind::Geolocator, Kind::IssDistance] {
        eprintln!("{} alone (OTLP on)", kind.binary());
        ctx.receiver.clear();
        let stack = ctx.start(
            &[kind],
            &Variant::services(Telemetry::Otlp),
            &format!("single-{}", kind.binary()),
            None,
        )?;
        warm_up(ctx, &stack, kind)?;
        let closed = ctx.measure(
            &stack,
            &format!("single-{}-closed", kind.binary()),
            kind,
            closed(ctx),
        )?;
        let open = ctx.measure(
            &stack,
            &format!("single-{}-open", kind.binary()),
            kind,
            open(ctx, ctx.settings.run_seconds),
        )?;
        stack.stop()?;
        results.push(Single {
            service: kind.binary().into(),
            closed,
            open,
        });
    }
    Ok(results)
}

/// Starts the chain with OTLP on, optionally sends one request, stops it (flushing everything)
/// and returns what the receiver got.
fn calibrate(ctx: &Ctx, requests: usize) -> Result<Counts, Error> {
    ctx.receiver.clear();
    let stack = ctx.start(
        &CHAIN,
        &Variant::services(Telemetry::Otlp),
        &format!("calibrate-{requests}"),
        None,
    )?;
    for _ in 0..requests {
        let (status, body) = ctx.get(&format!(
            "{}?location=London",
            stack.service(Kind::Gateway).url()
        ))?;
        if status != 200 {
            return Err(format!("calibration request: HTTP {status}: {body}").into());
        }
    }
    stack.stop()?;
    Ok(ctx.counts(&CHAIN))
}

fn expected(baseline: &Counts, per_request: &Counts, requests: u64) -> Counts {
    let n = requests as i64;
    let combine = |b: &BTreeMap<String, i64>, p: &BTreeMap<String, i64>| {
        b.iter()
            .map(|(k, v)| (k.clone(), v + n * p.get(k).copied().unwrap_or(0)))
            .collect()
    };
    Counts {
        spans: combine(&baseline.spans, &per_request.spans),
        logs: combine(&baseline.logs, &per_request.logs),
        incoming_requests: combine(&baseline.incoming_requests, &per_request.incoming_requests),
        server_durations: combine(&baseline.server_durations, &per_request.server_durations),
        metric_points: BTreeMap::new(),
    }
}

fn difference(one: &Counts, zero: &Counts) -> Counts {
    let diff = |a: &BTreeMap<String, i64>, b: &BTreeMap<String, i64>| {
        a.iter()
            .map(|(k, v)| (k.clone(), v - b.get(k).copied().unwrap_or(0)))
            .collect()
    };
    Counts {
        spans: diff(&one.spans, &zero.spans),
        logs: diff(&one.logs, &zero.logs),
        incoming_requests: diff(&one.incoming_requests, &zero.incoming_requests),
        server_durations: diff(&one.server_durations, &zero.server_durations),
        metric_points: BTreeMap::new(),
    }
}

/// (a) end to end through the gateway, with (d) memory under load and the drop check.
pub fn end_to_end(ctx: &Ctx) -> Result<EndToEnd, Error> {
    eprintln!("end to end: calibrating telemetry per request");
    let baseline = calibrate(ctx, 0)?;
    let one = calibrate(ctx, 1)?;
    let per_request = difference(&one, &baseline);
    eprintln!("  per request: {per_request:?}");
    ctx.check(
        "one request produces spans and logs in every service",
        CHAIN.iter().all(|k| {
            let name = k.service_name();
            per_request.spans.get(name).copied().unwrap_or(0) > 0
                && per_request.logs.get(name).copied().unwrap_or(0) > 0
        }),
        format!("spans {:?}, logs {:?}", per_request.spans, per_request.logs),
    );

    eprintln!(
        "end to end: open loop {} req/s for {} s through the gateway, OTLP on",
        ctx.settings.rate, ctx.settings.e2e_seconds
    );
    ctx.receiver.clear();
    let stack = ctx.start(
        &CHAIN,
        &Variant::services(Telemetry::Otlp),
        "e2e-open",
        None,
    )?;
    let idle_memory = stack.memory();
    let open = ctx.measure(
        &stack,
        "e2e-gateway-open",
        Kind::Gateway,
        open(ctx, ctx.settings.e2e_seconds),
    )?;
    stack.stop()?;
    let received = ctx.counts(&CHAIN);
    let drops = DropCheck {
        requests: open.report.requests,
        expected: expected(&baseline, &per_request, open.report.requests),
        baseline,
        per_request,
        received,
    };
    let mismatches = drops.mismatches();
    ctx.check(
        format!(
            "nothing dropped: spans, logs and metric totals of {} requests all arrived",
            drops.requests
        ),
        mismatches.is_empty(),
        if mismatches.is_empty() {
            format!("spans {:?}", drops.received.spans)
        } else {
            format!("(signal, service, expected, received): {mismatches:?}")
        },
    );

    eprintln!("end to end: closed loop through the gateway and the frontend");
    ctx.receiver.clear();
    let stack = ctx.start(
        &Kind::ALL,
        &Variant::services(Telemetry::Otlp),
        "e2e-closed",
        None,
    )?;
    warm_up(ctx, &stack, Kind::Gateway)?;
    let closed_gateway = ctx.measure(&stack, "e2e-gateway-closed", Kind::Gateway, closed(ctx))?;
    warm_up(ctx, &stack, Kind::Frontend)?;
    let closed_frontend =
        ctx.measure(&stack, "e2e-frontend-closed", Kind::Frontend, closed(ctx))?;
    stack.stop()?;
    Ok(EndToEnd {
        open,
        idle_memory,
        drops,
        closed_gateway,
        closed_frontend,
    })
}

/// What the telemetry comparison will run, and what it skips: contrib-peer
/// in smoke mode when it was not built. Missing binaries are errors here,
/// before any scenario has run, rather than after the others' minutes.
pub fn plan_telemetry(ctx: &Ctx) -> Result<(Vec<Variant>, Vec<Skipped>), Error> {
    let bare_stack = ctx.bin_dir.join("bare-stack");
    if !bare_stack.is_file() {
        return Err(format!(
            "{} not found: the telemetry comparison's ISS API mock and measuring stick (build it: cargo build --release -p bare-stack)",
            bare_stack.display()
        )
        .into());
    }
    let mut run = Vec::new();
    let mut skipped = Vec::new();
    for variant in &ctx.variants {
        if let Binaries::ServicesFrom(dir) = &variant.binaries {
            for kind in CHAIN {
                let binary = dir.join(kind.binary());
                if !binary.is_file() {
                    return Err(format!(
                        "variant {}: {} not found",
                        variant.label,
                        binary.display()
                    )
                    .into());
                }
            }
        }
        if variant.label == CONTRIB_PEER {
            let peer = ctx.bin_dir.join("contrib-peer");
            if !peer.is_file() {
                let why = format!(
                    "{} not found (build it: cargo build -p bare-stack --features contrib --bin contrib-peer, with --release for release binaries)",
                    peer.display()
                );
                if !ctx.settings.smoke {
                    return Err(why.into());
                }
                eprintln!("telemetry: skipping {CONTRIB_PEER}: {why}");
                skipped.push(Skipped {
                    variant: variant.label.clone(),
                    reason: why,
                });
                continue;
            }
        }
        run.push(variant.clone());
    }
    Ok((run, skipped))
}

/// (c) the telemetry variants, interleaved round by round (rotating the
/// order) so drifting machine load hits every variant alike. Every stack's
/// iss-distance asks one ISS API mock in live mode, so the sticks and the
/// services take the same four hops per request.
pub fn telemetry(
    ctx: &Ctx,
    variants: &[Variant],
) -> Result<(Vec<VariantInfo>, Vec<VariantRun>), Error> {
    let infos = variants
        .iter()
        .map(|v| VariantInfo {
            label: v.label.clone(),
            description: v.description.clone(),
            reference: v.reference.clone(),
        })
        .collect();
    let mut runs = Vec::new();
    if variants.is_empty() {
        return Ok((infos, runs));
    }
    let mock = ctx.start_iss_api()?;
    let iss_api = format!("{}iss-now.json", mock.url());
    eprintln!("telemetry: ISS API mock at {iss_api}");
    for round in 0..ctx.settings.rounds {
        for i in 0..variants.len() {
            let variant = &variants[(i + round) % variants.len()];
            eprintln!(
                "telemetry round {}/{}: {}",
                round + 1,
                ctx.settings.rounds,
                variant.label
            );
            ctx.receiver.clear();
            let tag = format!("telemetry-{}-{round}", variant.label);
            let stack = ctx.start(&CHAIN, variant, &tag, Some(&iss_api))?;
            warm_up(ctx, &stack, Kind::Gateway)?;
            let closed =
                ctx.measure(&stack, &format!("{tag}-closed"), Kind::Gateway, closed(ctx))?;
            let open = ctx.measure(
                &stack,
                &format!("{tag}-open"),
                Kind::Gateway,
                open(ctx, ctx.settings.run_seconds),
            )?;
            stack.stop()?;
            check_exports(ctx, variant, &tag);
            runs.push(VariantRun {
                variant: variant.label.clone(),
                round,
                closed,
                open,
            });
        }
    }
    drop(mock);
    Ok((infos, runs))
}

/// Each variant must be what it claims: every service exporting spans and
/// metrics, or nothing at all reaching the receiver.
fn check_exports(ctx: &Ctx, variant: &Variant, tag: &str) {
    let names: Vec<String> = CHAIN
        .iter()
        .map(|k| variant.service_name(k.binary(), k.service_name()))
        .collect();
    let counts = ctx.counts_of(&names);
    let stray = ctx
        .receiver
        .read(|received| received.spans.len() + received.metrics.len() + received.logs.len());
    let exports = variant.telemetry.exports();
    let ok = if exports {
        names.iter().all(|name| {
            counts.spans.get(name).is_some_and(|n| *n > 0)
                && counts.metric_points.get(name).is_some_and(|n| *n > 0)
        })
    } else {
        stray == 0
    };
    ctx.check(
        format!(
            "{tag}: {}",
            if exports {
                "spans and metrics exported by every service"
            } else {
                "nothing exported"
            }
        ),
        ok,
        format!(
            "spans {:?}, metric points {:?}; {stray} spans, points and log records in all",
            counts.spans, counts.metric_points
        ),
    );
}
