//! Namespace `/visitor`: the widget's connection.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Event, Extension, SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::socket::DisconnectReason;
use socketioxide::{ParserError, SocketIo};
use socketioxide_core::adapter::DefinedAdapter;
use tracing::Instrument;

use super::ack::{parse, reply, Sent};
use super::events::{conversation_room, site_room, VISITOR_NS};
use super::requests::{HistoryPage, Nothing, Read, SendMessage, SyncPage, Typing};
use super::{closed, connection_id, remote_ip, span};
use crate::domain::ids::SiteKey;
use crate::domain::input::{PageReport, ProfileUpdate};
use crate::domain::model::MessagePage;
use crate::domain::visitors::{
    AdmittedVisitor, HandshakeOrigin, VisitorCredential, VisitorIdentity,
};
use crate::domain::{Chat, DomainResult, Refusal};
use crate::telemetry::prometheus::socket_dropped;

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
    let span = span(&s, "connect");
    admit_in_span(s, auth, chat).instrument(span).await
}

async fn admit_in_span<A: Adapter>(
    s: SocketRef<A>,
    auth: Result<Handshake, ParserError>,
    chat: Arc<Chat>,
) -> Result<(), Refusal> {
    let auth = auth.map_err(|_| Refusal::UnknownSite)?;
    let headers = &s.req_parts().headers;
    let origin = headers
        .get(http::header::ORIGIN)
        .and_then(|o| o.to_str().ok());
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok());
    let origin = HandshakeOrigin {
        origin,
        own: is_own_page(origin, host),
    };
    let site_key = SiteKey::parse(&auth.site_key).ok_or(Refusal::UnknownSite)?;
    // A token that cannot be one is no token: the visitor starts afresh, as with an unknown one.
    let token = auth
        .token
        .as_ref()
        .and_then(Value::as_str)
        .and_then(VisitorCredential::parse);
    let admitted = chat
        .admit_visitor(&site_key, token.as_ref(), origin, &remote_ip(&s))
        .await
        .inspect_err(|e| match e {
            Refusal::Internal(cause) => {
                tracing::error!(error = %cause, "visitor handshake failed");
            }
            Refusal::TooManyConnections => socket_dropped("too_many_connections"),
            _ => tracing::debug!(refusal = %e, "visitor handshake refused"),
        })?;
    // Only the identity stays with the socket for its lifetime; the rest is for the session.
    s.extensions.insert(admitted.identity.clone());
    // Freed when the socket is dropped.
    s.extensions.insert(admitted.slot.clone());
    if !admitted.site.allowed_query_params.is_empty() {
        s.extensions.insert(PageQueryParams(Arc::from(
            admitted.site.allowed_query_params.clone(),
        )));
    }
    // Registered before the connection is confirmed: socketioxide runs the connect handler in
    // a task of its own after sending CONNECT, so a request sent at once could find no
    // handler there. One handler for every event rather than a handler table per socket,
    // which cost each visitor connection an allocation of its own (docs/benchmarks.md).
    s.on_fallback(on_event::<A>);
    s.extensions.insert(admitted);
    Ok(())
}

/// Whether the handshake comes from a page of this server (the hosted chat pages): its
/// `Origin` names the host the request was sent to.
fn is_own_page(origin: Option<&str>, host: Option<&str>) -> bool {
    let (Some(origin), Some(host)) = (origin, host) else {
        return false;
    };
    origin
        .split_once("://")
        .is_some_and(|(_, authority)| authority.trim_end_matches('/').eq_ignore_ascii_case(host))
}

async fn on_connect<A: Adapter>(s: SocketRef<A>, State(chat): Ctx) {
    let span = span(&s, "connect");
    open_session(s, chat).instrument(span).await
}

async fn open_session<A: Adapter>(s: SocketRef<A>, chat: Arc<Chat>) {
    let Some(admitted) = s.extensions.remove::<AdmittedVisitor>() else {
        return;
    };
    let id = admitted.identity.clone();
    s.on_disconnect(
        async |s: SocketRef<A>, reason: DisconnectReason, State(chat): Ctx, Extension(id): Me| {
            span(&s, "disconnect").in_scope(|| closed(reason));
            chat.close_visitor_session(&id);
        },
    );
    let opened = chat
        .open_visitor_session(
            admitted,
            |session| {
                s.join([
                    conversation_room(&id.conversation_id),
                    site_room(&id.site_id),
                ]);
                if let Err(e) = s.emit("session", &session) {
                    tracing::warn!(error = %e, "could not send the session");
                }
            },
            |presence| {
                if let Err(e) = s.emit("presence", &presence) {
                    tracing::warn!(error = %e, "could not send presence");
                }
            },
        )
        .await;
    match opened {
        Ok(()) => tracing::debug!("visitor connected"),
        Err(e) => {
            tracing::error!(error = %e, "could not open a visitor session");
            socket_dropped("session_failed");
            let _ = s.disconnect();
        }
    }
}

type Payload = Result<Value, ParserError>;

/// The events a visitor may send; others are ignored (PROTOCOL.md).
const EVENTS: [&str; 8] = [
    "profile",
    "send",
    "history",
    "sync",
    "read",
    "page",
    "typing",
    "transcript",
];

/// Routes an event by its name, in a span named for it. Unknown events are ignored before
/// anything else: their names are the client's, and no log line should carry them.
async fn on_event<A: Adapter>(
    s: SocketRef<A>,
    Event(event): Event,
    TryData(data): TryData<Value>,
    ack: AckSender<A>,
    State(chat): Ctx,
    Extension(id): Me,
) {
    let Some(event) = EVENTS.into_iter().find(|known| *known == &*event) else {
        return;
    };
    let span = span(&s, event);
    dispatch(s, event, data, ack, chat, id)
        .instrument(span)
        .await
}

async fn dispatch<A: Adapter>(
    s: SocketRef<A>,
    event: &'static str,
    data: Payload,
    ack: AckSender<A>,
    chat: Arc<Chat>,
    id: VisitorIdentity,
) {
    match event {
        "profile" => reply(ack, on_profile(&chat, &id, data).await),
        "send" => reply(ack, on_send(&s, &chat, &id, data).await),
        "history" | "sync" => {
            // One page at a time per visitor; a request whose connection closed while it
            // waited for its turn is dropped unanswered (nobody is there to read it).
            let _lane = chat.page_lane(&id.visitor_id).await;
            if !s.connected() {
                return;
            }
            if event == "sync" {
                reply(ack, on_sync(&chat, &id, data).await)
            } else {
                reply(ack, on_history(&chat, &id, data).await)
            }
        }
        "read" => reply(ack, on_read(&chat, &id, data).await),
        "page" => {
            let allowed = s.extensions.get::<PageQueryParams>();
            reply(ack, on_page(&chat, &id, allowed, data).await)
        }
        "typing" => on_typing(&chat, &id, data).await,
        "transcript" => reply(ack, on_transcript(&chat, &id, data).await),
        _ => {}
    }
}

#[derive(Deserialize)]
struct Profile {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

async fn on_profile(chat: &Chat, id: &VisitorIdentity, data: Payload) -> DomainResult<Value> {
    let p: Profile = parse(data)?;
    let update = ProfileUpdate::parse(p.name.as_deref(), p.email.as_deref(), p.phone.as_deref())?;
    let visitor = chat.update_profile(id, update).await?;
    Ok(json!({ "visitor": visitor }))
}

async fn on_send<A: Adapter>(
    s: &SocketRef<A>,
    chat: &Chat,
    id: &VisitorIdentity,
    data: Payload,
) -> DomainResult<Sent> {
    let (client_id, text) = parse::<SendMessage>(data)?.parse()?;
    let message = chat
        .visitor_send(id, &connection_id(s), client_id, text)
        .await?;
    Ok(Sent { message })
}

async fn on_history(chat: &Chat, id: &VisitorIdentity, data: Payload) -> DomainResult<MessagePage> {
    let req: HistoryPage = parse(data)?;
    chat.visitor_history(id, req.before_seq, req.limit).await
}

async fn on_sync(chat: &Chat, id: &VisitorIdentity, data: Payload) -> DomainResult<MessagePage> {
    let req: SyncPage = parse(data)?;
    chat.visitor_sync(id, req.after_seq).await
}

async fn on_read(chat: &Chat, id: &VisitorIdentity, data: Payload) -> DomainResult<Value> {
    let req: Read = parse(data)?;
    chat.visitor_read(id, req.seq).await?;
    Ok(json!({}))
}

async fn on_transcript(chat: &Chat, id: &VisitorIdentity, data: Payload) -> DomainResult<Value> {
    let _: Nothing = parse(data)?;
    chat.visitor_transcript(id).await?;
    Ok(json!({}))
}

#[derive(Deserialize)]
struct PagePayload {
    url: String,
    title: Option<String>,
}

/// The query parameters the visitor's site lets through in page URLs; absent when none (most
/// sites), so an idle socket holds nothing for it.
#[derive(Clone)]
struct PageQueryParams(Arc<[String]>);

async fn on_page(
    chat: &Chat,
    id: &VisitorIdentity,
    allowed: Option<PageQueryParams>,
    data: Payload,
) -> DomainResult<Value> {
    let req: PagePayload = parse(data)?;
    let allowed = allowed.as_ref().map_or(&[][..], |a| &a.0[..]);
    let report = PageReport::parse(&req.url, req.title.as_deref(), allowed)?;
    chat.visitor_page(id, report).await?;
    Ok(json!({}))
}

async fn on_typing(chat: &Chat, id: &VisitorIdentity, data: Payload) {
    if let Ok(req) = parse::<Typing>(data) {
        chat.visitor_typing(id, req.typing).await;
    }
}
