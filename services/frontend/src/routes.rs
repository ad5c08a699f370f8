//! `GET /` (form, or the answer for `?location=`) and `POST /` (form field `location`).

use crate::error::{rejected_form, rejected_query, PageError};
use crate::gateway::Gateway;
use crate::page::{self, Outcome, Trace};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use api::LocationText;
use opentelemetry::trace::{get_active_span, TraceId};
use serde::Deserialize;
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
) -> HttpResponse {
    match input.into_inner().location {
        None => page::respond(StatusCode::OK, "", &Outcome::Form, None),
        Some(location) => answer_page(&request, &grafana, &gateway, location).await,
    }
}

async fn page_for_form(
    request: HttpRequest,
    input: web::Form<PageInput>,
    grafana: web::Data<GrafanaUrl>,
    gateway: web::Data<Gateway>,
) -> HttpResponse {
    let location = input.into_inner().location.unwrap_or_default();
    answer_page(&request, &grafana, &gateway, location).await
}

async fn answer_page(
    request: &HttpRequest,
    grafana: &GrafanaUrl,
    gateway: &Gateway,
    location: String,
) -> HttpResponse {
    telemetry::record_incoming_request(request);
    let client_address = telemetry::client_address(&request.connection_info());
    let (status, outcome) = match ask(gateway, &location, client_address.as_deref()).await {
        Ok(answer) => (StatusCode::OK, Outcome::Answer(answer)),
        Err(error) => (error.status, Outcome::Error(error.message)),
    };
    let trace_id = get_active_span(|span| span.span_context().trace_id());
    // No valid id when tracing is off (OTEL_SDK_DISABLED) or the request was not sampled.
    let trace = (trace_id != TraceId::INVALID)
        .then(|| Trace::new(trace_id.to_string(), grafana.0.as_ref()));
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
