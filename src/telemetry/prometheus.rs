//! `GET /metrics` in the Prometheus text format, on a listener of its own
//! (`PARLOR_METRICS_LISTEN`), never on the public one.
//!
//! The exposition is metrics-exporter-prometheus's: the code records through the `metrics`
//! facade and this module installs the recorder, names and describes the metrics, and renders
//! them. Some values are read when scraped instead of kept up to date ([`Collect`]): the sockets
//! of each namespace (counted in socketioxide's own socket map, so the figure cannot drift) and
//! the process's memory and file descriptors (read from `/proc`, on Linux only).

use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::domain::limits::LIMIT_NAMES;
use crate::domain::mail::MAIL_OUTCOMES;

/// Why the server closes a connection, as `parlor_socket_drops_total{reason}` names it.
pub const DROP_REASONS: [&str; 6] = [
    "overflow",
    "revoked",
    "too_many_connections",
    "ping_timeout",
    "bad_packet",
    "session_failed",
];

/// Upper bounds of `parlor_store_commit_seconds`' buckets: a commit in the WAL takes well under
/// a millisecond, an fsync a few, a PostgreSQL round trip one or two.
const COMMIT_BUCKETS: [f64; 14] = [
    0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide recorder, installed by the first call (a process has one; later calls,
/// such as a second `App` in the integration tests, share it).
pub fn recorder() -> PrometheusHandle {
    RECORDER
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("parlor_store_commit_seconds".to_owned()),
                    &COMMIT_BUCKETS,
                )
                .expect("the bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!(
                    "another metrics recorder was installed first: /metrics stays empty"
                );
            }
            describe();
            handle
        })
        .clone()
}

/// Sets some metrics from the current state, just before a scrape renders them.
pub type Collect = Arc<dyn Fn() + Send + Sync>;

struct Scrape {
    handle: PrometheusHandle,
    collect: Vec<Collect>,
}

/// The routes of the metrics listener: `GET /metrics`, and 404 for anything else.
pub fn router(handle: PrometheusHandle, collect: Vec<Collect>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(Arc::new(Scrape { handle, collect }))
}

async fn scrape(State(scrape): State<Arc<Scrape>>) -> impl IntoResponse {
    process::collect();
    for collect in &scrape.collect {
        collect();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        scrape.handle.render(),
    )
}

/// HELP lines, and every labelled counter at 0 from the start: a series that appears only at
/// its first increment hides that increment from `rate()` and `increase()`.
fn describe() {
    describe_gauge!(
        "parlor_sockets",
        "Socket.IO connections open on this node, by namespace (visitor, agent)."
    );
    describe_counter!(
        "parlor_messages_total",
        "Messages stored, by side (visitor, agent); a retried send answered with its original is not counted."
    );
    describe_histogram!(
        "parlor_store_commit_seconds",
        Unit::Seconds,
        "Time to commit a write transaction of chatting: on SQLite one group commit (a batch of writes), on PostgreSQL one message append."
    );
    describe_counter!(
        "parlor_rate_limited_total",
        "Requests refused because a rate limit was spent, by limit (the PARLOR_RATE_* name, or reply_budget)."
    );
    describe_counter!(
        "parlor_socket_drops_total",
        "Connections the server closed or refused, by reason."
    );
    describe_gauge!(
        "parlor_cluster_nodes",
        "Live nodes of the cluster as this node sees them (1 on a single node)."
    );
    describe_gauge!(
        "process_resident_memory_bytes",
        Unit::Bytes,
        "Resident set size of the process."
    );
    describe_gauge!("process_open_fds", "Open file descriptors of the process.");
    describe_gauge!(
        "process_max_fds",
        "The process's limit of open file descriptors (soft)."
    );
    describe_counter!(
        "parlor_socket_overflow_disconnects_total",
        "Connections closed because their client did not read (also parlor_socket_drops_total{reason=\"overflow\"})."
    );
    describe_counter!(
        "parlor_typing_dropped_total",
        "Visitor typing events not relayed: over PARLOR_RATE_TYPING."
    );
    describe_counter!(
        "parlor_reply_budget_refusals_total",
        "Pages refused because the server-wide budget of page bytes stayed spent (also parlor_rate_limited_total{limit=\"reply_budget\"})."
    );
    describe_counter!(
        "parlor_cluster_publish_dropped_total",
        "Cluster events dropped because the publish queue to Redis was full."
    );
    describe_counter!(
        "parlor_mail_total",
        "Tries to send an e-mail from the outbox, by outcome (sent, retried, failed)."
    );
    describe_counter!(
        "parlor_uploads_total",
        "Files uploaded and stored (refused uploads are not counted)."
    );
    describe_counter!(
        "parlor_upload_bytes_total",
        Unit::Bytes,
        "Bytes of the files uploaded and stored."
    );
    metrics::counter!("parlor_uploads_total").increment(0);
    metrics::counter!("parlor_upload_bytes_total").increment(0);
    for side in ["visitor", "agent"] {
        metrics::counter!("parlor_messages_total", "side" => side).increment(0);
    }
    for outcome in MAIL_OUTCOMES {
        metrics::counter!("parlor_mail_total", "outcome" => outcome).increment(0);
    }
    for limit in LIMIT_NAMES {
        metrics::counter!("parlor_rate_limited_total", "limit" => limit).increment(0);
    }
    for reason in DROP_REASONS {
        metrics::counter!("parlor_socket_drops_total", "reason" => reason).increment(0);
    }
}

/// Counts a connection the server closed (or refused) for `reason`, one of [`DROP_REASONS`].
pub fn socket_dropped(reason: &'static str) {
    debug_assert!(DROP_REASONS.contains(&reason));
    metrics::counter!("parlor_socket_drops_total", "reason" => reason).increment(1);
}

/// The process's resident memory and file descriptors, read from `/proc` at scrape time (no
/// crate for it: three small files, and nothing to do between scrapes).
mod process {
    #[cfg(target_os = "linux")]
    pub fn collect() {
        if let Some(kib) = field("/proc/self/status", "VmRSS:") {
            metrics::gauge!("process_resident_memory_bytes").set(kib * 1024.0);
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            // Less the descriptor of the directory being read.
            let open = fds.count().saturating_sub(1);
            metrics::gauge!("process_open_fds").set(open as f64);
        }
        if let Some(max) = field("/proc/self/limits", "Max open files") {
            metrics::gauge!("process_max_fds").set(max);
        }
    }

    #[cfg(not(target_os = "linux"))]
    pub fn collect() {}

    /// The first number after `label` on the line that starts with it.
    #[cfg(target_os = "linux")]
    pub(super) fn field(path: &str, label: &str) -> Option<f64> {
        let text = std::fs::read_to_string(path).ok()?;
        let line = text.lines().find(|l| l.starts_with(label))?;
        line[label.len()..].split_whitespace().next()?.parse().ok()
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::process::field;

    #[test]
    fn memory_and_the_descriptor_limit_are_read_from_proc() {
        assert!(field("/proc/self/status", "VmRSS:").is_some_and(|kib| kib > 0.0));
        assert!(field("/proc/self/limits", "Max open files").is_some_and(|n| n > 0.0));
        assert_eq!(field("/proc/self/status", "NoSuchField:"), None);
    }
}
