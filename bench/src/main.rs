//! `parlor-bench`: loads a running Parlor (or the baseline `parlor-relay`) through the real
//! protocol, Socket.IO v4 over WebSocket, and reports capacity, throughput and latency.
//!
//! Every subcommand prints a human summary and then one JSON line (also appended to
//! `--json-out` when given), with the generator's own CPU time next to the result.
//! See `docs/benchmarks.md` for the documented run.

mod chaos;
mod chat;
mod connect;
mod eio;
mod setup;
mod stats;
mod uploads;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde_json::Value;

#[derive(Parser)]
#[command(
    name = "parlor-bench",
    about = "Capacity, throughput and latency of a Parlor server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create S sites with A agents each through the CLI and log the agents in.
    Setup(setup::SetupArgs),
    /// Start the server N times: time to "listening" and to the first answered request, idle RSS.
    Startup(setup::StartupArgs),
    /// Open N visitor sockets, hold them, report handshake latency and server RSS per socket.
    Connect(connect::ConnectArgs),
    /// Visitors send at an open-loop aggregate rate; agents receive and reply to a fraction.
    Chat(chat::ChatArgs),
    /// Raise the rate step by step; report the highest rate within the latency bound.
    Ramp(chat::RampArgs),
    /// Kill -9 nodes under load, many times; check that no acknowledged message was lost or
    /// doubled and that every client ends holding every message (starts its own nodes).
    Chaos(chaos::ChaosArgs),
    /// C concurrent uploads of S bytes each (per size, a fresh server): wall time, throughput,
    /// latency, and the server's peak RSS, to show it does not grow with the file size.
    Uploads(uploads::UploadsArgs),
}

/// Flags every load subcommand shares.
#[derive(Args, Clone)]
pub struct Common {
    /// The server's address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub server: SocketAddr,
    /// The file written by `setup`.
    #[arg(long, default_value = "bench/out/setup.json")]
    pub setup: PathBuf,
    /// The server's pid, to read its RSS and CPU time from /proc.
    #[arg(long)]
    pub pid: Option<u32>,
    /// A name for this run in the JSON line (e.g. `parlor` or `relay`).
    #[arg(long, default_value = "parlor")]
    pub label: String,
    /// Append the JSON line to this file.
    #[arg(long)]
    pub json_out: Option<PathBuf>,
    /// Source addresses 127.0.0.2 .. 127.0.0.(1+N), to pass the 64k ports of one address.
    #[arg(long, default_value_t = 4)]
    pub sources: u8,
    /// Generator threads (it shares the machine with the server: keep it small).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
}

impl Common {
    pub fn source(&self, i: usize) -> Option<Ipv4Addr> {
        (self.sources > 0).then(|| Ipv4Addr::new(127, 0, 0, 2 + (i % self.sources as usize) as u8))
    }
}

/// Prints the JSON line and appends it to `json_out`.
pub fn emit_json(json_out: Option<&PathBuf>, line: &Value) -> anyhow::Result<()> {
    let line = serde_json::to_string(line)?;
    println!("{line}");
    if let Some(path) = json_out {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        writeln!(f, "{line}")?;
    }
    Ok(())
}

fn runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Setup(a) => runtime(1)?.block_on(setup::setup(a)),
        Command::Startup(a) => runtime(1)?.block_on(setup::startup(a)),
        Command::Connect(a) => runtime(a.common.threads)?.block_on(connect::run(a)),
        Command::Chat(a) => runtime(a.load.common.threads)?.block_on(chat::chat(a)),
        Command::Ramp(a) => runtime(a.load.common.threads)?.block_on(chat::ramp(a)),
        Command::Chaos(a) => runtime(1)?.block_on(chaos::run(a)),
        Command::Uploads(a) => runtime(a.threads)?.block_on(uploads::run(a)),
    }
}
