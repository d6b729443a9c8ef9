//! Revocation that reaches live connections: about once a second, each node checks the tokens
//! its own `/agent` sockets were opened with and closes those whose agent was disabled,
//! deleted or had its password changed, and those whose token expired; a connection of an
//! agent renamed meanwhile takes the new name. Every node reads the
//! shared database, so a `parlor agent disable` run anywhere ends the agent's sockets on every
//! node without a message between nodes.

use std::sync::Arc;
use std::time::Duration;

use socketioxide::adapter::Adapter;
use socketioxide::SocketIo;

use super::events::AGENT_NS;
use super::log_id;
use crate::domain::agents::AgentIdentity;
use crate::domain::expiry::Verdict;
use crate::domain::Chat;
use crate::telemetry::prometheus::socket_dropped;

/// How often the sockets are checked: a revoked token's socket ends within this plus one
/// database read (the contract says 2 s).
pub const SWEEP_PERIOD: Duration = Duration::from_secs(1);

/// Checks this node's agent sockets every [`SWEEP_PERIOD`] until dropped.
pub async fn sweep<A: Adapter>(io: SocketIo<A>, chat: Arc<Chat>) {
    let mut every = tokio::time::interval(SWEEP_PERIOD);
    // After a stall, one check is enough: it sees the state as of now.
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        sweep_once(&io, &chat).await;
    }
}

async fn sweep_once<A: Adapter>(io: &SocketIo<A>, chat: &Chat) {
    let Some(agents) = io.of(AGENT_NS) else {
        return;
    };
    // Local sockets only (`sockets` never asks the adapter for other nodes'): each node
    // sweeps its own.
    let (sockets, identities): (Vec<_>, Vec<AgentIdentity>) = agents
        .sockets()
        .into_iter()
        .filter_map(|s| s.extensions.get::<AgentIdentity>().map(|id| (s, id)))
        .unzip();
    if sockets.is_empty() {
        return;
    }
    match chat.agent_connections_valid(&identities).await {
        Ok(verdicts) => {
            for ((socket, id), verdict) in sockets.into_iter().zip(identities).zip(verdicts) {
                match verdict {
                    Verdict::Revoked => {
                        tracing::info!(agent_id = %id.agent_id, conn = %log_id(socket.id), "closing a connection whose token expired or was revoked");
                        // Already gone is fine: it closed on its own meanwhile.
                        if socket.disconnect().is_ok() {
                            socket_dropped("revoked");
                        }
                    }
                    // Renamed (on any node): its next messages and typing carry the new name.
                    Verdict::Valid { name } if name != id.name => {
                        socket.extensions.insert(AgentIdentity { name, ..id });
                    }
                    Verdict::Valid { .. } => {}
                }
            }
        }
        // The database did not answer: no verdict, so keep the connections (the next sweep
        // tries again) rather than log every agent out during an outage.
        Err(e) => tracing::warn!(error = %e, "could not check agent tokens"),
    }
}
