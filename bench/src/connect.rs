//! `connect`: many idle visitor sockets; handshake latency and server RSS per socket.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Args;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio_tungstenite::tungstenite::Message;

use crate::eio::{self, Ws};
use crate::setup::SetupFile;
use crate::stats::{self, CpuMeter};
use crate::Common;

#[derive(Args)]
pub struct ConnectArgs {
    #[command(flatten)]
    pub common: Common,
    /// Visitor sockets to open.
    #[arg(long, default_value_t = 1000)]
    sockets: usize,
    /// Socket counts at which to read the server's RSS (the last one should be `--sockets`).
    #[arg(long, value_delimiter = ',', default_value = "1000,5000,19000")]
    checkpoints: Vec<usize>,
    /// Handshakes in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// How long to hold all sockets open, in seconds.
    #[arg(long, default_value_t = 60)]
    hold: u64,
    /// Pause before each RSS reading, in seconds.
    #[arg(long, default_value_t = 2)]
    settle: u64,
    /// Wait after closing the sockets before the last RSS reading (longer than the presence
    /// grace period), in seconds.
    #[arg(long, default_value_t = 10)]
    drain: u64,
}

struct Shared {
    handshakes: Mutex<hdrhistogram::Histogram<u64>>,
    unexpected_disconnects: AtomicU64,
    pings: AtomicU64,
}

pub async fn run(a: ConnectArgs) -> anyhow::Result<()> {
    let c = &a.common;
    let setup = SetupFile::load(&c.setup)?;
    if setup.sites.is_empty() {
        bail!("the setup has no site");
    }
    let meter = CpuMeter::start(c.pid);
    let rss = || c.pid.and_then(stats::rss_kib);
    let idle = rss();
    let fds = || c.pid.and_then(stats::fd_count);
    let idle_fds = fds();
    let shared = Arc::new(Shared {
        handshakes: Mutex::new(stats::histogram()),
        unexpected_disconnects: AtomicU64::new(0),
        pings: AtomicU64::new(0),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Result<(), String>>();
    let gate = Arc::new(Semaphore::new(a.concurrency.max(1)));
    let mut tasks = Vec::with_capacity(a.sockets);
    let mut checkpoints: Vec<usize> = a
        .checkpoints
        .iter()
        .copied()
        .filter(|&n| n <= a.sockets)
        .collect();
    if checkpoints.last() != Some(&a.sockets) {
        checkpoints.push(a.sockets);
    }
    let mut opened = 0usize;
    let mut connected = 0usize;
    let mut failures = 0usize;
    let mut first_error = None;
    let mut points = Vec::new();
    let open_started = Instant::now();
    for &target in &checkpoints {
        while opened < target {
            let permit = gate.clone().acquire_owned().await?;
            let site = &setup.sites[opened % setup.sites.len()];
            let auth = json!({ "siteKey": site.site_key }).to_string();
            let (server, source) = (c.server, c.source(opened));
            let (shared, done, stop) = (shared.clone(), done_tx.clone(), stop_rx.clone());
            tasks.push(tokio::spawn(async move {
                let t0 = Instant::now();
                let opened =
                    eio::open(server, source, "/visitor", &auth, Duration::from_secs(30)).await;
                drop(permit);
                match opened {
                    Ok((ws, _session)) => {
                        let us = t0.elapsed().as_micros() as u64;
                        stats::record(&mut shared.handshakes.lock().expect("lock"), us);
                        let _ = done.send(Ok(()));
                        hold(ws, stop, &shared).await;
                    }
                    Err(e) => {
                        let _ = done.send(Err(format!("{e:#}")));
                    }
                }
            }));
            opened += 1;
        }
        while connected + failures < opened {
            match done_rx.recv().await {
                Some(Ok(())) => connected += 1,
                Some(Err(e)) => {
                    failures += 1;
                    first_error.get_or_insert(e);
                }
                None => break,
            }
        }
        tokio::time::sleep(Duration::from_secs(a.settle)).await;
        let now = rss();
        let per_socket = match (now, idle) {
            (Some(n), Some(i)) if connected > 0 => Some(stats::round3(
                (n.saturating_sub(i)) as f64 / connected as f64,
            )),
            _ => None,
        };
        println!(
            "{}: {connected} sockets connected ({failures} failed) after {:.1} s; server RSS {} KiB, {} KiB per socket over idle",
            c.label,
            open_started.elapsed().as_secs_f64(),
            now.map_or("?".into(), |v| v.to_string()),
            per_socket.map_or("?".into(), |v| v.to_string()),
        );
        points.push(json!({
            "sockets": connected,
            "failed": failures,
            "rssKiB": now,
            "perSocketKiB": per_socket,
        }));
    }
    let open_secs = open_started.elapsed().as_secs_f64();
    println!("{}: holding {connected} sockets for {} s", c.label, a.hold);
    let held_at = Instant::now();
    let mut peak = rss();
    while held_at.elapsed() < Duration::from_secs(a.hold) {
        tokio::time::sleep(Duration::from_secs(5).min(Duration::from_secs(a.hold))).await;
        peak = peak.max(rss());
    }
    let after_hold = rss();
    let dropped = shared.unexpected_disconnects.load(Ordering::Relaxed);
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    tokio::time::sleep(Duration::from_secs(a.drain)).await;
    let after_close = rss();
    let after_close_fds = fds();
    let h = shared.handshakes.lock().expect("lock").clone();
    println!("{}: handshake latency {}", c.label, stats::human(&h));
    println!(
        "{}: unexpected disconnects {dropped}, pings answered {}; RSS idle {} KiB, after hold {} KiB, {} s after closing {} KiB ({}% of idle)",
        c.label,
        shared.pings.load(Ordering::Relaxed),
        idle.map_or("?".into(), |v| v.to_string()),
        after_hold.map_or("?".into(), |v| v.to_string()),
        a.drain,
        after_close.map_or("?".into(), |v| v.to_string()),
        pct(after_close, idle).map_or("?".into(), |v| v.to_string()),
    );
    let cpu = meter.stop();
    println!(
        "{}: server file descriptors idle {:?}, after closing {:?}",
        c.label, idle_fds, after_close_fds
    );
    println!("{}: cpu {}", c.label, cpu);
    let line = json!({
        "kind": "connect",
        "label": c.label,
        "sockets": a.sockets,
        "connected": connected,
        "failed": failures,
        "firstError": first_error,
        "openSecs": stats::round3(open_secs),
        "holdSecs": a.hold,
        "handshakeMs": stats::summary(&h),
        "idleRssKiB": idle,
        "checkpoints": points,
        "peakRssKiB": peak,
        "afterHoldRssKiB": after_hold,
        "afterCloseRssKiB": after_close,
        "afterClosePctOfIdle": pct(after_close, idle),
        "idleFds": idle_fds,
        "afterCloseFds": after_close_fds,
        "unexpectedDisconnects": dropped,
        "pingsAnswered": shared.pings.load(Ordering::Relaxed),
        "cpu": cpu,
    });
    crate::emit_json(c.json_out.as_ref(), &line)
}

fn pct(a: Option<u64>, b: Option<u64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0 => Some(stats::round3(100.0 * a as f64 / b as f64)),
        _ => None,
    }
}

/// Answers pings until told to stop; counts a close before that as unexpected.
async fn hold(mut ws: Ws, mut stop: watch::Receiver<bool>, shared: &Shared) {
    loop {
        tokio::select! {
            _ = stop.changed() => {
                let _ = ws.close(None).await;
                // Wait briefly for the server's close so the socket ends cleanly.
                let _ = tokio::time::timeout(Duration::from_secs(2), async {
                    while let Some(Ok(_)) = ws.next().await {}
                }).await;
                return;
            }
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(t))) => match eio::parse("/visitor", t.as_str()) {
                    eio::Frame::Ping => {
                        shared.pings.fetch_add(1, Ordering::Relaxed);
                        if ws.send(eio::text("3".into())).await.is_err() {
                            shared.unexpected_disconnects.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    }
                    eio::Frame::Closed => {
                        shared.unexpected_disconnects.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    _ => {}
                },
                Some(Ok(_)) => {}
                None | Some(Err(_)) => {
                    shared.unexpected_disconnects.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
    }
}
