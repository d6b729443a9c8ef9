use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;

use super::client_addr::ClientAddr;
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
    client: Option<Extension<ClientAddr>>,
    body: Result<Json<Credentials>, JsonRejection>,
) -> Result<Json<LoginGrant>, HttpError> {
    let Json(c) = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            DomainError::TooLarge(e.body_text())
        } else {
            DomainError::invalid(e.body_text())
        }
    })?;
    // Set by the edge middleware on every served request.
    let client = client.map_or_else(|| "unknown".to_owned(), |Extension(a)| a.to_string());
    let grant = chat.login(&c.username, &c.password, &client).await?;
    Ok(Json(grant))
}
