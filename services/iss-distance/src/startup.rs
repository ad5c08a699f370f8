//! Builds the iss-distance application: TLE, per-worker locator and ISS API client, routes.

use crate::config::Config;
use crate::iss_api::IssApi;
use crate::locator::{IssLocator, PositionLookups};
use crate::routes;
use crate::sgp4_model::{CurrentModel, Sgp4Model, SHIPPED_TLE};
use crate::tle_refresh;
use actix_web::web;
use service_kit::Application;
use std::io;
use telemetry::client::TracedClient;
use telemetry::Telemetry;

/// The ISS API's answer is ~150 bytes; anything near this cap is not it.
const MAX_ISS_RESPONSE_BYTES: usize = 64 * 1024;

pub fn build(config: Config, telemetry: &Telemetry) -> io::Result<Application> {
    let scope = web::Data::new(crate::scope(telemetry));
    let model = CurrentModel::new(load_model(&config)?);
    tle_refresh::observe_elements_age(&model, scope.meter());
    let user_agent = service_kit::user_agent(&crate::SERVICE);
    let client_telemetry = telemetry.http_client();
    if let Some(url) = config.tle_url.clone() {
        tle_refresh::spawn_refresher(
            model.clone(),
            client_telemetry.clone(),
            user_agent.clone(),
            config.iss_api_timeout,
            url,
            config.tle_refresh_interval,
        )?;
    }
    let (mode, url, timeout) = (config.mode, config.iss_api_url, config.iss_api_timeout);
    let lookups = PositionLookups::new(scope.meter());
    Application::build(crate::SERVICE, &config.listen, telemetry, move |cfg| {
        let client = TracedClient::new(
            &client_telemetry,
            &user_agent,
            timeout,
            MAX_ISS_RESPONSE_BYTES,
        );
        let live = IssApi::new(client, url.clone(), scope.meter());
        cfg.app_data(web::Data::new(IssLocator::new(
            mode,
            live,
            model.clone(),
            lookups.clone(),
        )))
        .app_data(scope.clone())
        .configure(routes::configure);
    })
}

/// The TLE of `ISS_TLE_PATH`, or the one shipped in the binary.
fn load_model(config: &Config) -> io::Result<Sgp4Model> {
    let tle = match &config.tle_path {
        Some(path) => std::fs::read_to_string(path).map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("ISS_TLE_PATH {}: {error}", path.display()),
            )
        })?,
        None => SHIPPED_TLE.to_owned(),
    };
    let model = Sgp4Model::from_tle(&tle)
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
    let age_days = (now_unix() - model.epoch_unix_seconds()) / 86_400.0;
    if age_days > 30.0 {
        log::warn!("the ISS TLE is {age_days:.0} days old; SGP4 positions drift with age (set ISS_TLE_PATH to a fresh TLE)");
    }
    Ok(model)
}

fn now_unix() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}
