use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::domain::Chat;

/// `GET /healthz`: 200 while the database (and Redis, when clustered) answer, 503 otherwise.
pub async fn healthz(State(chat): State<Arc<Chat>>) -> (StatusCode, Json<Value>) {
    let database = match chat.store().ping().await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "health check: database down");
            false
        }
    };
    let redis = chat.cluster().healthy().await;
    let mut body = json!({ "database": up_or_down(database) });
    if let Some(redis) = redis {
        body["redis"] = json!(up_or_down(redis));
    }
    let status = if database && redis.unwrap_or(true) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

fn up_or_down(up: bool) -> &'static str {
    if up {
        "ok"
    } else {
        "down"
    }
}
