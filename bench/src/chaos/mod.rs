//! `chaos`: crash safety under load. Starts Parlor nodes itself (three on PostgreSQL + Redis,
//! or one on SQLite), drives them with visitors and agents at a steady rate, `kill -9`s a
//! random node every few seconds and starts it again, optionally restarts PostgreSQL, then
//! stops the load, lets every client catch up, and checks the database and every client's
//! log (`check.rs`). Exits non-zero unless nothing was lost, doubled or left out.

mod check;
mod clients;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use serde_json::{json, Value};
use tokio::process::{Child, Command};

use crate::setup::{cli, engine_open, post_json, PASSWORD};
use crate::stats;
use clients::{Board, Client, Phase, Report, Role, XorShift};

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum Backend {
    /// Nodes share a PostgreSQL database and a Redis.
    Postgres,
    /// One node on a SQLite file.
    Sqlite,
}

#[derive(Args)]
pub struct ChaosArgs {
    #[arg(long, value_enum, default_value = "postgres")]
    backend: Backend,
    /// Nodes (PostgreSQL only; SQLite runs one).
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// How many times a node (a random one of those that hold clients) is killed with SIGKILL
    /// and started again.
    #[arg(long, default_value_t = 20)]
    kills: usize,
    /// Seconds from one kill to the next.
    #[arg(long, default_value_t = 4.0)]
    every: f64,
    /// Seconds a killed node stays down before it is started again.
    #[arg(long, default_value_t = 1.0)]
    down: f64,
    /// PostgreSQL restarts (stop with `-m immediate`, start) after the kills, under load.
    #[arg(long, default_value_t = 0)]
    pg_restarts: usize,
    /// Seconds PostgreSQL stays down.
    #[arg(long, default_value_t = 3.0)]
    pg_down: f64,
    /// Aggregate visitor messages per second.
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    #[arg(long, default_value_t = 200)]
    visitors: usize,
    /// Agents connected to each node (they fail over to another node while theirs is down).
    #[arg(long, default_value_t = 1)]
    agents_per_node: usize,
    /// Fraction of visitor messages that an agent answers.
    #[arg(long, default_value_t = 0.1)]
    reply: f64,
    /// Seconds of load before the first kill and after the last restart.
    #[arg(long, default_value_t = 3.0)]
    calm: f64,
    /// Longest wait, after the load stops, for every send to be acknowledged and every client
    /// to be connected and caught up.
    #[arg(long, default_value_t = 60.0)]
    settle: f64,
    /// Seed of the choice of node to kill (default: from the clock; printed).
    #[arg(long)]
    seed: Option<u64>,
    #[arg(long, default_value = "target/release/parlor")]
    parlor: PathBuf,
    /// The first node's port; node i listens on port + i.
    #[arg(long, default_value_t = 18300)]
    port: u16,
    /// Directory for node logs and the SQLite file.
    #[arg(long, default_value = "bench/out/chaos")]
    dir: PathBuf,
    /// A PostgreSQL server where the run creates (and then drops) its own database.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// Keep the run's PostgreSQL database (to look at it after a failure).
    #[arg(long)]
    keep_db: bool,
    #[arg(long)]
    json_out: Option<PathBuf>,
}

/// The nodes of the run and how to start them.
struct Nodes {
    bin: PathBuf,
    env: Vec<(String, String)>,
    dir: PathBuf,
    ports: Vec<u16>,
    children: Vec<Option<Child>>,
}

impl Nodes {
    fn addr(&self, i: usize) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.ports[i]))
    }

    /// Starts node `i` and waits until it answers an Engine.IO handshake; returns how long
    /// that took.
    async fn start(&mut self, i: usize) -> anyhow::Result<Duration> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("node{i}.log")))?;
        let t0 = Instant::now();
        let child = Command::new(&self.bin)
            .arg("serve")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("PARLOR_LISTEN", self.addr(i).to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", self.bin.display()))?;
        self.children[i] = Some(child);
        while engine_open(self.addr(i)).await.is_err() {
            if t0.elapsed() > Duration::from_secs(30) {
                bail!(
                    "node {i} did not answer within 30 s (see its log in {})",
                    self.dir.display()
                );
            }
            if let Some(Some(status)) = self.children[i]
                .as_mut()
                .map(|c| c.try_wait())
                .transpose()?
            {
                bail!(
                    "node {i} exited: {status} (see its log in {})",
                    self.dir.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(t0.elapsed())
    }

    /// SIGKILL: no shutdown code runs, as in a power cut of the process.
    async fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.children[i].take() {
            let _ = child.kill().await;
        }
    }

    async fn kill_all(&mut self) {
        for i in 0..self.children.len() {
            self.kill(i).await;
        }
    }
}

pub async fn run(a: ChaosArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&a.dir)?;
    let dir = std::fs::canonicalize(&a.dir)?;
    let run_id = format!("chaos_{}", std::process::id());
    let nodes = if a.backend == Backend::Sqlite {
        1
    } else {
        a.nodes.max(1)
    };
    let database_url = match a.backend {
        Backend::Sqlite => {
            let db = dir.join(format!("{run_id}.db"));
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
            }
            format!("sqlite://{}", db.display())
        }
        Backend::Postgres => {
            psql(&a.pg_url, &format!("CREATE DATABASE {run_id}")).await?;
            replace_database(&a.pg_url, &run_id)?
        }
    };
    let outcome = drive(&a, &dir, &run_id, nodes, &database_url).await;
    if a.backend == Backend::Postgres && !a.keep_db {
        // FORCE: the killed nodes' sessions may linger for a moment.
        let dropped = psql(
            &a.pg_url,
            &format!("DROP DATABASE IF EXISTS {run_id} WITH (FORCE)"),
        )
        .await;
        if let Err(e) = dropped {
            eprintln!("chaos: could not drop database {run_id}: {e:#}");
        }
    }
    let line = outcome?;
    let clean = line["clean"] == Value::Bool(true);
    crate::emit_json(a.json_out.as_ref(), &line)?;
    if !clean {
        bail!("chaos: messages were lost, doubled or left out (see the JSON line)");
    }
    Ok(())
}

async fn drive(
    a: &ChaosArgs,
    dir: &Path,
    run_id: &str,
    n: usize,
    database_url: &str,
) -> anyhow::Result<Value> {
    let high = "1000000000".to_owned();
    let mut env: Vec<(String, String)> = [
        ("PARLOR_DATABASE_URL", database_url.to_owned()),
        ("PARLOR_DEMO", "false".into()),
        ("RUST_LOG", "warn".into()),
        // Shared by every node, so that an agent's login works on all of them.
        (
            "PARLOR_JWT_SECRET",
            format!("{run_id}-jwt-secret-of-at-least-32-bytes"),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    // Hundreds of clients from one address, sending several messages a second each.
    for limit in [
        "PARLOR_RATE_NEW_VISITORS",
        "PARLOR_RATE_MESSAGES",
        "PARLOR_RATE_LOGIN",
        "PARLOR_RATE_LOGIN_PER_ADDRESS",
        "PARLOR_RATE_HANDSHAKES",
        "PARLOR_RATE_SYNC",
        "PARLOR_RATE_RECONNECTS",
        "PARLOR_MAX_CONNECTIONS_PER_ADDRESS",
    ] {
        env.push((limit.to_owned(), high.clone()));
    }
    if a.backend == Backend::Postgres {
        env.push(("PARLOR_REDIS_URL".into(), a.redis_url.clone()));
        env.push(("PARLOR_REDIS_PREFIX".into(), run_id.to_owned()));
    }
    let mut nodes = Nodes {
        bin: a.parlor.clone(),
        env,
        dir: dir.to_owned(),
        ports: (0..n).map(|i| a.port + i as u16).collect(),
        children: (0..n).map(|_| None).collect(),
    };
    let result = conduct(a, &mut nodes, n, database_url).await;
    nodes.kill_all().await;
    result
}

async fn conduct(
    a: &ChaosArgs,
    nodes: &mut Nodes,
    n: usize,
    database_url: &str,
) -> anyhow::Result<Value> {
    for i in 0..n {
        nodes.start(i).await?;
    }
    // The site and its agents, through the CLI as an operator would.
    let site = cli(
        &a.parlor,
        database_url,
        &["site", "create", "--name", "Chaos"],
    )
    .await?;
    let site_key = site["siteKey"]
        .as_str()
        .context("site create printed no siteKey")?
        .to_owned();
    let agents = n * a.agents_per_node;
    let mut jwts = Vec::new();
    for j in 0..agents {
        let username = format!("chaos-{}-{j}", std::process::id());
        cli(
            &a.parlor,
            database_url,
            &[
                "agent",
                "create",
                "--site",
                &site_key,
                "--username",
                &username,
                "--name",
                &format!("Agent {j}"),
            ],
        )
        .await?;
        let login = post_json(
            nodes.addr(j % n),
            "/api/login",
            &json!({ "username": username, "password": PASSWORD }),
        )
        .await?;
        jwts.push(
            login["token"]
                .as_str()
                .with_context(|| format!("login failed: {login}"))?
                .to_owned(),
        );
    }

    let seed = a.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1
    });
    let board = Arc::new(Board::new((0..n).map(|i| nodes.addr(i)).collect()));
    let every = Duration::from_secs_f64(a.visitors as f64 / a.rate.max(0.001));
    let mut visitor_tasks = Vec::new();
    for i in 0..a.visitors {
        let role = Role::Visitor {
            site_key: site_key.clone(),
            token: None,
        };
        let client = Client::new(
            format!("v{i}"),
            role,
            i % n,
            Some(every),
            board.clone(),
            seed ^ (i as u64 + 1),
        );
        visitor_tasks.push(tokio::spawn(client.run()));
    }
    let mut agent_tasks = Vec::new();
    for (j, jwt) in jwts.into_iter().enumerate() {
        let role = Role::Agent {
            jwt,
            index: j,
            agents,
            reply: a.reply,
        };
        let client = Client::new(
            format!("a{j}"),
            role,
            j % n,
            None,
            board.clone(),
            seed ^ !(j as u64),
        );
        agent_tasks.push(tokio::spawn(client.run()));
    }
    let clients = a.visitors + agents;
    let t0 = Instant::now();
    wait_until(Duration::from_secs(60), || {
        board.caught_up.load(Ordering::Relaxed) == clients
    })
    .await
    .context("not every client connected within 60 s")?;
    println!(
        "chaos: {clients} clients connected to {n} node(s) in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs_f64(a.calm)).await;

    let mut pick = XorShift(seed);
    let mut kills = Vec::new();
    let load_started = Instant::now();
    for k in 0..a.kills {
        let next = Instant::now() + Duration::from_secs_f64(a.every);
        // A random node among those that hold clients: after a few kills the clients have
        // moved to the nodes that stayed up, and killing an empty node would test little.
        let holding: Vec<usize> = (0..n)
            .filter(|&i| board.on_node[i].load(Ordering::Relaxed) > 0)
            .collect();
        let victim = if holding.is_empty() {
            pick.below(n)
        } else {
            holding[pick.below(holding.len())]
        };
        let acked_before = board.acked_total();
        let reconnects_before = board.reconnects.load(Ordering::Relaxed);
        let killed_at = Instant::now();
        nodes.kill(victim).await;
        // Recovered: every client of the killed node connected again (to another node, or to
        // this one once it is back) and caught up with `sync`.
        let all_back = async {
            let _ = wait_until(Duration::from_secs(1), || {
                board.caught_up.load(Ordering::Relaxed) < clients
            })
            .await;
            wait_until(Duration::from_secs(30), || {
                board.caught_up.load(Ordering::Relaxed) == clients
            })
            .await
            .map(|()| killed_at.elapsed())
        };
        let restarted = async {
            tokio::time::sleep(Duration::from_secs_f64(a.down)).await;
            nodes.start(victim).await
        };
        let (recovered, restart) = tokio::join!(all_back, restarted);
        let restart = restart?;
        let cut = board.reconnects.load(Ordering::Relaxed) - reconnects_before;
        // A node that held no client at the time (they had all moved on earlier) cuts nobody.
        let recovery_ms = match recovered {
            Ok(d) if cut > 0 => Some(stats::round3(d.as_secs_f64() * 1000.0)),
            _ => None,
        };
        println!(
            "chaos: kill {}/{} node {victim}: restarted in {:.0} ms, its {cut} clients caught up {}, {} acks meanwhile",
            k + 1,
            a.kills,
            restart.as_secs_f64() * 1000.0,
            match (cut, recovery_ms) {
                (0, _) => "(none)".to_owned(),
                (_, Some(ms)) => format!("{ms:.0} ms after the kill"),
                (_, None) => "after more than 30 s".to_owned(),
            },
            board.acked_total() - acked_before
        );
        kills.push(json!({
            "node": victim,
            "clientsCut": cut,
            "restartMs": stats::round3(restart.as_secs_f64() * 1000.0),
            "caughtUpMs": recovery_ms,
        }));
        tokio::time::sleep_until(next.into()).await;
    }

    let mut pg_restarts = Vec::new();
    for r in 0..a.pg_restarts {
        pg_restarts.push(restart_postgres(a, &board, r).await?);
    }
    tokio::time::sleep(Duration::from_secs_f64(a.calm)).await;
    let load_secs = load_started.elapsed().as_secs_f64();

    // Stop the load; every unacknowledged send is retried until it is acknowledged.
    board.set_phase(Phase::Drain);
    let drain_started = Instant::now();
    let settled = wait_until(Duration::from_secs_f64(a.settle), || {
        board.unacked.load(Ordering::Relaxed) == 0
            && board.caught_up.load(Ordering::Relaxed) == clients
    })
    .await
    .is_ok();
    // Live events still on their way, and syncs of gaps that acks revealed (after 1 s).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let drain_secs = drain_started.elapsed().as_secs_f64();
    board.set_phase(Phase::Finish);
    let visitors = join(visitor_tasks).await?;
    let agents = join(agent_tasks).await?;

    let stores = check::read_messages(database_url).await?;
    let verdict = check::verdict(&stores, &visitors, &agents);
    let clean = verdict.clean() && settled;
    let caught_up: Vec<f64> = kills
        .iter()
        .filter_map(|k| k["caughtUpMs"].as_f64())
        .collect();
    let restarts: Vec<f64> = kills
        .iter()
        .filter_map(|k| k["restartMs"].as_f64())
        .collect();
    let errors = board.ack_errors.lock().expect("lock").clone();
    println!(
        "chaos: {} kills of {n} node(s) ({:?}) in {load_secs:.0} s: {} stored, {} acked; lost {}, duplicated {}, \
         stored unacked {}, seq gaps {}, unresolved {}, missing in clients {}, wrong in clients {}; \
         caught up after a kill: median {:.0} ms, max {:.0} ms; {}",
        a.kills,
        a.backend,
        verdict.stored,
        verdict.acked,
        verdict.lost,
        verdict.duplicated,
        verdict.stored_unacked,
        verdict.seq_gaps,
        verdict.unresolved,
        verdict.client_missing,
        verdict.client_wrong,
        median(&caught_up),
        caught_up.iter().copied().fold(0.0, f64::max),
        if clean { "CLEAN" } else { "FAILED" }
    );
    Ok(json!({
        "kind": "chaos",
        "backend": format!("{:?}", a.backend).to_lowercase(),
        "nodes": n,
        "visitors": a.visitors,
        "agents": agents.len(),
        "rate": a.rate,
        "reply": a.reply,
        "kills": a.kills,
        "everySecs": a.every,
        "downSecs": a.down,
        "seed": seed,
        "loadSecs": stats::round3(load_secs),
        "drainSecs": stats::round3(drain_secs),
        "settled": settled,
        "clean": clean,
        "verdict": verdict,
        "reconnects": board.reconnects.load(Ordering::Relaxed),
        "resends": board.resends.load(Ordering::Relaxed),
        "gapSyncs": board.gap_syncs.load(Ordering::Relaxed),
        "conflictingAcks": board.conflicting_acks.load(Ordering::Relaxed),
        "conflictingSeqs": board.conflicting_seqs.load(Ordering::Relaxed),
        "ackErrors": errors,
        "restartMs": { "median": median(&restarts), "max": restarts.iter().copied().fold(0.0, f64::max) },
        "caughtUpAfterKillMs": { "median": median(&caught_up), "max": caught_up.iter().copied().fold(0.0, f64::max) },
        "killLog": kills,
        "pgRestarts": pg_restarts,
        "generatorCpuSecs": stats::round3(stats::self_cpu_secs()),
    }))
}

/// Stops PostgreSQL as a crash would (`-m immediate`), starts it again, and measures how
/// long after it answers again the nodes acknowledge messages again.
async fn restart_postgres(a: &ChaosArgs, board: &Board, r: usize) -> anyhow::Result<Value> {
    let version = std::fs::read_dir("/etc/postgresql")
        .context("/etc/postgresql (Debian's PostgreSQL cluster layout)")?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .max_by_key(|v| v.parse::<u32>().unwrap_or(0))
        .context("no PostgreSQL cluster in /etc/postgresql")?;
    // The nodes that serve clients now: those that acknowledged a message in the last second.
    let counts = || {
        board
            .acked_on
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect::<Vec<_>>()
    };
    let errors = || board.ack_errors.lock().expect("lock").values().sum::<u64>();
    let earlier = counts();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = counts();
    let serving: Vec<usize> = (0..before.len())
        .filter(|&i| before[i] > earlier[i])
        .collect();
    let errors_before = errors();
    let stopped_at = Instant::now();
    pg_ctl(&version, &["stop", "-m", "immediate"]).await?;
    tokio::time::sleep(Duration::from_secs_f64(a.pg_down)).await;
    pg_ctl(&version, &["start"]).await?;
    wait_until(Duration::from_secs(30), || {
        std::process::Command::new("pg_isready")
            .args(["-q", "-h", "127.0.0.1", "-p", "5432"])
            .status()
            .is_ok_and(|s| s.success())
    })
    .await
    .context("PostgreSQL did not come back")?;
    let back = Instant::now();
    let at_back = counts();
    let first_ack = wait_until(Duration::from_secs(30), || {
        board.acked_total() > at_back.iter().sum::<u64>()
    })
    .await
    .map(|()| stats::round3(back.elapsed().as_secs_f64() * 1000.0))
    .ok();
    let all_serving = wait_until(Duration::from_secs(30), || {
        let now = counts();
        serving.iter().all(|&i| now[i] > at_back[i])
    })
    .await
    .map(|()| stats::round3(back.elapsed().as_secs_f64() * 1000.0))
    .ok();
    let error_acks = errors().saturating_sub(errors_before);
    println!(
        "chaos: PostgreSQL restart {}: down {:.1} s, {error_acks} error acks; after it answered again: \
         first ok ack {}, every serving node ({serving:?}) {}",
        r + 1,
        back.duration_since(stopped_at).as_secs_f64(),
        first_ack.map_or("not within 30 s".into(), |ms| format!("{ms:.0} ms")),
        all_serving.map_or("not within 30 s".into(), |ms| format!("{ms:.0} ms")),
    );
    Ok(json!({
        "downSecs": stats::round3(back.duration_since(stopped_at).as_secs_f64()),
        "firstAckAfterMs": first_ack,
        "servingNodes": serving,
        "everyServingNodeAckedAfterMs": all_serving,
        "errorAcks": error_acks,
    }))
}

async fn pg_ctl(version: &str, args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", version, "main"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .await
        .context("running pg_ctlcluster")?;
    if !status.success() {
        bail!("pg_ctlcluster {version} main {args:?} failed: {status}");
    }
    Ok(())
}

async fn psql(url: &str, sql: &str) -> anyhow::Result<()> {
    let out = Command::new("psql")
        .args([url, "-X", "-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        .stdin(Stdio::null())
        .output()
        .await
        .context("running psql")?;
    if !out.status.success() {
        bail!("psql {sql:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// `url` with its database name replaced by `name`.
fn replace_database(url: &str, name: &str) -> anyhow::Result<String> {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let slash = base
        .rfind('/')
        .filter(|&i| i > "postgres://".len())
        .context("a PostgreSQL URL with a database")?;
    let mut out = format!("{}/{name}", &base[..slash]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> anyhow::Result<()> {
    let t0 = Instant::now();
    while !done() {
        if t0.elapsed() > limit {
            bail!("timed out after {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

async fn join(tasks: Vec<tokio::task::JoinHandle<Report>>) -> anyhow::Result<Vec<Report>> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(
            tokio::time::timeout(Duration::from_secs(30), t)
                .await
                .context("a client did not stop")??,
        );
    }
    Ok(out)
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_database_replaces_the_url_database() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/postgres", "chaos_1").unwrap(),
            "postgres://postgres@127.0.0.1:5432/chaos_1"
        );
        assert_eq!(
            replace_database("postgres://u@h/db?sslmode=disable", "c").unwrap(),
            "postgres://u@h/c?sslmode=disable"
        );
    }
}
