//! Request payloads as both namespaces receive them. An agent names the conversation
//! (`conversationId`) on top of what a visitor sends, who has only one.

use serde::Deserialize;

use crate::domain::ids::{AgentId, ConversationId};
use crate::domain::input::{ClientId, MessageContent};
use crate::domain::{DomainError, DomainResult};

/// An agent's request: the visitor's payload plus the conversation it is about.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InConversation<T> {
    conversation_id: String,
    #[serde(flatten)]
    pub request: T,
}

impl<T> InConversation<T> {
    /// The conversation named; one that cannot exist is `not_found`.
    pub fn conversation(&self) -> DomainResult<ConversationId> {
        ConversationId::named(&self.conversation_id)
    }
}

/// An admin's request about a member of the team.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OfAgent<T> {
    agent_id: String,
    #[serde(flatten)]
    pub request: T,
}

impl<T> OfAgent<T> {
    /// The agent named; an id that cannot exist is `not_found`.
    pub fn agent(&self) -> DomainResult<AgentId> {
        AgentId::parse(&self.agent_id).ok_or(DomainError::NotFound)
    }
}

#[derive(Deserialize)]
pub struct SetRole {
    pub role: String,
}

#[derive(Deserialize)]
pub struct SetDisabled {
    pub disabled: bool,
}

/// `end`: nothing but the conversation.
#[derive(Deserialize)]
pub struct Nothing {}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendMessage {
    client_id: String,
    text: Option<String>,
    #[serde(default)]
    attachments: Option<Vec<String>>,
}

impl SendMessage {
    pub fn parse(&self) -> DomainResult<(ClientId, MessageContent)> {
        Ok((
            ClientId::parse(&self.client_id)?,
            MessageContent::parse(
                self.text.as_deref(),
                self.attachments.as_deref().unwrap_or_default(),
            )?,
        ))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPage {
    pub before_seq: i64,
    pub limit: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncPage {
    pub after_seq: i64,
}

#[derive(Deserialize)]
pub struct Read {
    pub seq: i64,
}

#[derive(Deserialize)]
pub struct Typing {
    pub typing: bool,
}
