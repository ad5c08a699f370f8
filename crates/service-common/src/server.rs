//! The HTTP server every service runs, and the `main` they share.
//!
//! [`Application::build`] binds first and remembers the real port, so tests
//! start the real app on port 0. Health, readiness and `/metrics` routes, the
//! telemetry middleware and a JSON 404 are added here once for all services.

use crate::env::{ConfigError, EnvReader, ListenConfig};
use crate::errors::json_error;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Server, ServerHandle};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, HttpResponse, HttpServer};
use std::net::TcpListener;
use std::process::ExitCode;
use std::time::Duration;
use telemetry::{MetricsRegistry, ServiceInfo};

/// Seconds in-flight requests get to finish after SIGTERM/SIGINT.
const SHUTDOWN_GRACE_SECS: u64 = 10;
/// Query strings longer than this are refused with 414: no parameter of the API is anywhere near it.
pub const MAX_QUERY_BYTES: usize = 16 * 1024;
/// Open connections per worker; beyond it the accept loop pauses instead of exhausting memory or file descriptors.
const MAX_CONNECTIONS_PER_WORKER: usize = 4096;
/// A client that has not sent its request head within this time is disconnected (slowloris).
const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Application {
    server: Server,
    port: u16,
}

impl Application {
    /// Binds `listen` and builds the server. `configure` registers the service's own routes
    /// and per-worker state (such as its `TracedClient`); it runs once per worker.
    pub fn build<F>(
        listen: &ListenConfig,
        metrics: MetricsRegistry,
        configure: F,
    ) -> std::io::Result<Self>
    where
        F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
    {
        let listener = TcpListener::bind((listen.host.as_str(), listen.port))?;
        let port = listener.local_addr()?.port();
        let metrics = web::Data::new(metrics);
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(refuse_long_queries))
                // Outermost, so it also times and counts what the inner middleware refuses.
                .wrap(from_fn(telemetry::middleware::instrument_request))
                .app_data(metrics.clone())
                .route("/healthz", web::get().to(healthz))
                .route("/readyz", web::get().to(readyz))
                .route("/metrics", web::get().to(telemetry::metrics_endpoint))
                .configure(configure.clone())
                .default_service(web::to(not_found))
        })
        .max_connections(MAX_CONNECTIONS_PER_WORKER)
        .client_request_timeout(CLIENT_REQUEST_TIMEOUT)
        // actix installs its own handlers only after it starts serving, so a
        // SIGTERM right after the first /readyz 200 could kill the process
        // undrained and unflushed. `run_service` installs ours before `run`.
        .disable_signals()
        .listen(listener)?
        .shutdown_timeout(SHUTDOWN_GRACE_SECS)
        .run();
        Ok(Self { server, port })
    }

    /// The port actually bound (useful when asked for port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Lets a test stop the server as a signal would.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until [`ServerHandle::stop`] (which `run_service` calls on
    /// SIGTERM/SIGINT), draining in-flight requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

async fn refuse_long_queries(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if request.query_string().len() > MAX_QUERY_BYTES {
        let message = format!("The query string is longer than {MAX_QUERY_BYTES} bytes.");
        return Ok(request.into_response(json_error(StatusCode::URI_TOO_LONG, message)));
    }
    Ok(next.call(request).await?.map_into_boxed_body())
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// Everything a service needs (gazetteer, TLE, clients) is loaded before it binds, so serving means ready.
async fn readyz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ready" }))
}

async fn not_found() -> HttpResponse {
    json_error(StatusCode::NOT_FOUND, "No such endpoint.")
}

/// The whole `main` of a service: configuration, telemetry, serve, drain, flush.
///
/// An invalid configuration prints one clear line and exits with status 2.
pub async fn run_service<C>(
    service: ServiceInfo,
    load_config: impl FnOnce(&EnvReader) -> Result<C, ConfigError>,
    build: impl FnOnce(C, MetricsRegistry) -> std::io::Result<Application>,
) -> ExitCode {
    let config = match load_config(&EnvReader::from_process()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{}: {error}", service.name);
            return ExitCode::from(2);
        }
    };
    // Registered before anything serves: from here on SIGTERM/SIGINT drain
    // and flush instead of killing the process.
    let stop_signals = match StopSignals::install() {
        Ok(signals) => signals,
        Err(error) => {
            eprintln!("{}: cannot install signal handlers: {error}", service.name);
            return ExitCode::FAILURE;
        }
    };
    let telemetry = match telemetry::init(service) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("{}: {error}", service.name);
            return ExitCode::from(2);
        }
    };
    let application = match build(config, telemetry.metrics_registry()) {
        Ok(application) => application,
        Err(error) => {
            log::error!("could not start {}: {error}", service.name);
            telemetry.shutdown_async().await;
            return ExitCode::FAILURE;
        }
    };
    log::info!(
        "started application {} {} on port {}",
        service.name,
        service.version,
        application.port()
    );
    let handle = application.handle();
    actix_web::rt::spawn(async move {
        stop_signals.received().await;
        // Graceful: stop accepting, let in-flight requests finish (up to the grace period).
        handle.stop(true).await;
    });
    let served = application.run_until_stopped().await;
    log::info!("stopped serving; flushing telemetry");
    telemetry.shutdown_async().await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{}: server error: {error}", service.name);
            ExitCode::FAILURE
        }
    }
}

/// SIGTERM (docker stop, systemd, Kubernetes) and SIGINT (Ctrl-C), listened
/// for from the moment they are installed.
struct StopSignals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    async fn received(mut self) {
        tokio::select! {
            _ = self.terminate.recv() => log::info!("SIGTERM received: draining"),
            _ = self.interrupt.recv() => log::info!("SIGINT received: draining"),
        }
    }
}
