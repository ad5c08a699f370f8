//! `GET /` (form, or the answer for `?location=`) and `POST /` (form field `location`).

use crate::page::{grafana_trace_link, render, Answer, Outcome};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use opentelemetry::trace::{get_active_span, TraceId};
use serde_json::Value;
use service_common::query::single_param;
use telemetry::client::{TracedClient, UpstreamError};
use url::Url;

/// Form bodies larger than this are refused (a place name is short).
pub const MAX_FORM_BYTES: usize = 16 * 1024;

pub struct FrontendSettings {
    pub gateway: Url,
    pub grafana: Url,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(MAX_FORM_BYTES))
        .route("/", web::get().to(page_for_query))
        .route("/", web::post().to(page_for_form));
}

async fn page_for_query(
    request: HttpRequest,
    settings: web::Data<FrontendSettings>,
    client: web::Data<TracedClient>,
) -> HttpResponse {
    match single_param(request.query_string(), "location") {
        Ok(None) => html(StatusCode::OK, render("", &Outcome::Form, None)),
        Ok(Some(location)) => answer_page(&request, &settings, &client, location).await,
        Err(error) => html(
            StatusCode::BAD_REQUEST,
            render("", &Outcome::Error(format!("{error}.")), None),
        ),
    }
}

async fn page_for_form(
    request: HttpRequest,
    body: web::Bytes,
    settings: web::Data<FrontendSettings>,
    client: web::Data<TracedClient>,
) -> HttpResponse {
    let body = String::from_utf8_lossy(&body);
    match single_param(&body, "location") {
        Ok(location) => {
            answer_page(&request, &settings, &client, location.unwrap_or_default()).await
        }
        Err(error) => html(
            StatusCode::BAD_REQUEST,
            render("", &Outcome::Error(format!("{error}.")), None),
        ),
    }
}

async fn answer_page(
    request: &HttpRequest,
    settings: &FrontendSettings,
    client: &TracedClient,
    location: String,
) -> HttpResponse {
    telemetry::record_incoming_request(request);
    let (status, outcome) = if location.trim().is_empty() {
        (
            StatusCode::BAD_REQUEST,
            Outcome::Error("Please enter a place.".into()),
        )
    } else {
        ask_gateway(settings, client, &location).await
    };
    let trace_id = get_active_span(|span| span.span_context().trace_id());
    // No valid id when tracing is off (OTEL_SDK_DISABLED) or the request was not sampled.
    let trace = (trace_id != TraceId::INVALID).then(|| {
        let id = trace_id.to_string();
        let link = grafana_trace_link(&settings.grafana, &id);
        (id, link)
    });
    html(
        status,
        render(
            &location,
            &outcome,
            trace
                .as_ref()
                .map(|(id, link)| (id.as_str(), link.as_str())),
        ),
    )
}

async fn ask_gateway(
    settings: &FrontendSettings,
    client: &TracedClient,
    location: &str,
) -> (StatusCode, Outcome) {
    let mut url = settings.gateway.clone();
    url.query_pairs_mut().append_pair("location", location);
    let response = match client.get(&url).await {
        Ok(response) => response,
        Err(error) => {
            log::error!("gateway call failed: {error}");
            let (status, message) = match error {
                UpstreamError::Timeout { .. } => (
                    StatusCode::GATEWAY_TIMEOUT,
                    "The service took too long to answer. Please try again.",
                ),
                _ => (
                    StatusCode::BAD_GATEWAY,
                    "The service is unavailable right now. Please try again later.",
                ),
            };
            return (status, Outcome::Error(message.into()));
        }
    };
    let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    if response.status.is_success() {
        if let Some(answer) = parse_answer(&body) {
            return (StatusCode::OK, Outcome::Answer(answer));
        }
        log::error!("gateway answered 200 without a usable answer");
        return (
            StatusCode::BAD_GATEWAY,
            Outcome::Error("The service gave an unusable answer.".into()),
        );
    }
    let message = body
        .get("error")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("The service failed (HTTP {}).", response.status.as_u16()));
    if response.status.is_server_error() {
        log::error!("gateway answered HTTP {}: {message}", response.status);
    }
    (response.status, Outcome::Error(message))
}

fn parse_answer(body: &Value) -> Option<Answer> {
    let number = |value: &Value| value.as_f64().filter(|v| v.is_finite());
    Some(Answer {
        iss_latitude: number(&body["location"]["latitude"])?,
        iss_longitude: number(&body["location"]["longitude"])?,
        distance_km: number(&body["distance"])?,
        place_name: body["place"]["name"].as_str()?.to_owned(),
        place_latitude: number(&body["place"]["latitude"])?,
        place_longitude: number(&body["place"]["longitude"])?,
        source: body["source"].as_str().unwrap_or_default().to_owned(),
    })
}

fn html(status: StatusCode, page: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page)
}
