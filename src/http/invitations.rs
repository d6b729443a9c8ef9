//! `GET` and `POST /api/invitations/{token}`: the invitee's page reads what a link offers, then
//! signs up through it; `/api/resets/{token}` the same for an agent choosing a new password
//! (docs/protocol.md, "Invitations").

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::Deserialize;

use super::client_addr::ClientAddr;
use super::{client_key, json_body, HttpError};
use crate::domain::agents::LoginGrant;
use crate::domain::team::{InvitationInfo, ResetInfo, Signup};
use crate::domain::Chat;

#[derive(Deserialize)]
pub struct SignupForm {
    name: String,
    username: String,
    password: String,
}

/// `GET /api/invitations/{token}`: the site and role a link offers.
pub async fn show(
    State(chat): State<Arc<Chat>>,
    client: Option<Extension<ClientAddr>>,
    Path(token): Path<String>,
) -> Result<Json<InvitationInfo>, HttpError> {
    Ok(Json(chat.invitation(&token, &client_key(client)).await?))
}

/// `POST /api/invitations/{token}`: the new agent, logged in.
pub async fn accept(
    State(chat): State<Arc<Chat>>,
    client: Option<Extension<ClientAddr>>,
    Path(token): Path<String>,
    body: Result<Json<SignupForm>, JsonRejection>,
) -> Result<Json<LoginGrant>, HttpError> {
    let form = json_body(body)?;
    let signup = Signup {
        name: &form.name,
        username: &form.username,
        password: &form.password,
    };
    let grant = chat
        .accept_invitation(&token, signup, &client_key(client))
        .await?;
    Ok(Json(grant))
}

#[derive(Deserialize)]
pub struct NewPassword {
    password: String,
}

/// `GET /api/resets/{token}`: whose password the link sets.
pub async fn show_reset(
    State(chat): State<Arc<Chat>>,
    client: Option<Extension<ClientAddr>>,
    Path(token): Path<String>,
) -> Result<Json<ResetInfo>, HttpError> {
    Ok(Json(
        chat.password_reset(&token, &client_key(client)).await?,
    ))
}

/// `POST /api/resets/{token}`: the agent with its new password, logged in.
pub async fn complete_reset(
    State(chat): State<Arc<Chat>>,
    client: Option<Extension<ClientAddr>>,
    Path(token): Path<String>,
    body: Result<Json<NewPassword>, JsonRejection>,
) -> Result<Json<LoginGrant>, HttpError> {
    let form = json_body(body)?;
    let grant = chat
        .complete_reset(&token, &form.password, &client_key(client))
        .await?;
    Ok(Json(grant))
}
