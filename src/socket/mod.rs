//! Socket.IO transport: one module per namespace, the ack envelope, and [`Events`] over rooms.
//!
//! [`Events`]: crate::domain::events::Events

mod ack;
mod agent;
pub mod events;
mod requests;
pub mod revocation;
mod visitor;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, OriginalUri, Request};
use http::{HeaderValue, Uri};
use sha2::{Digest, Sha256};
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use socketioxide::layer::SocketIoLayer;
use socketioxide::socket::{DisconnectReason, Sid};
use socketioxide::SocketIo;
use socketioxide_core::adapter::DefinedAdapter;

use crate::domain::events::ConnectionId;
use crate::domain::Chat;
use crate::http::client_addr::ClientAddr;
use crate::telemetry::prometheus::{socket_dropped, Collect};
use events::{AGENT_NS, VISITOR_NS};

/// Largest accepted packet, on both transports. A message of 4000 characters, JSON-escaped
/// at worst, fits; a bigger packet closes the sender's connection before it is parsed.
pub const MAX_PACKET_BYTES: usize = 64 * 1024;

/// How the Socket.IO layer treats each connection.
#[derive(Debug, Clone, Copy)]
pub struct SocketLimits {
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    /// Bytes queued for one connection before it is closed.
    pub queue_bytes: usize,
}

/// Builds the Socket.IO layer with both namespaces, serving `chat` through adapter `A`
/// (local for one node, Redis for a cluster). The namespaces' adapter initialisations are
/// returned for the caller to await (Redis subscribes) or spawn.
pub fn layer<A: Adapter + DefinedAdapter>(
    chat: Arc<Chat>,
    adapter: A::State,
    limits: SocketLimits,
) -> (SocketIoLayer<A>, SocketIo<A>, [A::InitRes; 2]) {
    // A connection whose client does not read (a long-polling client that never issues its
    // GET, a WebSocket that stops reading) is closed once this much waits for it, whether
    // replies or events: its client reconnects and catches up with `sync`.
    engineioxide::socket::set_outgoing_byte_bound(limits.queue_bytes, queue_overflowed);
    let SocketLimits {
        ping_interval,
        ping_timeout,
        ..
    } = limits;
    let (layer, io) = SocketIo::builder()
        .ping_interval(ping_interval)
        .ping_timeout(ping_timeout)
        .max_payload(MAX_PACKET_BYTES as u64)
        .ws_max_message_size(MAX_PACKET_BYTES)
        .ws_max_frame_size(MAX_PACKET_BYTES)
        // Chat packets are small, and engineioxide's default 4 KiB read buffer is held by every
        // idle socket (its cost is in docs/benchmarks.md).
        .ws_read_buffer_size(1024)
        // Packets queued per socket before it is closed (like the byte bound above); the
        // default of 128 lost live events for an agent that stalled briefly. The queue
        // allocates lazily.
        .max_buffer_size(1024)
        .ack_timeout(Duration::from_secs(10))
        .with_state(chat)
        .with_adapter::<A>(adapter)
        .build_layer();
    let inits = [visitor::register(&io), agent::register(&io)];
    (layer, io, inits)
}

/// engineioxide keeps each socket's request head for the socket's lifetime, and the header
/// values and URIs (axum's `OriginalUri` too) that hyper parses are slices of the connection's
/// read buffer, which they keep alive. Copies of their own let that buffer go once the
/// handshake is read (what that saves per idle socket is in docs/benchmarks.md).
pub async fn detach_request_head(mut req: Request) -> Request {
    for value in req.headers_mut().values_mut() {
        if let Ok(mut own) = HeaderValue::from_bytes(value.as_bytes()) {
            own.set_sensitive(value.is_sensitive());
            *value = own;
        }
    }
    if let Ok(uri) = Uri::try_from(req.uri().to_string()) {
        *req.uri_mut() = uri;
    }
    if let Some(OriginalUri(original)) = req.extensions_mut().get_mut::<OriginalUri>() {
        if let Ok(uri) = Uri::try_from(original.to_string()) {
            *original = uri;
        }
    }
    req
}

/// Counted and logged: a client that stops reading is either gone or hostile.
fn queue_overflowed(sid: engineioxide::sid::Sid, queued_bytes: usize) {
    metrics::counter!("parlor_socket_overflow_disconnects_total").increment(1);
    socket_dropped("overflow");
    tracing::warn!(conn = %log_id(sid), queued_bytes, "outgoing queue full; closing the connection");
}

/// How logs name a connection: a digest of its id. The id itself lets whoever knows it go on
/// with a long-polling session, so it stays out of the logs; the digest still ties together
/// every line of one connection.
pub(crate) fn log_id(sid: Sid) -> String {
    let digest = Sha256::digest(sid.as_str().as_bytes());
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// The span a socket's handler runs in: its namespace, its connection and what it handles.
pub(crate) fn span<A: Adapter>(s: &SocketRef<A>, event: &str) -> tracing::Span {
    tracing::info_span!("socket", ns = s.ns(), conn = %log_id(s.id), event)
}

/// A socket of this node closed: logged, and counted when the server closed it for a fault of
/// the client's (the server's own closes are counted where it decides them).
pub(crate) fn closed(reason: DisconnectReason) {
    match reason {
        DisconnectReason::HeartbeatTimeout => socket_dropped("ping_timeout"),
        DisconnectReason::PacketParsingError | DisconnectReason::MultipleHttpPollingError => {
            socket_dropped("bad_packet")
        }
        _ => {}
    }
    tracing::debug!(%reason, "disconnected");
}

/// Sets `parlor_sockets{namespace}` from socketioxide's own socket maps at scrape time, so the
/// figure is exact whenever a socket closes (one reference per socket of this node, briefly).
pub fn count_sockets<A: Adapter>(io: SocketIo<A>) -> Collect {
    Arc::new(move || {
        for (ns, label) in [(VISITOR_NS, "visitor"), (AGENT_NS, "agent")] {
            let open = io.of(ns).map_or(0, |sockets| sockets.sockets().len());
            metrics::gauge!("parlor_sockets", "namespace" => label).set(open as f64);
        }
    })
}

pub(crate) fn connection_id<A: Adapter>(s: &SocketRef<A>) -> ConnectionId {
    ConnectionId(s.id.to_string())
}

/// The client's rate-limit key ([`ClientAddr`]: behind a trusted proxy the forwarded address,
/// an IPv6 client's /64), as the edge middleware resolved it for the handshake request.
pub(crate) fn remote_ip<A: Adapter>(s: &SocketRef<A>) -> String {
    let parts = s.req_parts();
    if let Some(client) = parts.extensions.get::<ClientAddr>() {
        return client.to_string();
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| ClientAddr::of(addr.ip()).to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use bytes::Bytes;

    #[tokio::test]
    async fn a_detached_request_head_no_longer_holds_the_read_buffer() {
        let path = "/socket.io/?EIO=4&transport=websocket";
        let read_buffer = Bytes::from(format!("GET {path} HTTP/1.1").into_bytes());
        let uri = Uri::from_maybe_shared(read_buffer.slice(4..4 + path.len())).unwrap();
        let origin = HeaderValue::from_maybe_shared(read_buffer.slice(0..3)).unwrap();
        let mut req = Request::builder()
            .uri(uri.clone())
            .header("origin", origin)
            .body(Body::empty())
            .unwrap();
        req.extensions_mut().insert(OriginalUri(uri));

        let req = detach_request_head(req).await;

        assert!(read_buffer.is_unique());
        assert_eq!(req.uri(), path);
        assert_eq!(req.headers()["origin"], "GET");
        let OriginalUri(original) = req.extensions().get::<OriginalUri>().unwrap();
        assert_eq!(original, path);
    }
}
