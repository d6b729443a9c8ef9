//! [`TestChat`]: the real domain service (`Chat`) over a real store, with [`RecordingEvents`]
//! for its `Events` port and `SingleNode` for its `Cluster` port. One helper per protocol
//! request, named after it; connections are "tabs" that hear what the socket layer would send
//! them. Every call into `Chat` and `Store` lives in this file, so a change of their signatures
//! is adapted here, not in every test.

use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use parlor::domain::agents::{AgentIdentity, LoginGrant};
use parlor::domain::auth::{new_id, random_token, JwtKeys};
use parlor::domain::chat::InvitationConfig;
use parlor::domain::cluster::SingleNode;
use parlor::domain::events::{ConnectionId, VisitorEvent};
use parlor::domain::expiry::Verdict;
use parlor::domain::files::ByteStream;
use parlor::domain::ids::{ConversationId, SiteKey, UploadId, VisitorId};
use parlor::domain::input::{ClientId, MessageContent, PageReport, ProfileUpdate};
use parlor::domain::limits::{RateLimits, ReplyLimits};
use parlor::domain::mail::MailConfig;
use parlor::domain::model::{
    Attachment, Message, MessagePage, Micros, Role, Status, Summary, SummaryPage, Visitor,
};
use parlor::domain::slots::VisitorSlot;
use parlor::domain::store::{AgentChange, AgentChanged, Store};
use parlor::domain::uploads::{
    IncomingFile, UploadConfig, CONVERSATION_UPLOAD_QUOTA, DEFAULT_ALLOWED_TYPES,
    SIGNED_PATH_TTL_SECS, UPLOADS_AT_ONCE_PER_VISITOR,
};
use parlor::domain::visitors::{
    HandshakeOrigin, VisitorCredential, VisitorIdentity, VisitorSession,
};
use parlor::domain::{Chat, ChatConfig, DomainResult};
use parlor::files::local::LocalFiles;

use super::backend::{Backend, TestDb};
use super::events::{Heard, RecordingEvents};
use super::{cheap_hash, create_agent, create_site, AgentAccount, TestSite};

/// High enough that no test meets a limit it does not set itself.
const HIGH: u32 = 100_000;

/// The knobs of [`ChatConfig`] a test may turn; [`Settings::default`] lifts every rate limit.
pub struct Settings {
    pub presence_grace: Duration,
    pub rate_limits: RateLimits,
    pub reply_max_bytes: usize,
    pub max_sockets_per_visitor: u32,
    pub visitor_token_ttl: Duration,
    /// `Some`: the chat e-mails (into the outbox; nothing is sent).
    pub mail: Option<MailConfig>,
    /// The bytes of all uploads of one conversation.
    pub upload_quota: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            presence_grace: Duration::from_secs(5),
            rate_limits: RateLimits {
                new_visitors_per_ip: HIGH,
                messages_per_visitor: HIGH,
                profile_updates_per_visitor: HIGH,
                logins: HIGH,
                syncs_per_visitor: HIGH,
                reads_per_visitor: HIGH,
                reconnects_per_visitor: HIGH,
                typing_per_second: HIGH,
                login_failures_per_address: HIGH,
                transcripts_per_hour: HIGH,
                uploads_per_visitor: HIGH,
            },
            reply_max_bytes: 256 * 1024,
            max_sockets_per_visitor: 10,
            visitor_token_ttl: Duration::from_secs(90 * 24 * 3600),
            mail: None,
            upload_quota: CONVERSATION_UPLOAD_QUOTA,
        }
    }
}

/// The protocol's error code of a failed request; panics on success.
pub fn code<T: Debug>(result: DomainResult<T>) -> &'static str {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(e) => e.code(),
    }
}

/// A `/visitor` connection that was admitted and got its `session`.
pub struct VisitorTab {
    pub connection: ConnectionId,
    pub identity: VisitorIdentity,
    pub session: VisitorSession,
    /// Held like the socket holds it: the visitor's place under its connection cap.
    _slot: Arc<VisitorSlot>,
}

impl VisitorTab {
    pub fn conversation_id(&self) -> &ConversationId {
        &self.identity.conversation_id
    }

    pub fn visitor_id(&self) -> &VisitorId {
        &self.identity.visitor_id
    }

    /// As the widget keeps it.
    pub fn token(&self) -> &str {
        self.session.token.as_str()
    }
}

/// An `/agent` connection that got its `conversations`.
pub struct AgentTab {
    pub connection: ConnectionId,
    pub identity: AgentIdentity,
    pub account: AgentAccount,
    /// The `conversations` event of the handshake.
    pub conversations: SummaryPage,
}

/// Anything that has a connection, and so an inbox.
pub trait Tab {
    fn connection(&self) -> &ConnectionId;
}

impl Tab for VisitorTab {
    fn connection(&self) -> &ConnectionId {
        &self.connection
    }
}

impl Tab for AgentTab {
    fn connection(&self) -> &ConnectionId {
        &self.connection
    }
}

pub struct TestChat {
    pub chat: Arc<Chat>,
    pub events: Arc<RecordingEvents>,
    store: Arc<dyn Store>,
    /// Where the uploads' files are kept.
    pub files_dir: PathBuf,
    /// Last, so the database goes after everything that uses it.
    _db: TestDb,
}

impl TestChat {
    pub async fn start(backend: Backend) -> TestChat {
        TestChat::with(backend, |_| {}).await
    }

    /// With the settings `set` changes from [`Settings::default`].
    pub async fn with(backend: Backend, set: impl FnOnce(&mut Settings)) -> TestChat {
        let mut settings = Settings::default();
        set(&mut settings);
        let (db, store) = backend.store().await;
        let events = Arc::new(RecordingEvents::default());
        let files_dir = std::env::temp_dir().join(format!("parlor-it-files-{}", new_id()));
        let jwt = JwtKeys::new(random_token(32).as_bytes(), 3600);
        let chat = Chat::new(
            store.clone(),
            events.clone(),
            Arc::new(SingleNode),
            jwt,
            ChatConfig {
                presence_grace: settings.presence_grace,
                rate_limits: settings.rate_limits,
                reply_limits: ReplyLimits {
                    max_bytes: settings.reply_max_bytes,
                    budget_bytes: 64 * 1024 * 1024,
                },
                max_sockets_per_visitor: settings.max_sockets_per_visitor,
                visitor_token_ttl: settings.visitor_token_ttl,
                password_checks: 2,
                password_wait: Duration::from_secs(5),
                invitations: InvitationConfig {
                    ttl: Duration::from_secs(7 * 24 * 3600),
                    public_url: None,
                },
                mail: settings.mail,
                uploads: UploadConfig {
                    storage: Arc::new(LocalFiles::open(&files_dir).expect("a folder for files")),
                    max_bytes: 10 * 1024 * 1024,
                    allowed_types: DEFAULT_ALLOWED_TYPES
                        .iter()
                        .map(|t| (*t).to_owned())
                        .collect(),
                    conversation_quota: settings.upload_quota,
                    at_once_per_visitor: UPLOADS_AT_ONCE_PER_VISITOR,
                    signed_path_ttl_secs: SIGNED_PATH_TTL_SECS,
                },
            },
        );
        TestChat {
            chat,
            events,
            store,
            files_dir,
            _db: db,
        }
    }

    /// The chat service itself, for what no helper covers.
    pub fn chat(&self) -> &Chat {
        &self.chat
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    // --- sites and agent accounts (what the command line does) ---

    pub async fn site(&self) -> TestSite {
        create_site(self.store(), &[], &[]).await
    }

    /// A site whose widget may only be embedded by these origins.
    pub async fn site_allowing(&self, origins: &[&str]) -> TestSite {
        create_site(self.store(), origins, &[]).await
    }

    /// A site whose page URLs keep these query parameters.
    pub async fn site_keeping(&self, query_params: &[&str]) -> TestSite {
        create_site(self.store(), &[], query_params).await
    }

    pub async fn account(&self, site: &TestSite) -> AgentAccount {
        create_agent(self.store(), site).await
    }

    /// `parlor agent create --role admin`.
    pub async fn admin(&self, site: &TestSite) -> AgentAccount {
        let account = create_agent(self.store(), site).await;
        let changed = self
            .store
            .change_agent(&account.username, AgentChange::Role(Role::Admin))
            .await
            .expect("make the agent an admin");
        assert_eq!(changed, AgentChanged::Done);
        account
    }

    /// `parlor agent disable`.
    pub async fn disable(&self, account: &AgentAccount) {
        let changed = self
            .store
            .change_agent(&account.username, AgentChange::Disabled(true))
            .await
            .expect("disable the agent");
        assert_eq!(changed, AgentChanged::Done);
    }

    /// `parlor agent password`: the account with its new password.
    pub async fn change_password(&self, account: &AgentAccount) -> AgentAccount {
        let password = format!("new pw {}", new_id());
        assert!(self
            .store
            .set_agent_password(&account.username, &cheap_hash(&password))
            .await
            .expect("set the password"));
        AgentAccount {
            password,
            ..account.clone()
        }
    }

    // --- connections ---

    /// A new visitor's first tab (no token).
    pub async fn visitor(&self, site: &TestSite) -> VisitorTab {
        self.connect_visitor(&site.key, None)
            .await
            .unwrap_or_else(|refusal| panic!("a new visitor was refused: {refusal}"))
    }

    /// Another tab of the same visitor (its token).
    pub async fn another_tab(&self, site: &TestSite, of: &VisitorTab) -> VisitorTab {
        self.connect_visitor(&site.key, Some(of.token()))
            .await
            .unwrap_or_else(|refusal| panic!("a returning visitor was refused: {refusal}"))
    }

    /// A `/visitor` handshake from 127.0.0.1 without an `Origin`; a refusal is the
    /// `connect_error` message.
    pub async fn connect_visitor(
        &self,
        site_key: &str,
        token: Option<&str>,
    ) -> Result<VisitorTab, String> {
        self.connect_visitor_from(site_key, token, None, "127.0.0.1")
            .await
    }

    /// A `/visitor` handshake as the socket layer makes it: admission, then the session,
    /// joining the rooms under the conversation lock as the socket does.
    pub async fn connect_visitor_from(
        &self,
        site_key: &str,
        token: Option<&str>,
        origin: Option<&str>,
        ip: &str,
    ) -> Result<VisitorTab, String> {
        // Parsed as the socket layer does: a key that cannot be one is an unknown site, a
        // token that cannot be one is no token.
        let site_key = SiteKey::parse(site_key).ok_or_else(|| "unknown_site".to_owned())?;
        let token = token.and_then(VisitorCredential::parse);
        let origin = HandshakeOrigin { origin, own: false };
        let admitted = self
            .chat
            .admit_visitor(&site_key, token.as_ref(), origin, ip)
            .await
            .map_err(|refusal| refusal.to_string())?;
        let connection = ConnectionId(new_id());
        let identity = admitted.identity.clone();
        let slot = admitted.slot.clone();
        let mut session = None;
        self.chat
            .open_visitor_session(
                admitted,
                |s| {
                    self.events.join_visitor(
                        &connection,
                        &identity.site_id,
                        &identity.conversation_id,
                    );
                    session = Some(s);
                },
                |presence| {
                    self.events
                        .tell(&connection, VisitorEvent::Presence(presence))
                },
            )
            .await
            .expect("open the visitor's session");
        Ok(VisitorTab {
            connection,
            identity,
            session: session.expect("the session was delivered"),
            _slot: slot,
        })
    }

    /// The tab closes (its slot is given back; "offline" follows after the grace period).
    pub fn close_visitor(&self, tab: VisitorTab) {
        self.events.leave(&tab.connection);
        self.chat.close_visitor_session(&tab.identity);
    }

    /// A new agent of the site, logged in and connected.
    pub async fn agent(&self, site: &TestSite) -> AgentTab {
        let account = self.account(site).await;
        self.connect_agent(&account).await
    }

    /// Logs in over the account's password and connects to `/agent` with the token.
    pub async fn connect_agent(&self, account: &AgentAccount) -> AgentTab {
        let grant = self
            .login(&account.username, &account.password)
            .await
            .expect("log in");
        let identity = self
            .authenticate(&grant.token)
            .await
            .expect("the fresh token is accepted");
        let connection = ConnectionId(new_id());
        // As the socket does: join the site's room, then build `conversations`.
        self.events.join_agent(&connection, &identity.site_id);
        let conversations = self
            .chat
            .open_agent_session(&identity)
            .await
            .expect("open the agent's session");
        // What its own arrival caused (its `agentPresence`, online) is not what tests listen for.
        drop(self.events.take(&connection));
        AgentTab {
            connection,
            identity,
            account: account.clone(),
            conversations,
        }
    }

    pub fn close_agent(&self, tab: AgentTab) {
        self.events.leave(&tab.connection);
        self.chat.close_agent_session(&tab.identity);
    }

    /// `POST /api/login` from 127.0.0.1.
    pub async fn login(&self, username: &str, password: &str) -> DomainResult<LoginGrant> {
        self.chat.login(username, password, "127.0.0.1").await
    }

    /// The `/agent` handshake's check of a token.
    pub async fn authenticate(&self, token: &str) -> DomainResult<AgentIdentity> {
        self.chat.authenticate_agent(token).await
    }

    /// The revocation sweep's verdict on an open connection.
    pub async fn still_valid(&self, tab: &AgentTab) -> bool {
        let verdicts = self
            .chat
            .agent_connections_valid(std::slice::from_ref(&tab.identity))
            .await
            .expect("check the connection");
        matches!(verdicts[..], [Verdict::Valid { .. }])
    }

    /// What the tab heard since the last look.
    pub fn heard(&self, tab: &impl Tab) -> Vec<Heard> {
        self.events.take(tab.connection())
    }

    // --- visitor requests ---

    pub async fn visitor_send(
        &self,
        tab: &VisitorTab,
        client_id: &str,
        text: &str,
    ) -> DomainResult<Message> {
        let client_id = ClientId::parse(client_id)?;
        let text = MessageContent::parse(Some(text), &[])?;
        self.chat
            .visitor_send(&tab.identity, &tab.connection, client_id, text)
            .await
    }

    /// Uploads `bytes` as `name` with the bearer (a visitor's token, or an agent's JWT naming
    /// `conversation`), its length known up front.
    pub async fn upload(
        &self,
        bearer: &str,
        conversation: Option<&ConversationId>,
        name: &str,
        bytes: &[u8],
    ) -> DomainResult<Attachment> {
        self.upload_sized(bearer, conversation, name, bytes, Some(bytes.len() as u64))
            .await
    }

    /// An upload whose request gives no length (a chunked body).
    pub async fn upload_without_length(
        &self,
        bearer: &str,
        name: &str,
        bytes: &[u8],
    ) -> DomainResult<Attachment> {
        self.upload_sized(bearer, None, name, bytes, None).await
    }

    async fn upload_sized(
        &self,
        bearer: &str,
        conversation: Option<&ConversationId>,
        name: &str,
        bytes: &[u8],
        length: Option<u64>,
    ) -> DomainResult<Attachment> {
        let chunk = Bytes::copy_from_slice(bytes);
        let body: ByteStream = Box::pin(futures_util::stream::once(async move { Ok(chunk) }));
        let file = IncomingFile {
            name: Some(name.to_owned()),
            length,
            body,
        };
        self.chat
            .upload(Some(bearer), conversation.map(ConversationId::as_str), file)
            .await
    }

    /// An upload whose server stops (a crash) while its body is still arriving: the body sends
    /// `first` and then nothing, and the upload is dropped wherever it waits by then.
    pub async fn upload_cut_off_by_a_crash(&self, bearer: &str, name: &str, first: &[u8]) {
        let chunk = Bytes::copy_from_slice(first);
        let body: ByteStream = Box::pin(
            futures_util::stream::once(async move { Ok(chunk) })
                .chain(futures_util::stream::pending()),
        );
        let file = IncomingFile {
            name: Some(name.to_owned()),
            length: None,
            body,
        };
        let upload = self.chat.upload(Some(bearer), None, file);
        let cut = tokio::time::timeout(Duration::from_millis(300), upload).await;
        assert!(cut.is_err(), "the upload waits for the rest of its body");
    }

    /// The files (and parts of files) kept for uploads, as `<site>/<name>`.
    pub fn stored_files(&self) -> Vec<String> {
        let mut files = Vec::new();
        for site in std::fs::read_dir(&self.files_dir)
            .into_iter()
            .flatten()
            .flatten()
        {
            for file in std::fs::read_dir(site.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                files.push(format!(
                    "{}/{}",
                    site.file_name().to_string_lossy(),
                    file.file_name().to_string_lossy()
                ));
            }
        }
        files
    }

    /// A visitor message carrying the uploads `ids`.
    pub async fn visitor_sends_files(
        &self,
        tab: &VisitorTab,
        client_id: &str,
        ids: &[&UploadId],
    ) -> DomainResult<Message> {
        let ids: Vec<String> = ids.iter().map(|id| id.as_str().to_owned()).collect();
        let content = MessageContent::parse(None, &ids)?;
        self.chat
            .visitor_send(
                &tab.identity,
                &tab.connection,
                ClientId::parse(client_id)?,
                content,
            )
            .await
    }

    /// A visitor message with a fresh clientId, which must be stored.
    pub async fn visitor_says(&self, tab: &VisitorTab, text: &str) -> Message {
        self.visitor_send(tab, &new_id(), text)
            .await
            .expect("the visitor's message is stored")
    }

    pub async fn profile(
        &self,
        tab: &VisitorTab,
        name: Option<&str>,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> DomainResult<Visitor> {
        let update = ProfileUpdate::parse(name, email, phone)?;
        self.chat.update_profile(&tab.identity, update).await
    }

    pub async fn page(&self, tab: &VisitorTab, url: &str, title: Option<&str>) -> DomainResult<()> {
        let report = PageReport::parse(url, title, &tab.session.site.allowed_query_params)?;
        self.chat.visitor_page(&tab.identity, report).await
    }

    pub async fn visitor_history(
        &self,
        tab: &VisitorTab,
        before_seq: i64,
        limit: Option<i64>,
    ) -> DomainResult<MessagePage> {
        let _lane = self.chat.page_lane(tab.visitor_id()).await;
        self.chat
            .visitor_history(&tab.identity, before_seq, limit)
            .await
    }

    pub async fn visitor_sync(
        &self,
        tab: &VisitorTab,
        after_seq: i64,
    ) -> DomainResult<MessagePage> {
        let _lane = self.chat.page_lane(tab.visitor_id()).await;
        self.chat.visitor_sync(&tab.identity, after_seq).await
    }

    pub async fn visitor_read(&self, tab: &VisitorTab, seq: i64) -> DomainResult<()> {
        self.chat.visitor_read(&tab.identity, seq).await
    }

    pub async fn visitor_typing(&self, tab: &VisitorTab, typing: bool) {
        self.chat.visitor_typing(&tab.identity, typing).await
    }

    // --- agent requests: a conversation is named by the id a client sends, parsed as the
    // socket layer does (one that cannot exist is `not_found`) ---

    pub async fn agent_send(
        &self,
        agent: &AgentTab,
        conversation_id: impl AsRef<str>,
        client_id: &str,
        text: &str,
    ) -> DomainResult<Message> {
        let conversation_id = ConversationId::named(conversation_id.as_ref())?;
        let client_id = ClientId::parse(client_id)?;
        let text = MessageContent::parse(Some(text), &[])?;
        self.chat
            .agent_send(
                &agent.identity,
                &agent.connection,
                &conversation_id,
                client_id,
                text,
            )
            .await
    }

    /// An agent's reply with a fresh clientId, which must be stored.
    pub async fn agent_says(&self, agent: &AgentTab, to: &VisitorTab, text: &str) -> Message {
        self.agent_send(agent, to.conversation_id(), &new_id(), text)
            .await
            .expect("the agent's message is stored")
    }

    pub async fn list(
        &self,
        agent: &AgentTab,
        before: Option<Micros>,
        limit: Option<i64>,
        status: Option<Status>,
    ) -> DomainResult<SummaryPage> {
        self.chat.list(&agent.identity, before, limit, status).await
    }

    pub async fn agent_history(
        &self,
        agent: &AgentTab,
        conversation_id: impl AsRef<str>,
        before_seq: i64,
        limit: Option<i64>,
    ) -> DomainResult<MessagePage> {
        let conversation_id = ConversationId::named(conversation_id.as_ref())?;
        self.chat
            .agent_history(&agent.identity, &conversation_id, before_seq, limit)
            .await
    }

    pub async fn agent_sync(
        &self,
        agent: &AgentTab,
        conversation_id: impl AsRef<str>,
        after_seq: i64,
    ) -> DomainResult<MessagePage> {
        let conversation_id = ConversationId::named(conversation_id.as_ref())?;
        self.chat
            .agent_sync(&agent.identity, &conversation_id, after_seq)
            .await
    }

    pub async fn agent_read(
        &self,
        agent: &AgentTab,
        conversation_id: impl AsRef<str>,
        seq: i64,
    ) -> DomainResult<()> {
        let conversation_id = ConversationId::named(conversation_id.as_ref())?;
        self.chat
            .agent_read(&agent.identity, &agent.connection, &conversation_id, seq)
            .await
    }

    pub async fn end(
        &self,
        agent: &AgentTab,
        conversation_id: impl AsRef<str>,
    ) -> DomainResult<Summary> {
        let conversation_id = ConversationId::named(conversation_id.as_ref())?;
        self.chat.end(&agent.identity, &conversation_id).await
    }

    pub async fn agent_typing(
        &self,
        agent: &AgentTab,
        conversation_id: impl AsRef<str>,
        typing: bool,
    ) -> DomainResult<()> {
        let conversation_id = ConversationId::named(conversation_id.as_ref())?;
        self.chat
            .agent_typing(&agent.identity, &conversation_id, typing)
            .await
    }

    /// The conversation as the agents' list shows it now.
    pub async fn summary(&self, agent: &AgentTab, of: &VisitorTab) -> Summary {
        self.list(agent, None, Some(100), None)
            .await
            .expect("list")
            .conversations
            .into_iter()
            .find(|s| &s.id == of.conversation_id())
            .expect("the conversation is listed")
    }
}
