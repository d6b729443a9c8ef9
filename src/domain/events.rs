//! What the domain tells connected clients. The socket layer implements [`Events`]; the domain
//! only says who must hear what, never how.

use async_trait::async_trait;
use serde::Serialize;

use super::ids::{AgentId, ConversationId, SiteId};
use super::model::{ConversationRef, Message, Side, Summary};

/// Identifies one client connection, so an event can skip the connection that caused it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnectionId(pub String);

/// Events for the visitor side of one conversation (all of the visitor's tabs). Serialized as
/// the payload alone; [`VisitorEvent::name`] is the event's name on the wire.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum VisitorEvent {
    Message(Message),
    Typing(VisitorTyping),
    Presence(AgentsPresence),
    Read(ReadUpTo),
    Conversation(ConversationRef),
}

/// Events for every connected agent of a site, serialized like [`VisitorEvent`].
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum AgentEvent {
    Conversation(Box<Summary>),
    Message(Message),
    Presence(VisitorPresence),
    Typing(AgentTyping),
    Read(AgentRead),
    AgentPresence(AgentPresence),
}

impl VisitorEvent {
    pub fn name(&self) -> &'static str {
        match self {
            VisitorEvent::Message(_) => "message",
            VisitorEvent::Typing(_) => "typing",
            VisitorEvent::Presence(_) => "presence",
            VisitorEvent::Read(_) => "read",
            VisitorEvent::Conversation(_) => "conversation",
        }
    }
}

impl AgentEvent {
    pub fn name(&self) -> &'static str {
        match self {
            AgentEvent::Conversation(_) => "conversation",
            AgentEvent::Message(_) => "message",
            AgentEvent::Presence(_) => "presence",
            AgentEvent::Typing(_) => "typing",
            AgentEvent::Read(_) => "read",
            AgentEvent::AgentPresence(_) => "agentPresence",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VisitorTyping {
    pub typing: bool,
    pub agent_name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentsPresence {
    pub agents_online: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReadUpTo {
    pub seq: i64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VisitorPresence {
    pub conversation_id: ConversationId,
    pub online: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentTyping {
    pub conversation_id: ConversationId,
    pub typing: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentRead {
    pub conversation_id: ConversationId,
    pub by: Side,
    pub seq: i64,
}

#[async_trait]
pub trait Events: Send + Sync + 'static {
    /// To every connection of the conversation's visitor, except `except`.
    async fn to_visitor(
        &self,
        conversation_id: &ConversationId,
        except: Option<&ConnectionId>,
        event: VisitorEvent,
    );
    /// To every visitor connection of a site.
    async fn to_site_visitors(&self, site_id: &SiteId, event: VisitorEvent);
    /// To every agent connection of a site, except `except`.
    async fn to_agents(&self, site_id: &SiteId, except: Option<&ConnectionId>, event: AgentEvent);
    /// A new message, to both sides: the visitor's connections and the site's agents, except
    /// the connection that sent it. One call, because the payload is the same for both and an
    /// implementation can make it once.
    async fn message(&self, site_id: &SiteId, except: Except<'_>, message: &Message) {
        self.to_visitor(
            &message.conversation_id,
            except.visitor,
            VisitorEvent::Message(message.clone()),
        )
        .await;
        self.to_agents(site_id, except.agent, AgentEvent::Message(message.clone()))
            .await;
    }
}

/// The connection that caused an event sent to both sides, on the side it is of.
#[derive(Debug, Clone, Copy, Default)]
pub struct Except<'a> {
    pub visitor: Option<&'a ConnectionId>,
    pub agent: Option<&'a ConnectionId>,
}

/// An agent of the site came online or went offline (the team page's dot).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentPresence {
    pub agent_id: AgentId,
    pub online: bool,
}
