//! Runs gateway: the OpenTelemetry lifecycle of a service, in the order it happens.

use gateway::{startup, Config, SERVICE};
use service_kit::{exit, EnvReader, StopSignals};
use std::process::ExitCode;

// For speed: request threads allocate span and log data that the exporters' threads free,
// a pattern glibc's malloc handles poorly (BENCHMARKS.md, "what each lever bought").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let config = match Config::from_env(&EnvReader::from_process()) {
        Ok(config) => config,
        Err(error) => return exit::invalid_configuration(SERVICE, &error),
    };
    // Outside any async runtime (the exporters need none), before the server exists.
    let telemetry = match telemetry::init(SERVICE) {
        Ok(telemetry) => telemetry,
        Err(error) => return exit::invalid_configuration(SERVICE, &error),
    };
    let served = actix_web::rt::System::new().block_on(async {
        // From here on SIGTERM/SIGINT drain and flush instead of killing the process.
        let stop = StopSignals::install()?;
        let app = startup::build(config, telemetry.metrics_registry())?;
        app.run_until(stop.received()).await
    });
    if let Err(error) = &served {
        log::error!("{} failed: {error}", SERVICE.name);
    }
    // After the drain: the last requests' spans, metrics and logs are exported.
    telemetry.shutdown();
    exit::served(served)
}
