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
use socketioxide::extract::SocketRef;
use socketioxide::layer::SocketIoLayer;
use socketioxide::SocketIo;

use crate::domain::events::ConnectionId;
use crate::domain::Chat;

/// Largest accepted packet, on both transports. A message of 4000 characters, JSON-escaped
/// at worst, fits; a bigger packet closes the sender's connection before it is parsed.
pub const MAX_PACKET_BYTES: usize = 64 * 1024;

/// Builds the Socket.IO layer with both namespaces, serving `chat`.
pub fn layer(chat: Arc<Chat>) -> (SocketIoLayer, SocketIo) {
    let (layer, io) = SocketIo::builder()
        .max_payload(MAX_PACKET_BYTES as u64)
        .ws_max_message_size(MAX_PACKET_BYTES)
        .ws_max_frame_size(MAX_PACKET_BYTES)
        .ack_timeout(Duration::from_secs(10))
        .with_state(chat)
        .build_layer();
    visitor::register(&io);
    agent::register(&io);
    (layer, io)
}

pub(crate) fn connection_id(s: &SocketRef) -> ConnectionId {
    ConnectionId(s.id.to_string())
}

pub(crate) fn remote_ip(s: &SocketRef) -> String {
    s.req_parts()
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}
