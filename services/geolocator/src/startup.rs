//! Builds the geolocator application: gazetteer (loaded once), Nominatim client state, routes.

use crate::config::Config;
use crate::gazetteer::Gazetteer;
use crate::geocoder::Geocoder;
use crate::nominatim::Nominatim;
use crate::routes;
use actix_web::web;
use service_common::Application;
use std::io;
use telemetry::client::TracedClient;
use telemetry::MetricsRegistry;

/// A Nominatim answer with `limit=1` is a few kilobytes.
const MAX_NOMINATIM_RESPONSE_BYTES: usize = 256 * 1024;

pub fn build(config: Config, metrics: MetricsRegistry) -> io::Result<Application> {
    let started = std::time::Instant::now();
    let gazetteer =
        Gazetteer::load().map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
    log::info!(
        "gazetteer loaded: {} places in {} ms",
        gazetteer.len(),
        started.elapsed().as_millis()
    );
    // A request may queue for a Nominatim slot for at most about its own timeout.
    let nominatim = Nominatim::new(
        config.nominatim_url.clone(),
        config.nominatim_interval,
        config.nominatim_timeout,
    );
    let geocoder = web::Data::new(Geocoder::new(config.geocoder, gazetteer, nominatim));
    let timeout = config.nominatim_timeout;
    let user_agent = service_common::user_agent(&crate::SERVICE);
    Application::build(&config.listen, metrics, move |cfg| {
        cfg.app_data(geocoder.clone())
            .app_data(web::Data::new(TracedClient::new(
                &user_agent,
                timeout,
                MAX_NOMINATIM_RESPONSE_BYTES,
            )))
            .configure(routes::configure);
    })
}
