//! Builds the frontend application: per-worker gateway client, routes.

use crate::config::Config;
use crate::gateway::Gateway;
use crate::routes::{self, GrafanaUrl};
use actix_web::web;
use service_kit::Application;
use telemetry::client::TracedClient;
use telemetry::Telemetry;

const MAX_GATEWAY_RESPONSE_BYTES: usize = 64 * 1024;

pub fn build(config: Config, telemetry: &Telemetry) -> std::io::Result<Application> {
    let grafana = web::Data::new(GrafanaUrl(config.grafana_url));
    let (url, timeout) = (config.gateway_url, config.gateway_timeout);
    let user_agent = service_kit::user_agent(&crate::SERVICE);
    let client_telemetry = telemetry.http_client();
    Application::build(crate::SERVICE, &config.listen, telemetry, move |cfg| {
        let client = TracedClient::new(
            &client_telemetry,
            &user_agent,
            timeout,
            MAX_GATEWAY_RESPONSE_BYTES,
        );
        cfg.app_data(grafana.clone())
            .app_data(web::Data::new(Gateway::new(client, url.clone())))
            .configure(routes::configure);
    })
}
