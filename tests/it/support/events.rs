//! [`RecordingEvents`]: the domain's `Events` port, delivering into per-connection inboxes the
//! way the socket layer's rooms do (`c:<conversation>` and `s:<site>` in `/visitor`, `s:<site>`
//! in `/agent`, minus the connection that caused the event), so a test can ask who heard what.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use parlor::domain::events::{AgentEvent, ConnectionId, Events, VisitorEvent};
use parlor::domain::ids::{ConversationId, SiteId};
use parlor::domain::model::Message;

/// What one connection heard, in order.
#[derive(Debug, Clone)]
pub enum Heard {
    Visitor(VisitorEvent),
    Agent(AgentEvent),
}

impl Heard {
    /// The event's name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Heard::Visitor(event) => event.name(),
            Heard::Agent(event) => event.name(),
        }
    }

    pub fn message(&self) -> Option<&Message> {
        match self {
            Heard::Visitor(VisitorEvent::Message(m)) | Heard::Agent(AgentEvent::Message(m)) => {
                Some(m)
            }
            _ => None,
        }
    }
}

/// The names of the events, for `assert_eq!(names(&heard), ["presence", "conversation"])`.
pub fn names(heard: &[Heard]) -> Vec<&'static str> {
    heard.iter().map(Heard::name).collect()
}

/// The `seq`s of a list of messages (a page, a session).
pub fn message_seqs(messages: &[Message]) -> Vec<i64> {
    messages.iter().map(|m| m.seq).collect()
}

/// The `seq`s of the messages among the events.
pub fn seqs(heard: &[Heard]) -> Vec<i64> {
    heard
        .iter()
        .filter_map(Heard::message)
        .map(|m| m.seq)
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Room {
    /// A `/visitor` connection: its conversation's room and its site's.
    Visitor {
        site_id: SiteId,
        conversation_id: ConversationId,
    },
    /// An `/agent` connection: its site's room.
    Agent { site_id: SiteId },
}

struct Connection {
    room: Room,
    inbox: Vec<Heard>,
}

#[derive(Default)]
struct State {
    /// Keyed by connection id; ordered, so a failing test prints them stably.
    connections: BTreeMap<String, Connection>,
    /// Every event the domain emitted, delivered to anyone or not.
    emitted: usize,
}

#[derive(Default)]
pub struct RecordingEvents {
    state: Mutex<State>,
}

impl RecordingEvents {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut state)
    }

    pub fn join_visitor(
        &self,
        connection: &ConnectionId,
        site_id: &SiteId,
        conversation_id: &ConversationId,
    ) {
        self.join(
            connection,
            Room::Visitor {
                site_id: site_id.clone(),
                conversation_id: conversation_id.clone(),
            },
        );
    }

    pub fn join_agent(&self, connection: &ConnectionId, site_id: &SiteId) {
        self.join(
            connection,
            Room::Agent {
                site_id: site_id.clone(),
            },
        );
    }

    fn join(&self, connection: &ConnectionId, room: Room) {
        self.with(|s| {
            s.connections.insert(
                connection.0.clone(),
                Connection {
                    room,
                    inbox: Vec::new(),
                },
            )
        });
    }

    /// The connection closed: it hears nothing more.
    pub fn leave(&self, connection: &ConnectionId) {
        self.with(|s| s.connections.remove(&connection.0));
    }

    /// What the connection heard since the last call.
    pub fn take(&self, connection: &ConnectionId) -> Vec<Heard> {
        self.with(|s| {
            s.connections
                .get_mut(&connection.0)
                .map(|c| std::mem::take(&mut c.inbox))
                .unwrap_or_default()
        })
    }

    /// Forgets what every connection heard so far.
    pub fn clear(&self) {
        self.with(|s| {
            for c in s.connections.values_mut() {
                c.inbox.clear();
            }
        });
    }

    /// An event for one connection alone (what a socket emits to itself).
    pub fn tell(&self, connection: &ConnectionId, event: VisitorEvent) {
        self.with(|s| {
            s.emitted += 1;
            if let Some(c) = s.connections.get_mut(&connection.0) {
                c.inbox.push(Heard::Visitor(event));
            }
        });
    }

    /// How many events the domain has emitted in all, heard by anyone or not.
    pub fn emitted(&self) -> usize {
        self.with(|s| s.emitted)
    }

    fn deliver(
        &self,
        except: Option<&ConnectionId>,
        hears: impl Fn(&Room) -> bool,
        event: impl Fn() -> Heard,
    ) {
        self.with(|s| {
            s.emitted += 1;
            for (id, c) in s.connections.iter_mut() {
                if hears(&c.room) && except.is_none_or(|e| &e.0 != id) {
                    c.inbox.push(event());
                }
            }
        });
    }
}

#[async_trait]
impl Events for RecordingEvents {
    async fn to_visitor(
        &self,
        conversation_id: &ConversationId,
        except: Option<&ConnectionId>,
        event: VisitorEvent,
    ) {
        self.deliver(
            except,
            |room| matches!(room, Room::Visitor { conversation_id: c, .. } if c == conversation_id),
            || Heard::Visitor(event.clone()),
        );
    }

    async fn to_site_visitors(&self, site_id: &SiteId, event: VisitorEvent) {
        self.deliver(
            None,
            |room| matches!(room, Room::Visitor { site_id: s, .. } if s == site_id),
            || Heard::Visitor(event.clone()),
        );
    }

    async fn to_agents(&self, site_id: &SiteId, except: Option<&ConnectionId>, event: AgentEvent) {
        self.deliver(
            except,
            |room| matches!(room, Room::Agent { site_id: s } if s == site_id),
            || Heard::Agent(event.clone()),
        );
    }
}
