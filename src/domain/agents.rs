//! What an agent can do: log in, list conversations, answer, page back, sync, read, end, type.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::OwnedSemaphorePermit;

use super::auth::verify_password;
use super::chat::{Author, Chat};
use super::cluster::Member;
use super::error::{DomainError, DomainResult};
use super::events::{AgentEvent, AgentRead, ConnectionId, ReadUpTo, VisitorEvent, VisitorTyping};
use super::expiry::token_still_valid;
use super::ids::{AgentId, ConversationId, SiteId};
use super::input::{page_limit, parse_email, ClientId, MessageContent};
use super::model::{
    activity_now, now_millis, Agent, Conversation, Message, MessagePage, Micros, Role, Sender,
    Side, Status, Summary, SummaryPage,
};
use super::replies::SUMMARY_READ_BYTES;
use super::store::ListFilter;
use super::team::{agent_name, long_enough};

/// Conversations in the `conversations` event.
const INITIAL_LIST: i64 = 100;

/// Who an agent connection is, fixed at the handshake.
#[derive(Debug, Clone)]
pub struct AgentIdentity {
    pub agent_id: AgentId,
    pub site_id: SiteId,
    pub name: String,
    /// The token's version: the connection ends once the agent's moves on (revocation).
    pub token_version: i64,
    /// The token's expiry, seconds since the epoch: the connection ends then too.
    pub expires_at: i64,
}

impl AgentIdentity {
    /// The site's agent side (what visitors see) and this agent (what the team page shows).
    fn members(&self) -> [Member; 2] {
        [
            Member::Agents {
                site_id: self.site_id.clone(),
            },
            Member::Agent {
                site_id: self.site_id.clone(),
                agent_id: self.agent_id.clone(),
            },
        ]
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentProfile {
    pub id: AgentId,
    pub name: String,
    pub site_id: SiteId,
    pub role: Role,
}

/// What an agent changes of its own profile.
pub struct OwnProfile<'a> {
    pub name: Option<&'a str>,
    /// The current password and the new one.
    pub password: Option<(&'a str, &'a str)>,
    /// Where offline messages are e-mailed; an empty text clears it.
    pub email: Option<&'a str>,
    /// Whether visitor messages that arrive while no agent is online are e-mailed.
    pub offline_emails: Option<bool>,
}

/// What an agent sees of its own profile: what everyone sees, and its e-mail settings.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnAgentProfile {
    #[serde(flatten)]
    pub profile: AgentProfile,
    pub email: Option<String>,
    pub offline_emails: bool,
}

/// The profile after a change, and a new token when the password changed (every older one
/// stops working within 2 s, this connection's included: reconnect with the new one).
#[derive(Debug, Serialize)]
pub struct ProfileChanged {
    pub agent: OwnAgentProfile,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct LoginGrant {
    pub token: String,
    pub agent: AgentProfile,
}

impl Chat {
    /// Checks a username and password; a JWT for the agent on success.
    ///
    /// `ip` is the client's rate-limit key. Only failures are charged, per (username, `ip`) and
    /// per `ip`; a success clears that username's failures from that address. The password check
    /// waits for one of a few slots and gives up with `Unavailable` after `password_wait`.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        ip: &str,
    ) -> DomainResult<LoginGrant> {
        if !self.limiters.login_allowed(ip, username) {
            return Err(DomainError::RateLimited);
        }
        let agent = self.store.agent_by_username(username).await?;
        let slot = self.password_slot().await?;
        // Failures of logins that were queued meanwhile count too: without this second look,
        // a burst of concurrent guesses would all pass the check above before any was charged.
        if !self.limiters.login_allowed(ip, username) {
            return Err(DomainError::RateLimited);
        }
        // Hash even for unknown usernames, so timing does not tell which usernames exist.
        let hash = agent
            .as_ref()
            .map(|a| a.password_hash.clone())
            .unwrap_or_else(|| DUMMY_HASH.to_owned());
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            verify_password(&password, &hash)
        })
        .await
        .unwrap_or(false);
        let agent = match agent {
            // A disabled or deleted agent is refused exactly like a wrong password.
            Some(agent) if matches && agent.is_active() => agent,
            _ => {
                self.limiters.login_failed(ip, username);
                return Err(DomainError::Unauthorized);
            }
        };
        self.limiters.login_succeeded(ip, username);
        self.grant(agent)
    }

    /// Changes the caller's own display name, password and/or e-mail settings; nothing given
    /// answers the profile as it is. A password change needs the current one (wrong:
    /// `invalid`, and it counts as a failed login of the agent's username) and ends every
    /// older session, as `parlor agent password` does. Every given field is checked before
    /// anything is written.
    pub async fn change_own_profile(
        &self,
        id: &AgentIdentity,
        change: OwnProfile<'_>,
    ) -> DomainResult<ProfileChanged> {
        let name = change.name.map(agent_name).transpose()?;
        let email = change
            .email
            .map(|e| {
                parse_email(e).map_err(|_| DomainError::invalid("email must be an e-mail address"))
            })
            .transpose()?;
        let me = self
            .store
            .agent_by_id(&id.agent_id)
            .await?
            .filter(Agent::is_active)
            .ok_or(DomainError::Unauthorized)?;
        let mut new_hash = None;
        if let Some((current, new)) = change.password {
            long_enough(new)?;
            let key = format!("agent:{}", me.id);
            if !self.limiters.login_allowed(&key, &me.username) {
                return Err(DomainError::RateLimited);
            }
            let slot = self.password_slot().await?;
            let (current, hash) = (current.to_owned(), me.password_hash.clone());
            let matches = tokio::task::spawn_blocking(move || {
                let _slot = slot;
                verify_password(&current, &hash)
            })
            .await
            .unwrap_or(false);
            if !matches {
                self.limiters.login_failed(&key, &me.username);
                return Err(DomainError::invalid("the current password is wrong"));
            }
            new_hash = Some(self.hash_in_a_slot(new).await?);
        }
        if let Some(name) = &name {
            if !self.store.set_agent_name(&me.id, name).await? {
                return Err(DomainError::Unauthorized);
            }
        }
        if email.is_some() || change.offline_emails.is_some() {
            let email = email.as_ref().map(Option::as_deref);
            if !self
                .store
                .set_agent_mail(&me.id, email, change.offline_emails)
                .await?
            {
                return Err(DomainError::Unauthorized);
            }
        }
        if let Some(hash) = &new_hash {
            if !self.store.set_agent_password(&me.username, hash).await? {
                return Err(DomainError::Unauthorized);
            }
        }
        let now = self
            .store
            .agent_by_id(&me.id)
            .await?
            .ok_or(DomainError::Unauthorized)?;
        let (email, offline_emails) = (now.email.clone(), now.offline_emails);
        let grant = self.grant(now)?;
        Ok(ProfileChanged {
            agent: OwnAgentProfile {
                profile: grant.agent,
                email,
                offline_emails,
            },
            token: new_hash.map(|_| grant.token),
        })
    }

    /// One of the few password check slots (argon2 takes about 19 MiB each), waiting at most
    /// `password_wait`: `Unavailable` after that. The permit is owned, so that it can move into
    /// the blocking task and stay taken until argon2 is done, even if the client hangs up.
    pub(super) async fn password_slot(&self) -> DomainResult<OwnedSemaphorePermit> {
        tokio::time::timeout(
            self.password_wait,
            self.password_checks.clone().acquire_owned(),
        )
        .await
        .map_err(|_| DomainError::Unavailable)?
        .map_err(|_| DomainError::Unavailable)
    }

    /// A JWT for `agent` and what the dashboard shows of it.
    pub(super) fn grant(&self, agent: Agent) -> DomainResult<LoginGrant> {
        let token = self
            .jwt
            .issue(
                agent.id.as_str(),
                agent.site_id.as_str(),
                agent.token_version,
            )
            .ok_or(DomainError::Unauthorized)?;
        Ok(LoginGrant {
            token,
            agent: AgentProfile {
                id: agent.id,
                name: agent.name,
                site_id: agent.site_id,
                role: agent.role,
            },
        })
    }

    /// The agent a JWT stands for, if it is well signed, unexpired and not revoked.
    pub async fn authenticate_agent(&self, token: &str) -> DomainResult<AgentIdentity> {
        let claims = self.jwt.verify(token).ok_or(DomainError::Unauthorized)?;
        let (Some(agent_id), Some(site_id)) =
            (AgentId::parse(&claims.sub), SiteId::parse(&claims.site))
        else {
            return Err(DomainError::Unauthorized);
        };
        let agent = self
            .store
            .agent_by_id(&agent_id)
            .await?
            .ok_or(DomainError::Unauthorized)?;
        let identity = AgentIdentity {
            agent_id: agent.id.clone(),
            site_id,
            name: agent.name.clone(),
            token_version: claims.ver,
            expires_at: claims.exp,
        };
        if !token_still_valid(Some(&agent), &identity, now_millis() / 1000) {
            return Err(DomainError::Unauthorized);
        }
        Ok(identity)
    }

    /// Marks the agent online and returns the initial `conversations` list.
    pub async fn open_agent_session(&self, id: &AgentIdentity) -> DomainResult<SummaryPage> {
        for member in id.members() {
            self.came(member).await;
        }
        self.list(id, None, Some(INITIAL_LIST), None).await
    }

    pub fn close_agent_session(self: &Arc<Self>, id: &AgentIdentity) {
        for member in id.members() {
            self.left(member);
        }
    }

    pub async fn list(
        &self,
        id: &AgentIdentity,
        before: Option<Micros>,
        limit: Option<i64>,
        status: Option<Status>,
    ) -> DomainResult<SummaryPage> {
        let limit = page_limit(limit)?;
        let _reading = self.replies.reserve(limit + 1, SUMMARY_READ_BYTES).await?;
        let mut rows = self
            .store
            .list_summaries(
                &id.site_id,
                ListFilter {
                    before,
                    status,
                    limit,
                },
            )
            .await?;
        let mut has_more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let mut conversations = self.summaries(rows).await;
        // Pages by `updatedAt`: the client asks for what is before the last one it got.
        has_more |= self.replies.keep_first(&mut conversations);
        Ok(SummaryPage {
            conversations,
            has_more,
        })
    }

    /// The conversation, if it belongs to the agent's site; another site's is `NotFound`.
    async fn own_conversation(
        &self,
        id: &AgentIdentity,
        conversation_id: &ConversationId,
    ) -> DomainResult<Conversation> {
        self.conversation_of(&id.site_id, conversation_id).await
    }

    pub async fn agent_send(
        &self,
        id: &AgentIdentity,
        from: &ConnectionId,
        conversation_id: &ConversationId,
        client_id: ClientId,
        content: MessageContent,
    ) -> DomainResult<Message> {
        let author = Author {
            sender: Sender::Agent,
            agent: Some((&id.agent_id, &id.name)),
            from,
        };
        self.post(&id.site_id, conversation_id, author, client_id, content)
            .await
    }

    pub async fn agent_history(
        &self,
        id: &AgentIdentity,
        conversation_id: &ConversationId,
        before_seq: i64,
        limit: Option<i64>,
    ) -> DomainResult<MessagePage> {
        let conversation = self.own_conversation(id, conversation_id).await?;
        self.history(&conversation.id, before_seq, limit).await
    }

    pub async fn agent_sync(
        &self,
        id: &AgentIdentity,
        conversation_id: &ConversationId,
        after_seq: i64,
    ) -> DomainResult<MessagePage> {
        let conversation = self.own_conversation(id, conversation_id).await?;
        self.sync(&conversation.id, after_seq).await
    }

    /// An agent has read visitor messages up to `seq`, for the whole site's agent side.
    pub async fn agent_read(
        &self,
        id: &AgentIdentity,
        from: &ConnectionId,
        conversation_id: &ConversationId,
        seq: i64,
    ) -> DomainResult<()> {
        let conversation = self.own_conversation(id, conversation_id).await?;
        let Some(stored) = self
            .raise_read_marker(&conversation, Side::Agent, seq)
            .await?
        else {
            return Ok(());
        };
        self.events
            .to_visitor(
                &conversation.id,
                None,
                VisitorEvent::Read(ReadUpTo { seq: stored }),
            )
            .await;
        let event = AgentRead {
            conversation_id: conversation.id,
            by: Side::Agent,
            seq: stored,
        };
        self.events
            .to_agents(&id.site_id, Some(from), AgentEvent::Read(event))
            .await;
        Ok(())
    }

    pub async fn end(
        &self,
        id: &AgentIdentity,
        conversation_id: &ConversationId,
    ) -> DomainResult<Summary> {
        let conversation = self.own_conversation(id, conversation_id).await?;
        let _order = self.lock_conversation(&conversation.id).await;
        if self
            .store
            .set_status(&conversation.id, Status::Ended, activity_now())
            .await?
        {
            self.conversation_changed(&conversation.site_id, &conversation.id, Status::Ended)
                .await?;
        }
        self.summary(&id.site_id, &conversation.id).await
    }

    pub async fn agent_typing(
        &self,
        id: &AgentIdentity,
        conversation_id: &ConversationId,
        typing: bool,
    ) -> DomainResult<()> {
        let conversation = self.own_conversation(id, conversation_id).await?;
        let event = VisitorTyping {
            typing,
            agent_name: id.name.clone(),
        };
        self.events
            .to_visitor(&conversation.id, None, VisitorEvent::Typing(event))
            .await;
        Ok(())
    }
}

/// A valid argon2 hash of a random string, verified against when the username is unknown.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0N5Ey4sDtt6yVSgIyHaM1T8Tpc6ZnYJ0tZMBpbRMYwA";
