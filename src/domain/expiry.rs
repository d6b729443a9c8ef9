//! When credentials stop working: an agent token once it expires or is revoked (a password
//! change, `agent disable`, `agent delete`), checked at the handshake and again on every live
//! connection about once a second; a visitor token after a stretch of inactivity.
//!
//! Every node decides from the shared database, so a revocation made by a separate `parlor`
//! process, or on another node, needs no message between nodes.

use std::collections::HashMap;

use super::agents::AgentIdentity;
use super::chat::Chat;
use super::error::DomainResult;
use super::ids::AgentId;
use super::model::{now_millis, Agent, Millis};

/// A returning visitor's `last_seen_at` is written again only once it is this old, so most
/// handshakes write nothing.
const SEEN_REFRESH_MILLIS: Millis = 24 * 3600 * 1000;

/// Whether a connection opened with this token may stay open: the agent exists, is neither
/// disabled nor deleted, belongs to the token's site, its token version has not moved on, and
/// the token has not expired (`now_secs` past `exp`, as the JWT check counts it, no leeway).
pub fn token_still_valid(agent: Option<&Agent>, token: &AgentIdentity, now_secs: i64) -> bool {
    match agent {
        Some(agent) => {
            agent.is_active()
                && agent.id == token.agent_id
                && agent.site_id == token.site_id
                && agent.token_version == token.token_version
                && now_secs <= token.expires_at
        }
        None => false,
    }
}

/// When a visitor token is still good.
#[derive(Clone, Copy, Debug)]
pub struct SeenWindow {
    pub now: Millis,
    /// A visitor last seen before this is not found (its token expired).
    pub expired_before: Millis,
    /// A visitor last seen before this gets `last_seen_at = now` (at most one write a day).
    pub refresh_before: Millis,
}

/// What the revocation sweep decides for an open agent connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Its token was revoked or expired: close it.
    Revoked,
    /// It may stay open; `name` is the agent's display name now.
    Valid { name: String },
}

/// The window in which a visitor token is still good at `now`, for a time to live of
/// `ttl_millis` of inactivity.
pub fn seen_window(now: Millis, ttl_millis: Millis) -> SeenWindow {
    SeenWindow {
        now,
        expired_before: now.saturating_sub(ttl_millis),
        refresh_before: now.saturating_sub(SEEN_REFRESH_MILLIS.min(ttl_millis)),
    }
}

impl Chat {
    /// For each connection's identity, whether it may stay open and under which display name
    /// (an agent renamed meanwhile keeps its connections); one store read for all of them. A
    /// store failure is an error, not a verdict: callers keep the connections.
    pub async fn agent_connections_valid(
        &self,
        connections: &[AgentIdentity],
    ) -> DomainResult<Vec<Verdict>> {
        if connections.is_empty() {
            return Ok(Vec::new());
        }
        let mut ids: Vec<AgentId> = connections.iter().map(|c| c.agent_id.clone()).collect();
        ids.sort_unstable();
        ids.dedup();
        let agents: HashMap<AgentId, Agent> = self
            .store
            .agents_by_ids(&ids)
            .await?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        let now_secs = now_millis() / 1000;
        Ok(connections
            .iter()
            .map(|c| {
                let agent = agents.get(&c.agent_id);
                match agent {
                    Some(a) if token_still_valid(agent, c, now_secs) => Verdict::Valid {
                        name: a.name.clone(),
                    },
                    _ => Verdict::Revoked,
                }
            })
            .collect())
    }

    /// Which visitor tokens are still good now (PARLOR_VISITOR_TOKEN_TTL_DAYS).
    pub(super) fn visitor_seen_window(&self) -> SeenWindow {
        let ttl = i64::try_from(self.visitor_token_ttl.as_millis()).unwrap_or(i64::MAX);
        seen_window(now_millis(), ttl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent() -> Agent {
        Agent {
            id: "a".into(),
            site_id: "s".into(),
            username: "ann".into(),
            name: "Ann".into(),
            password_hash: String::new(),
            token_version: 3,
            disabled: false,
            deleted_at: None,
            role: super::super::model::Role::Agent,
            email: None,
            offline_emails: true,
        }
    }

    fn token() -> AgentIdentity {
        AgentIdentity {
            agent_id: "a".into(),
            site_id: "s".into(),
            name: "Ann".into(),
            token_version: 3,
            expires_at: 1_000,
        }
    }

    #[test]
    fn a_current_token_of_an_active_agent_stays_valid_until_it_expires() {
        assert!(token_still_valid(Some(&agent()), &token(), 999));
        assert!(token_still_valid(Some(&agent()), &token(), 1_000));
        assert!(!token_still_valid(Some(&agent()), &token(), 1_001));
    }

    #[test]
    fn revocation_ends_a_token() {
        let moved_on = Agent {
            token_version: 4,
            ..agent()
        };
        assert!(!token_still_valid(Some(&moved_on), &token(), 0));
        let disabled = Agent {
            disabled: true,
            ..agent()
        };
        assert!(!token_still_valid(Some(&disabled), &token(), 0));
        let deleted = Agent {
            deleted_at: Some(5),
            ..agent()
        };
        assert!(!token_still_valid(Some(&deleted), &token(), 0));
        let moved_site = Agent {
            site_id: "t".into(),
            ..agent()
        };
        assert!(!token_still_valid(Some(&moved_site), &token(), 0));
        assert!(!token_still_valid(None, &token(), 0));
    }

    #[test]
    fn visitor_tokens_expire_after_the_ttl_and_are_refreshed_daily() {
        let day = 24 * 3600 * 1000;
        let w = seen_window(100 * day, 90 * day);
        assert_eq!(w.expired_before, 10 * day);
        assert_eq!(w.refresh_before, 99 * day);
        // A TTL shorter than a day refreshes at least that often.
        let w = seen_window(100 * day, 1000);
        assert_eq!(w.refresh_before, 100 * day - 1000);
    }
}
