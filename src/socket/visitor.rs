//! Namespace `/visitor`: the widget's connection.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Extension, SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::SocketIo;
use socketioxide_core::adapter::DefinedAdapter;

use super::ack::{parse, reply};
use super::events::{conversation_room, site_room, VISITOR_NS};
use super::{connection_id, remote_ip};
use crate::domain::input::{ClientId, MessageText, PageReport, ProfileUpdate};
use crate::domain::visitors::{AdmittedVisitor, Refusal, VisitorIdentity};
use crate::domain::Chat;

type Ctx = State<Arc<Chat>>;
type Me = Extension<VisitorIdentity>;

pub fn register<A: Adapter + DefinedAdapter>(io: &SocketIo<A>) -> A::InitRes {
    io.ns(VISITOR_NS, on_connect::<A>.with(admit::<A>))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Handshake {
    site_key: String,
    /// Anything but a string counts as no token: the visitor starts afresh.
    token: Option<Value>,
}

/// Runs before the connection is accepted; a refusal becomes the client's `connect_error`.
async fn admit<A: Adapter>(
    s: SocketRef<A>,
    TryData(auth): TryData<Handshake>,
    State(chat): Ctx,
) -> Result<(), Refusal> {
    let auth = auth.map_err(|_| Refusal::UnknownSite)?;
    let origin = s
        .req_parts()
        .headers
        .get(http::header::ORIGIN)
        .and_then(|o| o.to_str().ok());
    let admitted = chat
        .admit_visitor(
            &auth.site_key,
            auth.token.as_ref().and_then(Value::as_str),
            origin,
            &remote_ip(&s),
        )
        .await
        .inspect_err(|e| {
            if let Refusal::Internal(cause) = e {
                tracing::error!(error = %cause, "visitor handshake failed");
            }
        })?;
    s.extensions.insert(admitted);
    Ok(())
}

async fn on_connect<A: Adapter>(s: SocketRef<A>, State(chat): Ctx) {
    // Only the identity stays with the socket for its lifetime; the rest was for the session.
    let Some(admitted) = s.extensions.remove::<AdmittedVisitor>() else {
        return;
    };
    let id = admitted.identity.clone();
    s.extensions.insert(id.clone());
    s.on("profile", on_profile::<A>);
    s.on("send", on_send::<A>);
    s.on("history", on_history::<A>);
    s.on("sync", on_sync::<A>);
    s.on("read", on_read::<A>);
    s.on("page", on_page::<A>);
    s.on("typing", on_typing);
    s.on_disconnect(async |State(chat): Ctx, Extension(id): Me| {
        chat.close_visitor_session(&id);
    });
    let opened = chat
        .open_visitor_session(admitted, |session| {
            s.join([
                conversation_room(&id.conversation_id),
                site_room(&id.site_id),
            ]);
            if let Err(e) = s.emit("session", &session) {
                tracing::warn!(error = %e, "could not send the session");
            }
        })
        .await;
    if let Err(e) = opened {
        tracing::error!(error = %e, "could not open a visitor session");
        let _ = s.disconnect();
    }
}

#[derive(Deserialize)]
struct Profile {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

async fn on_profile<A: Adapter>(
    TryData(data): TryData<Value>,
    ack: AckSender<A>,
    State(chat): Ctx,
    Extension(id): Me,
) {
    let result = async {
        let p: Profile = parse(data)?;
        let update =
            ProfileUpdate::parse(p.name.as_deref(), p.email.as_deref(), p.phone.as_deref())?;
        let visitor = chat.update_profile(&id, update).await?;
        Ok(json!({ "visitor": visitor }))
    }
    .await;
    reply(ack, result);
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Send {
    client_id: String,
    text: String,
}

async fn on_send<A: Adapter>(
    s: SocketRef<A>,
    TryData(data): TryData<Value>,
    ack: AckSender<A>,
    State(chat): Ctx,
    Extension(id): Me,
) {
    let result = async {
        let req: Send = parse(data)?;
        let client_id = ClientId::parse(&req.client_id)?;
        let text = MessageText::parse(&req.text)?;
        let message = chat
            .visitor_send(&id, &connection_id(&s), client_id, text)
            .await?;
        Ok(json!({ "message": message }))
    }
    .await;
    reply(ack, result);
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct History {
    before_seq: i64,
    limit: Option<i64>,
}

async fn on_history<A: Adapter>(
    TryData(data): TryData<Value>,
    ack: AckSender<A>,
    State(chat): Ctx,
    Extension(id): Me,
) {
    let result = async {
        let req: History = parse(data)?;
        let page = chat.visitor_history(&id, req.before_seq, req.limit).await?;
        Ok(page)
    }
    .await;
    reply(ack, result);
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Sync {
    after_seq: i64,
}

async fn on_sync<A: Adapter>(
    TryData(data): TryData<Value>,
    ack: AckSender<A>,
    State(chat): Ctx,
    Extension(id): Me,
) {
    let result = async {
        let req: Sync = parse(data)?;
        let page = chat.visitor_sync(&id, req.after_seq).await?;
        Ok(page)
    }
    .await;
    reply(ack, result);
}

#[derive(Deserialize)]
struct Read {
    seq: i64,
}

async fn on_read<A: Adapter>(
    TryData(data): TryData<Value>,
    ack: AckSender<A>,
    State(chat): Ctx,
    Extension(id): Me,
) {
    let result = async {
        let req: Read = parse(data)?;
        chat.visitor_read(&id, req.seq).await?;
        Ok(json!({}))
    }
    .await;
    reply(ack, result);
}

#[derive(Deserialize)]
struct PagePayload {
    url: String,
    title: Option<String>,
}

async fn on_page<A: Adapter>(
    TryData(data): TryData<Value>,
    ack: AckSender<A>,
    State(chat): Ctx,
    Extension(id): Me,
) {
    let result = async {
        let req: PagePayload = parse(data)?;
        let report = PageReport::parse(&req.url, req.title.as_deref())?;
        chat.visitor_page(&id, report).await?;
        Ok(json!({}))
    }
    .await;
    reply(ack, result);
}

#[derive(Deserialize)]
struct Typing {
    typing: bool,
}

async fn on_typing(TryData(data): TryData<Value>, State(chat): Ctx, Extension(id): Me) {
    if let Ok(req) = parse::<Typing>(data) {
        chat.visitor_typing(&id, req.typing).await;
    }
}
