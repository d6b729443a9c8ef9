use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::{Extension, Json};
use serde::Deserialize;

use super::client_addr::ClientAddr;
use super::{client_key, json_body, HttpError};
use crate::domain::agents::LoginGrant;
use crate::domain::Chat;

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
    let c = json_body(body)?;
    let grant = chat
        .login(&c.username, &c.password, &client_key(client))
        .await?;
    Ok(Json(grant))
}
