//! Cluster-wide presence in Redis, with heartbeats so a node that dies without saying goodbye
//! does not leave its visitors online forever.
//!
//! Keys (under a configurable prefix):
//! - `P:nodes`: set of node ids.
//! - `P:node:ID:alive`: exists while the node is alive (TTL = 3 heartbeats).
//! - `P:node:ID:members`: presence members held by the node, rewritten by every heartbeat so
//!   it heals after a Redis restart.
//!
//! Each heartbeat also looks for nodes whose `alive` key expired; the node that removes a dead
//! node from `P:nodes` takes its members and announces "offline" for those held nowhere else.
//! A dead node's visitors go offline within 4 heartbeats of its last one.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionManager;

use crate::domain::cluster::{Cluster, Member};
use crate::domain::Chat;

pub struct RedisDirectory {
    conn: ConnectionManager,
    prefix: String,
    node_id: String,
    heartbeat: Duration,
    /// The members this node holds, so a heartbeat can rewrite them.
    held: Mutex<HashSet<String>>,
    /// Other live nodes, as of the last heartbeat.
    peers: RwLock<Vec<String>>,
}

impl RedisDirectory {
    pub fn new(
        conn: ConnectionManager,
        prefix: &str,
        node_id: String,
        heartbeat: Duration,
    ) -> Self {
        RedisDirectory {
            conn,
            prefix: prefix.to_owned(),
            node_id,
            heartbeat,
            held: Mutex::default(),
            peers: RwLock::default(),
        }
    }

    fn nodes_key(&self) -> String {
        format!("{}:nodes", self.prefix)
    }

    fn alive_key(&self, node: &str) -> String {
        format!("{}:node:{node}:alive", self.prefix)
    }

    fn members_key(&self, node: &str) -> String {
        format!("{}:node:{node}:members", self.prefix)
    }

    fn ttl(&self) -> Duration {
        self.heartbeat * 3
    }

    /// Beats until the process ends; a failed beat is retried on the next tick.
    pub async fn run(self: Arc<Self>, chat: Arc<Chat>) {
        let mut tick = tokio::time::interval(self.heartbeat);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.beat(&chat).await {
                tracing::warn!(error = %e, "cluster heartbeat failed; presence is local until Redis answers");
            }
        }
    }

    async fn beat(&self, chat: &Arc<Chat>) -> redis::RedisResult<()> {
        let held: Vec<String> = self
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        let members_key = self.members_key(&self.node_id);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(self.alive_key(&self.node_id))
            .arg(1)
            .arg("PX")
            .arg(self.ttl().as_millis() as u64)
            .ignore()
            .sadd(self.nodes_key(), &self.node_id)
            .ignore()
            .del(&members_key)
            .ignore();
        for chunk in held.chunks(1000) {
            pipe.sadd(&members_key, chunk).ignore();
        }
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn).await?;

        let nodes: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.nodes_key())
            .query_async(&mut conn)
            .await?;
        let others: Vec<String> = nodes.into_iter().filter(|n| *n != self.node_id).collect();
        let alive: Vec<bool> = if others.is_empty() {
            Vec::new()
        } else {
            let mut exists = redis::pipe();
            for node in &others {
                exists.exists(self.alive_key(node));
            }
            exists.query_async(&mut conn).await?
        };
        let (live, dead): (Vec<_>, Vec<_>) = others.into_iter().zip(alive).partition(|(_, a)| *a);
        *self.peers.write().unwrap_or_else(|p| p.into_inner()) =
            live.into_iter().map(|(n, _)| n).collect();
        for (node, _) in dead {
            self.reap(&node, chat).await?;
        }
        Ok(())
    }

    /// Takes over a dead node's members, if this node is the one that removes it.
    async fn reap(&self, node: &str, chat: &Arc<Chat>) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        let removed: i64 = redis::cmd("SREM")
            .arg(self.nodes_key())
            .arg(node)
            .query_async(&mut conn)
            .await?;
        if removed == 0 {
            return Ok(());
        }
        let key = self.members_key(node);
        let (members, ()): (Vec<String>, ()) = redis::pipe()
            .atomic()
            .smembers(&key)
            .del(&key)
            .ignore()
            .query_async(&mut conn)
            .await
            .map(|(m,): (Vec<String>,)| (m, ()))?;
        tracing::info!(
            node,
            members = members.len(),
            "a cluster node died; its presence expires"
        );
        for member in members.iter().filter_map(|m| Member::parse(m)) {
            chat.presence_lost(member).await;
        }
        Ok(())
    }
}

#[async_trait]
impl Cluster for RedisDirectory {
    async fn announce(&self, member: &Member, here: bool) {
        let key = member.key();
        {
            let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
            if here {
                held.insert(key.clone());
            } else {
                held.remove(&key);
            }
        }
        let mut cmd = redis::cmd(if here { "SADD" } else { "SREM" });
        cmd.arg(self.members_key(&self.node_id)).arg(&key);
        if let Err(e) = cmd.query_async::<()>(&mut self.conn.clone()).await {
            tracing::debug!(error = %e, "presence announce failed; the next heartbeat repairs it");
        }
    }

    async fn elsewhere(&self, members: &[Member]) -> Vec<bool> {
        let peers = self.peers.read().unwrap_or_else(|p| p.into_inner()).clone();
        if peers.is_empty() || members.is_empty() {
            return vec![false; members.len()];
        }
        let mut pipe = redis::pipe();
        for member in members {
            let key = member.key();
            for peer in &peers {
                pipe.sismember(self.members_key(peer), &key);
            }
        }
        match pipe.query_async::<Vec<bool>>(&mut self.conn.clone()).await {
            Ok(found) => found
                .chunks(peers.len())
                .map(|per_peer| per_peer.iter().any(|f| *f))
                .collect(),
            Err(e) => {
                tracing::debug!(error = %e, "presence lookup failed; answering from this node");
                vec![false; members.len()]
            }
        }
    }

    async fn healthy(&self) -> Option<bool> {
        let pong = redis::cmd("PING")
            .query_async::<String>(&mut self.conn.clone())
            .await;
        Some(pong.is_ok())
    }
}
