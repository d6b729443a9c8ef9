//! What an operator sees of a running node: its logs ([`logs`]: text or JSON lines on standard
//! error, a span with an id per HTTP request and per socket event) and its metrics
//! ([`prometheus`]: `GET /metrics` on a listener of its own, `PARLOR_METRICS_LISTEN`).
//!
//! Metrics are recorded where things happen, through the `metrics` facade (`metrics::counter!`
//! and friends, also in the domain: the facade knows no exporter). Without
//! `PARLOR_METRICS_LISTEN` no recorder is installed and every such call does nothing.

pub mod logs;
pub mod prometheus;
