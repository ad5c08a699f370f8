//! How a service's process ends: the exit status `main` returns.

use std::fmt::Display;
use std::process::ExitCode;
use telemetry::ServiceInfo;

/// A bad setting: one clear line on stderr and status 2, before anything starts.
pub fn invalid_configuration(service: ServiceInfo, error: &dyn Display) -> ExitCode {
    eprintln!("{}: {error}", service.name);
    ExitCode::from(2)
}

/// After serving: 0 when the server stopped as asked, 1 when it failed.
pub fn served(result: std::io::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}
