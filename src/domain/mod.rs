//! The live-chat rules: sites, agents, visitors, conversations, messages, presence.
//!
//! Knows no transport and no SQL. It defines the ports it needs from the outside and the
//! adapters implement them: [`store::Store`] (SQLite, PostgreSQL in `src/store/`),
//! [`events::Events`] (Socket.IO rooms in `crate::socket`) and [`cluster::Cluster`] (Redis in
//! `crate::cluster`).

pub mod agents;
pub mod auth;
pub mod chat;
pub mod cluster;
pub mod error;
pub mod events;
pub mod expiry;
pub mod files;
pub mod hours;
pub mod ids;
pub mod input;
pub mod limits;
pub mod links;
pub mod mail;
pub mod model;
pub mod presence;
pub mod replies;
pub mod settings;
pub mod slots;
pub mod store;
pub mod team;
pub mod thumbnails;
pub mod uploads;
pub mod visitors;

pub use chat::{Chat, ChatConfig};
pub use error::{DomainError, DomainResult, Refusal};
