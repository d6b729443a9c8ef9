//! The storage port: what the domain needs from a database, implemented by the adapters in
//! `src/store/` (SQLite, PostgreSQL). Every method is one short transaction.
//! `append_message` allocates the conversation's next `seq` under the conversation row's write
//! lock, in the transaction that stores the message.

use async_trait::async_trait;

use super::hours::OfficeHours;
use super::ids::{
    AgentId, ConversationId, MalformedId, MessageId, SiteId, SiteKey, TokenHash, UploadId,
    VisitorId,
};
use super::model::{
    Agent, Attachment, Conversation, Message, Micros, Millis, Page, Role, Sender, Side, Site,
    Status, Upload, Visitor,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint other than the idempotency key was hit (e.g. a taken username).
    #[error("already exists: {0}")]
    Conflict(String),
    /// The database failed (connection, I/O, SQL); the adapter's error, kept for the log.
    #[error("database error: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("migration failed: {0}")]
    Migrate(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("unsupported database url: {0}")]
    UnsupportedUrl(String),
    /// An agent's append was refused because the agent is disabled or deleted. An outcome of
    /// that append alone: the rest of a group commit goes on.
    #[error("the agent is disabled or deleted")]
    AgentInactive,
    /// An append named an upload that is not an unsent upload of the sender's side of the
    /// conversation (another message took it meanwhile): nothing was stored.
    #[error("an attachment is not an unsent upload of this conversation")]
    AttachmentUnavailable,
}

impl From<MalformedId> for StoreError {
    fn from(e: MalformedId) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

pub struct NewSite<'a> {
    pub id: &'a SiteId,
    pub site_key: &'a SiteKey,
    pub name: &'a str,
    pub allowed_origins: &'a [String],
    pub prechat_fields: &'a [String],
    pub allowed_query_params: &'a [String],
    pub now: Millis,
}

pub struct NewAgent<'a> {
    pub id: &'a AgentId,
    pub site_id: &'a SiteId,
    pub username: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub email: Option<&'a str>,
    pub now: Millis,
}

pub struct NewInvitation<'a> {
    pub token_hash: &'a TokenHash,
    pub site_id: &'a SiteId,
    /// Set for a password reset of this agent; `None` for an invitation to join.
    pub agent_id: Option<&'a AgentId>,
    pub role: Role,
    pub now: Millis,
    pub expires_at: Millis,
}

/// A stored invitation.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub site_id: SiteId,
    /// Set for a password reset of this agent.
    pub agent_id: Option<AgentId>,
    pub role: Role,
    pub expires_at: Millis,
    pub used_at: Option<Millis>,
}

/// What became of accepting an invitation.
#[derive(Debug)]
pub enum Accepted {
    /// The agent, created with the invitation's site and role; the invitation is used up.
    Joined(Agent),
    /// Unknown, used or expired: nothing changed.
    Gone,
    /// The username is taken: nothing changed, the invitation stays usable.
    UsernameTaken,
}

/// What `site update` changes; `None` leaves a field as it is.
#[derive(Default)]
pub struct SiteChanges<'a> {
    pub name: Option<&'a str>,
    pub allowed_origins: Option<&'a [String]>,
    pub prechat_fields: Option<&'a [String]>,
    pub allowed_query_params: Option<&'a [String]>,
    pub prechat_required: Option<&'a [String]>,
    /// `Some("")` clears a text setting (back to the widget's default).
    pub accent_color: Option<&'a str>,
    pub greeting: Option<&'a str>,
    pub away_message: Option<&'a str>,
    /// `Some(None)` clears the office hours (always open).
    pub office_hours: Option<Option<&'a OfficeHours>>,
    pub contact_email: Option<&'a str>,
    /// `Some("")` clears it (back to the server's `PARLOR_MAIL_FROM`).
    pub mail_from: Option<&'a str>,
}

/// A change to one agent that may take away an admin.
#[derive(Debug, Clone, Copy)]
pub enum AgentChange<'a> {
    Role(Role),
    /// Takes the password away (no login until a reset link sets one) and ends every session.
    ClearPassword,
    /// Disabling bumps the token version (every session ends); enabling leaves it, so tokens
    /// from before the disable stay revoked.
    Disabled(bool),
    /// Soft delete: `deleted_at`, a bumped token version, no password, and the username
    /// renamed to `tombstone` so that it is free again. The row stays (messages reference it).
    Delete {
        tombstone: &'a str,
        now: Millis,
    },
}

/// What became of an [`AgentChange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentChanged {
    Done,
    /// No agent (that is not deleted) has the username.
    NoSuchAgent,
    /// Refused: the site would be left without an enabled admin.
    LastAdmin,
}

pub struct NewVisitor<'a> {
    pub visitor_id: &'a VisitorId,
    pub conversation_id: &'a ConversationId,
    pub site_id: &'a SiteId,
    pub token_hash: &'a TokenHash,
    pub now: Millis,
    /// The conversation's first `updated_at`.
    pub activity: Micros,
}

pub struct NewMessage<'a> {
    pub id: &'a MessageId,
    /// The site the sender acts for: a conversation of another site is not found.
    pub site_id: &'a SiteId,
    pub conversation_id: &'a ConversationId,
    pub sender: Sender,
    pub agent_id: Option<&'a AgentId>,
    pub agent_name: Option<&'a str>,
    pub text: &'a str,
    pub client_id: Option<&'a str>,
    /// A visitor message reopens an ended conversation.
    pub reopen: bool,
    /// `created_at` of the message.
    pub now: Millis,
    /// The conversation's new `updated_at`.
    pub activity: Micros,
    /// When the other side is to be e-mailed about this message if it stays unread (`None`:
    /// no e-mail). An earlier time already set for the conversation stays.
    pub mail_due_at: Option<Millis>,
    /// Uploads of the sender's side of the conversation that no message carries yet; the
    /// append takes them for this message or fails with
    /// [`StoreError::AttachmentUnavailable`].
    pub attachments: &'a [Attachment],
}

/// The message's e-mail due time as the conversation's two columns (`visitor_mail_due_at`,
/// `agent_mail_due_at`): an agent's message may be e-mailed to the visitor, a visitor's to the
/// agents.
pub fn mail_due(sender: Sender, at: Option<Millis>) -> (Option<Millis>, Option<Millis>) {
    match sender {
        Sender::Agent => (at, None),
        Sender::Visitor => (None, at),
        Sender::System => (None, None),
    }
}

// What a backend returns after storing a new row: derived from the input, the same for both.

impl NewSite<'_> {
    pub fn site(&self) -> Site {
        Site {
            id: self.id.clone(),
            site_key: self.site_key.clone(),
            name: self.name.to_owned(),
            allowed_origins: self.allowed_origins.to_vec(),
            prechat_fields: self.prechat_fields.to_vec(),
            allowed_query_params: self.allowed_query_params.to_vec(),
            prechat_required: Vec::new(),
            accent_color: None,
            greeting: None,
            away_message: None,
            office_hours: None,
            contact_email: None,
            mail_from: None,
        }
    }
}

impl NewAgent<'_> {
    pub fn agent(&self) -> Agent {
        Agent {
            id: self.id.clone(),
            site_id: self.site_id.clone(),
            username: self.username.to_owned(),
            name: self.name.to_owned(),
            password_hash: self.password_hash.to_owned(),
            token_version: 0,
            disabled: false,
            deleted_at: None,
            role: self.role,
            email: self.email.map(str::to_owned),
            offline_emails: true,
        }
    }
}

impl NewVisitor<'_> {
    pub fn created(&self) -> (Visitor, Conversation) {
        (
            Visitor {
                id: self.visitor_id.clone(),
                name: None,
                email: None,
                phone: None,
            },
            Conversation {
                id: self.conversation_id.clone(),
                site_id: self.site_id.clone(),
                visitor_id: self.visitor_id.clone(),
                status: Status::Open,
                last_seq: 0,
                visitor_read_seq: 0,
                agent_read_seq: 0,
                updated_at: self.activity,
            },
        )
    }
}

impl NewMessage<'_> {
    pub fn stored(&self, seq: i64) -> Message {
        Message {
            id: self.id.clone(),
            conversation_id: self.conversation_id.clone(),
            seq,
            sender: self.sender,
            agent_name: self.agent_name.map(str::to_owned),
            text: self.text.to_owned(),
            client_id: self.client_id.map(str::to_owned),
            created_at: self.now,
            attachments: self.attachments.to_vec(),
        }
    }
}

/// A visitor found by its token.
pub struct TokenHolder {
    pub visitor: Visitor,
    pub conversation: Conversation,
    /// When the token was last used (refreshed at most once a day: see `domain::expiry`).
    pub last_seen_at: Millis,
}

/// What `append_message` did.
pub struct Appended {
    pub message: Message,
    /// False when the clientId was already used: `message` is the original.
    pub created: bool,
    /// The conversation was ended and this message reopened it.
    pub reopened: bool,
}

/// The stored part of an agent-list summary (presence is added by the domain).
pub struct SummaryRow {
    pub conversation: Conversation,
    pub visitor: Visitor,
    pub page: Option<Page>,
    pub last_message: Option<Message>,
    pub unread: i64,
}

/// Which messages of a conversation a page holds, by `seq`.
#[derive(Clone, Copy, Debug)]
pub enum SeqSide {
    /// `seq < n`: a `history` page, going back.
    Before(i64),
    /// `seq > n`: a `sync` page, catching up.
    After(i64),
}

#[derive(Clone, Copy)]
pub struct ListFilter {
    pub before: Option<Micros>,
    pub status: Option<Status>,
    /// Rows wanted; implementations return up to `limit + 1` so callers can tell `hasMore`.
    pub limit: i64,
}

/// Every read. Backends answer them with the same SQL (`src/store/shared.rs`), so one
/// implementation serves both.
#[async_trait]
pub trait Lookups: Send + Sync + 'static {
    async fn ping(&self) -> StoreResult<()>;

    /// Every site, oldest first.
    async fn list_sites(&self) -> StoreResult<Vec<Site>>;
    async fn site_by_key(&self, site_key: &SiteKey) -> StoreResult<Option<Site>>;
    async fn site_by_id(&self, id: &SiteId) -> StoreResult<Option<Site>>;
    async fn count_sites(&self) -> StoreResult<i64>;

    async fn agent_by_username(&self, username: &str) -> StoreResult<Option<Agent>>;
    async fn agent_by_id(&self, id: &AgentId) -> StoreResult<Option<Agent>>;
    /// The agents with these ids (deleted ones included: callers check), in no order.
    async fn agents_by_ids(&self, ids: &[AgentId]) -> StoreResult<Vec<Agent>>;
    /// The site's agents that are not deleted, oldest first.
    async fn list_agents(&self, site_id: &SiteId) -> StoreResult<Vec<Agent>>;
    async fn invitation(&self, token_hash: &TokenHash) -> StoreResult<Option<Invitation>>;

    /// The visitor of a conversation link: `visitor_id` of the site, if `conversation_id` is
    /// its conversation (a link carries its own expiry).
    async fn visitor_of_link(
        &self,
        site_id: &SiteId,
        visitor_id: &VisitorId,
        conversation_id: &ConversationId,
    ) -> StoreResult<Option<TokenHolder>>;
    /// The visitor of a token, unless it was last seen before `expired_before`; `site_id`:
    /// only a visitor of that site.
    async fn visitor_by_token(
        &self,
        site_id: Option<&SiteId>,
        token_hash: &TokenHash,
        expired_before: Millis,
    ) -> StoreResult<Option<TokenHolder>>;

    async fn conversation(
        &self,
        site_id: &SiteId,
        id: &ConversationId,
    ) -> StoreResult<Option<Conversation>>;
    async fn summary(
        &self,
        site_id: &SiteId,
        id: &ConversationId,
    ) -> StoreResult<Option<SummaryRow>>;
    async fn list_summaries(
        &self,
        site_id: &SiteId,
        filter: ListFilter,
    ) -> StoreResult<Vec<SummaryRow>>;

    /// The message a side already sent with this idempotency key, if any, in a conversation of
    /// this site. Sees every committed append (a retry must find its original).
    async fn message_by_client_id(
        &self,
        site_id: &SiteId,
        conversation_id: &ConversationId,
        sender: Sender,
        client_id: &str,
    ) -> StoreResult<Option<Message>>;
    /// Up to `limit + 1` messages on one side of a `seq`, the nearest first, returned in
    /// ascending order.
    async fn messages(
        &self,
        conversation_id: &ConversationId,
        around: SeqSide,
        limit: i64,
    ) -> StoreResult<Vec<Message>>;
}

/// The writes of administration: sites, agents, settings. Plain statements, the same SQL on
/// every backend.
#[async_trait]
pub trait Directory: Send + Sync + 'static {
    /// Returns the stored value for `key`, storing `value` first if there was none.
    async fn setting_or_insert(&self, key: &str, value: &str) -> StoreResult<String>;

    async fn create_site(&self, site: NewSite<'_>) -> StoreResult<Site>;

    /// [`StoreError::Conflict`] when the username is taken.
    async fn create_agent(&self, agent: NewAgent<'_>) -> StoreResult<Agent>;
    /// Sets an agent's display name (messages already sent keep theirs); false if there is no
    /// such agent.
    async fn set_agent_name(&self, id: &AgentId, name: &str) -> StoreResult<bool>;
    /// Sets what of an agent's e-mail settings is given (`email: Some(None)` clears the
    /// address); false if there is no such agent.
    async fn set_agent_mail(
        &self,
        id: &AgentId,
        email: Option<Option<&str>>,
        offline_emails: Option<bool>,
    ) -> StoreResult<bool>;
    /// Sets a new password hash and bumps the token version; false if there is no such agent.
    async fn set_agent_password(&self, username: &str, password_hash: &str) -> StoreResult<bool>;
    /// Changes an agent that is not deleted, unless that would leave its site without an
    /// enabled admin. The check and the change are one transaction that holds the site's row,
    /// so two admins demoting each other at once cannot both succeed.
    async fn change_agent(
        &self,
        username: &str,
        change: AgentChange<'_>,
    ) -> StoreResult<AgentChanged>;

    async fn create_invitation(&self, invitation: NewInvitation<'_>) -> StoreResult<()>;
    /// Uses up the invitation to join (unused, expiring after `agent.now`) and creates `agent`
    /// with its site and role, in one transaction; `agent.site_id` and `agent.role` are ignored.
    async fn accept_invitation(
        &self,
        token_hash: &TokenHash,
        agent: NewAgent<'_>,
    ) -> StoreResult<Accepted>;

    /// Uses up the password reset (unused, expiring after `now`) and sets its agent's password
    /// (bumping the token version), in one transaction; `None` when there is no such reset or
    /// its agent was deleted meanwhile.
    async fn reset_password(
        &self,
        token_hash: &TokenHash,
        password_hash: &str,
        now: Millis,
    ) -> StoreResult<Option<Agent>>;

    /// Changes the given settings of a site; false if there is no such site.
    async fn update_site(&self, id: &SiteId, changes: SiteChanges<'_>) -> StoreResult<bool>;
    /// Deletes a site and everything of it: messages, conversations, visitors, agents.
    async fn delete_site(&self, id: &SiteId) -> StoreResult<bool>;
}

/// The writes of chatting: visitors, conversations, messages, read marks. Each is one short
/// transaction; how it commits is the backend's own (SQLite's single writer thread,
/// PostgreSQL's row locks).
#[async_trait]
pub trait Chatting: Send + Sync + 'static {
    /// Creates a visitor with its one conversation.
    async fn create_visitor(&self, v: NewVisitor<'_>) -> StoreResult<(Visitor, Conversation)>;
    /// Records that the visitor's token was used at `now` (never moves it back).
    async fn touch_visitor(&self, id: &VisitorId, now: Millis) -> StoreResult<()>;
    async fn update_visitor(&self, visitor: &Visitor) -> StoreResult<()>;
    async fn set_page(&self, conversation_id: &ConversationId, page: &Page) -> StoreResult<()>;

    /// Sets the status and `updated_at`; returns false when it already had the status.
    async fn set_status(
        &self,
        id: &ConversationId,
        status: Status,
        activity: Micros,
    ) -> StoreResult<bool>;

    /// `None` when the site has no such conversation. Checked in the append itself, so an
    /// agent's reply needs no lookup of its own first. An agent's new message (`agent_id`) is
    /// refused with [`StoreError::AgentInactive`] when the agent is disabled or deleted, also
    /// checked in the append, so a send already under way when the agent is disabled fails.
    async fn append_message(&self, m: NewMessage<'_>) -> StoreResult<Option<Appended>>;
    /// Raises the side's read marker to `seq` (never lowers it); returns the marker now stored.
    async fn mark_read(
        &self,
        conversation_id: &ConversationId,
        side: Side,
        seq: i64,
    ) -> StoreResult<i64>;
}

/// An e-mail to put in the outbox.
pub struct NewMail<'a> {
    pub id: &'a str,
    /// Enqueueing a second e-mail with the same key does nothing.
    pub dedupe_key: &'a str,
    pub site_id: &'a SiteId,
    pub recipient: &'a str,
    /// The composed e-mail, as the domain serialized it.
    pub mail: &'a str,
    pub now: Millis,
}

/// An e-mail a worker has claimed: its lease runs until the time given to the claim.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    pub id: String,
    pub mail: String,
    /// Tries so far, this one included.
    pub attempts: i64,
    pub created_at: Millis,
}

/// A conversation with an e-mail to one side come due: messages of the other side, after
/// both the side's read marker and the last e-mail's, may be unread.
#[derive(Debug, Clone)]
pub struct DueMail {
    pub site_id: SiteId,
    pub conversation_id: ConversationId,
    pub visitor_id: VisitorId,
    pub last_seq: i64,
    /// The side's read marker.
    pub read_seq: i64,
    /// The highest seq an earlier e-mail to the side covered.
    pub mailed_seq: i64,
    /// The visitor's address (for e-mails to the visitor), and whether it unsubscribed.
    pub visitor_email: Option<String>,
    pub unsubscribed: bool,
}

/// An agent to e-mail about messages that arrive while no agent is online.
#[derive(Debug, Clone)]
pub struct MailRecipient {
    pub agent_id: AgentId,
    pub email: String,
}

/// The e-mail outbox: rows that outlive restarts, each sent by one node at a time.
#[async_trait]
pub trait Outbox: Send + Sync + 'static {
    /// False when an e-mail with the same dedupe key is already there.
    async fn enqueue_mail(&self, mail: NewMail<'_>) -> StoreResult<bool>;
    /// Up to `limit` pending e-mails due at `now` that no other worker holds, leased to this
    /// one until `lease_until` (PostgreSQL skips rows another node is claiming).
    async fn claim_mail(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: i64,
    ) -> StoreResult<Vec<QueuedMail>>;
    async fn mail_sent(&self, id: &str, now: Millis) -> StoreResult<()>;
    /// Back to pending, due again at `next_attempt_at`.
    async fn mail_retry(&self, id: &str, next_attempt_at: Millis, error: &str) -> StoreResult<()>;
    /// Given up: never tried again.
    async fn mail_failed(&self, id: &str, error: &str) -> StoreResult<()>;

    /// Up to `limit` conversations whose e-mail to side `to` was due by `now`, earliest first.
    async fn due_mail(&self, to: Side, now: Millis, limit: i64) -> StoreResult<Vec<DueMail>>;
    /// Records that side `to` was e-mailed (or needs no e-mail) up to `covered_seq`. The
    /// conversation is due again at `again_at` when messages came after `seen_last_seq` (they
    /// may need an e-mail of their own), else no longer due.
    async fn mail_covered(
        &self,
        to: Side,
        conversation_id: &ConversationId,
        covered_seq: i64,
        seen_last_seq: i64,
        again_at: Millis,
    ) -> StoreResult<()>;
    /// The site's enabled agents with an e-mail address who want offline messages.
    async fn offline_recipients(&self, site_id: &SiteId) -> StoreResult<Vec<MailRecipient>>;
    /// Stops missed-reply e-mails to the visitor; false when there is no such visitor.
    async fn unsubscribe_visitor(&self, id: &VisitorId, now: Millis) -> StoreResult<bool>;
}

/// Uploaded files: who may see them (the bytes are the `FileStorage`'s).
#[async_trait]
pub trait Uploads: Send + Sync + 'static {
    /// Records an upload before its bytes are written: not yet stored, so nobody can download
    /// or send it, but the sweep of unsent uploads finds it (and its bytes) after a crash.
    async fn insert_upload(&self, upload: &Upload) -> StoreResult<()>;
    /// Marks the upload stored, with its size and whether it has a thumbnail.
    async fn upload_stored(&self, id: &UploadId, size: u64, thumbnail: bool) -> StoreResult<()>;
    /// A stored upload; `None` for one not (yet) stored.
    async fn upload(&self, id: &UploadId) -> StoreResult<Option<Upload>>;
    /// The bytes of every upload of the conversation, sent or not.
    async fn conversation_upload_bytes(&self, id: &ConversationId) -> StoreResult<i64>;
    /// Up to `limit` uploads no message carries, made before `before`.
    async fn unsent_uploads(&self, before: Millis, limit: i64) -> StoreResult<Vec<Upload>>;
    /// Deletes the rows of uploads that are still unsent; returns those it deleted (a
    /// message may have taken one meanwhile: its file must stay).
    async fn delete_unsent_uploads(&self, ids: &[UploadId]) -> StoreResult<Vec<UploadId>>;
}

/// Everything the domain needs from a database.
pub trait Store: Lookups + Directory + Chatting + Outbox + Uploads {}

impl<T: Lookups + Directory + Chatting + Outbox + Uploads> Store for T {}
