use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::domain::Chat;

/// `GET /healthz`: 200 while the database answers, 503 otherwise.
pub async fn healthz(State(chat): State<Arc<Chat>>) -> (StatusCode, Json<Value>) {
    match chat.store().ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "database": "ok" }))),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database down");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "database": "down" })),
            )
        }
    }
}
