//! Namespace `/agent`: the dashboard's connection.

use std::sync::Arc;

use std::future::Future;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Extension, SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::socket::DisconnectReason;
use socketioxide::SocketIo;
use socketioxide_core::adapter::DefinedAdapter;
use tracing::Instrument;

use super::ack::{parse, reply, Sent};
use super::events::{site_room, AGENT_NS};
use super::requests::{
    HistoryPage, InConversation, Nothing, OfAgent, Read, SendMessage, SetDisabled, SetRole,
    SyncPage, Typing,
};
use super::{closed, connection_id, span};
use crate::domain::agents::{AgentIdentity, OwnProfile, ProfileChanged};
use crate::domain::events::ConnectionId;
use crate::domain::hours::OfficeHoursInput;
use crate::domain::model::{parse_micros, MessagePage, Role, Status, SummaryPage};
use crate::domain::settings::SettingsUpdate;
use crate::domain::team::TeamChange;
use crate::domain::{Chat, DomainError, DomainResult, Refusal};
use crate::telemetry::prometheus::socket_dropped;

type Ctx = State<Arc<Chat>>;
type Me = Extension<AgentIdentity>;

pub fn register<A: Adapter + DefinedAdapter>(io: &SocketIo<A>) -> A::InitRes {
    io.ns(AGENT_NS, on_connect::<A>.with(authenticate::<A>))
}

#[derive(Deserialize)]
struct Handshake {
    token: String,
}

async fn authenticate<A: Adapter>(
    s: SocketRef<A>,
    TryData(auth): TryData<Handshake>,
    State(chat): Ctx,
) -> Result<(), Refusal> {
    let auth = auth.map_err(|_| Refusal::Unauthorized)?;
    let span = span(&s, "connect");
    match chat
        .authenticate_agent(&auth.token)
        .instrument(span.clone())
        .await
    {
        Ok(identity) => {
            s.extensions.insert(identity);
            requests(&s);
            Ok(())
        }
        Err(DomainError::Internal(cause)) => {
            span.in_scope(|| tracing::error!(error = %cause, "agent handshake failed"));
            Err(Refusal::Internal(cause))
        }
        Err(_) => {
            span.in_scope(|| tracing::debug!("agent handshake refused"));
            Err(Refusal::Unauthorized)
        }
    }
}

async fn on_connect<A: Adapter>(s: SocketRef<A>, State(chat): Ctx, Extension(id): Me) {
    let span = span(&s, "connect");
    open_session(s, chat, id).instrument(span).await
}

/// Registered before the connection is confirmed: socketioxide runs the connect handler in a
/// task of its own after sending CONNECT, so a request sent at once could find no handler.
fn requests<A: Adapter>(s: &SocketRef<A>) {
    on(s, "list", on_list);
    on(s, "send", on_send);
    on(s, "history", on_history);
    on(s, "sync", on_sync);
    on(s, "read", on_read);
    on(s, "end", on_end);
    on(s, "team", on_team);
    on(s, "setRole", on_set_role);
    on(s, "setDisabled", on_set_disabled);
    on(s, "removeAgent", on_remove_agent);
    on(s, "invite", on_invite);
    on(s, "resetPassword", on_reset_password);
    on(s, "profile", on_profile);
    on(s, "settings", on_settings);
    on(s, "updateSettings", on_update_settings);
    on(s, "transcript", on_transcript);
    s.on("typing", on_typing);
}

async fn open_session<A: Adapter>(s: SocketRef<A>, chat: Arc<Chat>, id: AgentIdentity) {
    s.on_disconnect(
        async |s: SocketRef<A>, reason: DisconnectReason, State(chat): Ctx, Extension(id): Me| {
            span(&s, "disconnect").in_scope(|| closed(reason));
            chat.close_agent_session(&id);
        },
    );
    s.join(site_room(&id.site_id));
    match chat.open_agent_session(&id).await {
        Ok(list) => {
            tracing::debug!(agent_id = %id.agent_id, "agent connected");
            if let Err(e) = s.emit("conversations", &list) {
                tracing::warn!(error = %e, "could not send the conversation list");
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "could not open an agent session");
            socket_dropped("session_failed");
            let _ = s.disconnect();
        }
    }
}

/// Who asks: the service, the agent, the connection (which events skip), and the origin of
/// the dashboard it connected from (the base of links made for it).
struct Caller {
    chat: Arc<Chat>,
    id: AgentIdentity,
    connection: ConnectionId,
    origin: Option<String>,
}

/// Registers a request: its payload parsed as `R`, `handle` run in the request's span, and the
/// result acked.
fn on<A, R, T, F, Fut>(s: &SocketRef<A>, event: &'static str, handle: F)
where
    A: Adapter,
    R: DeserializeOwned + Send + 'static,
    T: Serialize,
    F: Fn(Caller, R) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = DomainResult<T>> + Send + 'static,
{
    s.on(
        event,
        move |s: SocketRef<A>,
              TryData(data): TryData<Value>,
              ack: AckSender<A>,
              State(chat): Ctx,
              Extension(id): Me| {
            let handle = handle.clone();
            let span = span(&s, event);
            async move {
                let origin = s
                    .req_parts()
                    .headers
                    .get(http::header::ORIGIN)
                    .and_then(|o| o.to_str().ok())
                    .map(str::to_owned);
                let caller = Caller {
                    chat,
                    id,
                    connection: connection_id(&s),
                    origin,
                };
                let result = match parse::<R>(data) {
                    Ok(request) => handle(caller, request).await,
                    Err(e) => Err(e),
                };
                reply(ack, result);
            }
            .instrument(span)
        },
    );
}

#[derive(Deserialize)]
struct List {
    before: Option<String>,
    limit: Option<i64>,
    status: Option<String>,
}

async fn on_list(c: Caller, req: List) -> DomainResult<SummaryPage> {
    let before = req
        .before
        .map(|b| {
            parse_micros(&b).ok_or_else(|| DomainError::invalid("before must be an updatedAt"))
        })
        .transpose()?;
    let status = req
        .status
        .map(|s| {
            Status::parse(&s).ok_or_else(|| DomainError::invalid("status must be open or ended"))
        })
        .transpose()?;
    c.chat.list(&c.id, before, req.limit, status).await
}

async fn on_send(c: Caller, req: InConversation<SendMessage>) -> DomainResult<Sent> {
    let (client_id, text) = req.request.parse()?;
    let message = c
        .chat
        .agent_send(&c.id, &c.connection, &req.conversation()?, client_id, text)
        .await?;
    Ok(Sent { message })
}

async fn on_history(c: Caller, req: InConversation<HistoryPage>) -> DomainResult<MessagePage> {
    let HistoryPage { before_seq, limit } = req.request;
    c.chat
        .agent_history(&c.id, &req.conversation()?, before_seq, limit)
        .await
}

async fn on_sync(c: Caller, req: InConversation<SyncPage>) -> DomainResult<MessagePage> {
    let after_seq = req.request.after_seq;
    c.chat
        .agent_sync(&c.id, &req.conversation()?, after_seq)
        .await
}

async fn on_read(c: Caller, req: InConversation<Read>) -> DomainResult<Value> {
    let seq = req.request.seq;
    c.chat
        .agent_read(&c.id, &c.connection, &req.conversation()?, seq)
        .await?;
    Ok(json!({}))
}

async fn on_end(c: Caller, req: InConversation<Nothing>) -> DomainResult<Value> {
    let summary = c.chat.end(&c.id, &req.conversation()?).await?;
    Ok(json!({ "conversation": summary }))
}

async fn on_transcript(c: Caller, req: InConversation<Nothing>) -> DomainResult<Value> {
    c.chat.agent_transcript(&c.id, &req.conversation()?).await?;
    Ok(json!({}))
}

async fn on_team(c: Caller, _: Nothing) -> DomainResult<Value> {
    Ok(json!({ "agents": c.chat.team(&c.id).await? }))
}

async fn on_set_role(c: Caller, req: OfAgent<SetRole>) -> DomainResult<Value> {
    let role = Role::parse(&req.request.role)
        .ok_or_else(|| DomainError::invalid("role must be admin or agent"))?;
    let agent = c
        .chat
        .change_team(&c.id, &req.agent()?, TeamChange::Role(role))
        .await?;
    Ok(json!({ "agent": agent }))
}

async fn on_set_disabled(c: Caller, req: OfAgent<SetDisabled>) -> DomainResult<Value> {
    let change = TeamChange::Disabled(req.request.disabled);
    let agent = c.chat.change_team(&c.id, &req.agent()?, change).await?;
    Ok(json!({ "agent": agent }))
}

async fn on_remove_agent(c: Caller, req: OfAgent<Nothing>) -> DomainResult<Value> {
    c.chat
        .change_team(&c.id, &req.agent()?, TeamChange::Remove)
        .await?;
    Ok(json!({}))
}

#[derive(Deserialize)]
struct Invite {
    role: Option<String>,
}

async fn on_invite(c: Caller, req: Invite) -> DomainResult<Value> {
    let role = match req.role.as_deref() {
        None => Role::Agent,
        Some(r) => {
            Role::parse(r).ok_or_else(|| DomainError::invalid("role must be admin or agent"))?
        }
    };
    let invitation = c.chat.invite(&c.id, role, c.origin.as_deref()).await?;
    Ok(json!({ "invitation": invitation }))
}

async fn on_reset_password(c: Caller, req: OfAgent<Nothing>) -> DomainResult<Value> {
    let reset = c
        .chat
        .reset_password(&c.id, &req.agent()?, c.origin.as_deref())
        .await?;
    Ok(json!({ "reset": reset }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    name: Option<String>,
    current_password: Option<String>,
    new_password: Option<String>,
    /// An address, or empty to clear it.
    email: Option<String>,
    offline_emails: Option<bool>,
}

async fn on_profile(c: Caller, req: Profile) -> DomainResult<ProfileChanged> {
    let password = match (&req.current_password, &req.new_password) {
        (Some(current), Some(new)) => Some((current.as_str(), new.as_str())),
        (None, None) => None,
        _ => {
            return Err(DomainError::invalid(
                "a new password needs the current one, and the other way round",
            ))
        }
    };
    let change = OwnProfile {
        name: req.name.as_deref(),
        password,
        email: req.email.as_deref(),
        offline_emails: req.offline_emails,
    };
    c.chat.change_own_profile(&c.id, change).await
}

async fn on_settings(c: Caller, _: Nothing) -> DomainResult<Value> {
    Ok(json!({ "settings": c.chat.site_settings(&c.id).await? }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateSettings {
    name: Option<String>,
    accent_color: Option<String>,
    greeting: Option<String>,
    away_message: Option<String>,
    prechat_fields: Option<Vec<String>>,
    prechat_required: Option<Vec<String>>,
    allowed_origins: Option<Vec<String>>,
    /// Absent: unchanged; `null`: always open.
    #[serde(default, deserialize_with = "present")]
    office_hours: Option<Option<OfficeHoursInput>>,
    contact_email: Option<String>,
    mail_from: Option<String>,
}

/// Tells a field given as `null` (`Some(None)`) from one not given (`None`, by `default`).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

async fn on_update_settings(c: Caller, req: UpdateSettings) -> DomainResult<Value> {
    let update = SettingsUpdate {
        name: req.name,
        accent_color: req.accent_color,
        greeting: req.greeting,
        away_message: req.away_message,
        prechat_fields: req.prechat_fields,
        prechat_required: req.prechat_required,
        allowed_origins: req.allowed_origins,
        office_hours: req.office_hours,
        contact_email: req.contact_email,
        mail_from: req.mail_from,
    };
    Ok(json!({ "settings": c.chat.update_site_settings(&c.id, update).await? }))
}

/// Typing has no ack: one for an unknown or foreign conversation is dropped silently.
async fn on_typing(TryData(data): TryData<Value>, State(chat): Ctx, Extension(id): Me) {
    let Ok(req) = parse::<InConversation<Typing>>(data) else {
        return;
    };
    if let Ok(conversation) = req.conversation() {
        let _ = chat
            .agent_typing(&id, &conversation, req.request.typing)
            .await;
    }
}
