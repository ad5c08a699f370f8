//! The stack's error body: `{"error": "<plain sentence>"}`.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;

pub fn json_error(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": message.into() }))
}
