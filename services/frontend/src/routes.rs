//! `GET /` (form, or the answer for `?location=`) and `POST /` (form field `location`).

use crate::error::{rejected_form, rejected_query, PageError};
use crate::gateway::Gateway;
use crate::page::{self, Outcome, Trace};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use api::LocationText;
use serde::Deserialize;
use service_kit::IncomingRequests;
use url::Url;

/// Form bodies larger than this are refused (a place name is short).
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// Where the trace links point; `None`: the page shows trace ids without a link.
pub struct GrafanaUrl(pub Option<Url>);

/// The page's one input, from the query string or the form. Absent means "show the form".
#[derive(Deserialize)]
pub struct PageInput {
    location: Option<String>,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::QueryConfig::default().error_handler(rejected_query))
        .app_data(
            web::FormConfig::default()
                .limit(MAX_FORM_BYTES)
                .error_handler(rejected_form),
        )
        .route("/", web::get().to(page_for_query))
        .route("/", web::post().to(page_for_form));
}

async fn page_for_query(
    request: HttpRequest,
    input: web::Query<PageInput>,
    grafana: web::Data<GrafanaUrl>,
    gateway: web::Data<Gateway>,
    incoming: web::Data<IncomingRequests>,
) -> HttpResponse {
    match input.into_inner().location {
        None => page::respond(StatusCode::OK, "", &Outcome::Form, None),
        Some(location) => answer_page(&request, &incoming, &grafana, &gateway, location).await,
    }
}

async fn page_for_form(
    request: HttpRequest,
    input: web::Form<PageInput>,
    grafana: web::Data<GrafanaUrl>,
    gateway: web::Data<Gateway>,
    incoming: web::Data<IncomingRequests>,
) -> HttpResponse {
    let location = input.into_inner().location.unwrap_or_default();
    answer_page(&request, &incoming, &grafana, &gateway, location).await
}

async fn answer_page(
    request: &HttpRequest,
    incoming: &IncomingRequests,
    grafana: &GrafanaUrl,
    gateway: &Gateway,
    location: String,
) -> HttpResponse {
    let client_address = incoming.record(request);
    let (status, outcome) = match ask(gateway, &location, client_address.as_deref()).await {
        Ok(answer) => (StatusCode::OK, Outcome::Answer(answer)),
        Err(error) => (error.status, Outcome::Error(error.message)),
    };
    // No trace when the SDK is off, or no span is recorded and the visitor sent none.
    let trace = telemetry::current_trace_id().map(|id| Trace::new(id, grafana.0.as_ref()));
    page::respond(status, &location, &outcome, trace.as_ref())
}

async fn ask(
    gateway: &Gateway,
    location: &str,
    client_address: Option<&str>,
) -> Result<api::GatewayAnswer, PageError> {
    if location.trim().is_empty() {
        return Err(PageError::bad_input("Please enter a place."));
    }
    let location = LocationText::try_from(location.to_owned()).map_err(PageError::bad_input)?;
    gateway
        .ask(&location, client_address)
        .await
        .map_err(PageError::from_gateway)
}
