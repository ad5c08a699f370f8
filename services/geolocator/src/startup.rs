//! Builds the geolocator application: gazetteer (loaded once), Nominatim policy, per-worker geocoder, routes.

use crate::config::Config;
use crate::gazetteer::Gazetteer;
use crate::geocoder::{Geocoder, Lookups};
use crate::nominatim::{Nominatim, NominatimPolicy};
use crate::routes;
use actix_web::web;
use service_kit::Application;
use std::io;
use std::sync::Arc;
use telemetry::client::TracedClient;
use telemetry::Telemetry;

/// A Nominatim answer with `limit=1` is a few kilobytes.
const MAX_NOMINATIM_RESPONSE_BYTES: usize = 256 * 1024;

pub fn build(config: Config, telemetry: &Telemetry) -> io::Result<Application> {
    let started = std::time::Instant::now();
    let gazetteer =
        Gazetteer::load().map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
    log::info!(
        "gazetteer loaded: {} places, {} KiB index, in {} µs",
        gazetteer.len(),
        gazetteer.size() / 1024,
        started.elapsed().as_micros()
    );
    let gazetteer = Arc::new(gazetteer);
    // A request may queue for a Nominatim slot for at most about its own timeout.
    let policy = Arc::new(NominatimPolicy::new(
        config.nominatim_interval,
        config.nominatim_timeout,
    ));
    let (kind, url, timeout) = (
        config.geocoder,
        config.nominatim_url,
        config.nominatim_timeout,
    );
    let user_agent = service_kit::user_agent(&crate::SERVICE);
    let scope = web::Data::new(crate::scope(telemetry));
    let lookups = Lookups::new(scope.meter());
    let client_telemetry = telemetry.http_client();
    Application::build(crate::SERVICE, &config.listen, telemetry, move |cfg| {
        let client = TracedClient::new(
            &client_telemetry,
            &user_agent,
            timeout,
            MAX_NOMINATIM_RESPONSE_BYTES,
        );
        let nominatim = Nominatim::new(client, url.clone(), policy.clone());
        cfg.app_data(web::Data::new(Geocoder::new(
            kind,
            gazetteer.clone(),
            nominatim,
            lookups.clone(),
        )))
        .app_data(scope.clone())
        .configure(routes::configure);
    })
}
