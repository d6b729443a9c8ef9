//! `chat` and `ramp`: visitors send at an open-loop aggregate rate, every agent of the site
//! receives each message, one agent per site replies to a fraction.
//!
//! Each message carries its global index: `clientId` `b<idx>`, text `bench <idx>`, ack id
//! `<idx>`. Per index the board keeps the send time, the number of acks and the number of
//! agent deliveries, so lost and duplicated messages are counted exactly.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::eio::{self, Frame, Ws};
use crate::setup::SetupFile;
use crate::stats::{self, CpuMeter};
use crate::Common;

#[derive(Args, Clone)]
pub struct Load {
    #[command(flatten)]
    pub common: Common,
    /// Visitors that send (spread over the setup's sites).
    #[arg(long, default_value_t = 1000)]
    visitors: usize,
    /// Fraction of visitor messages that an agent answers.
    #[arg(long, default_value_t = 0.1)]
    reply: f64,
    /// Handshakes in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Longest wait after a step for outstanding acks and deliveries, in seconds.
    #[arg(long, default_value_t = 5)]
    drain: u64,
    /// Warm-up at the first rate before measuring, in seconds (not counted).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Characters of padding added to each message text.
    #[arg(long, default_value_t = 0)]
    pad: usize,
}

#[derive(Args)]
pub struct ChatArgs {
    #[command(flatten)]
    pub load: Load,
    /// Aggregate visitor messages per second.
    #[arg(long, default_value_t = 2000.0)]
    rate: f64,
    /// Seconds of sending.
    #[arg(long, default_value_t = 20.0)]
    duration: f64,
}

#[derive(Args)]
pub struct RampArgs {
    #[command(flatten)]
    pub load: Load,
    /// The rates to try, in order, messages per second.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1000,2000,4000,6000,8000,10000,12000,15000,20000,25000,30000"
    )]
    rates: Vec<f64>,
    /// Seconds per step.
    #[arg(long, default_value_t = 10.0)]
    step_secs: f64,
    /// The bound on p99 send→delivery, in milliseconds.
    #[arg(long, default_value_t = 10.0)]
    bound_ms: f64,
    /// Go on after a saturated step (one that left messages unacked or undelivered after the
    /// drain, or fell 5% short of the offered rate). Steps that only miss the latency bound
    /// never stop the ramp.
    #[arg(long)]
    keep_going: bool,
}

struct Board {
    t0: Instant,
    /// Microseconds since `t0` when the frame was written; 0 = not sent.
    sent_us: Vec<AtomicU64>,
    acked: Vec<AtomicU8>,
    delivered: Vec<AtomicU8>,
    ack_errors: AtomicU64,
    first_error: Mutex<Option<String>>,
    reply_sent: AtomicU64,
    reply_acked: AtomicU64,
    reply_errors: AtomicU64,
    reply_delivered: AtomicU64,
    order_violations: AtomicU64,
    disconnects: AtomicU64,
    ack: Mutex<Histogram<u64>>,
    delivery: Mutex<Histogram<u64>>,
    reply: Mutex<Histogram<u64>>,
    lag: Mutex<Histogram<u64>>,
}

impl Board {
    fn new(capacity: usize) -> Self {
        let zeros64 = || (0..capacity).map(|_| AtomicU64::new(0)).collect();
        let zeros8 = || (0..capacity).map(|_| AtomicU8::new(0)).collect();
        Board {
            t0: Instant::now(),
            sent_us: zeros64(),
            acked: zeros8(),
            delivered: zeros8(),
            ack_errors: AtomicU64::new(0),
            first_error: Mutex::new(None),
            reply_sent: AtomicU64::new(0),
            reply_acked: AtomicU64::new(0),
            reply_errors: AtomicU64::new(0),
            reply_delivered: AtomicU64::new(0),
            order_violations: AtomicU64::new(0),
            disconnects: AtomicU64::new(0),
            ack: Mutex::new(stats::histogram()),
            delivery: Mutex::new(stats::histogram()),
            reply: Mutex::new(stats::histogram()),
            lag: Mutex::new(stats::histogram()),
        }
    }

    fn now_us(&self) -> u64 {
        self.t0.elapsed().as_micros() as u64
    }

    fn reset_histograms(&self) {
        for h in [&self.ack, &self.delivery, &self.reply, &self.lag] {
            h.lock().expect("lock").reset();
        }
    }

    fn error(&self, e: &str) {
        self.first_error
            .lock()
            .expect("lock")
            .get_or_insert_with(|| e.chars().take(300).collect());
    }
}

/// Connected sockets: a sender per visitor, and the tasks.
struct Fleet {
    board: Arc<Board>,
    visitors: Vec<mpsc::UnboundedSender<(u32, u64)>>,
    agents_per_site: u8,
    tasks: Vec<JoinHandle<()>>,
    connect: Value,
}

pub async fn chat(a: ChatArgs) -> anyhow::Result<()> {
    let total = ((a.load.warmup + a.duration) * a.rate) as usize + 16;
    let meter = CpuMeter::start(a.load.common.pid);
    let fleet = Fleet::open(&a.load, total).await?;
    let mut next = 0;
    if a.load.warmup > 0.0 {
        let warm = fleet.step(&a.load, next, a.rate, a.load.warmup).await;
        next = warm.hi;
    }
    let step = fleet.step(&a.load, next, a.rate, a.duration).await;
    let c = &a.load.common;
    println!("{}: {}", c.label, step.human());
    let rss = c.pid.and_then(stats::rss_kib);
    fleet.close().await;
    let line = json!({
        "kind": "chat",
        "label": c.label,
        "visitors": a.load.visitors,
        "connect": fleet.connect,
        "step": step.json,
        "serverRssKiB": rss,
        "cpu": meter.stop(),
    });
    crate::emit_json(c.json_out.as_ref(), &line)
}

pub async fn ramp(a: RampArgs) -> anyhow::Result<()> {
    let total = a
        .rates
        .iter()
        .map(|r| (r * a.step_secs) as usize + 16)
        .sum::<usize>()
        + (a.load.warmup * a.rates.first().copied().unwrap_or(0.0)) as usize
        + 16;
    let meter = CpuMeter::start(a.load.common.pid);
    let fleet = Fleet::open(&a.load, total).await?;
    let c = &a.load.common;
    let mut next = 0;
    if let (Some(&first), true) = (a.rates.first(), a.load.warmup > 0.0) {
        next = fleet.step(&a.load, next, first, a.load.warmup).await.hi;
    }
    let mut steps = Vec::new();
    let mut best: Option<f64> = None;
    for &rate in &a.rates {
        let step = fleet.step(&a.load, next, rate, a.step_secs).await;
        next = step.hi;
        let pass = step.passes(a.bound_ms);
        println!(
            "{}: {} {}",
            c.label,
            step.human(),
            if pass { "PASS" } else { "FAIL" }
        );
        let mut j = step.json.clone();
        j["pass"] = json!(pass);
        steps.push(j);
        if pass {
            best = Some(rate);
        } else if step.saturated() && !a.keep_going {
            // Past saturation a backlog carries into the next step: nothing more to learn.
            break;
        }
    }
    println!(
        "{}: highest rate with p99 send->delivery under {} ms and no errors: {}",
        c.label,
        a.bound_ms,
        best.map_or("none".into(), |r| format!("{r} msg/s"))
    );
    let rss = c.pid.and_then(stats::rss_kib);
    fleet.close().await;
    let line = json!({
        "kind": "ramp",
        "label": c.label,
        "visitors": a.load.visitors,
        "boundMs": a.bound_ms,
        "stepSecs": a.step_secs,
        "maxRateUnderBound": best,
        "connect": fleet.connect,
        "steps": steps,
        "serverRssKiB": rss,
        "cpu": meter.stop(),
    });
    crate::emit_json(c.json_out.as_ref(), &line)
}

struct Step {
    hi: usize,
    json: Value,
    p99_delivery_ms: f64,
    failures: u64,
    /// Messages without an ack or without every delivery when the drain ended.
    incomplete: u64,
    achieved: f64,
    rate: f64,
}

impl Step {
    fn passes(&self, bound_ms: f64) -> bool {
        self.failures == 0 && self.p99_delivery_ms < bound_ms && self.achieved >= 0.95 * self.rate
    }

    fn saturated(&self) -> bool {
        self.incomplete > 0 || self.achieved < 0.95 * self.rate
    }

    fn human(&self) -> String {
        let j = &self.json;
        format!(
            "rate {} msg/s (achieved {}), ack [{}], delivery [{}], errors {}, unacked {}, undelivered {}, duplicated {}, order violations {}, generator cpu {}%, server cpu {}%",
            j["rate"],
            j["achievedRate"],
            j["ackHuman"].as_str().unwrap_or(""),
            j["deliveryHuman"].as_str().unwrap_or(""),
            j["errors"],
            j["unacked"],
            j["lost"],
            j["duplicated"],
            j["orderViolations"],
            j["cpu"]["generatorCpuPct"],
            j["cpu"]["serverCpuPct"],
        )
    }
}

impl Fleet {
    async fn open(load: &Load, capacity: usize) -> anyhow::Result<Fleet> {
        let c = &load.common;
        let setup = SetupFile::load(&c.setup)?;
        if setup.sites.is_empty() || load.visitors == 0 {
            bail!("need at least one site and one visitor");
        }
        let agents_per_site = setup.sites[0].agent_tokens.len();
        if setup
            .sites
            .iter()
            .any(|s| s.agent_tokens.len() != agents_per_site)
            || agents_per_site == 0
        {
            bail!("every site needs the same number (> 0) of agents");
        }
        let board = Arc::new(Board::new(capacity));
        let reply_every = if load.reply > 0.0 {
            (1.0 / load.reply).round().max(1.0) as u64
        } else {
            0
        };
        let t0 = Instant::now();
        let handshakes = Arc::new(Mutex::new(stats::histogram()));
        let mut tasks = Vec::new();
        // Agents first, so that they see every message.
        let mut agent_sockets = Vec::new();
        for (si, site) in setup.sites.iter().enumerate() {
            for (ai, token) in site.agent_tokens.iter().enumerate() {
                let auth = json!({ "token": token }).to_string();
                let (ws, _) = eio::open(
                    c.server,
                    c.source(si),
                    "/agent",
                    &auth,
                    Duration::from_secs(30),
                )
                .await
                .with_context(|| format!("agent {ai} of site {si}"))?;
                agent_sockets.push((ws, ai == 0));
            }
        }
        for (ws, replier) in agent_sockets {
            let board = board.clone();
            let every = if replier { reply_every } else { 0 };
            tasks.push(tokio::spawn(agent(ws, board, every)));
        }
        let gate = Arc::new(Semaphore::new(load.concurrency.max(1)));
        let mut opening = Vec::new();
        for v in 0..load.visitors {
            let site = &setup.sites[v % setup.sites.len()];
            let auth = json!({ "siteKey": site.site_key }).to_string();
            let (server, source) = (c.server, c.source(v));
            let (gate, handshakes) = (gate.clone(), handshakes.clone());
            opening.push(tokio::spawn(async move {
                let _permit = gate.acquire_owned().await?;
                let t = Instant::now();
                let (ws, _) =
                    eio::open(server, source, "/visitor", &auth, Duration::from_secs(30)).await?;
                stats::record(
                    &mut handshakes.lock().expect("lock"),
                    t.elapsed().as_micros() as u64,
                );
                anyhow::Ok(ws)
            }));
        }
        let mut visitors = Vec::new();
        for o in opening {
            let ws = o.await??;
            let (tx, rx) = mpsc::unbounded_channel();
            visitors.push(tx);
            tasks.push(tokio::spawn(visitor(ws, rx, board.clone(), load.pad)));
        }
        let h = handshakes.lock().expect("lock").clone();
        println!(
            "{}: {} visitors and {} agents connected in {:.1} s; handshake {}",
            c.label,
            load.visitors,
            setup.sites.len() * agents_per_site,
            t0.elapsed().as_secs_f64(),
            stats::human(&h)
        );
        // Let the agents' `conversation` and `presence` events settle.
        tokio::time::sleep(Duration::from_secs(1)).await;
        Ok(Fleet {
            board,
            visitors,
            agents_per_site: agents_per_site as u8,
            tasks,
            connect: json!({
                "visitors": load.visitors,
                "agents": setup.sites.len() * agents_per_site,
                "sites": setup.sites.len(),
                "secs": stats::round3(t0.elapsed().as_secs_f64()),
                "handshakeMs": stats::summary(&h),
            }),
        })
    }

    /// Sends messages `lo..` at `rate` for `secs`, waits for the stragglers, and counts.
    async fn step(&self, load: &Load, lo: usize, rate: f64, secs: f64) -> Step {
        let b = &self.board;
        b.reset_histograms();
        let errors0 = b.ack_errors.load(Ordering::Relaxed);
        let replies0 = (
            b.reply_sent.load(Ordering::Relaxed),
            b.reply_acked.load(Ordering::Relaxed),
            b.reply_errors.load(Ordering::Relaxed),
            b.reply_delivered.load(Ordering::Relaxed),
        );
        let order0 = b.order_violations.load(Ordering::Relaxed);
        let meter = CpuMeter::start(load.common.pid);
        let n = ((rate * secs) as usize).min(b.sent_us.len() - lo);
        let hi = lo + n;
        let start = Instant::now();
        let start_us = b.now_us();
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut next = 0usize;
        while next < n {
            tick.tick().await;
            let elapsed = start.elapsed().as_secs_f64();
            let due = ((elapsed * rate) as usize).min(n);
            while next < due {
                let idx = lo + next;
                let intended = start_us + (next as f64 * 1e6 / rate) as u64;
                let _ = self.visitors[idx % self.visitors.len()].send((idx as u32, intended));
                next += 1;
            }
        }
        let send_secs = start.elapsed().as_secs_f64();
        // Drain: every message acked and delivered to every agent, or the deadline.
        let expected = self.agents_per_site;
        let deadline = Instant::now() + Duration::from_secs(load.drain);
        let mut from = lo;
        while Instant::now() < deadline {
            while from < hi
                && b.acked[from].load(Ordering::Relaxed) > 0
                && b.delivered[from].load(Ordering::Relaxed) >= expected
            {
                from += 1;
            }
            if from == hi {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Late duplicates would show up here.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let cpu = meter.stop();
        let (mut unacked, mut dup_acks, mut lost, mut duplicated, mut sent) = (0, 0, 0, 0, 0);
        for i in lo..hi {
            if b.sent_us[i].load(Ordering::Relaxed) > 0 {
                sent += 1;
            }
            match b.acked[i].load(Ordering::Relaxed) {
                0 => unacked += 1,
                1 => {}
                _ => dup_acks += 1,
            }
            let d = b.delivered[i].load(Ordering::Relaxed);
            if d < expected {
                lost += 1;
            } else if d > expected {
                duplicated += 1;
            }
        }
        let errors = b.ack_errors.load(Ordering::Relaxed) - errors0;
        let ack = b.ack.lock().expect("lock").clone();
        let delivery = b.delivery.lock().expect("lock").clone();
        let reply = b.reply.lock().expect("lock").clone();
        let lag = b.lag.lock().expect("lock").clone();
        let achieved = sent as f64 / send_secs.max(1e-9);
        let order = b.order_violations.load(Ordering::Relaxed) - order0;
        let p = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        let json = json!({
            "rate": rate,
            "secs": secs,
            "achievedRate": stats::round3(achieved),
            "sent": sent,
            "errors": errors,
            "firstError": b.first_error.lock().expect("lock").clone(),
            "unacked": unacked,
            "duplicateAcks": dup_acks,
            "lost": lost,
            "duplicated": duplicated,
            "orderViolations": order,
            "ackMs": stats::summary(&ack),
            "deliveryMs": stats::summary(&delivery),
            "ackHuman": stats::human(&ack),
            "deliveryHuman": stats::human(&delivery),
            "sendLagMs": stats::summary(&lag),
            "replies": {
                "sent": b.reply_sent.load(Ordering::Relaxed) - replies0.0,
                "acked": b.reply_acked.load(Ordering::Relaxed) - replies0.1,
                "errors": b.reply_errors.load(Ordering::Relaxed) - replies0.2,
                "delivered": b.reply_delivered.load(Ordering::Relaxed) - replies0.3,
                "deliveryMs": stats::summary(&reply),
            },
            "disconnects": b.disconnects.load(Ordering::Relaxed),
            "cpu": cpu,
        });
        Step {
            hi,
            p99_delivery_ms: p(&delivery, 0.99),
            failures: errors
                + unacked
                + dup_acks
                + lost
                + duplicated
                + order
                + b.disconnects.load(Ordering::Relaxed),
            incomplete: unacked + lost,
            achieved,
            rate,
            json,
        }
    }

    async fn close(&self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn visitor(
    mut ws: Ws,
    mut rx: mpsc::UnboundedReceiver<(u32, u64)>,
    board: Arc<Board>,
    pad: usize,
) {
    let padding = "x".repeat(pad);
    loop {
        tokio::select! {
            job = rx.recv() => {
                let Some((idx, intended)) = job else {
                    let _ = ws.close(None).await;
                    return;
                };
                let now = board.now_us();
                board.sent_us[idx as usize].store(now.max(1), Ordering::Relaxed);
                stats::record(&mut board.lag.lock().expect("lock"), now.saturating_sub(intended));
                let frame = format!(
                    "42/visitor,{idx}[\"send\",{{\"clientId\":\"b{idx}\",\"text\":\"bench {idx}{padding}\"}}]"
                );
                if ws.send(eio::text(frame)).await.is_err() {
                    board.disconnects.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
            frame = ws.next() => {
                let text = match frame {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(_)) => continue,
                    None | Some(Err(_)) => {
                        board.disconnects.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                };
                match eio::parse("/visitor", text.as_str()) {
                    Frame::Ping => {
                        let _ = ws.send(eio::text("3".into())).await;
                    }
                    Frame::Ack(id, args) => {
                        let now = board.now_us();
                        let Some(sent) = board.sent_us.get(id as usize) else { continue };
                        if eio::is_ok(args) {
                            board.acked[id as usize].fetch_add(1, Ordering::Relaxed);
                            let us = now.saturating_sub(sent.load(Ordering::Relaxed));
                            stats::record(&mut board.ack.lock().expect("lock"), us);
                        } else {
                            board.ack_errors.fetch_add(1, Ordering::Relaxed);
                            board.error(args);
                        }
                    }
                    Frame::Event("message", f) => {
                        // An agent's reply: text `reply <idx> <sent µs>`.
                        let sent = eio::str_field(f, "text")
                            .and_then(|t| t.strip_prefix("reply "))
                            .and_then(|t| t.split(' ').nth(1))
                            .and_then(|t| t.parse::<u64>().ok());
                        if let Some(sent) = sent {
                            board.reply_delivered.fetch_add(1, Ordering::Relaxed);
                            let us = board.now_us().saturating_sub(sent);
                            stats::record(&mut board.reply.lock().expect("lock"), us);
                        }
                    }
                    Frame::Closed => {
                        board.disconnects.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Counts deliveries, checks `seq` order per conversation, and answers every
/// `reply_every`-th message (0: never).
async fn agent(mut ws: Ws, board: Arc<Board>, reply_every: u64) {
    let mut last_seq: HashMap<String, u64> = HashMap::new();
    let mut ack_id = 0u64;
    while let Some(frame) = ws.next().await {
        let text = match frame {
            Ok(Message::Text(t)) => t,
            Ok(_) => continue,
            Err(_) => break,
        };
        match eio::parse("/agent", text.as_str()) {
            Frame::Ping => {
                let _ = ws.send(eio::text("3".into())).await;
            }
            Frame::Event("message", f) => {
                let Some(idx) = eio::str_field(f, "text")
                    .and_then(|t| t.strip_prefix("bench "))
                    .map(|t| &t[..t.bytes().take_while(u8::is_ascii_digit).count()])
                    .and_then(|t| t.parse::<usize>().ok())
                else {
                    continue;
                };
                let now = board.now_us();
                let Some(sent) = board.sent_us.get(idx) else {
                    continue;
                };
                board.delivered[idx].fetch_add(1, Ordering::Relaxed);
                let us = now.saturating_sub(sent.load(Ordering::Relaxed));
                stats::record(&mut board.delivery.lock().expect("lock"), us);
                let conv = eio::str_field(f, "conversationId").unwrap_or("");
                if let Some(seq) = eio::u64_field(f, "seq") {
                    match last_seq.get_mut(conv) {
                        Some(last) if seq <= *last => {
                            board.order_violations.fetch_add(1, Ordering::Relaxed);
                        }
                        Some(last) => *last = seq,
                        None => {
                            last_seq.insert(conv.to_owned(), seq);
                        }
                    }
                }
                if reply_every > 0 && (idx as u64).is_multiple_of(reply_every) {
                    ack_id += 1;
                    let reply = format!(
                        "42/agent,{ack_id}[\"send\",{{\"conversationId\":\"{conv}\",\"clientId\":\"r{idx}\",\"text\":\"reply {idx} {}\"}}]",
                        board.now_us()
                    );
                    board.reply_sent.fetch_add(1, Ordering::Relaxed);
                    if ws.send(eio::text(reply)).await.is_err() {
                        break;
                    }
                }
            }
            Frame::Ack(_, args) => {
                if eio::is_ok(args) {
                    board.reply_acked.fetch_add(1, Ordering::Relaxed);
                } else {
                    board.reply_errors.fetch_add(1, Ordering::Relaxed);
                    board.error(args);
                }
            }
            Frame::Closed => break,
            _ => {}
        }
    }
    board.disconnects.fetch_add(1, Ordering::Relaxed);
}
