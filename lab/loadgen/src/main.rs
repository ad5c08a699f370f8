use loadgen::{args, targets::Plan};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(None) => {
            print!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(Some(message)) => {
            eprintln!("loadgen: {message}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    let plan = match Plan::new(&args.urls) {
        Ok(plan) => plan,
        Err(error) => {
            eprintln!("loadgen: {error}");
            return ExitCode::from(2);
        }
    };
    // One thread: the generator shares the machine with what it measures, so it stays small.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let report = runtime.block_on(async {
        let address = plan.resolve(args.allow_remote).await?;
        Ok::<_, loadgen::targets::TargetError>(loadgen::run(plan, address, &args.load).await)
    });
    let report = match report {
        Ok(report) => report,
        Err(error) => {
            eprintln!("loadgen: {error}");
            return ExitCode::from(2);
        }
    };
    let json = serde_json::to_string_pretty(&report).expect("report serializes");
    match args.json.as_deref() {
        Some("-") => {
            eprint!("{}", report.summary());
            println!("{json}");
        }
        Some(path) => {
            print!("{}", report.summary());
            if let Err(error) = std::fs::write(path, json + "\n") {
                eprintln!("loadgen: cannot write {path}: {error}");
                return ExitCode::FAILURE;
            }
        }
        None => print!("{}", report.summary()),
    }
    let _ = std::io::stdout().flush();
    ExitCode::SUCCESS
}
