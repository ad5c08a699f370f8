//! The stack's error responses: `{"error": "<plain sentence>"}` ([`api::ErrorBody`]).

use actix_web::error::{InternalError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

pub fn json_error(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(api::ErrorBody {
        error: message.into(),
    })
}

/// The sentence for a query string that did not deserialize into a handler's `web::Query<T>`.
pub fn rejected_query_message(error: &QueryPayloadError) -> String {
    match error {
        QueryPayloadError::Deserialize(error) => api::describe_rejected_query(&error.to_string()),
        other => format!("The query string is not valid: {other}."),
    }
}

/// `web::QueryConfig` error handler: a 400 whose JSON says what is wrong.
pub fn rejected_query(error: QueryPayloadError, _request: &HttpRequest) -> actix_web::Error {
    let response = json_error(StatusCode::BAD_REQUEST, rejected_query_message(&error));
    InternalError::from_response(error, response).into()
}
