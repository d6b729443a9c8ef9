//! [`Events`] delivered through Socket.IO rooms: `c:<conversation>` and `s:<site>` in
//! `/visitor`, `s:<site>` in `/agent`.
//!
//! With the Redis adapter a broadcast is published to Redis before it is delivered locally, and
//! a failed publish skips the local delivery too. Same-node delivery must not depend on Redis,
//! so a broadcast that fails or stalls is repeated for this node's sockets only.

use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use socketioxide::adapter::Adapter;
use socketioxide::operators::BroadcastOperators;
use socketioxide::socket::Sid;
use socketioxide::BroadcastError;
use socketioxide::SocketIo;

use serde_json::value::to_raw_value;

use crate::domain::events::{AgentEvent, ConnectionId, Events, Except, VisitorEvent};
use crate::domain::ids::{ConversationId, SiteId};
use crate::domain::model::Message;

pub const VISITOR_NS: &str = "/visitor";
pub const AGENT_NS: &str = "/agent";

/// How long a cluster-wide broadcast may take before this node delivers locally on its own.
const BROADCAST_TIMEOUT: Duration = Duration::from_millis(750);

pub fn conversation_room(conversation_id: &ConversationId) -> String {
    format!("c:{conversation_id}")
}

pub fn site_room(site_id: &SiteId) -> String {
    format!("s:{site_id}")
}

/// Delivers domain events. Created before the `SocketIo` it sends through (the chat service
/// that owns it is the Socket.IO state), so the handle is set once with [`SocketEvents::bind`].
pub struct SocketEvents<A: Adapter> {
    io: OnceLock<SocketIo<A>>,
}

impl<A: Adapter> Default for SocketEvents<A> {
    fn default() -> Self {
        SocketEvents {
            io: OnceLock::new(),
        }
    }
}

/// Who an event goes to: a room of a namespace, minus the connection that caused it.
struct Audience<'a> {
    ns: &'static str,
    room: String,
    except: Option<&'a ConnectionId>,
}

impl<A: Adapter> SocketEvents<A> {
    pub fn bind(&self, io: SocketIo<A>) {
        let _ = self.io.set(io);
    }

    fn operators(&self, to: &Audience<'_>) -> Option<BroadcastOperators<A>> {
        let nsp = self.io.get()?.of(to.ns)?;
        let sender = to
            .except
            .and_then(|c| c.0.parse::<Sid>().ok())
            .and_then(|sid| nsp.get_socket(sid));
        Some(match sender {
            Some(socket) => socket.to(to.room.clone()),
            None => nsp.to(to.room.clone()),
        })
    }

    async fn emit<T: Serialize + ?Sized + Sync>(&self, to: Audience<'_>, event: &str, data: &T) {
        let Some(ops) = self.operators(&to) else {
            return;
        };
        let failure = match tokio::time::timeout(BROADCAST_TIMEOUT, ops.emit(event, data)).await {
            Ok(Ok(())) => return,
            // Only a failed publish skipped the local delivery; a socket that could not take
            // the event (closing, buffer full) must not make the others receive it twice.
            Ok(Err(BroadcastError::Adapter(e))) => e.to_string(),
            Ok(Err(e)) => {
                tracing::debug!(event, error = %e, "some sockets missed an event");
                return;
            }
            Err(_) => "timed out".to_owned(),
        };
        tracing::warn!(event, error = %failure, "cluster broadcast failed; delivering on this node only");
        if let Some(ops) = self.operators(&to) {
            if let Err(e) = ops.local().emit(event, data).await {
                tracing::warn!(event, error = %e, "local delivery failed");
            }
        }
    }
}

#[async_trait]
impl<A: Adapter> Events for SocketEvents<A> {
    /// The message is serialized once, for both rooms (docs/benchmarks.md, "Seventh round").
    async fn message(&self, site_id: &SiteId, except: Except<'_>, message: &Message) {
        let payload = match to_raw_value(message) {
            Ok(payload) => payload,
            Err(e) => {
                tracing::error!(error = %e, "could not serialize a message");
                return;
            }
        };
        let to_visitor = Audience {
            ns: VISITOR_NS,
            room: conversation_room(&message.conversation_id),
            except: except.visitor,
        };
        self.emit(to_visitor, "message", &payload).await;
        let to_agents = Audience {
            ns: AGENT_NS,
            room: site_room(site_id),
            except: except.agent,
        };
        self.emit(to_agents, "message", &payload).await;
    }

    async fn to_visitor(
        &self,
        conversation_id: &ConversationId,
        except: Option<&ConnectionId>,
        event: VisitorEvent,
    ) {
        let to = Audience {
            ns: VISITOR_NS,
            room: conversation_room(conversation_id),
            except,
        };
        self.emit(to, event.name(), &event).await;
    }

    async fn to_site_visitors(&self, site_id: &SiteId, event: VisitorEvent) {
        let to = Audience {
            ns: VISITOR_NS,
            room: site_room(site_id),
            except: None,
        };
        self.emit(to, event.name(), &event).await;
    }

    async fn to_agents(&self, site_id: &SiteId, except: Option<&ConnectionId>, event: AgentEvent) {
        let to = Audience {
            ns: AGENT_NS,
            room: site_room(site_id),
            except,
        };
        self.emit(to, event.name(), &event).await;
    }
}
