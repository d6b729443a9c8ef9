//! Namespace `/agent`: the dashboard's connection.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Extension, SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::SocketIo;
use socketioxide_core::adapter::DefinedAdapter;

use super::ack::{parse, reply};
use super::connection_id;
use super::events::{site_room, AGENT_NS};
use crate::domain::agents::AgentIdentity;
use crate::domain::input::{ClientId, MessageText};
use crate::domain::model::{parse_micros, Status};
use crate::domain::{Chat, DomainError, DomainResult};

type Ctx = State<Arc<Chat>>;
type Me = Extension<AgentIdentity>;

pub fn register<A: Adapter + DefinedAdapter>(io: &SocketIo<A>) -> A::InitRes {
    io.ns(AGENT_NS, on_connect::<A>.with(authenticate::<A>))
}

#[derive(Deserialize)]
struct Handshake {
    token: String,
}

/// Why an agent handshake was refused; the text is the `connect_error` message.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("unauthorized")]
    Unauthorized,
    /// The token could not be checked (the database did not answer): not the agent's fault.
    #[error("internal")]
    Internal,
}

async fn authenticate<A: Adapter>(
    s: SocketRef<A>,
    TryData(auth): TryData<Handshake>,
    State(chat): Ctx,
) -> Result<(), Refusal> {
    let auth = auth.map_err(|_| Refusal::Unauthorized)?;
    match chat.authenticate_agent(&auth.token).await {
        Ok(identity) => {
            s.extensions.insert(identity);
            Ok(())
        }
        Err(DomainError::Internal(cause)) => {
            tracing::error!(error = %cause, "agent handshake failed");
            Err(Refusal::Internal)
        }
        Err(_) => Err(Refusal::Unauthorized),
    }
}

async fn on_connect<A: Adapter>(s: SocketRef<A>, State(chat): Ctx, Extension(id): Me) {
    s.on("list", on_list::<A>);
    s.on("send", on_send::<A>);
    s.on("history", on_history::<A>);
    s.on("sync", on_sync::<A>);
    s.on("read", on_read::<A>);
    s.on("end", on_end::<A>);
    s.on("typing", on_typing);
    s.on_disconnect(async |State(chat): Ctx, Extension(id): Me| {
        chat.close_agent_session(&id);
    });
    s.join(site_room(&id.site_id));
    match chat.open_agent_session(&id).await {
        Ok(list) => {
            if let Err(e) = s.emit("conversations", &list) {
                tracing::warn!(error = %e, "could not send the conversation list");
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "could not open an agent session");
            let _ = s.disconnect();
        }
    }
}

#[derive(Deserialize)]
struct List {
    before: Option<String>,
    limit: Option<i64>,
    status: Option<String>,
}

async fn on_list<A: Adapter>(
    TryData(data): TryData<Value>,
    ack: AckSender<A>,
    State(chat): Ctx,
    Extension(id): Me,
) {
    let result = async {
        let req: List = parse(data)?;
        let before = req
            .before
            .map(|b| {
                parse_micros(&b).ok_or_else(|| DomainError::invalid("before must be an updatedAt"))
            })
            .transpose()?;
        let status = req
            .status
            .map(|s| {
                Status::parse(&s)
                    .ok_or_else(|| DomainError::invalid("status must be open or ended"))
            })
            .transpose()?;
        chat.list(&id, before, req.limit, status).await
    }
    .await;
    reply(ack, result);
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Send {
    conversation_id: String,
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
            .agent_send(
                &id,
                &connection_id(&s),
                &req.conversation_id,
                client_id,
                text,
            )
            .await?;
        Ok(json!({ "message": message }))
    }
    .await;
    reply(ack, result);
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct History {
    conversation_id: String,
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
        chat.agent_history(&id, &req.conversation_id, req.before_seq, req.limit)
            .await
    }
    .await;
    reply(ack, result);
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Sync {
    conversation_id: String,
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
        chat.agent_sync(&id, &req.conversation_id, req.after_seq)
            .await
    }
    .await;
    reply(ack, result);
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Read {
    conversation_id: String,
    seq: i64,
}

async fn on_read<A: Adapter>(
    s: SocketRef<A>,
    TryData(data): TryData<Value>,
    ack: AckSender<A>,
    State(chat): Ctx,
    Extension(id): Me,
) {
    let result = async {
        let req: Read = parse(data)?;
        chat.agent_read(&id, &connection_id(&s), &req.conversation_id, req.seq)
            .await?;
        Ok(json!({}))
    }
    .await;
    reply(ack, result);
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct End {
    conversation_id: String,
}

async fn on_end<A: Adapter>(
    TryData(data): TryData<Value>,
    ack: AckSender<A>,
    State(chat): Ctx,
    Extension(id): Me,
) {
    let result: DomainResult<Value> = async {
        let req: End = parse(data)?;
        let summary = chat.end(&id, &req.conversation_id).await?;
        Ok(json!({ "conversation": summary }))
    }
    .await;
    reply(ack, result);
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Typing {
    conversation_id: String,
    typing: bool,
}

async fn on_typing(TryData(data): TryData<Value>, State(chat): Ctx, Extension(id): Me) {
    if let Ok(req) = parse::<Typing>(data) {
        // Typing for an unknown or foreign conversation is dropped silently: it has no ack.
        let _ = chat
            .agent_typing(&id, &req.conversation_id, req.typing)
            .await;
    }
}
