//! The product's nouns as the protocol shows them. Serialized field names are the wire names.

use std::sync::atomic::{AtomicI64, Ordering};

use serde::Serialize;
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

use super::hours::OfficeHours;
use super::ids::{AgentId, ConversationId, MessageId, SiteId, SiteKey, UploadId, VisitorId};

/// Milliseconds since the Unix epoch: how message and creation times are stored.
pub type Millis = i64;

/// Microseconds since the Unix epoch: a conversation's last activity.
pub type Micros = i64;

pub fn now_millis() -> Millis {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as Millis
}

/// The time of an activity (new message, status change), strictly increasing within this
/// process. Distinct values let `list { before: updatedAt }` page through a burst of activity
/// without skipping conversations that would otherwise share a timestamp.
pub fn activity_now() -> Micros {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000) as Micros;
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange_weak(last, next, Ordering::SeqCst, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(actual) => last = actual,
        }
    }
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

/// RFC 3339 UTC with six fractional digits, e.g. `2026-11-25T17:10:00.123456Z`.
pub fn format_micros(us: Micros) -> String {
    let ms = format_millis(us.div_euclid(1000));
    format!("{}{:03}Z", &ms[..ms.len() - 1], us.rem_euclid(1000))
}

/// Parses any RFC 3339 timestamp (clients echo `updatedAt` back as a paging cursor).
pub fn parse_micros(s: &str) -> Option<Micros> {
    let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    Some((t.unix_timestamp_nanos() / 1_000) as Micros)
}

#[derive(Debug, Clone)]
pub struct Site {
    pub id: SiteId,
    pub site_key: SiteKey,
    pub name: String,
    /// Origins allowed to open a visitor connection; empty means any.
    pub allowed_origins: Vec<String>,
    /// Which pre-chat fields the widget asks for.
    pub prechat_fields: Vec<String>,
    /// Query parameters a page URL keeps; a trailing `*` matches a prefix (`utm_*`).
    pub allowed_query_params: Vec<String>,
    /// Which of `prechat_fields` must be filled in.
    pub prechat_required: Vec<String>,
    /// The widget's accent colour, `#rrggbb`; `None`: the default.
    pub accent_color: Option<String>,
    /// Shown in the widget before the first message; `None`: the built-in one.
    pub greeting: Option<String>,
    /// Shown in the widget while no agent is online; `None`: the built-in one.
    pub away_message: Option<String>,
    /// `None`: always open.
    pub office_hours: Option<OfficeHours>,
    /// Where replies to the site's e-mails go (`Reply-To`).
    pub contact_email: Option<String>,
    /// The site's own sender, `Name <address>` or a bare address, as
    /// [`super::settings::MailFrom`] reads it; `None`: the server's `PARLOR_MAIL_FROM`.
    pub mail_from: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Agent {
    pub id: AgentId,
    pub site_id: SiteId,
    pub username: String,
    pub name: String,
    pub password_hash: String,
    /// Bumped on every password change, disable and delete; JWTs carry it, so older tokens
    /// stop working.
    pub token_version: i64,
    /// Set by `parlor agent disable`: no login, no connection, no send until enabled again.
    pub disabled: bool,
    /// Set by `parlor agent delete`; the row stays for the messages that reference it.
    pub deleted_at: Option<Millis>,
    pub role: Role,
    /// Where offline messages are e-mailed; `None` when the agent gave none.
    pub email: Option<String>,
    /// Whether the agent wants visitor messages that arrive while no agent is online by e-mail.
    pub offline_emails: bool,
}

/// An agent's role on its site: an `admin` also manages the team and the site's settings.
/// A site always keeps at least one enabled admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "agent" => Some(Role::Agent),
            _ => None,
        }
    }
}

impl Agent {
    /// Whether the agent may log in and act at all (token checks come on top).
    pub fn is_active(&self) -> bool {
        !self.disabled && self.deleted_at.is_none()
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Visitor {
    pub id: VisitorId,
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

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Visitor => "visitor",
            Side::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Side> {
        match s {
            "visitor" => Some(Side::Visitor),
            "agent" => Some(Side::Agent),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Conversation {
    pub id: ConversationId,
    pub site_id: SiteId,
    pub visitor_id: VisitorId,
    pub status: Status,
    pub last_seq: i64,
    pub visitor_read_seq: i64,
    pub agent_read_seq: i64,
    pub updated_at: Micros,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConversationRef {
    pub id: ConversationId,
    pub status: Status,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub seq: i64,
    pub sender: Sender,
    pub agent_name: Option<String>,
    pub text: String,
    pub client_id: Option<String>,
    #[serde(serialize_with = "serialize_millis")]
    pub created_at: Millis,
    /// Files the message carries, in the order the sender gave them.
    pub attachments: Vec<Attachment>,
}

/// A file a message carries, as payloads show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub id: UploadId,
    pub name: String,
    pub size: u64,
    /// Sniffed from the bytes when it was uploaded.
    pub content_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Whether the server made a thumbnail.
    #[serde(skip)]
    pub thumbnail: bool,
    /// The signed download path, made when the payload is ([`super::uploads`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
}

/// An uploaded file and who may see it.
#[derive(Debug, Clone)]
pub struct Upload {
    pub id: UploadId,
    pub site_id: SiteId,
    pub conversation_id: ConversationId,
    /// The side that uploaded it.
    pub sender: Side,
    pub name: String,
    pub size: u64,
    pub content_type: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub thumbnail: bool,
    /// The message that carries it; `None` while unsent.
    pub message_id: Option<MessageId>,
    pub created_at: Millis,
    /// Whether its bytes are whole. An upload is recorded before its bytes are written.
    pub stored: bool,
}

impl Upload {
    pub fn attachment(&self) -> Attachment {
        Attachment {
            id: self.id.clone(),
            name: self.name.clone(),
            size: self.size,
            content_type: self.content_type.clone(),
            width: self.width,
            height: self.height,
            thumbnail: self.thumbnail,
            url: None,
            thumbnail_url: None,
        }
    }
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
    pub id: ConversationId,
    pub visitor: Visitor,
    pub status: Status,
    pub online: bool,
    pub page: Option<Page>,
    pub last_message: Option<Message>,
    pub unread: i64,
    #[serde(serialize_with = "serialize_micros")]
    pub updated_at: Micros,
}

fn serialize_micros<S: serde::Serializer>(us: &Micros, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_micros(*us))
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
    fn activity_times_round_trip_with_microseconds() {
        let us = 1_764_090_600_123_456;
        assert_eq!(format_micros(us), "2025-11-25T17:10:00.123456Z");
        assert_eq!(parse_micros(&format_micros(us)), Some(us));
        assert_eq!(parse_micros("yesterday"), None);
    }

    #[test]
    fn activity_times_never_repeat() {
        let times: Vec<Micros> = (0..10_000).map(|_| activity_now()).collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]));
    }
}
