//! [`Chat`]: the one service every transport calls. It owns the store, presence, rate limits and
//! the per-conversation locks, and tells [`Events`] who must hear of each change.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard, Notify, Semaphore};

use super::auth::JwtKeys;
use super::cluster::{Cluster, Member};
use super::error::{DomainError, DomainResult};
use super::events::{
    AgentEvent, AgentPresence, AgentsPresence, ConnectionId, Events, Except, VisitorEvent,
    VisitorPresence,
};
use super::ids::{AgentId, ConversationId, MessageId, SiteId, VisitorId};
use super::input::{page_limit, seq_cursor, ClientId, MessageContent, SYNC_LIMIT};
use super::limits::{Budget, Limiters, RateLimits};
use super::mail::MailConfig;
use super::model::{
    activity_now, now_millis, Conversation, ConversationRef, Message, MessagePage, Millis, Sender,
    Side, Status, Summary,
};
use super::presence::PresenceMap;
use super::replies::{ReplyBudget, ReplyLimits, MESSAGE_READ_BYTES};
use super::slots::VisitorSlots;
use super::store::{NewMessage, SeqSide, Store, SummaryRow};
use super::uploads::{UploadConfig, Uploads};
use super::visitors::check_read_seq;

/// Number of striped conversation locks: bounded memory, rare false sharing.
const LOCK_STRIPES: usize = 1024;

fn stripe(key: &impl Hash, stripes: usize) -> usize {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    (h.finish() as usize) % stripes
}

/// Who sends a message.
pub(super) struct Author<'a> {
    pub sender: Sender,
    /// An agent's id and display name.
    pub agent: Option<(&'a AgentId, &'a str)>,
    /// The connection that sent it: it has its ack, the event skips it.
    pub from: &'a ConnectionId,
}

pub struct ChatConfig {
    pub presence_grace: Duration,
    pub rate_limits: RateLimits,
    pub reply_limits: ReplyLimits,
    pub max_sockets_per_visitor: u32,
    /// A visitor token unused for this long is no longer accepted.
    pub visitor_token_ttl: Duration,
    /// Password checks (argon2, about 19 MiB each) that may run at once.
    pub password_checks: usize,
    /// How long a login waits for a password check slot before it is `Unavailable`.
    pub password_wait: Duration,
    pub invitations: InvitationConfig,
    /// `None`: this server sends no e-mail.
    pub mail: Option<MailConfig>,
    pub uploads: UploadConfig,
}

/// How invitation links are made.
#[derive(Debug, Clone)]
pub struct InvitationConfig {
    /// How long a link stays valid.
    pub ttl: Duration,
    /// The absolute base of links (`PARLOR_PUBLIC_URL`); without it, the dashboard's origin.
    pub public_url: Option<String>,
}

pub struct Chat {
    pub(super) store: Arc<dyn Store>,
    pub(super) events: Arc<dyn Events>,
    pub(super) jwt: JwtKeys,
    pub(super) limiters: Limiters,
    pub(super) replies: ReplyBudget,
    pub(super) visitor_slots: Arc<VisitorSlots>,
    /// Slots for password checks: bounds argon2's memory and CPU, however many logins arrive.
    /// A permit moves into the blocking task, so a check whose client has gone (its future
    /// dropped) still holds its slot until argon2 is done with its memory.
    pub(super) password_checks: Arc<Semaphore>,
    pub(super) password_wait: Duration,
    /// Connections on this node, per presence member.
    presence: PresenceMap,
    cluster: Arc<dyn Cluster>,
    presence_grace: Duration,
    pub(super) visitor_token_ttl: Duration,
    pub(super) invitations: InvitationConfig,
    pub(super) mail: Option<MailConfig>,
    /// Wakes this node's e-mail worker when it queues an e-mail.
    pub(super) mail_wake: Arc<Notify>,
    pub(super) uploads: Uploads,
    /// Held while a message is stored and announced, so each client receives a conversation's
    /// messages in `seq` order.
    conversation_locks: Vec<Mutex<()>>,
    /// One page (`sync`, `history`) read at a time per visitor: a visitor that floods them
    /// waits in its own lane instead of queueing thousands of reads for the shared budget.
    page_lanes: Vec<Mutex<()>>,
}

impl Chat {
    pub fn new(
        store: Arc<dyn Store>,
        events: Arc<dyn Events>,
        cluster: Arc<dyn Cluster>,
        jwt: JwtKeys,
        config: ChatConfig,
    ) -> Arc<Self> {
        Arc::new(Chat {
            store,
            events,
            jwt,
            limiters: Limiters::new(config.rate_limits),
            replies: ReplyBudget::new(config.reply_limits),
            visitor_slots: VisitorSlots::new(config.max_sockets_per_visitor),
            password_checks: Arc::new(Semaphore::new(config.password_checks.max(1))),
            password_wait: config.password_wait,
            presence: PresenceMap::default(),
            cluster,
            presence_grace: config.presence_grace,
            visitor_token_ttl: config.visitor_token_ttl,
            invitations: config.invitations,
            mail: config.mail,
            mail_wake: Arc::new(Notify::new()),
            uploads: Uploads::new(config.uploads),
            conversation_locks: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
            page_lanes: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
        })
    }

    /// What wakes this node's e-mail worker ([`super::mail::deliver`]).
    pub fn mail_wake(&self) -> Arc<Notify> {
        self.mail_wake.clone()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn cluster(&self) -> &Arc<dyn Cluster> {
        &self.cluster
    }

    /// Drops idle rate-limit keys; called periodically.
    pub fn housekeeping(&self) {
        self.limiters.shrink();
    }

    pub(super) async fn lock_conversation(
        &self,
        conversation_id: &ConversationId,
    ) -> MutexGuard<'_, ()> {
        self.conversation_locks[stripe(conversation_id, LOCK_STRIPES)]
            .lock()
            .await
    }

    /// Waits for the visitor's page lane: hold it while reading a `sync` or `history` page.
    /// Striped, so an idle visitor costs nothing; two visitors rarely share a lane.
    pub async fn page_lane(&self, visitor_id: &VisitorId) -> MutexGuard<'_, ()> {
        self.page_lanes[stripe(visitor_id, LOCK_STRIPES)]
            .lock()
            .await
    }

    /// Stored summaries with presence added.
    pub(super) async fn summaries(&self, rows: Vec<SummaryRow>) -> Vec<Summary> {
        let members: Vec<Member> = rows
            .iter()
            .map(|r| Member::Visitor {
                site_id: r.conversation.site_id.clone(),
                conversation_id: r.conversation.id.clone(),
            })
            .collect();
        let online = self.online(&members).await;
        rows.into_iter()
            .zip(online)
            .map(|(mut row, online)| Summary {
                online,
                id: row.conversation.id,
                visitor: row.visitor,
                status: row.conversation.status,
                page: row.page,
                last_message: {
                    self.sign_messages(row.last_message.as_mut());
                    row.last_message
                },
                unread: row.unread,
                updated_at: row.conversation.updated_at,
            })
            .collect()
    }

    /// Stores a message (or finds the original of a retry) under the conversation's lock and
    /// announces a new one to the visitor's connections and the site's agents, skipping the
    /// connection that sent it. A visitor's message reopens an ended conversation, and that is
    /// announced before the message.
    pub(super) async fn post(
        &self,
        site_id: &SiteId,
        conversation_id: &ConversationId,
        author: Author<'_>,
        client_id: ClientId,
        content: MessageContent,
    ) -> DomainResult<Message> {
        let by_visitor = author.sender == Sender::Visitor;
        let side = if by_visitor {
            Side::Visitor
        } else {
            Side::Agent
        };
        let attachments = self
            .attachments_of(conversation_id, side, &content.attachments)
            .await?;
        let now = now_millis();
        let mail_due_at = self.mail_due_at(site_id, author.sender, now).await;
        let _order = self.lock_conversation(conversation_id).await;
        let appended = self
            .store
            .append_message(NewMessage {
                id: &MessageId::generate(),
                site_id,
                conversation_id,
                sender: author.sender,
                agent_id: author.agent.map(|(id, _)| id),
                agent_name: author.agent.map(|(_, name)| name),
                text: content.text.as_str(),
                client_id: Some(client_id.as_str()),
                reopen: by_visitor,
                now,
                activity: activity_now(),
                mail_due_at,
                attachments: &attachments,
            })
            .await?
            .ok_or(DomainError::NotFound)?;
        let mut message = appended.message;
        self.sign_messages([&mut message]);
        if appended.created {
            let side = if by_visitor { "visitor" } else { "agent" };
            metrics::counter!("parlor_messages_total", "side" => side).increment(1);
            if appended.reopened {
                self.conversation_changed(site_id, conversation_id, Status::Open)
                    .await?;
            }
            let except = if by_visitor {
                Except {
                    visitor: Some(author.from),
                    agent: None,
                }
            } else {
                Except {
                    visitor: None,
                    agent: Some(author.from),
                }
            };
            self.events.message(site_id, except, &message).await;
        }
        Ok(message)
    }

    /// When a message sent now is to be e-mailed to the other side if it stays unread: an
    /// agent's always (to the visitor), a visitor's when no agent of the site is online.
    async fn mail_due_at(&self, site_id: &SiteId, sender: Sender, now: Millis) -> Option<Millis> {
        let mail = self.mail.as_ref()?;
        match sender {
            Sender::Agent => Some(mail.due_at(Side::Visitor, now)),
            Sender::Visitor => {
                let agents = Member::Agents {
                    site_id: site_id.clone(),
                };
                if self.is_online(agents).await {
                    None
                } else {
                    Some(mail.due_at(Side::Agent, now))
                }
            }
            Sender::System => None,
        }
    }

    /// Tells both sides that the conversation was ended or reopened.
    pub(super) async fn conversation_changed(
        &self,
        site_id: &SiteId,
        conversation_id: &ConversationId,
        status: Status,
    ) -> DomainResult<()> {
        let change = ConversationRef {
            id: conversation_id.clone(),
            status,
        };
        self.events
            .to_visitor(conversation_id, None, VisitorEvent::Conversation(change))
            .await;
        self.announce_summary(site_id, conversation_id).await?;
        Ok(())
    }

    /// Charges one of `budget` to `key`; `RateLimited` when it is spent.
    pub(super) fn charge(&self, budget: Budget, key: impl AsRef<str>) -> DomainResult<()> {
        if self.limiters.allow(budget, key) {
            Ok(())
        } else {
            Err(DomainError::RateLimited)
        }
    }

    /// The conversation, or `NotFound` when it is not this site's.
    pub(super) async fn conversation_of(
        &self,
        site_id: &SiteId,
        conversation_id: &ConversationId,
    ) -> DomainResult<Conversation> {
        self.store
            .conversation(site_id, conversation_id)
            .await?
            .ok_or(DomainError::NotFound)
    }

    /// Raises `side`'s read marker to `seq`; the marker stored, or `None` when it is there
    /// already (nothing is written, and nothing is to be announced).
    pub(super) async fn raise_read_marker(
        &self,
        conversation: &Conversation,
        side: Side,
        seq: i64,
    ) -> DomainResult<Option<i64>> {
        check_read_seq(seq, conversation.last_seq)?;
        let marker = match side {
            Side::Visitor => conversation.visitor_read_seq,
            Side::Agent => conversation.agent_read_seq,
        };
        if seq <= marker {
            return Ok(None);
        }
        Ok(Some(
            self.store.mark_read(&conversation.id, side, seq).await?,
        ))
    }

    /// The conversation's summary, or `NotFound` when it is not this site's.
    pub(super) async fn summary(
        &self,
        site_id: &SiteId,
        conversation_id: &ConversationId,
    ) -> DomainResult<Summary> {
        let row = self
            .store
            .summary(site_id, conversation_id)
            .await?
            .ok_or(DomainError::NotFound)?;
        self.summaries(vec![row])
            .await
            .pop()
            .ok_or(DomainError::NotFound)
    }

    pub(super) async fn announce_summary(
        &self,
        site_id: &SiteId,
        conversation_id: &ConversationId,
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
        conversation_id: &ConversationId,
        before_seq: i64,
        limit: Option<i64>,
    ) -> DomainResult<MessagePage> {
        let before_seq = seq_cursor(before_seq)?;
        let limit = page_limit(limit)?;
        let _reading = self.replies.reserve(limit + 1, MESSAGE_READ_BYTES).await?;
        let mut messages = self
            .store
            .messages(conversation_id, SeqSide::Before(before_seq), limit)
            .await?;
        let mut has_more = messages.len() as i64 > limit;
        if has_more {
            messages.remove(0);
        }
        // The newest ones that fit; the client pages back from the first it got.
        has_more |= self.replies.keep_last(&mut messages);
        self.sign_messages(&mut messages);
        Ok(MessagePage { messages, has_more })
    }

    pub(super) async fn sync(
        &self,
        conversation_id: &ConversationId,
        after_seq: i64,
    ) -> DomainResult<MessagePage> {
        let after_seq = seq_cursor(after_seq)?;
        let _reading = self
            .replies
            .reserve(SYNC_LIMIT + 1, MESSAGE_READ_BYTES)
            .await?;
        let mut messages: Vec<Message> = self
            .store
            .messages(conversation_id, SeqSide::After(after_seq), SYNC_LIMIT)
            .await?;
        let mut has_more = messages.len() as i64 > SYNC_LIMIT;
        messages.truncate(SYNC_LIMIT as usize);
        has_more |= self.replies.keep_first(&mut messages);
        self.sign_messages(&mut messages);
        Ok(MessagePage { messages, has_more })
    }

    /// Whether each member is online on this node or any other.
    pub(super) async fn online(&self, members: &[Member]) -> Vec<bool> {
        let mut online: Vec<bool> = members
            .iter()
            .map(|m| self.presence.is_online(&m.key()))
            .collect();
        let elsewhere_asked: Vec<Member> = members
            .iter()
            .zip(&online)
            .filter(|(_, here)| !**here)
            .map(|(m, _)| m.clone())
            .collect();
        if !elsewhere_asked.is_empty() {
            let mut elsewhere = self.cluster.elsewhere(&elsewhere_asked).await.into_iter();
            for here in online.iter_mut().filter(|here| !**here) {
                *here = elsewhere.next().unwrap_or(false);
            }
        }
        online
    }

    pub(super) async fn is_online(&self, member: Member) -> bool {
        self.online(&[member])
            .await
            .first()
            .copied()
            .unwrap_or(false)
    }

    /// A connection of `member` opened on this node.
    pub(super) async fn came(&self, member: Member) {
        if !self.presence.connect(&member.key()) {
            return;
        }
        // Ask before announcing: two nodes racing may both say "online", never neither.
        let elsewhere = self.cluster.elsewhere(std::slice::from_ref(&member)).await;
        self.cluster.announce(&member, true).await;
        if !elsewhere.first().copied().unwrap_or(false) {
            self.announce_presence(&member, true).await;
        }
    }

    /// A connection of `member` closed on this node; "offline" counts after the grace period.
    pub(super) fn left(self: &Arc<Self>, member: Member) {
        let Some(generation) = self.presence.disconnect(&member.key()) else {
            return;
        };
        let chat = Arc::clone(self);
        tokio::spawn(async move {
            tokio::time::sleep(chat.presence_grace).await;
            if chat.presence.expire(&member.key(), generation) {
                chat.cluster.announce(&member, false).await;
                chat.presence_lost(member).await;
            }
        });
    }

    /// `member` is gone from some node (or a node died holding it): tell its audience, unless
    /// it is still online somewhere.
    pub async fn presence_lost(&self, member: Member) {
        if !self.is_online(member.clone()).await {
            self.announce_presence(&member, false).await;
        }
    }

    /// This node holds `member` but the cluster had lost track of it (this node was taken for
    /// dead, or Redis restarted empty): say "online" again.
    pub async fn presence_regained(&self, member: Member) {
        self.announce_presence(&member, true).await;
    }

    async fn announce_presence(&self, member: &Member, online: bool) {
        match member {
            Member::Visitor {
                site_id,
                conversation_id,
            } => {
                let event = VisitorPresence {
                    conversation_id: conversation_id.clone(),
                    online,
                };
                self.events
                    .to_agents(site_id, None, AgentEvent::Presence(event))
                    .await;
            }
            Member::Agents { site_id } => {
                let event = VisitorEvent::Presence(AgentsPresence {
                    agents_online: online,
                });
                self.events.to_site_visitors(site_id, event).await;
            }
            Member::Agent { site_id, agent_id } => {
                let event = AgentEvent::AgentPresence(AgentPresence {
                    agent_id: agent_id.clone(),
                    online,
                });
                self.events.to_agents(site_id, None, event).await;
            }
        }
    }
}
