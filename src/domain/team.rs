//! What a site's admins do besides chatting: see the team, change roles, disable, enable and
//! remove agents. Every operation checks, at the moment it runs, that the caller is an enabled
//! admin of the site (`forbidden` for an agent), and the store keeps the site's last enabled
//! admin (see [`AgentChange`]).

use serde::Serialize;

use super::agents::AgentIdentity;
use super::chat::Chat;
use super::error::{DomainError, DomainResult};
use super::ids::AgentId;
use super::model::{now_millis, Agent, Role};
use super::store::{AgentChange, AgentChanged};

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
}

impl From<Agent> for TeamMember {
    fn from(a: Agent) -> Self {
        TeamMember {
            id: a.id,
            username: a.username,
            name: a.name,
            role: a.role,
            disabled: a.disabled,
        }
    }
}

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
    async fn admin(&self, id: &AgentIdentity) -> DomainResult<Agent> {
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
        Ok(agents.into_iter().map(TeamMember::from).collect())
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
        let agent = self
            .store
            .agent_by_id(agent_id)
            .await?
            .filter(|a| a.site_id == me.site_id && a.deleted_at.is_none())
            .ok_or(DomainError::NotFound)?;
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
        Ok(Some(changed.into()))
    }
}
