//! The chaos run's clients: visitors and agents that behave as the protocol asks a careful
//! client to, and keep a log of everything they were told.
//!
//! - A send whose ack did not arrive (the node died, the database was down) is sent again
//!   with the same `clientId` until it is acknowledged with `ok: true`.
//! - After every (re)connect, a client calls `sync` from the end of the unbroken run of `seq`
//!   it holds, and calls it again whenever a live `message` shows a gap.
//! - A client whose node is gone connects to the next node, as behind a load balancer.
//!
//! The logs are compared with the database when the run ends (`check.rs`).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::eio::{self, Frame, Ws};

/// What the clients are asked to do; the conductor moves it forward.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
#[repr(u8)]
pub enum Phase {
    /// Send new messages at the offered rate.
    Load = 0,
    /// No new messages; keep retrying the unacknowledged ones.
    Drain = 1,
    /// Disconnect and hand in the logs.
    Finish = 2,
}

/// Counters every client writes to, and what the conductor reads.
pub struct Board {
    phase: AtomicU8,
    pub nodes: Vec<SocketAddr>,
    /// Clients whose socket is open and whose post-connect `sync` has been answered.
    pub caught_up: AtomicUsize,
    /// Sends not yet acknowledged with `ok: true`, over all clients.
    pub unacked: AtomicUsize,
    /// Open sockets per node.
    pub on_node: Vec<AtomicUsize>,
    /// `ok: true` acks per node (the node the client was connected to).
    pub acked_on: Vec<AtomicU64>,
    pub reconnects: AtomicU64,
    pub gap_syncs: AtomicU64,
    pub resends: AtomicU64,
    /// Two acks for one `clientId` that name different messages.
    pub conflicting_acks: AtomicU64,
    /// A live `message` or a `sync` that put a different message at a `seq` already held.
    pub conflicting_seqs: AtomicU64,
    pub ack_errors: Mutex<BTreeMap<String, u64>>,
}

impl Board {
    pub fn new(nodes: Vec<SocketAddr>) -> Self {
        let acked_on = nodes.iter().map(|_| AtomicU64::new(0)).collect();
        let on_node = nodes.iter().map(|_| AtomicUsize::new(0)).collect();
        Board {
            phase: AtomicU8::new(Phase::Load as u8),
            nodes,
            caught_up: AtomicUsize::new(0),
            on_node,
            unacked: AtomicUsize::new(0),
            acked_on,
            reconnects: AtomicU64::new(0),
            gap_syncs: AtomicU64::new(0),
            resends: AtomicU64::new(0),
            conflicting_acks: AtomicU64::new(0),
            conflicting_seqs: AtomicU64::new(0),
            ack_errors: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Relaxed) {
            0 => Phase::Load,
            1 => Phase::Drain,
            _ => Phase::Finish,
        }
    }

    pub fn set_phase(&self, p: Phase) {
        self.phase.store(p as u8, Ordering::Relaxed);
    }

    pub fn acked_total(&self) -> u64 {
        self.acked_on
            .iter()
            .map(|a| a.load(Ordering::Relaxed))
            .sum()
    }

    fn ack_error(&self, code: &str) {
        *self
            .ack_errors
            .lock()
            .expect("lock")
            .entry(code.to_owned())
            .or_default() += 1;
    }
}

/// One acknowledged send: which message the server said it stored.
#[derive(Clone, Debug)]
pub struct Acked {
    pub conversation: String,
    pub client_id: String,
    pub id: String,
    pub seq: u64,
}

/// What a client hands in at the end.
#[derive(Default)]
pub struct Report {
    /// Conversation → seq → message id, as this client holds it.
    pub held: HashMap<String, BTreeMap<u64, String>>,
    pub acked: Vec<Acked>,
    /// Sends still without `ok: true` when the run ended.
    pub unresolved: usize,
}

/// One conversation as a client holds it.
#[derive(Default)]
struct Thread {
    held: BTreeMap<u64, String>,
    /// Every seq in 1..=unbroken is held.
    unbroken: u64,
    syncing: bool,
    /// Since when the thread has held a message past a missing one, outside a `sync`.
    gap_since: Option<Instant>,
}

impl Thread {
    /// Adds a message; false if a different one already holds its seq.
    fn hold(&mut self, seq: u64, id: &str) -> bool {
        if let Some(old) = self.held.get(&seq) {
            return old == id;
        }
        self.held.insert(seq, id.to_owned());
        while self.held.contains_key(&(self.unbroken + 1)) {
            self.unbroken += 1;
        }
        true
    }

    fn has_gap(&self) -> bool {
        self.held
            .last_key_value()
            .is_some_and(|(&last, _)| last > self.unbroken)
    }
}

/// A send waiting for its `ok: true`.
struct Unacked {
    conversation: Option<String>,
    text: String,
    in_flight: bool,
}

/// What an ack id was for.
enum Request {
    Send(String),
    Sync(String),
}

/// Who the client is: a visitor of a site, or an agent.
pub enum Role {
    Visitor {
        site_key: String,
        token: Option<String>,
    },
    Agent {
        jwt: String,
        index: usize,
        agents: usize,
        reply: f64,
    },
}

impl Role {
    fn namespace(&self) -> &'static str {
        match self {
            Role::Visitor { .. } => "/visitor",
            Role::Agent { .. } => "/agent",
        }
    }
}

/// A client of either kind, with its logs.
pub struct Client {
    name: String,
    role: Role,
    home: usize,
    /// Seconds between two new messages (visitors only).
    every: Option<Duration>,
    threads: HashMap<String, Thread>,
    /// The visitor's own conversation.
    own: Option<String>,
    unacked: BTreeMap<String, Unacked>,
    acked: HashMap<String, Acked>,
    sent: u64,
    board: Arc<Board>,
    pick: XorShift,
}

impl Client {
    pub fn new(
        name: String,
        role: Role,
        home: usize,
        every: Option<Duration>,
        board: Arc<Board>,
        seed: u64,
    ) -> Self {
        Client {
            pick: XorShift(seed | 1),
            name,
            role,
            home,
            every,
            threads: HashMap::new(),
            own: None,
            unacked: BTreeMap::new(),
            acked: HashMap::new(),
            sent: 0,
            board,
        }
    }

    /// Connects, reconnects after every loss (to the next node while one is down), and hands in
    /// its logs when the conductor says `Finish`.
    pub async fn run(mut self) -> Report {
        let nodes = self.board.nodes.len();
        let mut attempt = 0usize;
        while self.board.phase() != Phase::Finish {
            let node = (self.home + attempt) % nodes;
            let auth = match &self.role {
                Role::Visitor { site_key, token } => json!({ "siteKey": site_key, "token": token }),
                Role::Agent { jwt, .. } => json!({ "token": jwt }),
            }
            .to_string();
            let ns = self.role.namespace();
            match eio::open(
                self.board.nodes[node],
                None,
                ns,
                &auth,
                Duration::from_secs(10),
            )
            .await
            {
                Ok((ws, first)) => {
                    attempt = 0;
                    self.board.on_node[node].fetch_add(1, Ordering::Relaxed);
                    let lost = self.connected(ws, node, &first).await;
                    self.board.on_node[node].fetch_sub(1, Ordering::Relaxed);
                    if lost {
                        self.board.reconnects.fetch_add(1, Ordering::Relaxed);
                        // As behind a load balancer: the next connection may land anywhere.
                        self.home = self.pick.below(nodes);
                    }
                }
                Err(_) => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50 + 50 * (attempt.min(4) as u64)))
                        .await;
                }
            }
        }
        self.board
            .unacked
            .fetch_sub(self.unacked.len(), Ordering::Relaxed);
        Report {
            held: self.threads.into_iter().map(|(c, t)| (c, t.held)).collect(),
            acked: self.acked.into_values().collect(),
            unresolved: self.unacked.len(),
        }
    }

    /// Serves one connection until it is lost (true) or the run ends (false).
    async fn connected(&mut self, mut ws: Ws, node: usize, first: &str) -> bool {
        let ns = self.role.namespace();
        let mut conn = Connection {
            ns,
            next_ack: 1,
            requests: HashMap::new(),
            caught_up: false,
            syncs: 0,
        };
        self.first_event(first);
        for u in self.unacked.values_mut() {
            u.in_flight = false;
        }
        // Catch up on every conversation held, then resend what was never acknowledged.
        let convs: Vec<String> = self.threads.keys().cloned().collect();
        for c in convs {
            if self.sync(&mut ws, &mut conn, &c).await.is_err() {
                return true;
            }
        }
        if conn.syncs == 0 {
            conn.caught_up = true;
            self.board.caught_up.fetch_add(1, Ordering::Relaxed);
        }
        let mut tick = tokio::time::interval(self.every.unwrap_or(Duration::from_millis(100)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let lost = loop {
            tokio::select! {
                frame = ws.next() => {
                    let Some(Ok(Message::Text(t))) = frame else {
                        match frame {
                            Some(Ok(_)) => continue,
                            _ => break true,
                        }
                    };
                    if self.frame(&mut ws, &mut conn, node, t.as_str()).await.is_err() {
                        break true;
                    }
                }
                _ = tick.tick() => {
                    if self.board.phase() == Phase::Finish {
                        let _ = ws.close(None).await;
                        break false;
                    }
                    if self.resend(&mut ws, &mut conn).await.is_err()
                        || self.heal_gaps(&mut ws, &mut conn).await.is_err()
                    {
                        break true;
                    }
                    if self.every.is_some() && self.board.phase() == Phase::Load {
                        let conv = self.own.clone();
                        if self.send_new(&mut ws, &mut conn, conv).await.is_err() {
                            break true;
                        }
                    }
                }
            }
        };
        if conn.caught_up {
            self.board.caught_up.fetch_sub(1, Ordering::Relaxed);
        }
        lost
    }

    /// `session` (visitor) or `conversations` (agent).
    fn first_event(&mut self, frame: &str) {
        let Some(v) = event_payload(frame) else {
            return;
        };
        match &mut self.role {
            Role::Visitor { token, .. } => {
                if let Some(t) = v["token"].as_str() {
                    *token = Some(t.to_owned());
                }
                if let Some(c) = v["conversation"]["id"].as_str() {
                    self.own = Some(c.to_owned());
                    self.threads.entry(c.to_owned()).or_default();
                    let c = c.to_owned();
                    self.hold_all(&c, &v["messages"]);
                }
            }
            Role::Agent { .. } => {
                // The list names conversations the agent may not have seen a message of yet.
                for s in v["conversations"].as_array().into_iter().flatten() {
                    if let Some(c) = s["id"].as_str() {
                        self.threads.entry(c.to_owned()).or_default();
                    }
                }
            }
        }
    }

    fn hold_all(&mut self, conv: &str, messages: &Value) {
        for m in messages.as_array().into_iter().flatten() {
            self.hold(conv, m);
        }
    }

    fn hold(&mut self, conv: &str, m: &Value) {
        let (Some(seq), Some(id)) = (m["seq"].as_u64(), m["id"].as_str()) else {
            return;
        };
        if !self
            .threads
            .entry(conv.to_owned())
            .or_default()
            .hold(seq, id)
        {
            self.board.conflicting_seqs.fetch_add(1, Ordering::Relaxed);
        }
    }

    async fn frame(
        &mut self,
        ws: &mut Ws,
        conn: &mut Connection,
        node: usize,
        text: &str,
    ) -> anyhow::Result<()> {
        match eio::parse(conn.ns, text) {
            Frame::Ping => ws.send(eio::text("3".into())).await?,
            Frame::Closed => anyhow::bail!("closed by the server"),
            Frame::Event("message", frame) => {
                let Some(m) = event_payload(frame) else {
                    return Ok(());
                };
                let Some(conv) = m["conversationId"].as_str().map(str::to_owned) else {
                    return Ok(());
                };
                self.hold(&conv, &m);
                self.maybe_reply(ws, conn, &conv, &m).await?;
                let gap = self
                    .threads
                    .get(&conv)
                    .is_some_and(|t| t.has_gap() && !t.syncing);
                if gap {
                    self.board.gap_syncs.fetch_add(1, Ordering::Relaxed);
                    self.sync(ws, conn, &conv).await?;
                }
            }
            Frame::Ack(id, args) => {
                let Some(request) = conn.requests.remove(&id) else {
                    return Ok(());
                };
                let reply: Value = serde_json::from_str(args).unwrap_or(Value::Null);
                let reply = &reply[0];
                match request {
                    Request::Send(client_id) => self.send_acked(node, client_id, reply),
                    Request::Sync(conv) => self.synced(ws, conn, conv, reply).await?,
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn send_acked(&mut self, node: usize, client_id: String, reply: &Value) {
        if reply["ok"] != Value::Bool(true) {
            let code = reply["error"]["code"].as_str().unwrap_or("malformed");
            self.board.ack_error(code);
            if let Some(u) = self.unacked.get_mut(&client_id) {
                u.in_flight = false;
            }
            return;
        }
        let m = &reply["message"];
        let (Some(conv), Some(id), Some(seq)) = (
            m["conversationId"].as_str(),
            m["id"].as_str(),
            m["seq"].as_u64(),
        ) else {
            self.board.ack_error("malformed");
            return;
        };
        self.board.acked_on[node].fetch_add(1, Ordering::Relaxed);
        let conv = conv.to_owned();
        self.hold(&conv, m);
        let acked = Acked {
            conversation: conv,
            client_id: client_id.clone(),
            id: id.to_owned(),
            seq,
        };
        if let Some(before) = self.acked.get(&client_id) {
            if before.id != acked.id || before.seq != acked.seq {
                self.board.conflicting_acks.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.acked.insert(client_id.clone(), acked);
        if self.unacked.remove(&client_id).is_some() {
            self.board.unacked.fetch_sub(1, Ordering::Relaxed);
        }
    }

    async fn synced(
        &mut self,
        ws: &mut Ws,
        conn: &mut Connection,
        conv: String,
        reply: &Value,
    ) -> anyhow::Result<()> {
        if let Some(t) = self.threads.get_mut(&conv) {
            t.syncing = false;
        }
        conn.syncs -= 1;
        if reply["ok"] == Value::Bool(true) {
            self.hold_all(&conv, &reply["messages"]);
            let more = reply["hasMore"] == Value::Bool(true);
            if more || self.threads.get(&conv).is_some_and(Thread::has_gap) {
                return self.sync(ws, conn, &conv).await;
            }
        } else {
            let code = reply["error"]["code"].as_str().unwrap_or("malformed");
            self.board.ack_error(&format!("sync:{code}"));
            tokio::time::sleep(Duration::from_millis(100)).await;
            return self.sync(ws, conn, &conv).await;
        }
        if conn.syncs == 0 && !conn.caught_up {
            conn.caught_up = true;
            self.board.caught_up.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// A gap that an ack revealed (the missing message's event came from a node that died
    /// before it could publish, or is still on its way): after a second, ask for it.
    async fn heal_gaps(&mut self, ws: &mut Ws, conn: &mut Connection) -> anyhow::Result<()> {
        let now = Instant::now();
        let mut due = Vec::new();
        for (conv, t) in &mut self.threads {
            if t.syncing || !t.has_gap() {
                t.gap_since = None;
                continue;
            }
            let since = *t.gap_since.get_or_insert(now);
            if now - since >= Duration::from_secs(1) {
                t.gap_since = None;
                due.push(conv.clone());
            }
        }
        for conv in due {
            self.board.gap_syncs.fetch_add(1, Ordering::Relaxed);
            self.sync(ws, conn, &conv).await?;
        }
        Ok(())
    }

    async fn sync(&mut self, ws: &mut Ws, conn: &mut Connection, conv: &str) -> anyhow::Result<()> {
        let thread = self.threads.entry(conv.to_owned()).or_default();
        thread.syncing = true;
        let after = thread.unbroken;
        let payload = match self.role {
            Role::Visitor { .. } => json!({ "afterSeq": after }),
            Role::Agent { .. } => json!({ "conversationId": conv, "afterSeq": after }),
        };
        conn.syncs += 1;
        conn.emit(ws, "sync", &payload, Request::Sync(conv.to_owned()))
            .await
    }

    /// An agent answers a share of the visitor messages; which agent answers which message is
    /// fixed by the message, so that the agents together answer `reply` of them once.
    async fn maybe_reply(
        &mut self,
        ws: &mut Ws,
        conn: &mut Connection,
        conv: &str,
        m: &Value,
    ) -> anyhow::Result<()> {
        let Role::Agent {
            index,
            agents,
            reply,
            ..
        } = self.role
        else {
            return Ok(());
        };
        if m["sender"] != "visitor" || self.board.phase() != Phase::Load || reply <= 0.0 {
            return Ok(());
        }
        let Some(seq) = m["seq"].as_u64() else {
            return Ok(());
        };
        let period = ((agents as f64 / reply).round() as u64).max(1);
        let salt = conv
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
        if (seq.wrapping_add(salt)) % period == index as u64 {
            self.send_new(ws, conn, Some(conv.to_owned())).await?;
        }
        Ok(())
    }

    async fn send_new(
        &mut self,
        ws: &mut Ws,
        conn: &mut Connection,
        conv: Option<String>,
    ) -> anyhow::Result<()> {
        // A client with this many sends unanswered waits, as a user would with a stuck chat.
        if self.unacked.len() >= 50 {
            return Ok(());
        }
        self.sent += 1;
        let client_id = format!("{}-{}", self.name, self.sent);
        let text = format!("chaos {client_id}");
        self.unacked.insert(
            client_id.clone(),
            Unacked {
                conversation: conv,
                text,
                in_flight: false,
            },
        );
        self.board.unacked.fetch_add(1, Ordering::Relaxed);
        self.emit_send(ws, conn, &client_id).await
    }

    /// Sends again what is unacknowledged and not in flight (after a reconnect or an error ack).
    async fn resend(&mut self, ws: &mut Ws, conn: &mut Connection) -> anyhow::Result<()> {
        let idle: Vec<String> = self
            .unacked
            .iter()
            .filter(|(_, u)| !u.in_flight)
            .map(|(c, _)| c.clone())
            .take(20)
            .collect();
        for client_id in idle {
            self.board.resends.fetch_add(1, Ordering::Relaxed);
            self.emit_send(ws, conn, &client_id).await?;
        }
        Ok(())
    }

    async fn emit_send(
        &mut self,
        ws: &mut Ws,
        conn: &mut Connection,
        client_id: &str,
    ) -> anyhow::Result<()> {
        let Some(u) = self.unacked.get_mut(client_id) else {
            return Ok(());
        };
        u.in_flight = true;
        let payload = match &u.conversation {
            None => json!({ "clientId": client_id, "text": u.text }),
            Some(c) => json!({ "conversationId": c, "clientId": client_id, "text": u.text }),
        };
        conn.emit(ws, "send", &payload, Request::Send(client_id.to_owned()))
            .await
    }
}

/// A small deterministic generator (the choice of node; no need for a crate).
pub struct XorShift(pub u64);

impl XorShift {
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// One socket's request bookkeeping.
struct Connection {
    ns: &'static str,
    next_ack: u64,
    requests: HashMap<u64, Request>,
    caught_up: bool,
    /// `sync` requests in flight.
    syncs: usize,
}

impl Connection {
    async fn emit(
        &mut self,
        ws: &mut Ws,
        event: &str,
        payload: &Value,
        request: Request,
    ) -> anyhow::Result<()> {
        let id = self.next_ack;
        self.next_ack += 1;
        self.requests.insert(id, request);
        let frame = format!("42{},{id}{}", self.ns, json!([event, payload]));
        ws.send(eio::text(frame)).await?;
        Ok(())
    }
}

/// The payload of `42/ns,["name",payload]`.
fn event_payload(frame: &str) -> Option<Value> {
    let start = frame.find('[')?;
    let v: Value = serde_json::from_str(&frame[start..]).ok()?;
    Some(v.get(1)?.clone())
}
