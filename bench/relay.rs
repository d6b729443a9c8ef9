//! `parlor-relay`: the framework's ceiling for `parlor-bench`.
//!
//! A minimal socketioxide 0.18 relay with no database and no rules, configured like Parlor's
//! Socket.IO layer (same payload limits, same ack timeout, `TCP_NODELAY`). It speaks just
//! enough of Parlor's protocol for `parlor-bench connect` and `chat`:
//! - `/visitor` handshake `auth: { siteKey }`: joins the site's room, emits `session`;
//!   `send { clientId, text }` emits `message` to the site's agents, then acks
//!   `{ ok: true, message }` (Parlor's order).
//! - `/agent` handshake `auth: { token }`, where the token is `relay:<siteKey>`: joins the
//!   site's room, emits `conversations`; `send { conversationId, clientId, text }` emits
//!   `message` to the visitor (its conversation id is its socket id) and acks.
//!
//! Environment: `PARLOR_LISTEN` (default `127.0.0.1:8090`). Prints `listening on http://ADDR`.
//! For experiments on the framework's knobs (unset: socketioxide's defaults, as in Parlor):
//! `RELAY_WS_READ_BUFFER` (bytes), `RELAY_MAX_BUFFER` (packets queued per socket).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use serde::Deserialize;
use serde_json::{json, Value};
use socketioxide::extract::{AckSender, Extension, SocketRef, TryData};
use socketioxide::SocketIo;

const MAX_PACKET_BYTES: usize = 64 * 1024;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VisitorAuth {
    site_key: String,
}

#[derive(Deserialize)]
struct AgentAuth {
    token: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VisitorSend {
    client_id: String,
    text: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AgentSend {
    conversation_id: String,
    client_id: String,
    text: String,
}

/// What a visitor socket keeps: its site and its message counter.
struct Visitor {
    site: String,
    conversation: String,
    seq: AtomicI64,
}

/// Parlor's `createdAt` (RFC 3339 UTC, milliseconds), formatted the way the server formats it,
/// so that the relay's messages are as long, and as costly to stamp, as the server's.
fn now_rfc3339() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

fn message(conversation: &str, seq: i64, sender: &str, text: &str, client_id: &str) -> Value {
    json!({
        "id": format!("m{}", NEXT_ID.fetch_add(1, Ordering::Relaxed)),
        "conversationId": conversation,
        "seq": seq,
        "sender": sender,
        "agentName": if sender == "agent" { Some("Relay") } else { None },
        "text": text,
        "clientId": client_id,
        "createdAt": now_rfc3339(),
    })
}

fn invalid() -> Value {
    json!({ "ok": false, "error": { "code": "invalid", "message": "invalid payload" } })
}

async fn on_visitor(s: SocketRef, TryData(auth): TryData<VisitorAuth>) {
    let Ok(auth) = auth else {
        let _ = s.disconnect();
        return;
    };
    let conversation = s.id.to_string();
    s.join([format!("s:{}", auth.site_key), format!("c:{conversation}")]);
    let visitor = Arc::new(Visitor {
        site: auth.site_key,
        conversation,
        seq: AtomicI64::new(0),
    });
    let _ = s.emit(
        "session",
        &json!({
            "visitor": { "id": visitor.conversation, "name": null, "email": null, "phone": null },
            "token": visitor.conversation,
            "conversation": { "id": visitor.conversation, "status": "open" },
            "messages": [],
            "hasMore": false,
            "agentsOnline": true,
        }),
    );
    s.extensions.insert(visitor);
    s.on(
        "send",
        async |io: SocketIo,
               TryData(req): TryData<VisitorSend>,
               ack: AckSender,
               Extension(v): Extension<Arc<Visitor>>| {
            let Ok(req) = req else {
                let _ = ack.send(&invalid());
                return;
            };
            let seq = v.seq.fetch_add(1, Ordering::Relaxed) + 1;
            let m = message(&v.conversation, seq, "visitor", &req.text, &req.client_id);
            if let Some(agents) = io.of("/agent") {
                let _ = agents.to(format!("s:{}", v.site)).emit("message", &m).await;
            }
            let _ = ack.send(&json!({ "ok": true, "message": m }));
        },
    );
}

async fn on_agent(s: SocketRef, TryData(auth): TryData<AgentAuth>) {
    let site = match auth
        .ok()
        .and_then(|a| a.token.strip_prefix("relay:").map(str::to_owned))
    {
        Some(site) => site,
        None => {
            let _ = s.disconnect();
            return;
        }
    };
    s.join(format!("s:{site}"));
    let _ = s.emit(
        "conversations",
        &json!({ "conversations": [], "hasMore": false }),
    );
    s.on(
        "send",
        async |io: SocketIo, TryData(req): TryData<AgentSend>, ack: AckSender| {
            let Ok(req) = req else {
                let _ = ack.send(&invalid());
                return;
            };
            let m = message(&req.conversation_id, 0, "agent", &req.text, &req.client_id);
            if let Some(visitors) = io.of("/visitor") {
                let _ = visitors
                    .to(format!("c:{}", req.conversation_id))
                    .emit("message", &m)
                    .await;
            }
            let _ = ack.send(&json!({ "ok": true, "message": m }));
        },
    );
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listen: SocketAddr = std::env::var("PARLOR_LISTEN")
        .unwrap_or_else(|_| "127.0.0.1:8090".into())
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let knob = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
    };
    let mut builder = SocketIo::builder();
    if let Some(n) = knob("RELAY_WS_READ_BUFFER") {
        builder = builder.ws_read_buffer_size(n);
    }
    if let Some(n) = knob("RELAY_MAX_BUFFER") {
        builder = builder.max_buffer_size(n);
    }
    let (layer, io) = builder
        .max_payload(MAX_PACKET_BYTES as u64)
        .ws_max_message_size(MAX_PACKET_BYTES)
        .ws_max_frame_size(MAX_PACKET_BYTES)
        .ack_timeout(Duration::from_secs(10))
        .build_layer();
    io.ns("/visitor", on_visitor);
    io.ns("/agent", on_agent);
    let router = axum::Router::new().layer(layer);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router).await
}
