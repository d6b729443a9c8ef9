//! [`Chat`]: the one service every transport calls. It owns the store, presence, rate limits and
//! the per-conversation locks, and tells [`Events`] who must hear of each change.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard};

use super::auth::JwtKeys;
use super::error::{DomainError, DomainResult};
use super::events::{AgentEvent, AgentsPresence, Events, VisitorEvent, VisitorPresence};
use super::input::{page_limit, seq_cursor, SYNC_LIMIT};
use super::limits::{Limiters, RateLimits};
use super::model::{Message, MessagePage, Summary};
use super::presence::PresenceMap;
use crate::store::{Store, SummaryRow};

/// Number of striped conversation locks: bounded memory, rare false sharing.
const LOCK_STRIPES: usize = 1024;

pub struct ChatConfig {
    pub presence_grace: Duration,
    pub rate_limits: RateLimits,
}

pub struct Chat {
    pub(super) store: Arc<dyn Store>,
    pub(super) events: Arc<dyn Events>,
    pub(super) jwt: JwtKeys,
    pub(super) limiters: Limiters,
    visitors_online: PresenceMap,
    agents_online: PresenceMap,
    presence_grace: Duration,
    /// Held while a message is stored and announced, so each client receives a conversation's
    /// messages in `seq` order.
    conversation_locks: Vec<Mutex<()>>,
}

impl Chat {
    pub fn new(
        store: Arc<dyn Store>,
        events: Arc<dyn Events>,
        jwt: JwtKeys,
        config: ChatConfig,
    ) -> Arc<Self> {
        Arc::new(Chat {
            store,
            events,
            jwt,
            limiters: Limiters::new(config.rate_limits),
            visitors_online: PresenceMap::default(),
            agents_online: PresenceMap::default(),
            presence_grace: config.presence_grace,
            conversation_locks: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
        })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Drops idle rate-limit keys; called periodically.
    pub fn housekeeping(&self) {
        self.limiters.shrink();
    }

    pub(super) async fn lock_conversation(&self, conversation_id: &str) -> MutexGuard<'_, ()> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        conversation_id.hash(&mut h);
        let stripe = (h.finish() as usize) % self.conversation_locks.len();
        self.conversation_locks[stripe].lock().await
    }

    pub(super) fn summary_from(&self, row: SummaryRow) -> Summary {
        Summary {
            online: self.visitors_online.is_online(&row.conversation.id),
            id: row.conversation.id,
            visitor: row.visitor,
            status: row.conversation.status,
            page: row.page,
            last_message: row.last_message,
            unread: row.unread,
            updated_at: row.conversation.updated_at,
        }
    }

    /// The conversation's summary, or `NotFound` when it is not this site's.
    pub(super) async fn summary(
        &self,
        site_id: &str,
        conversation_id: &str,
    ) -> DomainResult<Summary> {
        let row = self
            .store
            .summary(site_id, conversation_id)
            .await?
            .ok_or(DomainError::NotFound)?;
        Ok(self.summary_from(row))
    }

    pub(super) async fn announce_summary(
        &self,
        site_id: &str,
        conversation_id: &str,
    ) -> DomainResult<Summary> {
        let summary = self.summary(site_id, conversation_id).await?;
        self.events
            .to_agents(
                site_id,
                None,
                AgentEvent::Conversation(Box::new(summary.clone())),
            )
            .await;
        Ok(summary)
    }

    pub(super) async fn history(
        &self,
        conversation_id: &str,
        before_seq: i64,
        limit: Option<i64>,
    ) -> DomainResult<MessagePage> {
        let before_seq = seq_cursor(before_seq)?;
        let limit = page_limit(limit)?;
        let mut messages = self
            .store
            .messages_before(conversation_id, before_seq, limit)
            .await?;
        let has_more = messages.len() as i64 > limit;
        if has_more {
            messages.remove(0);
        }
        Ok(MessagePage { messages, has_more })
    }

    pub(super) async fn sync(
        &self,
        conversation_id: &str,
        after_seq: i64,
    ) -> DomainResult<MessagePage> {
        let after_seq = seq_cursor(after_seq)?;
        let mut messages: Vec<Message> = self
            .store
            .messages_after(conversation_id, after_seq, SYNC_LIMIT)
            .await?;
        let has_more = messages.len() as i64 > SYNC_LIMIT;
        messages.truncate(SYNC_LIMIT as usize);
        Ok(MessagePage { messages, has_more })
    }

    pub(super) fn agents_online(&self, site_id: &str) -> bool {
        self.agents_online.is_online(site_id)
    }

    pub(super) async fn visitor_came(&self, site_id: &str, conversation_id: &str) {
        if self.visitors_online.connect(conversation_id) {
            let event = VisitorPresence {
                conversation_id: conversation_id.to_owned(),
                online: true,
            };
            self.events
                .to_agents(site_id, None, AgentEvent::Presence(event))
                .await;
        }
    }

    pub(super) fn visitor_left(self: &Arc<Self>, site_id: &str, conversation_id: &str) {
        let Some(generation) = self.visitors_online.disconnect(conversation_id) else {
            return;
        };
        let chat = Arc::clone(self);
        let (site_id, conversation_id) = (site_id.to_owned(), conversation_id.to_owned());
        tokio::spawn(async move {
            tokio::time::sleep(chat.presence_grace).await;
            if chat.visitors_online.expire(&conversation_id, generation) {
                let event = VisitorPresence {
                    conversation_id,
                    online: false,
                };
                chat.events
                    .to_agents(&site_id, None, AgentEvent::Presence(event))
                    .await;
            }
        });
    }

    pub(super) async fn agent_came(&self, site_id: &str) {
        if self.agents_online.connect(site_id) {
            let event = VisitorEvent::Presence(AgentsPresence {
                agents_online: true,
            });
            self.events.to_site_visitors(site_id, event).await;
        }
    }

    pub(super) fn agent_left(self: &Arc<Self>, site_id: &str) {
        let Some(generation) = self.agents_online.disconnect(site_id) else {
            return;
        };
        let chat = Arc::clone(self);
        let site_id = site_id.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(chat.presence_grace).await;
            if chat.agents_online.expire(&site_id, generation) {
                let event = VisitorEvent::Presence(AgentsPresence {
                    agents_online: false,
                });
                chat.events.to_site_visitors(&site_id, event).await;
            }
        });
    }
}
