//! HTTP routes next to Socket.IO: login, health, and the embedded front end.

pub mod assets;
mod health;
mod login;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::domain::{Chat, DomainError};

pub fn router(chat: Arc<Chat>) -> Router {
    Router::new()
        .route("/api/login", post(login::login))
        .route("/healthz", get(health::healthz))
        .with_state(chat)
        .merge(assets::router())
}

/// Domain errors as HTTP answers: `{ "error": code }` with the matching status.
pub struct HttpError(DomainError);

impl From<DomainError> for HttpError {
    fn from(e: DomainError) -> Self {
        HttpError(e)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = match &self.0 {
            DomainError::Invalid(_) | DomainError::TooLarge(_) => StatusCode::BAD_REQUEST,
            DomainError::NotFound => StatusCode::NOT_FOUND,
            DomainError::Unauthorized => StatusCode::UNAUTHORIZED,
            DomainError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            DomainError::Internal(cause) => {
                tracing::error!(error = %cause, "request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let message = match &self.0 {
            DomainError::Internal(_) => "internal error".to_owned(),
            other => other.to_string(),
        };
        (
            status,
            Json(json!({ "error": self.0.code(), "message": message })),
        )
            .into_response()
    }
}
