//! What the other nodes of a cluster know about presence. A visitor with one tab on node 1 and
//! one on node 2 is online until both are gone, so each node announces the presence members it
//! holds and asks the others before saying "offline".

use async_trait::async_trait;

use super::ids::{AgentId, ConversationId, SiteId};

/// A presence member: a visitor (`v:<site>:<conversation>`), a site's agent side (`a:<site>`:
/// any agent of the site) or one agent (`g:<site>:<agent>`, for the team page).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Member {
    Visitor {
        site_id: SiteId,
        conversation_id: ConversationId,
    },
    Agents {
        site_id: SiteId,
    },
    Agent {
        site_id: SiteId,
        agent_id: AgentId,
    },
}

impl Member {
    pub fn key(&self) -> String {
        match self {
            Member::Visitor {
                site_id,
                conversation_id,
            } => format!("v:{site_id}:{conversation_id}"),
            Member::Agents { site_id } => format!("a:{site_id}"),
            Member::Agent { site_id, agent_id } => format!("g:{site_id}:{agent_id}"),
        }
    }

    pub fn parse(key: &str) -> Option<Member> {
        match key.split(':').collect::<Vec<_>>().as_slice() {
            ["v", site, conversation] => Some(Member::Visitor {
                site_id: SiteId::parse(site)?,
                conversation_id: ConversationId::parse(conversation)?,
            }),
            ["a", site] => Some(Member::Agents {
                site_id: SiteId::parse(site)?,
            }),
            ["g", site, agent] => Some(Member::Agent {
                site_id: SiteId::parse(site)?,
                agent_id: AgentId::parse(agent)?,
            }),
            _ => None,
        }
    }
}

#[async_trait]
pub trait Cluster: Send + Sync + 'static {
    /// Records that this node now holds (or no longer holds) connections of `member`.
    async fn announce(&self, member: &Member, here: bool);
    /// For each member, whether another live node holds connections of it. When the cluster
    /// cannot be reached, the answer is "no": presence degrades to this node's knowledge.
    async fn elsewhere(&self, members: &[Member]) -> Vec<bool>;
    /// None on a single node; otherwise whether the cluster link answers.
    async fn healthy(&self) -> Option<bool>;
}

/// A single node: nobody else to ask.
pub struct SingleNode;

#[async_trait]
impl Cluster for SingleNode {
    async fn announce(&self, _: &Member, _: bool) {}

    async fn elsewhere(&self, members: &[Member]) -> Vec<bool> {
        vec![false; members.len()]
    }

    async fn healthy(&self) -> Option<bool> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_keys_round_trip() {
        let v = Member::Visitor {
            site_id: "s1".into(),
            conversation_id: "c1".into(),
        };
        assert_eq!(Member::parse(&v.key()), Some(v));
        let a = Member::Agents {
            site_id: "s1".into(),
        };
        assert_eq!(Member::parse(&a.key()), Some(a));
        let g = Member::Agent {
            site_id: "s1".into(),
            agent_id: "a1".into(),
        };
        assert_eq!(Member::parse(&g.key()), Some(g));
        assert_eq!(Member::parse("x:1"), None);
    }
}
