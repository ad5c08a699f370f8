//! `bare-stack --role ROLE`: one role of the stack with no telemetry, no
//! logging and no metrics: the measuring stick the benchmark compares the
//! real services with.

use actix_web::{App, HttpServer};
use bare_stack::{config, roles, server, Config, Outbound};
use std::process::ExitCode;

fn main() -> ExitCode {
    let config = match Config::from_args(std::env::args().skip(1), |key| std::env::var(key).ok()) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("bare-stack: {message}\n\n{}", config::USAGE);
            return ExitCode::from(2);
        }
    };
    let routes = roles::routes(&config, Outbound::Plain);
    let served = server::run(&config, &format!("bare-{}", config.role), |listener| {
        Ok(
            HttpServer::new(move || App::new().configure(routes.clone()))
                .disable_signals()
                .shutdown_timeout(server::SHUTDOWN_GRACE_SECS)
                .listen(listener)?
                .run(),
        )
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bare-stack: {error}");
            ExitCode::FAILURE
        }
    }
}
