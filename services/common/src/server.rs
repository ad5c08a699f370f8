//! The HTTP server every service runs, and the `main` they share.
//!
//! [`Application::build`] binds first and remembers the real port, so tests
//! start the real app on port 0. Health, readiness and `/metrics` routes, the
//! telemetry middleware and a JSON 404 are added here once for all services.

use crate::env::{ConfigError, EnvReader, ListenConfig};
use crate::errors::json_error;
use actix_web::dev::{Server, ServerHandle};
use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpResponse, HttpServer};
use std::net::TcpListener;
use std::process::ExitCode;
use telemetry::{MetricsRegistry, ServiceInfo};

/// Seconds in-flight requests get to finish after SIGTERM/SIGINT.
const SHUTDOWN_GRACE_SECS: u64 = 10;

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
                .wrap(from_fn(telemetry::middleware::instrument_request))
                .app_data(metrics.clone())
                .route("/healthz", web::get().to(healthz))
                .route("/readyz", web::get().to(readyz))
                .route("/metrics", web::get().to(telemetry::metrics_endpoint))
                .configure(configure.clone())
                .default_service(web::to(not_found))
        })
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

    /// Serves until SIGTERM/SIGINT (or [`ServerHandle::stop`]), draining in-flight requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
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
