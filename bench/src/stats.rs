//! Measurements: latency histograms, the generator's own CPU time, the server's RSS and CPU.

use std::time::Instant;

use hdrhistogram::Histogram;
use serde_json::{json, Value};

/// A latency histogram in microseconds, 1 µs .. 10 min, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

pub fn record(h: &mut Histogram<u64>, micros: u64) {
    h.saturating_record(micros.max(1));
}

/// p50/p90/p99/p99.9/max in milliseconds.
pub fn summary(h: &Histogram<u64>) -> Value {
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    json!({
        "count": h.len(),
        "p50": ms(0.5),
        "p90": ms(0.9),
        "p99": ms(0.99),
        "p999": ms(0.999),
        "max": h.max() as f64 / 1000.0,
    })
}

pub fn human(h: &Histogram<u64>) -> String {
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    format!(
        "n={} p50={:.3} p90={:.3} p99={:.3} p99.9={:.3} max={:.3} ms",
        h.len(),
        ms(0.5),
        ms(0.9),
        ms(0.99),
        ms(0.999),
        h.max() as f64 / 1000.0
    )
}

/// This process's user + system CPU seconds (getrusage).
pub fn self_cpu_secs() -> f64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    if rc != 0 {
        return 0.0;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Resident set size of `pid` in KiB, from /proc/PID/status.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// User + system CPU seconds of `pid`, from /proc/PID/stat.
pub fn proc_cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields after the command: state is 3rd overall, utime 14th, stime 15th.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some((utime + stime) / hz)
}

/// CPU used by this process and the server between `start()` and `stop()`.
pub struct CpuMeter {
    wall: Instant,
    me: f64,
    server: Option<f64>,
    pid: Option<u32>,
}

impl CpuMeter {
    pub fn start(pid: Option<u32>) -> Self {
        CpuMeter {
            wall: Instant::now(),
            me: self_cpu_secs(),
            server: pid.and_then(proc_cpu_secs),
            pid,
        }
    }

    pub fn stop(&self) -> Value {
        let wall = self.wall.elapsed().as_secs_f64();
        let me = self_cpu_secs() - self.me;
        let server = match (self.pid.and_then(proc_cpu_secs), self.server) {
            (Some(b), Some(a)) => Some(b - a),
            _ => None,
        };
        json!({
            "wallSecs": round3(wall),
            "generatorCpuSecs": round3(me),
            "generatorCpuPct": round3(100.0 * me / wall.max(1e-9)),
            "serverCpuSecs": server.map(round3),
            "serverCpuPct": server.map(|s| round3(100.0 * s / wall.max(1e-9))),
            "loadAvg1m": loadavg(),
        })
    }
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The machine's 1-minute load average: other work on the 2 cores shows up here.
pub fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Open file descriptors of `pid` (sockets still held by the server show up here).
pub fn fd_count(pid: u32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}
