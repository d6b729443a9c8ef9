//! Socket.IO transport: one module per namespace, the ack envelope, and [`Events`] over rooms.
//!
//! [`Events`]: crate::domain::events::Events

mod ack;
mod agent;
pub mod events;
mod visitor;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use socketioxide::layer::SocketIoLayer;
use socketioxide::SocketIo;
use socketioxide_core::adapter::DefinedAdapter;

use crate::domain::events::ConnectionId;
use crate::domain::Chat;

/// Largest accepted packet, on both transports. A message of 4000 characters, JSON-escaped
/// at worst, fits; a bigger packet closes the sender's connection before it is parsed.
pub const MAX_PACKET_BYTES: usize = 64 * 1024;

/// Builds the Socket.IO layer with both namespaces, serving `chat` through adapter `A`
/// (local for one node, Redis for a cluster). The namespaces' adapter initialisations are
/// returned for the caller to await (Redis subscribes) or spawn.
pub fn layer<A: Adapter + DefinedAdapter>(
    chat: Arc<Chat>,
    adapter: A::State,
) -> (SocketIoLayer<A>, SocketIo<A>, [A::InitRes; 2]) {
    let (layer, io) = SocketIo::builder()
        .max_payload(MAX_PACKET_BYTES as u64)
        .ws_max_message_size(MAX_PACKET_BYTES)
        .ws_max_frame_size(MAX_PACKET_BYTES)
        // Chat packets are small; engineioxide's default 4 KiB read buffer per socket was
        // measured at 3 KiB more RSS per idle socket (docs/benchmarks.md).
        .ws_read_buffer_size(1024)
        // Packets queued per socket before a broadcast to it fails; the default of 128 lost
        // live events for an agent that stalled briefly. The queue allocates lazily.
        .max_buffer_size(1024)
        .ack_timeout(Duration::from_secs(10))
        .with_state(chat)
        .with_adapter::<A>(adapter)
        .build_layer();
    let inits = [visitor::register(&io), agent::register(&io)];
    (layer, io, inits)
}

pub(crate) fn connection_id<A: Adapter>(s: &SocketRef<A>) -> ConnectionId {
    ConnectionId(s.id.to_string())
}

pub(crate) fn remote_ip<A: Adapter>(s: &SocketRef<A>) -> String {
    s.req_parts()
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}
