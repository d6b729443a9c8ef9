//! The product's nouns as the protocol shows them. Serialized field names are the wire names.

use serde::Serialize;
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

/// Milliseconds since the Unix epoch: how every timestamp is stored.
pub type Millis = i64;

pub fn now_millis() -> Millis {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as Millis
}

/// RFC 3339 UTC with exactly three fractional digits, e.g. `2026-11-25T17:10:00.123Z`.
pub fn format_millis(ms: Millis) -> String {
    let secs = ms.div_euclid(1000);
    let frac = ms.rem_euclid(1000);
    match OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            frac
        ),
        Err(_) => "1970-01-01T00:00:00.000Z".to_owned(),
    }
}

/// Parses any RFC 3339 timestamp (clients echo `updatedAt` back as a paging cursor).
pub fn parse_millis(s: &str) -> Option<Millis> {
    let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    Some((t.unix_timestamp_nanos() / 1_000_000) as Millis)
}

#[derive(Debug, Clone)]
pub struct Site {
    pub id: String,
    pub site_key: String,
    pub name: String,
    /// Origins allowed to open a visitor connection; empty means any.
    pub allowed_origins: Vec<String>,
    /// Which pre-chat fields the widget asks for.
    pub prechat_fields: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Agent {
    pub id: String,
    pub site_id: String,
    pub username: String,
    pub name: String,
    pub password_hash: String,
    /// Bumped on every password change; JWTs carry it, so older tokens stop working.
    pub token_version: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Visitor {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Ended,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Ended => "ended",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "open" => Some(Status::Open),
            "ended" => Some(Status::Ended),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sender {
    Visitor,
    Agent,
    System,
}

impl Sender {
    pub fn as_str(self) -> &'static str {
        match self {
            Sender::Visitor => "visitor",
            Sender::Agent => "agent",
            Sender::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Sender> {
        match s {
            "visitor" => Some(Sender::Visitor),
            "agent" => Some(Sender::Agent),
            "system" => Some(Sender::System),
            _ => None,
        }
    }
}

/// One side of a conversation, for read markers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Visitor,
    Agent,
}

#[derive(Debug, Clone)]
pub struct Conversation {
    pub id: String,
    pub site_id: String,
    pub visitor_id: String,
    pub status: Status,
    pub last_seq: i64,
    pub visitor_read_seq: i64,
    pub agent_read_seq: i64,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConversationRef {
    pub id: String,
    pub status: Status,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: String,
    pub conversation_id: String,
    pub seq: i64,
    pub sender: Sender,
    pub agent_name: Option<String>,
    pub text: String,
    pub client_id: Option<String>,
    #[serde(serialize_with = "serialize_millis")]
    pub created_at: Millis,
}

#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub url: String,
    pub title: Option<String>,
}

/// A conversation as the agent list shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub id: String,
    pub visitor: Visitor,
    pub status: Status,
    pub online: bool,
    pub page: Option<Page>,
    pub last_message: Option<Message>,
    pub unread: i64,
    #[serde(serialize_with = "serialize_millis")]
    pub updated_at: Millis,
}

fn serialize_millis<S: serde::Serializer>(ms: &Millis, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_millis(*ms))
}

/// A page of messages, ascending by seq.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagePage {
    pub messages: Vec<Message>,
    pub has_more: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryPage {
    pub conversations: Vec<Summary>,
    pub has_more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_milliseconds_and_z() {
        assert_eq!(format_millis(1_764_090_600_123), "2025-11-25T17:10:00.123Z");
        assert_eq!(format_millis(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn timestamps_round_trip() {
        let ms = 1_764_090_600_123;
        assert_eq!(parse_millis(&format_millis(ms)), Some(ms));
        assert_eq!(parse_millis("yesterday"), None);
    }
}
