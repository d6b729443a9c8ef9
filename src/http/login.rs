use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, State};
use axum::Json;
use serde::Deserialize;

use super::HttpError;
use crate::domain::agents::LoginGrant;
use crate::domain::{Chat, DomainError};

#[derive(Deserialize)]
pub struct Credentials {
    username: String,
    password: String,
}

/// `POST /api/login`: a JWT for the `/agent` handshake.
pub async fn login(
    State(chat): State<Arc<Chat>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    body: Result<Json<Credentials>, JsonRejection>,
) -> Result<Json<LoginGrant>, HttpError> {
    let Json(c) = body.map_err(|e| DomainError::invalid(e.body_text()))?;
    let grant = chat
        .login(&c.username, &c.password, &addr.ip().to_string())
        .await?;
    Ok(Json(grant))
}
