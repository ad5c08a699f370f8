//! Runs geolocator: the OpenTelemetry lifecycle of a service, in the order it happens.

use geolocator::{startup, Config, SERVICE};
use service_common::{EnvReader, StopSignals};
use std::process::ExitCode;

fn main() -> ExitCode {
    let config = match Config::from_env(&EnvReader::from_process()) {
        Ok(config) => config,
        Err(error) => return invalid_configuration(&error),
    };
    // Outside any async runtime, so the exporters need no runtime tricks; before
    // the server exists, so its start-up logs are exported too.
    let telemetry = match telemetry::init(SERVICE) {
        Ok(telemetry) => telemetry,
        Err(error) => return invalid_configuration(&error),
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
    // After the drain, so the last requests' spans, metrics and logs are exported.
    telemetry.shutdown();
    if served.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// One clear line on stderr and exit status 2, before anything starts.
fn invalid_configuration(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("{}: {error}", SERVICE.name);
    ExitCode::from(2)
}
