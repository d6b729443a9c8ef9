//! Logs: `tracing` to standard error, filtered by `RUST_LOG` (default `info`), as text for a
//! terminal or as one JSON object per line (`PARLOR_LOG_FORMAT=json`) for a log collector.
//!
//! A JSON line is tracing-subscriber's format: `timestamp`, `level`, `target`, `fields` (the
//! event's, `message` among them), and `span`/`spans` with the fields of the spans it happened
//! in: `request{id,method}` around every HTTP request ([`request_span`]) and
//! `socket{ns,conn,event}` around every Socket.IO handler (`socket::span`).
//!
//! No secret is ever a field: tokens, passwords and JWTs are not logged, the configuration is
//! logged with its secrets redacted (`config::redact_url`), a request's path and query are left
//! out (a query may carry an Engine.IO session id), and a socket is named by a digest of its id,
//! not the id itself (which lets a long-polling client continue the session). Libraries log
//! none either, at any level, but for tungstenite's frame dumps at `trace` ([`FRAME_LOGGERS`]),
//! which are dropped unless asked for by name.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tracing::{Instrument, Level};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, as a terminal shows them.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Libraries that log every WebSocket frame they carry at `trace`, tokens and message text
/// included. Those lines are dropped unless `RUST_LOG` names the library itself.
const FRAME_LOGGERS: [&str; 2] = ["tungstenite", "tokio_tungstenite"];

/// Installs the process's log subscriber; call once, before anything logs.
pub fn init(format: LogFormat) {
    let spec = std::env::var("RUST_LOG").unwrap_or_default();
    let filter = match spec.trim() {
        "" => EnvFilter::new("info"),
        spec => EnvFilter::try_new(spec).unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let frames_asked_for = FRAME_LOGGERS.iter().any(|name| spec.contains(name));
    let frames = filter_fn(move |meta| {
        frames_asked_for || *meta.level() != Level::TRACE || !is_frame_logger(meta.target())
    });
    let registry = tracing_subscriber::registry().with(filter).with(frames);
    let stderr = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    match format {
        LogFormat::Text => registry.with(stderr).init(),
        LogFormat::Json => registry.with(stderr.json()).init(),
    }
}

fn is_frame_logger(target: &str) -> bool {
    FRAME_LOGGERS.iter().any(|name| {
        target
            .strip_prefix(name)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// Numbers the HTTP requests of this process, for the `request` span.
static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

/// Middleware: runs the request in a `request` span with a number of its own (unique in this
/// process) and the method, so that what a request logs can be told from the others; at
/// `debug`, one line per answer with its status and time.
pub async fn request_span(req: Request, next: Next) -> Response {
    let id = NEXT_REQUEST.fetch_add(1, Ordering::Relaxed);
    let span = tracing::info_span!("request", id, method = %req.method());
    async move {
        let started = Instant::now();
        let res = next.run(req).await;
        tracing::debug!(
            status = res.status().as_u16(),
            micros = started.elapsed().as_micros() as u64,
            "answered"
        );
        res
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_loggers_are_told_by_their_target() {
        assert!(is_frame_logger("tungstenite::protocol"));
        assert!(is_frame_logger("tokio_tungstenite"));
        assert!(!is_frame_logger("tungstenite_other"));
        assert!(!is_frame_logger("parlor::socket"));
    }
}
