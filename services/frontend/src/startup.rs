//! Builds the frontend application.

use crate::config::Config;
use crate::routes::{self, FrontendSettings};
use actix_web::web;
use service_common::Application;
use telemetry::client::TracedClient;
use telemetry::MetricsRegistry;

const MAX_GATEWAY_RESPONSE_BYTES: usize = 64 * 1024;

pub fn build(config: Config, metrics: MetricsRegistry) -> std::io::Result<Application> {
    let settings = web::Data::new(FrontendSettings {
        gateway: config.gateway_url.clone(),
        grafana: config.grafana_url.clone(),
    });
    let timeout = config.gateway_timeout;
    let user_agent = service_common::user_agent(&crate::SERVICE);
    Application::build(&config.listen, metrics, move |cfg| {
        cfg.app_data(settings.clone())
            .app_data(web::Data::new(TracedClient::new(
                &user_agent,
                timeout,
                MAX_GATEWAY_RESPONSE_BYTES,
            )))
            .configure(routes::configure);
    })
}
