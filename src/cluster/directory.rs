//! Cluster-wide presence in Redis, with heartbeats so a node that dies without saying goodbye
//! does not leave its visitors online forever.
//!
//! Keys (under a configurable prefix):
//! - `P:nodes`: set of node ids.
//! - `P:node:ID:alive`: exists while the node is alive (TTL = 7/4 heartbeats: one late beat
//!   is forgiven, a missed one is not).
//! - `P:node:ID:members`: presence members held by the node, rewritten by every heartbeat so
//!   it heals after a Redis restart.
//! - `P:node:ID:reaped`: how many times the node was taken for dead. Its heartbeat reads it
//!   (never changes it) to learn that it was: a beat that timed out in a partition may still
//!   reach Redis when the partition heals and put the node back in `P:nodes`, so "was I in
//!   the set" cannot tell.
//!
//! Four times a heartbeat each node looks for nodes whose `alive` key expired; the node that
//! removes a dead node from `P:nodes` takes its members and announces "offline" for those held
//! nowhere else, at once (their connections are gone; the grace period is for reconnects, and
//! they have had that long). A dead node's members go offline at most 7/4 + 1/4 = 2 heartbeats
//! after its last beat.
//!
//! Who holds a member is always read fresh from Redis (the node list, then whether each node
//! is alive and holds the member, in two round trips), never from a list cached at the last
//! heartbeat: a node that joined a moment ago is seen as soon as it holds anything.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
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
    /// The last value of `P:node:ID:reaped` a heartbeat saw.
    reaped_seen: AtomicI64,
}

/// Death checks per heartbeat period.
const CHECKS_PER_BEAT: u32 = 4;

/// How long a reaped node's `reaped` counter outlives it.
const REAPED_TTL_MS: i64 = 24 * 3600 * 1000;

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
            reaped_seen: AtomicI64::new(0),
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

    fn reaped_key(&self, node: &str) -> String {
        format!("{}:node:{node}:reaped", self.prefix)
    }

    fn ttl(&self) -> Duration {
        self.heartbeat * 7 / 4
    }

    /// Beats and looks for dead nodes until the process ends; a failed beat is retried on the
    /// next tick.
    pub async fn run(self: Arc<Self>, chat: Arc<Chat>) {
        let mut tick = tokio::time::interval(self.heartbeat / CHECKS_PER_BEAT);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        for n in 0u32.. {
            tick.tick().await;
            if n % CHECKS_PER_BEAT == 0 {
                match self.beat().await {
                    // Taken for dead (a stall, a partition) or Redis restarted empty: whoever
                    // reaped this node may have told clients its members went offline.
                    Ok(true) if n > 0 => {
                        tracing::warn!(
                            "this node was missing from the cluster; announcing its presence again"
                        );
                        for member in self.held_members() {
                            chat.presence_regained(member).await;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "cluster heartbeat failed; presence is local until Redis answers");
                        continue;
                    }
                }
            }
            if let Err(e) = self.reap_the_dead(&chat).await {
                tracing::debug!(error = %e, "looking for dead nodes failed");
            }
        }
    }

    fn held_members(&self) -> Vec<Member> {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.iter().filter_map(|key| Member::parse(key)).collect()
    }

    /// Says this node is alive and which members it holds; true when the node was not in
    /// `P:nodes` (its first beat, or Redis lost its data) or was reaped since the last beat.
    async fn beat(&self) -> redis::RedisResult<bool> {
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
            .del(&members_key)
            .ignore();
        for chunk in held.chunks(1000) {
            pipe.sadd(&members_key, chunk).ignore();
        }
        pipe.get(self.reaped_key(&self.node_id));
        let (added, reaped): (i64, Option<i64>) = pipe.query_async(&mut self.conn.clone()).await?;
        let reaped = reaped.unwrap_or(0);
        let reaped_since = self.reaped_seen.swap(reaped, Ordering::Relaxed) != reaped;
        Ok(added == 1 || reaped_since)
    }

    /// The other nodes in `P:nodes`.
    async fn other_nodes(&self) -> redis::RedisResult<Vec<String>> {
        let nodes: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.nodes_key())
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(nodes.into_iter().filter(|n| *n != self.node_id).collect())
    }

    /// The other nodes, each with whether its `alive` key still exists.
    async fn others(&self) -> redis::RedisResult<Vec<(String, bool)>> {
        let others = self.other_nodes().await?;
        if others.is_empty() {
            return Ok(Vec::new());
        }
        let mut exists = redis::pipe();
        for node in &others {
            exists.exists(self.alive_key(node));
        }
        let alive: Vec<bool> = exists.query_async(&mut self.conn.clone()).await?;
        Ok(others.into_iter().zip(alive).collect())
    }

    /// Reaps the dead nodes, and sets `parlor_cluster_nodes` to this node and the live others.
    async fn reap_the_dead(&self, chat: &Arc<Chat>) -> redis::RedisResult<()> {
        let others = self.others().await?;
        let live = 1 + others.iter().filter(|(_, alive)| *alive).count();
        metrics::gauge!("parlor_cluster_nodes").set(live as f64);
        for (node, alive) in others {
            if !alive {
                self.reap(&node, chat).await?;
            }
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
        let reaped = self.reaped_key(node);
        let (members, ()): (Vec<String>, ()) = redis::pipe()
            .atomic()
            .smembers(&key)
            .del(&key)
            .ignore()
            // Tells the node, if it lives on behind a partition, that it was taken for dead. A
            // node that died for real leaves the key behind for a day.
            .incr(&reaped, 1)
            .ignore()
            .pexpire(&reaped, REAPED_TTL_MS)
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

impl RedisDirectory {
    /// For each member, whether a live node other than this one holds it: the node list, then
    /// one pipeline for whether each node is alive and which of the members it holds.
    async fn held_elsewhere(&self, members: &[Member]) -> redis::RedisResult<Vec<bool>> {
        let nodes = self.other_nodes().await?;
        if nodes.is_empty() || members.is_empty() {
            return Ok(vec![false; members.len()]);
        }
        let mut pipe = redis::pipe();
        for node in &nodes {
            pipe.exists(self.alive_key(node));
        }
        for member in members {
            let key = member.key();
            for node in &nodes {
                pipe.sismember(self.members_key(node), &key);
            }
        }
        let answers: Vec<bool> = pipe.query_async(&mut self.conn.clone()).await?;
        let (alive, held) = answers.split_at(nodes.len());
        Ok(held
            .chunks(nodes.len())
            .map(|per_node| per_node.iter().zip(alive).any(|(h, a)| *h && *a))
            .collect())
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
        match self.held_elsewhere(members).await {
            Ok(found) => found,
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
