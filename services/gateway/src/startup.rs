//! Builds the gateway application.

use crate::config::Config;
use crate::routes::{self, Downstreams};
use actix_web::web;
use service_common::Application;
use telemetry::client::TracedClient;
use telemetry::MetricsRegistry;

/// Downstream answers are a few hundred bytes; a cap keeps a misbehaving one from filling memory.
const MAX_DOWNSTREAM_RESPONSE_BYTES: usize = 64 * 1024;

pub fn build(config: Config, metrics: MetricsRegistry) -> std::io::Result<Application> {
    let downstreams = web::Data::new(Downstreams {
        geolocator: config.geolocator_url.clone(),
        iss_distance: config.iss_distance_url.clone(),
    });
    let timeout = config.upstream_timeout;
    let user_agent = service_common::user_agent(&crate::SERVICE);
    Application::build(&config.listen, metrics, move |cfg| {
        cfg.app_data(downstreams.clone())
            .app_data(web::Data::new(TracedClient::new(
                &user_agent,
                timeout,
                MAX_DOWNSTREAM_RESPONSE_BYTES,
            )))
            .configure(routes::configure);
    })
}
