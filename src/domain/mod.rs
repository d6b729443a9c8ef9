//! The live-chat rules: sites, agents, visitors, conversations, messages, presence.
//!
//! Knows no transport and no SQL: it talks to storage through [`crate::store::Store`] and to
//! connected clients through [`events::Events`].

pub mod agents;
pub mod auth;
pub mod chat;
pub mod cluster;
pub mod error;
pub mod events;
pub mod expiry;
pub mod input;
pub mod limits;
pub mod model;
pub mod presence;
pub mod replies;
pub mod slots;
pub mod visitors;

pub use chat::{Chat, ChatConfig};
pub use error::{DomainError, DomainResult};
