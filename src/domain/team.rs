//! What a site's admins do besides chatting: see the team, change roles, disable, enable and
//! remove agents. Every operation checks, at the moment it runs, that the caller is an enabled
//! admin of the site (`forbidden` for an agent), and the store keeps the site's last enabled
//! admin (see [`AgentChange`]).

use serde::Serialize;

use super::agents::{AgentIdentity, LoginGrant};
use super::auth::hash_password;
use super::chat::{Chat, InvitationConfig};
use super::cluster::Member;
use super::error::{DomainError, DomainResult};
use super::ids::{AgentId, InvitationToken, SiteId};
use super::input::single_line;
use super::model::{format_millis, now_millis, Agent, Millis, Role};
use super::store::{
    Accepted, AgentChange, AgentChanged, Invitation, NewAgent, NewInvitation, Store,
};

/// The shortest password an agent may choose.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// A link made by `invite` (or `parlor invite create`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationLink {
    pub url: String,
    pub role: Role,
    pub expires_at: String,
}

/// What the invitee's page shows before signing up.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationInfo {
    pub site_name: String,
    pub role: Role,
    pub expires_at: String,
}

/// What a password reset page shows before the agent chooses a new password.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetInfo {
    pub site_name: String,
    pub name: String,
    pub username: String,
    pub expires_at: String,
}

/// What an invitee chooses.
pub struct Signup<'a> {
    pub name: &'a str,
    pub username: &'a str,
    pub password: &'a str,
}

/// What a link is for.
#[derive(Debug, Clone, Copy)]
pub enum LinkFor<'a> {
    /// A new agent joins the site with this role: `/admin/invite/TOKEN`.
    Joining(Role),
    /// This agent, whose password was taken away, chooses a new one: `/admin/reset/TOKEN`.
    Reset(&'a Agent),
}

/// Stores a new one-time link to `site_id` and returns it, based on `PARLOR_PUBLIC_URL` or
/// else `base`.
pub async fn create_link(
    store: &dyn Store,
    config: &InvitationConfig,
    site_id: &SiteId,
    purpose: LinkFor<'_>,
    base: &str,
) -> DomainResult<InvitationLink> {
    let token = InvitationToken::generate();
    let now = now_millis();
    let ttl = Millis::try_from(config.ttl.as_millis()).unwrap_or(Millis::MAX);
    let expires_at = now.saturating_add(ttl);
    let (role, agent_id, page) = match purpose {
        LinkFor::Joining(role) => (role, None, "invite"),
        LinkFor::Reset(agent) => (agent.role, Some(&agent.id), "reset"),
    };
    store
        .create_invitation(NewInvitation {
            token_hash: &token.hash(),
            site_id,
            agent_id,
            role,
            now,
            expires_at,
        })
        .await?;
    let base = config.public_url.as_deref().unwrap_or(base);
    Ok(InvitationLink {
        url: format!(
            "{}/admin/{page}/{}",
            base.trim_end_matches('/'),
            token.as_str()
        ),
        role,
        expires_at: format_millis(expires_at),
    })
}

/// A display name as agents choose it: one line, 1..100 characters.
pub fn agent_name(raw: &str) -> DomainResult<String> {
    // Shown next to other text in both UIs: no bidi controls or line breaks.
    let name = single_line(raw);
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(DomainError::invalid("name must be 1..100 characters"));
    }
    Ok(name.to_owned())
}

/// A username as agents choose it: 1..64 characters, never a deleted agent's tombstone.
pub fn agent_username(raw: &str) -> DomainResult<String> {
    let username = raw.trim();
    if username.is_empty() || username.chars().count() > 64 {
        return Err(DomainError::invalid("username must be 1..64 characters"));
    }
    if username.starts_with(TOMBSTONE_PREFIX) {
        return Err(DomainError::invalid(format!(
            "username must not start with {TOMBSTONE_PREFIX:?}"
        )));
    }
    Ok(username.to_owned())
}

/// A password an agent may choose: at least [`MIN_PASSWORD_CHARS`] characters.
pub(super) fn long_enough(password: &str) -> DomainResult<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(DomainError::invalid(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

/// An argon2 hash of a password long enough to be one, off the async threads.
pub async fn agent_password_hash(password: &str) -> DomainResult<String> {
    long_enough(password)?;
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|_| DomainError::Unavailable)?
        .map_err(|_| DomainError::Unavailable)
}

/// A deleted agent's username becomes `deleted:<id>`: unique, and never a name `agent create`
/// accepts, so the tombstone cannot clash with a real agent.
pub const TOMBSTONE_PREFIX: &str = "deleted:";

/// An agent as the team page lists it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TeamMember {
    pub id: AgentId,
    pub username: String,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    /// Whether the agent has a dashboard open on any node.
    pub online: bool,
}

impl TeamMember {
    fn new(a: Agent, online: bool) -> Self {
        TeamMember {
            id: a.id,
            username: a.username,
            name: a.name,
            role: a.role,
            disabled: a.disabled,
            online,
        }
    }
}

/// The rate-limit key of invitation lookups (with the client's address), beside logins'.
const INVITATION_KEY: &str = "\u{0}invitation";

/// What an admin does to a member of the team.
#[derive(Debug, Clone, Copy)]
pub enum TeamChange {
    Role(Role),
    Disabled(bool),
    Remove,
}

impl Chat {
    /// The caller, read afresh: a role taken away a moment ago counts now, not at the next
    /// login.
    pub(super) async fn admin(&self, id: &AgentIdentity) -> DomainResult<Agent> {
        let me = self
            .store
            .agent_by_id(&id.agent_id)
            .await?
            .filter(Agent::is_active)
            .ok_or(DomainError::Unauthorized)?;
        match me.role {
            Role::Admin => Ok(me),
            Role::Agent => Err(DomainError::Forbidden),
        }
    }

    /// The site's agents that are not deleted, oldest first.
    pub async fn team(&self, id: &AgentIdentity) -> DomainResult<Vec<TeamMember>> {
        let me = self.admin(id).await?;
        let agents = self.store.list_agents(&me.site_id).await?;
        Ok(self.with_presence(agents).await)
    }

    /// The agents as the team page shows them, each with whether it is online anywhere.
    async fn with_presence(&self, agents: Vec<Agent>) -> Vec<TeamMember> {
        let members: Vec<Member> = agents
            .iter()
            .map(|a| Member::Agent {
                site_id: a.site_id.clone(),
                agent_id: a.id.clone(),
            })
            .collect();
        let online = self.online(&members).await;
        agents
            .into_iter()
            .zip(online)
            .map(|(a, online)| TeamMember::new(a, online))
            .collect()
    }

    /// A one-time link for a new agent of the caller's site; `origin` is the dashboard's, the
    /// link's base unless `PARLOR_PUBLIC_URL` is set.
    pub async fn invite(
        &self,
        id: &AgentIdentity,
        role: Role,
        origin: Option<&str>,
    ) -> DomainResult<InvitationLink> {
        let me = self.admin(id).await?;
        let base = self.link_base(origin)?;
        let purpose = LinkFor::Joining(role);
        create_link(
            self.store.as_ref(),
            &self.invitations,
            &me.site_id,
            purpose,
            base,
        )
        .await
    }

    /// Where links for a dashboard at `origin` point to.
    fn link_base<'a>(&self, origin: Option<&'a str>) -> DomainResult<&'a str> {
        if self.invitations.public_url.is_none() && origin.is_none() {
            return Err(DomainError::invalid(
                "no Origin to build the link from; set PARLOR_PUBLIC_URL",
            ));
        }
        Ok(origin.unwrap_or_default())
    }

    /// Takes an agent's password away (every session of it ends within 2 s) and returns a
    /// one-time link where the agent chooses a new one.
    pub async fn reset_password(
        &self,
        id: &AgentIdentity,
        agent_id: &AgentId,
        origin: Option<&str>,
    ) -> DomainResult<InvitationLink> {
        let me = self.admin(id).await?;
        let base = self.link_base(origin)?;
        let agent = self.member(&me, agent_id).await?;
        match self
            .store
            .change_agent(&agent.username, AgentChange::ClearPassword)
            .await?
        {
            AgentChanged::Done => {}
            _ => return Err(DomainError::NotFound),
        }
        let purpose = LinkFor::Reset(&agent);
        create_link(
            self.store.as_ref(),
            &self.invitations,
            &me.site_id,
            purpose,
            base,
        )
        .await
    }

    /// An agent of the admin's site that is not deleted; any other is `not_found`.
    async fn member(&self, me: &Agent, agent_id: &AgentId) -> DomainResult<Agent> {
        self.store
            .agent_by_id(agent_id)
            .await?
            .filter(|a| a.site_id == me.site_id && a.deleted_at.is_none())
            .ok_or(DomainError::NotFound)
    }

    /// What an invitation link offers; `not_found` when it is unknown, used or expired (or a
    /// reset link).
    pub async fn invitation(&self, token: &str, ip: &str) -> DomainResult<InvitationInfo> {
        let (_, invitation, site_name) = self.open_link(token, ip, false).await?;
        Ok(InvitationInfo {
            site_name,
            role: invitation.role,
            expires_at: format_millis(invitation.expires_at),
        })
    }

    /// Whose password a reset link sets; `not_found` as for an invitation.
    pub async fn password_reset(&self, token: &str, ip: &str) -> DomainResult<ResetInfo> {
        let (_, invitation, site_name) = self.open_link(token, ip, true).await?;
        let agent = match &invitation.agent_id {
            Some(id) => self.store.agent_by_id(id).await?,
            None => None,
        }
        .filter(|a| a.deleted_at.is_none())
        .ok_or(DomainError::NotFound)?;
        Ok(ResetInfo {
            site_name,
            name: agent.name,
            username: agent.username,
            expires_at: format_millis(invitation.expires_at),
        })
    }

    /// Sets the password through a reset link: the agent, logged in (its older sessions stay
    /// ended). The link is used up in the same transaction.
    pub async fn complete_reset(
        &self,
        raw: &str,
        password: &str,
        ip: &str,
    ) -> DomainResult<LoginGrant> {
        let (token, _, _) = self.open_link(raw, ip, true).await?;
        let hash = self.hash_in_a_slot(password).await?;
        match self
            .store
            .reset_password(&token.hash(), &hash, now_millis())
            .await?
        {
            Some(agent) => self.grant(agent),
            None => Err(DomainError::NotFound),
        }
    }

    /// The link `raw` if it is unused, unexpired and of the kind asked for (`reset` or an
    /// invitation to join), with its site's name. A link not found counts as a failed login
    /// for `ip`, so links cannot be guessed at speed.
    async fn open_link(
        &self,
        raw: &str,
        ip: &str,
        reset: bool,
    ) -> DomainResult<(InvitationToken, Invitation, String)> {
        if !self.limiters.login_allowed(ip, INVITATION_KEY) {
            return Err(DomainError::RateLimited);
        }
        let found = match InvitationToken::parse(raw) {
            Some(token) => self
                .store
                .invitation(&token.hash())
                .await?
                .filter(|i| {
                    i.used_at.is_none()
                        && i.expires_at > now_millis()
                        && i.agent_id.is_some() == reset
                })
                .map(|i| (token, i)),
            None => None,
        };
        let Some((token, invitation)) = found else {
            self.limiters.login_failed(ip, INVITATION_KEY);
            return Err(DomainError::NotFound);
        };
        let site = self
            .store
            .site_by_id(&invitation.site_id)
            .await?
            .ok_or(DomainError::NotFound)?;
        Ok((token, invitation, site.name))
    }

    /// An argon2 hash of a new password, in a password check slot as a login takes: the slot
    /// moves into the blocking task, so a client that hangs up does not free it while argon2
    /// still runs.
    pub(super) async fn hash_in_a_slot(&self, password: &str) -> DomainResult<String> {
        long_enough(password)?;
        let slot = self.password_slot().await?;
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            hash_password(&password)
        })
        .await
        .map_err(|_| DomainError::Unavailable)?
        .map_err(|_| DomainError::Unavailable)
    }

    /// Signs up through an invitation: the new agent of the invitation's site, logged in. The
    /// invitation is used up in the same transaction; a taken username leaves it usable.
    pub async fn accept_invitation(
        &self,
        raw: &str,
        signup: Signup<'_>,
        ip: &str,
    ) -> DomainResult<LoginGrant> {
        let name = agent_name(signup.name)?;
        let username = agent_username(signup.username)?;
        long_enough(signup.password)?;
        // Checked before the expensive hash: a wrong link costs a lookup, not argon2.
        let (token, _, _) = self.open_link(raw, ip, false).await?;
        let hash = self.hash_in_a_slot(signup.password).await?;
        let id = AgentId::generate();
        let accepted = self
            .store
            .accept_invitation(
                &token.hash(),
                NewAgent {
                    id: &id,
                    // Taken from the invitation by the store.
                    site_id: &SiteId::generate(),
                    username: &username,
                    name: &name,
                    password_hash: &hash,
                    role: Role::Agent,
                    email: None,
                    now: now_millis(),
                },
            )
            .await?;
        match accepted {
            Accepted::Joined(agent) => self.grant(agent),
            Accepted::Gone => Err(DomainError::NotFound),
            Accepted::UsernameTaken => Err(DomainError::invalid(format!(
                "the username {username} is taken"
            ))),
        }
    }

    /// Changes a member of the caller's site; another site's agent is `not_found`. Taking away
    /// the site's last enabled admin (the caller included) is `invalid` and changes nothing.
    /// Disabling or removing ends the agent's sessions on every node within 2 s.
    pub async fn change_team(
        &self,
        id: &AgentIdentity,
        agent_id: &AgentId,
        change: TeamChange,
    ) -> DomainResult<Option<TeamMember>> {
        let me = self.admin(id).await?;
        let agent = self.member(&me, agent_id).await?;
        let tombstone = format!("{TOMBSTONE_PREFIX}{}", agent.id);
        let store_change = match change {
            TeamChange::Role(role) => AgentChange::Role(role),
            TeamChange::Disabled(disabled) => AgentChange::Disabled(disabled),
            TeamChange::Remove => AgentChange::Delete {
                tombstone: &tombstone,
                now: now_millis(),
            },
        };
        match self
            .store
            .change_agent(&agent.username, store_change)
            .await?
        {
            AgentChanged::Done => {}
            AgentChanged::NoSuchAgent => return Err(DomainError::NotFound),
            AgentChanged::LastAdmin => {
                return Err(DomainError::invalid(
                    "the site must keep at least one enabled admin",
                ))
            }
        }
        if matches!(change, TeamChange::Remove) {
            return Ok(None);
        }
        let changed = self
            .store
            .agent_by_id(agent_id)
            .await?
            .ok_or(DomainError::NotFound)?;
        Ok(self.with_presence(vec![changed]).await.pop())
    }
}
