//! `setup` (sites, agents, tokens) and `startup` (time to ready, idle RSS).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;

use crate::stats;

/// Password of the benchmark's agents (the CLI wants at least 8 characters).
pub const PASSWORD: &str = "bench-password-1";

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetupFile {
    pub sites: Vec<SiteSetup>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteSetup {
    pub site_key: String,
    /// JWTs from `POST /api/login`, one per agent.
    pub agent_tokens: Vec<String>,
}

impl SetupFile {
    pub fn load(path: &PathBuf) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(serde_json::from_str(&text)?)
    }
}

#[derive(Args)]
pub struct SetupArgs {
    /// The `parlor` binary (its CLI creates sites and agents).
    #[arg(long, default_value = "target/release/parlor")]
    parlor: PathBuf,
    /// The running server's database, as PARLOR_DATABASE_URL.
    #[arg(long, env = "PARLOR_DATABASE_URL")]
    database_url: Option<String>,
    /// The running server, for `POST /api/login`.
    #[arg(long, default_value = "127.0.0.1:8080")]
    server: SocketAddr,
    #[arg(long, default_value_t = 10)]
    sites: usize,
    #[arg(long, default_value_t = 2)]
    agents: usize,
    /// Write a setup for `parlor-relay` instead (no CLI, tokens `relay:<site>`).
    #[arg(long)]
    relay: bool,
    /// Where to write the setup.
    #[arg(long, default_value = "bench/out/setup.json")]
    out: PathBuf,
}

pub async fn setup(a: SetupArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut sites = Vec::new();
    for i in 0..a.sites {
        if a.relay {
            let key = format!("relay-site-{i}");
            let tokens = (0..a.agents).map(|_| format!("relay:{key}")).collect();
            sites.push(SiteSetup {
                site_key: key,
                agent_tokens: tokens,
            });
            continue;
        }
        let db = a
            .database_url
            .as_deref()
            .context("--database-url (or PARLOR_DATABASE_URL) is required")?;
        let site = cli(
            &a.parlor,
            db,
            &["site", "create", "--name", &format!("Bench site {i}")],
        )
        .await?;
        let key = site["siteKey"]
            .as_str()
            .context("site create printed no siteKey")?
            .to_owned();
        let run = std::process::id();
        let mut tokens = Vec::new();
        for j in 0..a.agents {
            let username = format!("bench-{run}-{i}-{j}");
            cli(
                &a.parlor,
                db,
                &[
                    "agent",
                    "create",
                    "--site",
                    &key,
                    "--username",
                    &username,
                    "--name",
                    &format!("Agent {i}.{j}"),
                ],
            )
            .await?;
            let login = post_json(
                a.server,
                "/api/login",
                &json!({ "username": username, "password": PASSWORD }),
            )
            .await?;
            tokens.push(
                login["token"]
                    .as_str()
                    .with_context(|| format!("login failed: {login}"))?
                    .to_owned(),
            );
        }
        sites.push(SiteSetup {
            site_key: key,
            agent_tokens: tokens,
        });
    }
    if let Some(dir) = a.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&a.out, serde_json::to_string_pretty(&SetupFile { sites })?)?;
    println!(
        "setup: {} sites x {} agents -> {} ({:.1} s)",
        a.sites,
        a.agents,
        a.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub async fn cli(parlor: &PathBuf, db: &str, args: &[&str]) -> anyhow::Result<Value> {
    let out = Command::new(parlor)
        .args(args)
        .env("PARLOR_DATABASE_URL", db)
        .env("PARLOR_PASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("running {}", parlor.display()))?;
    if !out.status.success() {
        bail!(
            "{} {:?} failed: {}",
            parlor.display(),
            args,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .context("the CLI printed no JSON")?;
    Ok(serde_json::from_str(line)?)
}

/// A one-shot HTTP/1.1 POST with `Connection: close`; returns the JSON body.
pub async fn post_json(server: SocketAddr, path: &str, body: &Value) -> anyhow::Result<Value> {
    let body = body.to_string();
    let mut tcp = TcpStream::connect(server).await?;
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {server}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(req.as_bytes()).await?;
    let mut resp = String::new();
    tcp.read_to_string(&mut resp).await?;
    let (_, body) = resp
        .split_once("\r\n\r\n")
        .context("malformed HTTP response")?;
    serde_json::from_str(body.trim()).with_context(|| format!("response: {resp}"))
}

#[derive(Args)]
pub struct StartupArgs {
    /// The server binary (`parlor` or `parlor-relay`).
    #[arg(long, default_value = "target/release/parlor")]
    bin: PathBuf,
    /// Extra arguments (e.g. `serve`).
    #[arg(long, default_value = "serve", allow_hyphen_values = true)]
    args: Vec<String>,
    /// Directory for the databases; every run uses `startup.db` in it (the first run creates it).
    #[arg(long, default_value = "bench/out")]
    dir: PathBuf,
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// How long to let the server idle before reading its RSS.
    #[arg(long, default_value_t = 2.0)]
    idle_secs: f64,
    #[arg(long, default_value = "127.0.0.1:18181")]
    listen: SocketAddr,
    #[arg(long, default_value = "parlor")]
    label: String,
    #[arg(long)]
    json_out: Option<PathBuf>,
}

/// Runs the server `runs` times against the same database: the first run creates it.
pub async fn startup(a: StartupArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&a.dir)?;
    let db = std::fs::canonicalize(&a.dir)?.join("startup.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let mut runs = Vec::new();
    for run in 0..a.runs {
        let t0 = Instant::now();
        let mut child = Command::new(&a.bin)
            .args(&a.args)
            .env("PARLOR_LISTEN", a.listen.to_string())
            .env("PARLOR_DATABASE_URL", format!("sqlite://{}", db.display()))
            .env("PARLOR_DEMO", "false")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", a.bin.display()))?;
        let pid = child.id().context("no pid")?;
        let mut lines = BufReader::new(child.stdout.take().context("no stdout")?).lines();
        let listening = loop {
            match tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await {
                Ok(Ok(Some(l))) if l.contains("listening on") => break t0.elapsed(),
                Ok(Ok(Some(_))) => continue,
                _ => bail!("the server did not print 'listening on'"),
            }
        };
        // Ready = answers a WebSocket handshake request over HTTP (engine.io open).
        let ready = loop {
            if engine_open(a.listen).await.is_ok() {
                break t0.elapsed();
            }
            if t0.elapsed() > Duration::from_secs(10) {
                bail!("the server never answered");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        tokio::time::sleep(Duration::from_secs_f64(a.idle_secs)).await;
        let rss = stats::rss_kib(pid).unwrap_or(0);
        // SAFETY: signalling our own child by its pid.
        unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
        let _ = child.kill().await;
        println!(
            "startup run {run}: listening {:.1} ms, ready {:.1} ms, idle RSS {:.1} MiB",
            ms(listening),
            ms(ready),
            rss as f64 / 1024.0
        );
        runs.push((ms(listening), ms(ready), rss));
    }
    let warm: Vec<_> = runs.iter().skip(1).collect();
    let median = |f: &dyn Fn(&(f64, f64, u64)) -> f64| {
        let mut v: Vec<f64> = warm.iter().map(|r| f(r)).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let line = json!({
        "kind": "startup",
        "label": a.label,
        "firstRun": { "listeningMs": runs[0].0, "readyMs": runs[0].1, "idleRssKiB": runs[0].2 },
        "warmMedian": {
            "listeningMs": median(&|r| r.0),
            "readyMs": median(&|r| r.1),
            "idleRssKiB": median(&|r| r.2 as f64),
        },
        "runs": runs.iter().map(|r| json!([r.0, r.1, r.2])).collect::<Vec<_>>(),
        "generatorCpuSecs": stats::round3(stats::self_cpu_secs()),
    });
    crate::emit_json(a.json_out.as_ref(), &line)
}

fn ms(d: Duration) -> f64 {
    stats::round3(d.as_secs_f64() * 1000.0)
}

/// One engine.io polling handshake: `GET /socket.io/?EIO=4&transport=polling` answers `0{...}`.
pub async fn engine_open(server: SocketAddr) -> anyhow::Result<()> {
    let mut tcp = TcpStream::connect(server).await?;
    tcp.set_nodelay(true)?;
    let req = format!(
        "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: {server}\r\nConnection: close\r\n\r\n"
    );
    tcp.write_all(req.as_bytes()).await?;
    let mut resp = String::new();
    tcp.read_to_string(&mut resp).await?;
    if resp.starts_with("HTTP/1.1 200") && resp.contains("\r\n\r\n0{") {
        Ok(())
    } else {
        bail!("unexpected answer")
    }
}
