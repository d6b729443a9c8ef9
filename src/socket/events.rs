//! [`Events`] delivered through Socket.IO rooms: `c:<conversation>` and `s:<site>` in
//! `/visitor`, `s:<site>` in `/agent`.

use std::sync::OnceLock;

use async_trait::async_trait;
use serde::Serialize;
use socketioxide::operators::BroadcastOperators;
use socketioxide::socket::Sid;
use socketioxide::SocketIo;

use crate::domain::events::{AgentEvent, ConnectionId, Events, VisitorEvent};

pub const VISITOR_NS: &str = "/visitor";
pub const AGENT_NS: &str = "/agent";

pub fn conversation_room(conversation_id: &str) -> String {
    format!("c:{conversation_id}")
}

pub fn site_room(site_id: &str) -> String {
    format!("s:{site_id}")
}

/// Delivers domain events. Created before the `SocketIo` it sends through (the chat service
/// that owns it is the Socket.IO state), so the handle is set once with [`SocketEvents::bind`].
#[derive(Default)]
pub struct SocketEvents {
    io: OnceLock<SocketIo>,
}

impl SocketEvents {
    pub fn bind(&self, io: SocketIo) {
        let _ = self.io.set(io);
    }

    /// The room's sockets in namespace `ns`, without the connection `except`.
    fn audience(
        &self,
        ns: &str,
        room: String,
        except: Option<&ConnectionId>,
    ) -> Option<BroadcastOperators> {
        let nsp = self.io.get()?.of(ns)?;
        let sender = except
            .and_then(|c| c.0.parse::<Sid>().ok())
            .and_then(|sid| nsp.get_socket(sid));
        Some(match sender {
            Some(socket) => socket.to(room),
            None => nsp.to(room),
        })
    }
}

async fn emit<T: Serialize + ?Sized>(to: Option<BroadcastOperators>, event: &str, data: &T) {
    if let Some(to) = to {
        if let Err(e) = to.emit(event, data).await {
            tracing::warn!(event, error = %e, "broadcast failed");
        }
    }
}

async fn emit_visitor_event(to: Option<BroadcastOperators>, event: VisitorEvent) {
    match event {
        VisitorEvent::Message(m) => emit(to, "message", &m).await,
        VisitorEvent::Typing(t) => emit(to, "typing", &t).await,
        VisitorEvent::Presence(p) => emit(to, "presence", &p).await,
        VisitorEvent::Read(r) => emit(to, "read", &r).await,
        VisitorEvent::Conversation(c) => emit(to, "conversation", &c).await,
    }
}

#[async_trait]
impl Events for SocketEvents {
    async fn to_visitor(
        &self,
        conversation_id: &str,
        except: Option<&ConnectionId>,
        event: VisitorEvent,
    ) {
        let to = self.audience(VISITOR_NS, conversation_room(conversation_id), except);
        emit_visitor_event(to, event).await;
    }

    async fn to_site_visitors(&self, site_id: &str, event: VisitorEvent) {
        let to = self.audience(VISITOR_NS, site_room(site_id), None);
        emit_visitor_event(to, event).await;
    }

    async fn to_agents(&self, site_id: &str, except: Option<&ConnectionId>, event: AgentEvent) {
        let to = self.audience(AGENT_NS, site_room(site_id), except);
        match event {
            AgentEvent::Conversation(s) => emit(to, "conversation", &s).await,
            AgentEvent::Message(m) => emit(to, "message", &m).await,
            AgentEvent::Presence(p) => emit(to, "presence", &p).await,
            AgentEvent::Typing(t) => emit(to, "typing", &t).await,
            AgentEvent::Read(r) => emit(to, "read", &r).await,
        }
    }
}
