//! Runs frontend: configuration, telemetry, the app, serving, shutdown, in the order they happen.

use frontend::{startup, Config, SERVICE};
use service_kit::{exit, logging, EnvReader, StopSignals};
use std::process::ExitCode;

// Request threads allocate span and log data that the exporters' threads free,
// a pattern this allocator handles far better than glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let config = match Config::from_env(&EnvReader::from_process()) {
        Ok(config) => config,
        Err(error) => return exit::invalid_configuration(SERVICE, &error),
    };
    // Outside any async runtime (the exporters need none), before the server exists.
    let telemetry = match telemetry::init(SERVICE, &config.telemetry) {
        Ok(telemetry) => telemetry,
        Err(error) => return exit::invalid_configuration(SERVICE, &error),
    };
    // Stderr, and the log exporter when there is one; the guard flushes stderr last.
    let _stderr = logging::install(telemetry.log_bridge());
    let served = actix_web::rt::System::new().block_on(async {
        // From here on SIGTERM/SIGINT drain and flush instead of killing the process.
        let stop = StopSignals::install()?;
        let app = startup::build(config, &telemetry)?;
        app.run_until(stop.received()).await
    });
    if let Err(error) = &served {
        log::error!("{} failed: {error}", SERVICE.name);
    }
    // After the drain: the last requests' spans, metrics and logs are exported.
    telemetry.shutdown();
    exit::served(served)
}
