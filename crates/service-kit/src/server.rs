//! The HTTP server every service runs, and the signals that stop it.
//!
//! [`Application::build`] binds first and remembers the real port, so tests
//! start the real app on port 0. Health, readiness and `/metrics` routes, the
//! telemetry middleware (which believes forwarded client addresses only from
//! trusted proxies), the `incoming.requests` counter, a JSON 404 and the JSON
//! 400 for a query that does not deserialize are added here once for all
//! services.

use crate::env::ListenConfig;
use crate::errors::{json_error, rejected_query};
use crate::incoming::{self, IncomingRequests};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::HttpServiceFactory;
use actix_web::dev::{Server, ServerHandle};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, FromRequest, Handler, HttpResponse, HttpServer, Responder};
use std::future::Future;
use std::net::TcpListener;
use std::time::Duration;
use telemetry::{ServiceInfo, Telemetry};

/// Seconds in-flight requests get to finish after SIGTERM/SIGINT.
const SHUTDOWN_GRACE_SECS: u64 = 10;
/// Query strings longer than this are refused with 414: no parameter of the API is anywhere near it.
pub const MAX_QUERY_BYTES: usize = 16 * 1024;
/// Open connections per worker; beyond it the accept loop pauses instead of exhausting memory or file descriptors.
const MAX_CONNECTIONS_PER_WORKER: usize = 4096;
/// A client that has not sent its request head within this time is disconnected (slowloris).
const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Application {
    service: ServiceInfo,
    server: Server,
    port: u16,
}

impl Application {
    /// Binds `listen` and builds the server, instrumented by `telemetry`. `configure`
    /// registers the service's own routes and per-worker state (such as its upstream
    /// clients); it runs once per worker.
    pub fn build<F>(
        service: ServiceInfo,
        listen: &ListenConfig,
        telemetry: &Telemetry,
        configure: F,
    ) -> std::io::Result<Self>
    where
        F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
    {
        let listener = TcpListener::bind((listen.host.as_str(), listen.port))?;
        let port = listener.local_addr()?.port();
        let metrics = web::Data::new(telemetry.metrics_registry());
        let trusted = listen.trusted_proxies.clone();
        let request_telemetry = telemetry
            .http_server()
            .with_client_address(move |connection| trusted.client_address(connection));
        let incoming = web::Data::new(IncomingRequests::new(
            request_telemetry.meter(),
            listen.trusted_proxies.clone(),
        ));
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(refuse_long_queries))
                // Outermost, so it also times and counts what the inner middleware refuses.
                .wrap(request_telemetry.clone())
                .app_data(metrics.clone())
                .app_data(incoming.clone())
                .app_data(web::QueryConfig::default().error_handler(rejected_query))
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
        // undrained and unflushed. `main` installs `StopSignals` before `build`.
        .disable_signals()
        .listen(listener)?
        .shutdown_timeout(SHUTDOWN_GRACE_SECS)
        .run();
        Ok(Self {
            service,
            server,
            port,
        })
    }

    /// The port actually bound (useful when asked for port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Lets a test stop the server as a signal would.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until [`ServerHandle::stop`] is called, draining in-flight requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    /// Serves until `stop` resolves (normally [`StopSignals::received`]), then
    /// stops accepting and lets in-flight requests finish within the grace period.
    pub async fn run_until(self, stop: impl Future<Output = ()> + 'static) -> std::io::Result<()> {
        log::info!(
            "started application {} {} on port {}",
            self.service.name,
            self.service.version,
            self.port
        );
        let handle = self.handle();
        actix_web::rt::spawn(async move {
            stop.await;
            handle.stop(true).await;
        });
        let served = self.server.await;
        log::info!("stopped serving; flushing telemetry");
        served
    }
}

/// `GET path` of a service's API: `handler`, counted in `incoming.requests`
/// and logged with the client's address ([`IncomingRequests`]), also when its
/// query is refused.
pub fn api_get<F, Args>(path: &str, handler: F) -> impl HttpServiceFactory
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    web::resource(path)
        .wrap(from_fn(incoming::count))
        .get(handler)
}

/// `GET /openapi.json`: the service's OpenAPI document, rendered once.
pub fn openapi_json(document: &utoipa::openapi::OpenApi) -> impl HttpServiceFactory {
    let json = document
        .to_json()
        .expect("an OpenAPI document built from types always serializes");
    web::resource("/openapi.json").get(move || {
        let json = json.clone();
        async move {
            HttpResponse::Ok()
                .content_type("application/json")
                .body(json)
        }
    })
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

/// SIGTERM (docker stop, systemd, Kubernetes) and SIGINT (Ctrl-C), listened
/// for from the moment they are installed.
///
/// Install them before building the server: actix's own handlers would only be
/// registered once it serves, so a SIGTERM right after the first `/readyz` 200
/// could kill the process undrained and unflushed.
pub struct StopSignals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Needs a running runtime (inside `System::block_on`).
    pub fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// Resolves when the first of the two signals arrives.
    pub async fn received(mut self) {
        tokio::select! {
            _ = self.terminate.recv() => log::info!("SIGTERM received: draining"),
            _ = self.interrupt.recv() => log::info!("SIGINT received: draining"),
        }
    }
}
