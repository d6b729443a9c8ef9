//! Parlor: self-hosted live chat in one binary.
//!
//! # Layout
//! Dependencies point inward: transport → domain → storage.
//! - [`http`] and [`socket`]: the transports (HTTP routes; the `/visitor` and `/agent`
//!   Socket.IO namespaces). They parse input, call the domain, and map its errors to protocol
//!   codes once.
//! - [`domain`]: the live-chat rules. Knows neither Socket.IO nor SQL.
//! - [`store`]: one `Store` trait with a SQLite and a PostgreSQL implementation.
//! - [`cluster`]: the Redis adapter driver and cluster-wide presence (several nodes).
//! - [`mail`]: outgoing e-mail over SMTP (lettre).
//! - [`files`]: uploaded files in a local directory or S3-compatible storage (object_store).
//! - [`app`] wires them together; [`config`] and [`cli`] serve the binary; [`telemetry`] is
//!   what an operator sees of a node (logs, `/metrics`).

/// Wiring: builds the service and runs it until shutdown.
pub mod app;
/// Administrative subcommands and the first-run demo.
pub mod cli;
/// Several nodes as one, through Redis.
pub mod cluster;
/// Flags and `PARLOR_*` environment variables.
pub mod config;
/// Sites, agents, visitors, conversations, messages, presence.
pub mod domain;
/// Where uploaded files are kept: a local directory or S3-compatible storage.
pub mod files;
/// Login, health and the embedded front end.
pub mod http;
/// Outgoing e-mail over SMTP.
pub mod mail;
/// The Socket.IO namespaces.
pub mod socket;
/// Persistence.
pub mod store;
/// Logs (text or JSON) and Prometheus metrics.
pub mod telemetry;
