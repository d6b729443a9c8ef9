use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::domain::Chat;

/// A load balancer wants a quick answer; a dependency slower than this counts as down.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /healthz`: 200 while the database (and Redis, when clustered) answer, 503 otherwise.
pub async fn healthz(State(chat): State<Arc<Chat>>) -> (StatusCode, Json<Value>) {
    let database = match tokio::time::timeout(CHECK_TIMEOUT, chat.store().ping()).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: database down");
            false
        }
        Err(_) => {
            tracing::warn!("health check: database did not answer in time");
            false
        }
    };
    let redis = tokio::time::timeout(CHECK_TIMEOUT, chat.cluster().healthy())
        .await
        .unwrap_or(Some(false));
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
