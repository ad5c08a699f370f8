//! Binds, announces the port the way the services do, serves until
//! SIGTERM/SIGINT and then drains, like `service-kit`'s server.

use crate::config::Config;
use actix_web::dev::Server;
use std::net::TcpListener;

/// Seconds in-flight requests get to finish after SIGTERM/SIGINT (the services' grace).
pub const SHUTDOWN_GRACE_SECS: u64 = 10;

/// Runs the server that `build` makes on the bound listener, on its own
/// actix system, until a stop signal has drained it. `build` should call
/// `disable_signals()` (handled here, installed before the server exists, as
/// the services do) and `shutdown_timeout(SHUTDOWN_GRACE_SECS)`, and leave
/// the worker count at actix's default, as the services do.
pub fn run(
    config: &Config,
    name: &str,
    build: impl FnOnce(TcpListener) -> std::io::Result<Server>,
) -> std::io::Result<()> {
    actix_web::rt::System::new().block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        let listener = TcpListener::bind((config.host.as_str(), config.port))?;
        let port = listener.local_addr()?.port();
        let server = build(listener)?;
        // testkit reads the port from this line (the services log the same words).
        eprintln!(
            "started application {name} {} on port {port}",
            env!("CARGO_PKG_VERSION")
        );
        let handle = server.handle();
        actix_web::rt::spawn(async move {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt.recv() => {}
            }
            handle.stop(true).await;
        });
        server.await
    })
}
