//! The Rust integration tier: the domain service (`Chat`) over real SQLite and PostgreSQL
//! stores, one test per protocol rule it implements, and the real server on port 0 over the
//! network. Every test runs on both backends (`both_backends!`); see tests/README.md.

#[macro_use]
mod support;

mod agents;
mod conversations;
mod limits;
mod mail_schedule;
mod outbox;
mod presence;
mod s3_files;
mod server;
mod team;
mod uploads;
mod visitors;
