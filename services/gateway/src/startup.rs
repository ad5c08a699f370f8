//! Builds the gateway application: per-worker downstream clients, routes.

use crate::config::Config;
use crate::downstream::{Geolocator, IssDistance};
use crate::routes;
use actix_web::web;
use service_kit::Application;
use telemetry::client::TracedClient;
use telemetry::Telemetry;

/// Downstream answers are a few hundred bytes; a cap keeps a misbehaving one from filling memory.
const MAX_DOWNSTREAM_RESPONSE_BYTES: usize = 64 * 1024;

pub fn build(config: Config, telemetry: &Telemetry) -> std::io::Result<Application> {
    let user_agent = service_kit::user_agent(&crate::SERVICE);
    let timeout = config.upstream_timeout;
    let (geolocator, iss_distance) = (config.geolocator_url, config.iss_distance_url);
    let client_telemetry = telemetry.http_client();
    Application::build(crate::SERVICE, &config.listen, telemetry, move |cfg| {
        // One connection pool per worker, shared by both downstreams.
        let client = TracedClient::new(
            &client_telemetry,
            &user_agent,
            timeout,
            MAX_DOWNSTREAM_RESPONSE_BYTES,
        );
        cfg.app_data(web::Data::new(Geolocator::new(
            client.clone(),
            geolocator.clone(),
        )))
        .app_data(web::Data::new(IssDistance::new(
            client,
            iss_distance.clone(),
        )))
        .configure(routes::configure);
    })
}
