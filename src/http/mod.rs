//! HTTP routes next to Socket.IO: login, invitations, health and readiness, the hosted
//! conversation pages and the embedded front end.

pub mod assets;
pub mod client_addr;
pub mod edge;
mod health;
mod hosted;
mod invitations;
mod login;
pub mod serve;
mod unsubscribe;
mod uploads;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::json;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::domain::{Chat, DomainError};
use client_addr::ClientAddr;

/// What a client waits before retrying after `unavailable`.
const RETRY_AFTER_UNAVAILABLE_SECS: u32 = 5;

/// The HTTP routes. Every request body is bounded by `max_body_bytes` (over it: 413), whether or
/// not the handler reads it, and every request by `timeout` (over it: 408), so a body sent a
/// byte at a time does not hold a connection and a login slot for long. `/socket.io/` is not in
/// this router: it keeps socketioxide's own payload limit, and a long-poll must be able to wait.
///
/// The upload routes have their own limits (`uploads::router`).
pub fn router(
    chat: Arc<Chat>,
    max_body_bytes: usize,
    timeout: Duration,
    max_upload_bytes: u64,
) -> Router {
    let uploads = uploads::router(chat.clone(), max_upload_bytes);
    Router::new()
        .route("/api/login", post(login::login))
        .route(
            "/api/invitations/{token}",
            get(invitations::show).post(invitations::accept),
        )
        .route(
            "/api/resets/{token}",
            get(invitations::show_reset).post(invitations::complete_reset),
        )
        .route(
            "/unsubscribe/{token}",
            get(unsubscribe::show).post(unsubscribe::confirm),
        )
        .route("/c/{token}", get(hosted::conversation))
        .route("/chat/{site_key}", get(hosted::chat_with))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .with_state(chat)
        .merge(assets::router())
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(RequestBodyLimitLayer::new(max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .merge(uploads)
}

/// The client's rate-limit key: its address, as the edge middleware sets it on every served
/// request.
fn client_key(client: Option<Extension<ClientAddr>>) -> String {
    client.map_or_else(|| "unknown".to_owned(), |Extension(a)| a.to_string())
}

/// A JSON request body, or why not: `too_large` over the body limit, `invalid` otherwise (a
/// missing content type, bad JSON, missing fields), with axum's explanation.
fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, DomainError> {
    body.map(|Json(t)| t).map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            DomainError::TooLarge(e.body_text())
        } else {
            DomainError::invalid(e.body_text())
        }
    })
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
            DomainError::Invalid(_) => StatusCode::BAD_REQUEST,
            DomainError::TooLarge(_) | DomainError::FileTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            DomainError::NotFound => StatusCode::NOT_FOUND,
            DomainError::Unauthorized => StatusCode::UNAUTHORIZED,
            DomainError::Forbidden => StatusCode::FORBIDDEN,
            DomainError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            DomainError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            DomainError::UnsupportedType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            DomainError::Internal(cause) => {
                tracing::error!(error = %cause, "request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            DomainError::Files(cause) => {
                tracing::error!(error = %cause, "request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let message = match &self.0 {
            DomainError::Internal(_) | DomainError::Files(_) => "internal error".to_owned(),
            other => other.to_string(),
        };
        let mut body = json!({ "error": self.0.code(), "message": message });
        if let DomainError::FileTooLarge { max_bytes } = self.0 {
            body["maxBytes"] = max_bytes.into();
        }
        let mut res = (status, Json(body)).into_response();
        if matches!(self.0, DomainError::Unavailable) {
            res.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(RETRY_AFTER_UNAVAILABLE_SECS),
            );
        }
        res
    }
}
