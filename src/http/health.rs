//! `GET /healthz` and `GET /readyz`: whether this node's dependencies answer.
//!
//! Both run the same checks (PROTOCOL.md fixes `/healthz` as 200 only when the database, and
//! Redis when clustered, answer) and answer alike; they differ in what a deployment does with
//! the answer (docs/deploy.md): `/readyz` takes a node out of the load balancer's rotation
//! while it fails, `/healthz` is the liveness probe that a supervisor may restart the process
//! on, and so wants a patient threshold.

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
    check(&chat, "health").await
}

/// `GET /readyz`: 200 while the database (and Redis, when clustered) answer, 503 otherwise.
pub async fn readyz(State(chat): State<Arc<Chat>>) -> (StatusCode, Json<Value>) {
    check(&chat, "readiness").await
}

/// `{ "database": "ok"|"down", "redis": "ok"|"down" }` (`redis` only when clustered), and 200
/// when every one is ok.
async fn check(chat: &Chat, what: &'static str) -> (StatusCode, Json<Value>) {
    let database = match tokio::time::timeout(CHECK_TIMEOUT, chat.store().ping()).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "{what} check: database down");
            false
        }
        Err(_) => {
            tracing::warn!("{what} check: database did not answer in time");
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
