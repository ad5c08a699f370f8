//! `contrib-peer --role ROLE`: the bare stick's roles instrumented the way
//! most Rust users would, with `opentelemetry-instrumentation-actix-web`
//! (server tracing and metrics middleware, awc `trace_request()`), exporting
//! spans and metrics over OTLP/gRPC; the benchmark's second measuring stick.

use actix_web::{App, HttpServer};
use bare_stack::{config, contrib, roles, server, Config, Outbound};
use opentelemetry_instrumentation_actix_web::{RequestMetrics, RequestTracing};
use std::process::ExitCode;

fn main() -> ExitCode {
    let config = match Config::from_args(std::env::args().skip(1), |key| std::env::var(key).ok()) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("contrib-peer: {message}\n\n{}", config::USAGE);
            return ExitCode::from(2);
        }
    };
    let name = format!("bare-{}", config.role);
    // Outside the actix system: the exporters get a runtime of their own, and
    // the blocking shutdown below runs after that system has returned.
    let telemetry = match contrib::Telemetry::init(&name) {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("contrib-peer: {error}");
            return ExitCode::from(2);
        }
    };
    let routes = roles::routes(&config, Outbound::Traced);
    let served = server::run(&config, &name, |listener| {
        Ok(HttpServer::new(move || {
            // In the order of the crate's own example.
            App::new()
                .wrap(RequestTracing::new())
                .wrap(RequestMetrics::default())
                .configure(routes.clone())
        })
        .disable_signals()
        .shutdown_timeout(server::SHUTDOWN_GRACE_SECS)
        .listen(listener)?
        .run())
    });
    // After the drain: the last requests' spans and metrics are exported.
    telemetry.shutdown();
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("contrib-peer: {error}");
            ExitCode::FAILURE
        }
    }
}
