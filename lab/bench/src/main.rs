//! The benchmark harness. It builds nothing: build the release binaries first,
//!
//! ```sh
//! cargo build --release -p frontend -p gateway -p geolocator -p iss-distance -p loadgen -p bench -p bare-stack
//! cargo build --release -p bare-stack --features contrib --bin contrib-peer   # on its own: other actix features
//! target/release/bench                      # every scenario, ~21 minutes
//! target/release/bench --scenario e2e       # one scenario
//! target/release/bench --markdown docs/BENCHMARKS.md   # and refresh the tables there
//! target/debug/bench --smoke --bin-dir target/debug   # CI: seconds, no timing assertions
//! ```
//!
//! It starts the service binaries (through `testkit`, on ports they pick) with offline defaults,
//! drives them with the `loadgen` binary, receives their OTLP export in process,
//! and writes `results.json` and the tables of BENCHMARKS.md into `--out`.
//! It exits non-zero if any request failed or any telemetry went missing.
//!
//! The telemetry comparison runs in live mode against an ISS API mock
//! (`bare-stack --role iss-api`, so `bare-stack` must be built too) and
//! measures two sticks beside the services: `bare` (the request path with no
//! telemetry) and `contrib-peer` (the contrib actix-web instrumentation;
//! `cargo build --release -p bare-stack --features contrib --bin contrib-peer`).
//! `--variant LABEL=BIN_DIR[:KEY=VALUE...]` adds a lever's binaries and
//! settings, with a `LABEL-disabled` twin, to the same rounds.

mod machine;
mod markdown;
mod procs;
mod results;
mod scenarios;
mod variants;

use results::{Results, Settings};
use scenarios::Ctx;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;
use variants::Extra;

const USAGE: &str = "\
bench: the benchmark scenarios of BENCHMARKS.md

usage: bench [--scenario startup|single|e2e|telemetry]... [options]

  --bin-dir DIR       service and loadgen binaries (default target/release)
  --out DIR           results.json, tables.md, logs/, runs/ (default target/bench)
  --smoke             a few seconds per scenario, low rate (CI: checks the harness, not speed)
  --markdown FILE     also write the tables into FILE between the bench markers
  --from-json FILE    render the tables from an earlier results.json instead of measuring
  --criterion-dir DIR criterion output for the micro-benchmark table (default target/criterion)
  --rate R            open-loop rate (default 1000, smoke 100)
  --e2e-seconds S     end-to-end open-loop duration (default 60, smoke 2)
  --seconds S         other runs' duration (default 10, smoke 1)
  --concurrency C     closed-loop requests in flight (default 16, smoke 2)
  --rounds N          telemetry comparison rounds (default 5, smoke 1)
  --startup-runs N    starts per service (default 10, smoke 2)
  --variants A,B,...  telemetry comparison: only these built-in variants (default all:
                      sdk-disabled, no-exporter, otlp, otlp-warn-logs, otlp-sampled-10,
                      bare, contrib-peer)
  --variant LABEL=BIN_DIR[:KEY=VALUE[:KEY=VALUE...]]
                      telemetry comparison: also run the services from BIN_DIR with OTLP export
                      and these variables, and as LABEL-disabled with OTEL_SDK_DISABLED=true
                      (its ratios are against that twin); repeatable; no ':' in BIN_DIR or values

  The telemetry comparison needs bare-stack in --bin-dir (the ISS API mock and the bare
  variant) and contrib-peer (cargo build -p bare-stack --features contrib --bin contrib-peer);
  a smoke run without contrib-peer skips that variant and says so.

  bench --sink SECONDS
                      only run the OTLP receiver for SECONDS, printing its endpoint first and
                      what it received last: an accepting endpoint for profiling a service by hand
";

struct Options {
    bin_dir: PathBuf,
    out: PathBuf,
    scenarios: Vec<String>,
    markdown: Option<PathBuf>,
    from_json: Option<PathBuf>,
    criterion_dir: PathBuf,
    settings: Settings,
    /// `--variants`: the built-in variants to run (all when `None`).
    only: Option<Vec<String>>,
    /// `--variant`s, in the order given.
    extra: Vec<Extra>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut smoke = false;
    let mut raw: Vec<(String, String)> = Vec::new();
    let mut scenarios = Vec::new();
    let mut extra = Vec::new();
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--smoke" => smoke = true,
            "-h" | "--help" => return Err(String::new()),
            "--variant" => {
                let spec = args.next().ok_or("--variant needs a value")?;
                extra.push(Extra::parse(&spec)?);
            }
            "--scenario" | "--bin-dir" | "--out" | "--markdown" | "--from-json"
            | "--criterion-dir" | "--rate" | "--e2e-seconds" | "--seconds" | "--concurrency"
            | "--rounds" | "--startup-runs" | "--variants" => {
                let value = args.next().ok_or(format!("{flag} needs a value"))?;
                if flag == "--scenario" {
                    if !["startup", "single", "e2e", "telemetry"].contains(&value.as_str()) {
                        return Err(format!("unknown scenario '{value}'"));
                    }
                    scenarios.push(value);
                } else {
                    raw.push((flag, value));
                }
            }
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    let get = |name: &str| {
        raw.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    fn number<T: std::str::FromStr>(
        name: &str,
        value: Option<String>,
        default: T,
    ) -> Result<T, String> {
        match value {
            None => Ok(default),
            Some(text) => text
                .parse()
                .map_err(|_| format!("{name} must be a number, got '{text}'")),
        }
    }
    let settings = Settings {
        smoke,
        rate: number("--rate", get("--rate"), if smoke { 100.0 } else { 1000.0 })?,
        e2e_seconds: number(
            "--e2e-seconds",
            get("--e2e-seconds"),
            if smoke { 2.0 } else { 60.0 },
        )?,
        run_seconds: number(
            "--seconds",
            get("--seconds"),
            if smoke { 1.0 } else { 10.0 },
        )?,
        concurrency: number(
            "--concurrency",
            get("--concurrency"),
            if smoke { 2 } else { 16 },
        )?,
        rounds: number("--rounds", get("--rounds"), if smoke { 1 } else { 5 })?,
        startup_runs: number(
            "--startup-runs",
            get("--startup-runs"),
            if smoke { 2 } else { 10 },
        )?,
        rust_log: "info".into(),
        // The compose files' interval: metrics are exported during the runs, as in use.
        metric_export_interval_ms: 10_000,
    };
    if settings.rate <= 0.0 || settings.e2e_seconds <= 0.0 || settings.run_seconds <= 0.0 {
        return Err("--rate and durations must be positive".into());
    }
    if settings.concurrency == 0 || settings.rounds == 0 || settings.startup_runs == 0 {
        return Err("--concurrency, --rounds and --startup-runs must be at least 1".into());
    }
    if scenarios.is_empty() {
        scenarios = ["startup", "single", "e2e", "telemetry"]
            .map(String::from)
            .to_vec();
    }
    let only = get("--variants")
        .map(|list| variants::parse_only(&list))
        .transpose()?;
    // Duplicate labels are refused now, not after the other scenarios have run.
    variants::selected(only.as_deref(), &extra)?;
    Ok(Options {
        bin_dir: get("--bin-dir").map_or("target/release".into(), PathBuf::from),
        out: get("--out").map_or("target/bench".into(), PathBuf::from),
        scenarios,
        markdown: get("--markdown").map(PathBuf::from),
        from_json: get("--from-json").map(PathBuf::from),
        criterion_dir: get("--criterion-dir").map_or("target/criterion".into(), PathBuf::from),
        settings,
        only,
        extra,
    })
}

fn measure(options: &Options) -> Result<Results, scenarios::Error> {
    for dir in ["logs", "runs"] {
        std::fs::create_dir_all(options.out.join(dir))?;
    }
    let machine = machine::describe(&options.bin_dir);
    eprintln!(
        "bench: {} ({} CPUs, load {}), binaries in {}",
        machine.cpu_model,
        machine.cpus,
        machine.load_before,
        options.bin_dir.display()
    );
    let ctx = Ctx {
        bin_dir: options.bin_dir.clone(),
        variants: variants::selected(options.only.as_deref(), &options.extra)?,
        out_dir: options.out.clone(),
        receiver: otlp_receiver::OtlpReceiver::start()?,
        settings: options.settings.clone(),
        ticks_per_second: procs::clock_ticks_per_second(),
        checks: Mutex::new(Vec::new()),
        // Debug binaries load the gazetteer much more slowly than release ones.
        ready_deadline: Duration::from_secs(if options.settings.smoke { 60 } else { 10 }),
        // One worker: the harness only waits and sends a few requests; loadgen makes the load.
        runtime: tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?,
    };
    let mut results = Results {
        machine,
        settings: options.settings.clone(),
        ..Results::default()
    };
    let mut telemetry_plan = None;
    if options.scenarios.iter().any(|s| s == "telemetry") {
        let (run, skipped) = scenarios::plan_telemetry(&ctx)?;
        results.skipped = skipped;
        telemetry_plan = Some(run);
    }
    for scenario in &options.scenarios {
        match scenario.as_str() {
            "startup" => results.startup = scenarios::startup(&ctx)?,
            "single" => results.single = scenarios::single(&ctx)?,
            "e2e" => results.e2e = Some(scenarios::end_to_end(&ctx)?),
            "telemetry" => {
                let planned = telemetry_plan.as_deref().unwrap_or_default();
                (results.variants, results.telemetry) = scenarios::telemetry(&ctx, planned)?;
            }
            _ => unreachable!("validated when parsing"),
        }
    }
    results.machine.load_after = machine::load_average();
    results.checks = ctx.checks.into_inner().expect("not poisoned");
    Ok(results)
}

/// `--sink SECONDS`: the receiver alone, for profiling services by hand.
fn sink(seconds: &str) -> ExitCode {
    let Ok(seconds) = seconds.parse::<f64>() else {
        eprintln!("bench: --sink needs a number of seconds");
        return ExitCode::from(2);
    };
    let receiver = match otlp_receiver::OtlpReceiver::start() {
        Ok(receiver) => receiver,
        Err(error) => {
            eprintln!("bench: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", receiver.endpoint());
    std::thread::sleep(Duration::from_secs_f64(seconds.clamp(0.0, 86_400.0)));
    println!("{}", receiver.read(|received| received.summary()));
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, seconds] = args.as_slice() {
        if flag == "--sink" {
            return sink(seconds);
        }
    }
    let options = match parse(args.into_iter()) {
        Ok(options) => options,
        Err(message) if message.is_empty() => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("bench: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let results = match &options.from_json {
        Some(path) => match std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| serde_json::from_slice::<Results>(&bytes).map_err(|e| e.to_string()))
        {
            Ok(results) => results,
            Err(error) => {
                eprintln!("bench: {}: {error}", path.display());
                return ExitCode::FAILURE;
            }
        },
        None => match measure(&options) {
            Ok(results) => results,
            Err(error) => {
                eprintln!("bench: {error}");
                return ExitCode::FAILURE;
            }
        },
    };
    let tables = markdown::render(&results, &options.criterion_dir);
    if let Err(error) = write_outputs(&options, &results, &tables) {
        eprintln!("bench: {error}");
        return ExitCode::FAILURE;
    }
    println!("{tables}");
    let failed: Vec<_> = results.checks.iter().filter(|c| !c.ok).collect();
    if failed.is_empty() {
        eprintln!("bench: {} checks passed", results.checks.len());
        ExitCode::SUCCESS
    } else {
        for check in &failed {
            eprintln!("bench: FAILED {}: {}", check.name, check.detail);
        }
        ExitCode::FAILURE
    }
}

fn write_outputs(options: &Options, results: &Results, tables: &str) -> Result<(), String> {
    let io = |what: &PathBuf| {
        let what = what.display().to_string();
        move |e: std::io::Error| format!("{what}: {e}")
    };
    std::fs::create_dir_all(&options.out).map_err(io(&options.out))?;
    if options.from_json.is_none() {
        let path = options.out.join("results.json");
        let json = serde_json::to_string_pretty(results).expect("results serialize");
        std::fs::write(&path, &json).map_err(io(&path))?;
        // Read back, so a harness change that breaks the format fails here rather than in --from-json later.
        // (Structure only: serde_json parses floats to within an ulp, not always bit-exact.)
        let again: Results =
            serde_json::from_str(&std::fs::read_to_string(&path).map_err(io(&path))?)
                .map_err(|e| format!("{}: does not read back: {e}", path.display()))?;
        if again.checks.len() != results.checks.len()
            || again.telemetry.len() != results.telemetry.len()
        {
            return Err(format!("{} reads back different results", path.display()));
        }
    }
    let path = options.out.join("tables.md");
    std::fs::write(&path, tables).map_err(io(&path))?;
    if let Some(path) = &options.markdown {
        let document = std::fs::read_to_string(path).unwrap_or_default();
        std::fs::write(path, markdown::splice(&document, tables)).map_err(io(path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Options, String> {
        parse(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn smoke_shrinks_every_default_and_flags_override() {
        let full = args(&[]).unwrap();
        assert_eq!(full.settings.rate, 1000.0);
        assert_eq!(full.settings.e2e_seconds, 60.0);
        assert_eq!(full.scenarios.len(), 4);
        let smoke = args(&["--smoke", "--rate", "50", "--scenario", "e2e"]).unwrap();
        assert!(smoke.settings.smoke);
        assert_eq!(smoke.settings.rate, 50.0);
        assert_eq!(smoke.settings.e2e_seconds, 2.0);
        assert_eq!(smoke.scenarios, vec!["e2e".to_owned()]);
        assert!(args(&["--scenario", "everything"]).is_err());
        assert!(args(&["--rate", "fast"]).is_err());
        assert!(args(&["--rounds", "0"]).is_err());
        assert!(args(&["--bogus"]).is_err());
        assert!(full.only.is_none() && full.extra.is_empty());
    }

    #[test]
    fn variant_options_restrict_and_extend_the_comparison() {
        let options = args(&[
            "--variants",
            "otlp,bare",
            "--variant",
            "mimalloc=/tmp/a:MALLOC_ARENA_MAX=2",
            "--variant",
            "plain=/tmp/b",
        ])
        .unwrap();
        assert_eq!(
            options.only,
            Some(vec!["otlp".to_owned(), "bare".to_owned()])
        );
        let labels: Vec<&str> = options.extra.iter().map(|e| e.label.as_str()).collect();
        assert_eq!(labels, ["mimalloc", "plain"]);
        assert_eq!(
            options.extra[0].env,
            vec![("MALLOC_ARENA_MAX".to_owned(), "2".to_owned())]
        );
        assert!(args(&["--variants", "otlp,unknown"]).is_err());
        assert!(args(&["--variants"]).is_err());
        assert!(args(&["--variant"]).is_err());
        assert!(args(&["--variant", "otlp=/tmp/a"]).is_err());
        assert!(args(&["--variant", "x=/tmp/a", "--variant", "x=/tmp/b"]).is_err());
        assert!(args(&["--variant", "x=/tmp/a:BROKEN"]).is_err());
    }
}
