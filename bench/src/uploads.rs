//! `uploads`: C concurrent uploads of S bytes each through `POST /api/uploads` (docs/protocol.md,
//! "Files"), against a `parlor` it starts (or one it is pointed at). Reports wall time,
//! aggregate throughput, per-upload latency and the server's memory while the bodies stream:
//! run with several sizes, it shows whether the server's RSS grows with the file size (it must
//! not: files are streamed to storage, never held whole).
//!
//! Each size gets a fresh server, so that its peak RSS (`VmHWM`) is that size's alone. Every
//! upload is a visitor's (a Socket.IO handshake gives the token, and the socket stays open, as
//! the widget's would), and its body is a PDF header followed by pseudo-random filler, written
//! from one shared block: the generator holds no file in memory either.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::eio::{self, Ws};
use crate::setup::{cli, engine_open};
use crate::stats::{self, CpuMeter};

/// The start of every uploaded file: enough for the server to sniff `application/pdf`.
const PDF_HEAD: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n% parlor-bench upload\n";

const MIB: f64 = 1024.0 * 1024.0;

#[derive(Args)]
pub struct UploadsArgs {
    /// File sizes, one run (and one fresh server) each: bytes, or with a KiB, MiB or GiB suffix.
    #[arg(long, value_delimiter = ',', default_value = "10MiB", value_parser = parse_size)]
    sizes: Vec<u64>,
    /// Uploads, all started at once.
    #[arg(long, default_value_t = 50)]
    uploads: usize,
    /// Visitors the uploads are spread over (0: one per upload). The server lets a visitor have
    /// 3 uploads at once, and a conversation 100 MiB of files in all.
    #[arg(long, default_value_t = 0)]
    visitors: usize,
    /// Bytes per write of a request body.
    #[arg(long, default_value = "64KiB", value_parser = parse_size)]
    chunk: u64,
    /// How often to read the server's RSS during the uploads, in milliseconds.
    #[arg(long, default_value_t = 5)]
    sample_ms: u64,
    /// Pause after the uploads before the last RSS reading, in seconds.
    #[arg(long, default_value_t = 2.0)]
    settle: f64,
    /// The `parlor` binary to start (and whose CLI creates the site).
    #[arg(long, default_value = "target/release/parlor")]
    parlor: PathBuf,
    /// Where the started server listens.
    #[arg(long, default_value = "127.0.0.1:18400")]
    listen: SocketAddr,
    /// Directory of the started server's SQLite database (tmpfs by default: the database is not
    /// what is measured here). Emptied before each run.
    #[arg(long, default_value = "/dev/shm/parlor-bench-uploads")]
    db_dir: PathBuf,
    /// `PARLOR_FILES_DIR` of the started server, emptied before and removed after each run; of
    /// a running server (`--server`), where its files are checked (nothing is removed).
    #[arg(long)]
    files_dir: Option<PathBuf>,
    /// Keep the started server's files after the run.
    #[arg(long)]
    keep: bool,
    /// Load this running server instead of starting one (it must accept uploads of every
    /// size, with its upload rate limits raised); needs `--site-key`.
    #[arg(long, requires = "site_key")]
    server: Option<SocketAddr>,
    /// The running server's pid, to read its memory and CPU time from /proc.
    #[arg(long, requires = "server")]
    pid: Option<u32>,
    /// A site of the running server.
    #[arg(long)]
    site_key: Option<String>,
    /// A name for this run in the JSON line (e.g. `disk` or `tmpfs`).
    #[arg(long, default_value = "parlor")]
    label: String,
    /// Append the JSON lines to this file.
    #[arg(long)]
    json_out: Option<PathBuf>,
    /// Generator threads.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
}

/// `123`, `64KiB`, `10MiB`, `1GiB` (also `K`, `M`, `G`, `KB`, `MB`, `GB`, all powers of 1024).
fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let n: u64 = s[..digits]
        .parse()
        .map_err(|_| format!("not a size: {s:?}"))?;
    let unit = match s[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown unit {other:?} in {s:?}")),
    };
    n.checked_mul(unit)
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("not a size: {s:?}"))
}

fn human_size(n: u64) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} B")
    }
}

pub async fn run(a: UploadsArgs) -> anyhow::Result<()> {
    if a.uploads == 0 {
        bail!("--uploads must be at least 1");
    }
    if (a.chunk as usize) <= PDF_HEAD.len() {
        bail!("--chunk must be more than {} bytes", PDF_HEAD.len());
    }
    for &size in &a.sizes {
        let line = run_size(&a, size).await?;
        crate::emit_json(a.json_out.as_ref(), &line)?;
    }
    Ok(())
}

/// The bytes of every uploaded file: byte `i` is `PDF_HEAD[i]` in the head, `block[i % chunk]`
/// after it. Writes and checks go block by block, so neither side needs the file in memory.
struct Content {
    block: Vec<u8>,
}

impl Content {
    fn new(chunk: usize) -> Self {
        // xorshift: not compressible, not text, the same every run.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let block = (0..chunk)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        Content { block }
    }

    /// The pieces of a file of `size` bytes, in order, each at most a block.
    fn pieces(&self, size: u64) -> impl Iterator<Item = &[u8]> {
        let chunk = self.block.len() as u64;
        let head = &PDF_HEAD[..(size.min(PDF_HEAD.len() as u64) as usize)];
        let mut offset = head.len() as u64;
        std::iter::once(head).chain(std::iter::from_fn(move || {
            if offset >= size {
                return None;
            }
            let start = offset % chunk;
            let end = chunk.min(start + (size - offset));
            offset += end - start;
            Some(&self.block[start as usize..end as usize])
        }))
    }
}

/// The server under load: started here, or running already.
struct Server {
    addr: SocketAddr,
    pid: Option<u32>,
    child: Option<Child>,
    site_key: String,
    files_dir: Option<PathBuf>,
    /// The started server's directories, removed at the end unless `--keep`.
    owned_dirs: Vec<PathBuf>,
}

impl Server {
    async fn start(a: &UploadsArgs, size: u64) -> anyhow::Result<Server> {
        let files_dir = a
            .files_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("bench/out/uploads-files"));
        for dir in [&a.db_dir, &files_dir] {
            let _ = std::fs::remove_dir_all(dir);
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let db_dir = std::fs::canonicalize(&a.db_dir)?;
        let files_dir = std::fs::canonicalize(&files_dir)?;
        let database_url = format!("sqlite://{}", db_dir.join("uploads.db").display());
        let log_path = db_dir.join("server.log");
        let log = std::fs::File::create(&log_path)?;
        let high = "1000000000";
        let child = Command::new(&a.parlor)
            .arg("serve")
            .env("PARLOR_DATABASE_URL", &database_url)
            .env("PARLOR_FILES_DIR", &files_dir)
            .env("PARLOR_LISTEN", a.listen.to_string())
            .env("PARLOR_DEMO", "false")
            .env("RUST_LOG", "warn")
            .env("PARLOR_UPLOAD_MAX_BYTES", size.to_string())
            // Many visitors, handshakes and uploads from one address in a moment.
            .env("PARLOR_RATE_UPLOADS", high)
            .env("PARLOR_RATE_NEW_VISITORS", high)
            .env("PARLOR_RATE_HANDSHAKES", high)
            .env("PARLOR_MAX_CONNECTIONS_PER_ADDRESS", high)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", a.parlor.display()))?;
        let pid = child.id();
        let mut server = Server {
            addr: a.listen,
            pid,
            child: Some(child),
            site_key: String::new(),
            files_dir: Some(files_dir.clone()),
            owned_dirs: vec![db_dir.clone(), files_dir],
        };
        let t0 = Instant::now();
        while engine_open(a.listen).await.is_err() {
            if t0.elapsed() > Duration::from_secs(30) {
                bail!(
                    "the server did not answer within 30 s (see {})",
                    log_path.display()
                );
            }
            if let Some(status) = server
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                bail!("the server exited: {status} (see {})", log_path.display());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let site = cli(
            &a.parlor,
            &database_url,
            &["site", "create", "--name", "Uploads bench"],
        )
        .await?;
        server.site_key = site["siteKey"]
            .as_str()
            .context("site create printed no siteKey")?
            .to_owned();
        Ok(server)
    }

    fn running(a: &UploadsArgs, addr: SocketAddr) -> anyhow::Result<Server> {
        Ok(Server {
            addr,
            pid: a.pid,
            child: None,
            site_key: a.site_key.clone().context("--site-key is required")?,
            files_dir: a.files_dir.clone(),
            owned_dirs: Vec::new(),
        })
    }

    async fn stop(mut self, keep: bool) {
        if let (Some(mut child), Some(pid)) = (self.child.take(), self.pid) {
            // SAFETY: signalling our own child by its pid.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
            if tokio::time::timeout(Duration::from_secs(10), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
        if !keep {
            for dir in &self.owned_dirs {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}

/// The server's memory, read from /proc/PID/status every `every` on a thread of its own (the
/// generator's runtime is busy writing bodies), until stopped.
struct Sampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Peaks>,
}

#[derive(Default, Debug)]
struct Peaks {
    rss_kib: u64,
    anon_kib: u64,
    samples: u64,
}

impl Sampler {
    fn start(pid: u32, every: Duration) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut peaks = Peaks::default();
            while !flag.load(Ordering::Relaxed) {
                if let Some(m) = Memory::of(&pid.to_string()) {
                    peaks.rss_kib = peaks.rss_kib.max(m.rss_kib);
                    peaks.anon_kib = peaks.anon_kib.max(m.anon_kib);
                    peaks.samples += 1;
                }
                std::thread::sleep(every);
            }
            peaks
        });
        Sampler { stop, thread }
    }

    fn stop(self) -> Peaks {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

/// One reading of /proc/PID/status, in KiB.
#[derive(Clone, Copy, Debug)]
struct Memory {
    /// `VmRSS`: resident now.
    rss_kib: u64,
    /// `RssAnon`: of that, the heap and stacks (not the binary's pages).
    anon_kib: u64,
    /// `VmHWM`: the highest `VmRSS` since the process started (or since `reset_peak`).
    hwm_kib: u64,
}

impl Memory {
    /// `who`: a pid, or `self`.
    fn of(who: &str) -> Option<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{who}/status")).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
        };
        Some(Memory {
            rss_kib: field("VmRSS:")?,
            anon_kib: field("RssAnon:")?,
            hwm_kib: field("VmHWM:")?,
        })
    }

    fn json(self) -> Value {
        json!({ "rssKiB": self.rss_kib, "anonKiB": self.anon_kib, "hwmKiB": self.hwm_kib })
    }
}

/// `/proc/PID/io`: bytes written and write system calls (files and sockets alike).
fn write_counters(pid: u32) -> Option<(u64, u64)> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    let field = |name: &str| {
        io.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    Some((field("wchar:")?, field("syscw:")?))
}

/// Sets `VmHWM` back to the current RSS (Linux 4.0+), so that a peak is this run's alone.
fn reset_peak(who: &str) -> bool {
    std::fs::write(format!("/proc/{who}/clear_refs"), "5").is_ok()
}

/// The file system type of the mount that holds `dir` (`tmpfs`, `ext4`, ...).
fn fs_type(dir: &Path) -> Option<String> {
    let dir = std::fs::canonicalize(dir).ok()?;
    let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, at, kind) = (f.next()?, f.next()?, f.next()?);
            dir.starts_with(at).then(|| (at.len(), kind.to_owned()))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, kind)| kind)
}

/// One visitor: its socket (kept open and answering pings, as the widget's) and its token.
async fn open_visitor(server: SocketAddr, site_key: &str) -> anyhow::Result<(Ws, String)> {
    let auth = json!({ "siteKey": site_key }).to_string();
    let (ws, session) = eio::open(server, None, "/visitor", &auth, Duration::from_secs(30)).await?;
    // `42/visitor,["session",{...}]`
    let args: Value = session
        .find('[')
        .and_then(|i| serde_json::from_str(&session[i..]).ok())
        .context("a malformed session event")?;
    let token = args[1]["token"]
        .as_str()
        .with_context(|| format!("the first event carries no token: {session:.200}"))?
        .to_owned();
    Ok((ws, token))
}

async fn hold(mut ws: Ws, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => {
                let _ = ws.close(None).await;
                return;
            }
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(t))) if eio::parse("/visitor", t.as_str()) == eio::Frame::Ping => {
                    if ws.send(eio::text("3".into())).await.is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                None | Some(Err(_)) => return,
            }
        }
    }
}

/// What one upload came to.
struct Outcome {
    latency: Duration,
    /// The 201's upload, or why there was none.
    result: Result<Value, String>,
}

/// `POST /api/uploads?filename=...` with a raw body of `size` bytes, written piece by piece
/// while the answer is read (so that an early 413 or 429 is seen).
async fn upload(
    server: SocketAddr,
    token: &str,
    name: &str,
    size: u64,
    content: &Content,
) -> anyhow::Result<Value> {
    let mut tcp = TcpStream::connect(server).await.context("tcp connect")?;
    let head = format!(
        "POST /api/uploads?filename={name} HTTP/1.1\r\nHost: {server}\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/pdf\r\n\
         Content-Length: {size}\r\nConnection: close\r\n\r\n"
    );
    let (mut rd, mut wr) = tcp.split();
    let write = async {
        wr.write_all(head.as_bytes()).await?;
        for piece in content.pieces(size) {
            wr.write_all(piece).await?;
        }
        wr.flush().await
    };
    let read = async {
        let mut resp = Vec::new();
        rd.read_to_end(&mut resp).await.map(|_| resp)
    };
    let (written, resp) = tokio::join!(write, read);
    let resp = resp.context("reading the answer")?;
    let text = String::from_utf8_lossy(&resp);
    let Some((status_line, body)) = text
        .split_once("\r\n")
        .and_then(|(status, rest)| Some((status, rest.split_once("\r\n\r\n")?.1)))
    else {
        match written {
            Err(e) => bail!("the body was not taken: {e}"),
            Ok(()) => bail!("no HTTP answer"),
        }
    };
    if !status_line.starts_with("HTTP/1.1 201") {
        bail!("{status_line}: {body:.300}");
    }
    serde_json::from_str(body.trim()).with_context(|| format!("the 201's body: {body:.300}"))
}

/// Checks the stored files: each `id` of a 201 names a file of exactly `size` bytes, byte for
/// byte the ones sent, under `dir/<site>/`; and no partial file is left.
fn verify(dir: &Path, uploads: &[Value], size: u64, content: &Content) -> anyhow::Result<Value> {
    use std::io::Read;
    let mut sites = Vec::new();
    let mut partial = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            for f in std::fs::read_dir(&path)? {
                let name = f?.file_name();
                if name.to_string_lossy().ends_with(".part") {
                    partial += 1;
                }
            }
            sites.push(path);
        }
    }
    let (mut found, mut right_size, mut identical) = (0, 0, 0);
    let mut first_problem: Option<String> = None;
    let mut buf = vec![0u8; content.block.len()];
    for u in uploads {
        let Some(id) = u["id"].as_str() else { continue };
        let Some(path) = sites.iter().map(|s| s.join(id)).find(|p| p.is_file()) else {
            first_problem.get_or_insert_with(|| format!("{id}: no file"));
            continue;
        };
        found += 1;
        let len = std::fs::metadata(&path)?.len();
        if len != size {
            first_problem.get_or_insert_with(|| format!("{id}: {len} bytes, not {size}"));
            continue;
        }
        right_size += 1;
        let mut file = std::fs::File::open(&path)?;
        let mut same = true;
        for piece in content.pieces(size) {
            let got = &mut buf[..piece.len()];
            file.read_exact(got)?;
            if got != piece {
                same = false;
                break;
            }
        }
        if same {
            identical += 1;
        } else {
            first_problem.get_or_insert_with(|| format!("{id}: other bytes than were sent"));
        }
    }
    Ok(json!({
        "files": found,
        "rightSize": right_size,
        "identical": identical,
        "partialFilesLeft": partial,
        "firstProblem": first_problem,
    }))
}

async fn run_size(a: &UploadsArgs, size: u64) -> anyhow::Result<Value> {
    let server = match a.server {
        Some(addr) => Server::running(a, addr)?,
        None => Server::start(a, size).await?,
    };
    let result = measure(a, &server, size).await;
    server.stop(a.keep).await;
    result
}

async fn measure(a: &UploadsArgs, server: &Server, size: u64) -> anyhow::Result<Value> {
    let visitors = if a.visitors == 0 {
        a.uploads
    } else {
        a.visitors.min(a.uploads)
    };
    let per_visitor = a.uploads.div_ceil(visitors);
    if per_visitor > 3 {
        bail!("{per_visitor} uploads per visitor: the server allows 3 at once (raise --visitors)");
    }
    let label = format!("{} {}x{}", a.label, a.uploads, human_size(size));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tokens = Vec::new();
    let mut holders = Vec::new();
    for _ in 0..visitors {
        let (ws, token) = open_visitor(server.addr, &server.site_key).await?;
        tokens.push(token);
        holders.push(tokio::spawn(hold(ws, stop_rx.clone())));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let pid = server.pid;
    let server_mem = |p: u32| Memory::of(&p.to_string());
    let hwm_reset = pid.is_some_and(|p| reset_peak(&p.to_string()));
    let idle = pid.and_then(server_mem);
    reset_peak("self");
    let sampler = pid.map(|p| Sampler::start(p, Duration::from_millis(a.sample_ms.max(1))));
    let meter = CpuMeter::start(pid);
    let io_before = pid.and_then(write_counters);

    let content = Arc::new(Content::new(a.chunk as usize));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..a.uploads {
        let (token, content) = (tokens[i % visitors].clone(), Arc::clone(&content));
        let addr = server.addr;
        tasks.push(tokio::spawn(async move {
            let started = Instant::now();
            let name = format!("bench-{i}.pdf");
            let result = tokio::time::timeout(
                Duration::from_secs(600),
                upload(addr, &token, &name, size, &content),
            )
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("timed out after 600 s")));
            Outcome {
                latency: started.elapsed(),
                result: result.map_err(|e| format!("{e:#}")),
            }
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await?);
    }
    let wall = t0.elapsed();
    let cpu = meter.stop();
    let peaks = sampler.map(Sampler::stop);
    let after = pid.and_then(server_mem);
    let io = match (io_before, pid.and_then(write_counters)) {
        (Some((b0, w0)), Some((b1, w1))) => {
            let (bytes, calls) = (b1.saturating_sub(b0), w1.saturating_sub(w0));
            json!({
                "writtenBytes": bytes,
                "writeCalls": calls,
                "bytesPerWrite": bytes.checked_div(calls),
            })
        }
        _ => Value::Null,
    };
    let generator = Memory::of("self");
    tokio::time::sleep(Duration::from_secs_f64(a.settle)).await;
    let settled = pid.and_then(server_mem);
    let _ = stop_tx.send(true);
    for h in holders {
        let _ = h.await;
    }

    let mut latency = stats::histogram();
    let mut uploaded = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for o in &outcomes {
        match &o.result {
            Ok(u) => {
                stats::record(&mut latency, o.latency.as_micros() as u64);
                uploaded.push(u.clone());
            }
            Err(e) => {
                errors += 1;
                first_error.get_or_insert_with(|| e.clone());
            }
        }
    }
    let reported_wrong = uploaded
        .iter()
        .filter(|u| u["size"].as_u64() != Some(size) || u["contentType"] != "application/pdf")
        .count();
    let checked = match &server.files_dir {
        Some(dir) => verify(dir, &uploaded, size, &content)?,
        None => Value::Null,
    };
    let bytes = uploaded.len() as u64 * size;
    let throughput = bytes as f64 / MIB / wall.as_secs_f64().max(1e-9);
    let files_fs = server.files_dir.as_deref().and_then(fs_type);

    println!(
        "{label}: {} of {} uploads stored in {:.2} s, {throughput:.1} MiB/s; latency {}",
        uploaded.len(),
        a.uploads,
        wall.as_secs_f64(),
        stats::human(&latency)
    );
    if let Some(e) = &first_error {
        println!("{label}: {errors} failed; first: {e}");
    }
    // VmHWM is kept from the per-thread counters the kernel folds in now and then: a sample
    // may see more. The peak is the higher of the two.
    let peak = after.map(|m| m.hwm_kib.max(peaks.as_ref().map_or(0, |p| p.rss_kib)));
    let per_upload = match (peak, idle) {
        (Some(p), Some(i)) => Some(stats::round3(
            p.saturating_sub(i.rss_kib) as f64 / a.uploads as f64,
        )),
        _ => None,
    };
    let kib = |m: Option<Memory>, f: fn(&Memory) -> u64| {
        m.map_or("?".into(), |m| format!("{:.1}", f(&m) as f64 / 1024.0))
    };
    println!(
        "{label}: server RSS idle {} MiB, peak {} MiB ({} KiB per upload over idle; VmHWM {} MiB, heap {} MiB), right after {} MiB, {} s later {} MiB; generator peak {} MiB",
        kib(idle, |m| m.rss_kib),
        peak.map_or("?".into(), |p| format!("{:.1}", p as f64 / 1024.0)),
        per_upload.map_or("?".into(), |v| format!("{v:.0}")),
        kib(after, |m| m.hwm_kib),
        peaks.as_ref().map_or("?".into(), |p| format!("{:.1}", p.anon_kib as f64 / 1024.0)),
        kib(after, |m| m.rss_kib),
        a.settle,
        kib(settled, |m| m.rss_kib),
        kib(generator, |m| m.hwm_kib),
    );
    println!(
        "{label}: files in {} ({}): {checked}; server writes {io}; cpu {}",
        server
            .files_dir
            .as_ref()
            .map_or("?".into(), |d| d.display().to_string()),
        files_fs.as_deref().unwrap_or("?"),
        cpu
    );
    let ok = errors == 0
        && reported_wrong == 0
        && (checked.is_null()
            || (checked["identical"] == json!(a.uploads) && checked["partialFilesLeft"] == 0));
    Ok(json!({
        "kind": "uploads",
        "label": a.label,
        "uploads": a.uploads,
        "visitors": visitors,
        "sizeBytes": size,
        "chunkBytes": a.chunk,
        "filesDir": server.files_dir,
        "filesFs": files_fs,
        "stored": uploaded.len(),
        "errors": errors,
        "firstError": first_error,
        "reportedWrong": reported_wrong,
        "verified": checked,
        "ok": ok,
        "wallSecs": stats::round3(wall.as_secs_f64()),
        "throughputMiBs": stats::round3(throughput),
        "latencyMs": stats::summary(&latency),
        "server": {
            "hwmReset": hwm_reset,
            "idle": idle.map(Memory::json),
            "peakKiB": peak,
            "peakOverIdleKiBPerUpload": per_upload,
            "peakHwmKiB": after.map(|m| m.hwm_kib),
            "peakSampledRssKiB": peaks.as_ref().map(|p| p.rss_kib),
            "peakSampledAnonKiB": peaks.as_ref().map(|p| p.anon_kib),
            "samples": peaks.as_ref().map(|p| p.samples),
            "after": after.map(Memory::json),
            "settleSecs": a.settle,
            "settled": settled.map(Memory::json),
            "io": io,
        },
        "generator": generator.map(Memory::json),
        "cpu": cpu,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10MiB"), Ok(10 << 20));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("123"), Ok(123));
        assert_eq!(parse_size("1 g"), Ok(1 << 30));
        assert!(parse_size("0").is_err());
        assert!(parse_size("5 parsecs").is_err());
        assert_eq!(human_size(50 << 20), "50 MiB");
    }

    #[test]
    fn pieces_make_the_whole_file() {
        let c = Content::new(100);
        for size in [1u64, 20, 100, 101, 250, 1000] {
            let all: Vec<u8> = c.pieces(size).flatten().copied().collect();
            assert_eq!(all.len() as u64, size);
            let head = PDF_HEAD.len().min(size as usize);
            assert_eq!(&all[..head], &PDF_HEAD[..head]);
            for (i, b) in all.iter().enumerate().skip(head) {
                assert_eq!(*b, c.block[i % 100]);
            }
            assert!(c.pieces(size).all(|p| p.len() <= 100));
        }
    }
}
