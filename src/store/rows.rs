//! Rows as both backends read them: the column lists, the row structs and their conversion
//! into the domain's model, where each id is parsed into its type (a malformed one is a
//! corrupt row).

use sqlx::{ColumnIndex, Decode, FromRow, Row, Type};

use crate::domain::hours::OfficeHours;
use serde::{Deserialize, Serialize};

use crate::domain::ids::{
    AgentId, ConversationId, MessageId, SiteId, SiteKey, UploadId, VisitorId,
};
use crate::domain::model::{
    Agent, Attachment, Conversation, Message, Page, Role, Sender, Side, Site, Status, Upload,
    Visitor,
};
use crate::domain::store::{StoreError, StoreResult, SummaryRow};

/// The JSON lists are `jsonb` on PostgreSQL, `TEXT` on SQLite: both read them as text.
pub(super) const SITE_COLUMNS: &str = "id, site_key, name, \
     CAST(allowed_origins AS TEXT) AS allowed_origins, \
     CAST(prechat_fields AS TEXT) AS prechat_fields, \
     CAST(allowed_query_params AS TEXT) AS allowed_query_params, \
     accent_color, greeting, away_message, \
     CAST(prechat_required AS TEXT) AS prechat_required, \
     CAST(office_hours AS TEXT) AS office_hours, contact_email, mail_from";
pub(super) const AGENT_COLUMNS: &str =
    "id, site_id, username, name, password_hash, token_version, disabled, deleted_at, role, email, \
     offline_emails";
pub(super) const CONVERSATION_COLUMNS: &str =
    "c.id, c.site_id, c.visitor_id, c.status, c.last_seq, \
     c.visitor_read_seq, c.agent_read_seq, c.updated_at";
pub(super) const MESSAGE_COLUMNS: &str =
    "id, conversation_id, seq, sender, agent_name, text, client_id, created_at, attachments";
pub(super) const UPLOAD_COLUMNS: &str =
    "id, site_id, conversation_id, sender, name, size, content_type, width, height, thumbnail, \
     message_id, created_at, stored";

#[derive(FromRow)]
pub(super) struct SiteRow {
    pub(super) id: String,
    pub(super) site_key: String,
    pub(super) name: String,
    pub(super) allowed_origins: String,
    pub(super) prechat_fields: String,
    pub(super) allowed_query_params: String,
    pub(super) accent_color: Option<String>,
    pub(super) greeting: Option<String>,
    pub(super) away_message: Option<String>,
    pub(super) prechat_required: String,
    pub(super) office_hours: Option<String>,
    pub(super) contact_email: Option<String>,
    pub(super) mail_from: Option<String>,
}

impl SiteRow {
    pub(super) fn into_site(self) -> StoreResult<Site> {
        let list = |s: &str| {
            serde_json::from_str::<Vec<String>>(s).map_err(|e| StoreError::Corrupt(e.to_string()))
        };
        Ok(Site {
            allowed_origins: list(&self.allowed_origins)?,
            prechat_fields: list(&self.prechat_fields)?,
            allowed_query_params: list(&self.allowed_query_params)?,
            prechat_required: list(&self.prechat_required)?,
            accent_color: self.accent_color,
            greeting: self.greeting,
            away_message: self.away_message,
            // Hours that no longer parse (a zone gone from the database) count as always open.
            office_hours: self
                .office_hours
                .as_deref()
                .and_then(OfficeHours::from_json),
            contact_email: self.contact_email,
            mail_from: self.mail_from,
            id: SiteId::try_from(self.id)?,
            site_key: SiteKey::try_from(self.site_key)?,
            name: self.name,
        })
    }
}

#[derive(FromRow)]
pub(super) struct AgentRow {
    pub(super) id: String,
    pub(super) site_id: String,
    pub(super) username: String,
    pub(super) name: String,
    pub(super) password_hash: String,
    pub(super) token_version: i64,
    pub(super) disabled: bool,
    pub(super) deleted_at: Option<i64>,
    pub(super) role: String,
    pub(super) email: Option<String>,
    pub(super) offline_emails: bool,
}

impl TryFrom<AgentRow> for Agent {
    type Error = StoreError;

    fn try_from(r: AgentRow) -> StoreResult<Agent> {
        Ok(Agent {
            id: AgentId::try_from(r.id)?,
            site_id: SiteId::try_from(r.site_id)?,
            username: r.username,
            name: r.name,
            password_hash: r.password_hash,
            token_version: r.token_version,
            disabled: r.disabled,
            deleted_at: r.deleted_at,
            role: Role::parse(&r.role)
                .ok_or_else(|| StoreError::Corrupt(format!("agent role {:?}", r.role)))?,
            email: r.email,
            offline_emails: r.offline_emails,
        })
    }
}

#[derive(FromRow)]
pub(super) struct MessageRow {
    pub(super) id: String,
    pub(super) conversation_id: String,
    pub(super) seq: i64,
    pub(super) sender: String,
    pub(super) agent_name: Option<String>,
    pub(super) text: String,
    pub(super) client_id: Option<String>,
    pub(super) created_at: i64,
    pub(super) attachments: Option<String>,
}

impl MessageRow {
    pub(super) fn into_message(self) -> StoreResult<Message> {
        Ok(Message {
            sender: Sender::parse(&self.sender)
                .ok_or_else(|| StoreError::Corrupt(format!("sender {}", self.sender)))?,
            id: MessageId::try_from(self.id)?,
            conversation_id: ConversationId::try_from(self.conversation_id)?,
            seq: self.seq,
            agent_name: self.agent_name,
            text: self.text,
            client_id: self.client_id,
            created_at: self.created_at,
            attachments: attachments_from(self.attachments.as_deref())?,
        })
    }
}

/// An attachment as a message row keeps it (`messages.attachments`, a JSON array).
#[derive(Serialize, Deserialize)]
struct StoredAttachment {
    id: String,
    name: String,
    size: u64,
    #[serde(rename = "contentType")]
    content_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    height: Option<u32>,
    #[serde(default)]
    thumbnail: bool,
}

/// The `messages.attachments` column of a message: `None` when it has none.
pub(crate) fn attachments_column(attachments: &[Attachment]) -> Option<String> {
    if attachments.is_empty() {
        return None;
    }
    let stored: Vec<StoredAttachment> = attachments
        .iter()
        .map(|a| StoredAttachment {
            id: a.id.as_str().to_owned(),
            name: a.name.clone(),
            size: a.size,
            content_type: a.content_type.clone(),
            width: a.width,
            height: a.height,
            thumbnail: a.thumbnail,
        })
        .collect();
    serde_json::to_string(&stored).ok()
}

pub(crate) fn attachments_from(column: Option<&str>) -> StoreResult<Vec<Attachment>> {
    let Some(json) = column else {
        return Ok(Vec::new());
    };
    let stored: Vec<StoredAttachment> = serde_json::from_str(json)
        .map_err(|e| StoreError::Corrupt(format!("message attachments: {e}")))?;
    stored
        .into_iter()
        .map(|a| {
            Ok(Attachment {
                id: UploadId::try_from(a.id)?,
                name: a.name,
                size: a.size,
                content_type: a.content_type,
                width: a.width,
                height: a.height,
                thumbnail: a.thumbnail,
                url: None,
                thumbnail_url: None,
            })
        })
        .collect()
}

#[derive(FromRow)]
pub(super) struct UploadRow {
    pub(super) id: String,
    pub(super) site_id: String,
    pub(super) conversation_id: String,
    pub(super) sender: String,
    pub(super) name: String,
    pub(super) size: i64,
    pub(super) content_type: String,
    pub(super) width: Option<i64>,
    pub(super) height: Option<i64>,
    pub(super) thumbnail: bool,
    pub(super) message_id: Option<String>,
    pub(super) created_at: i64,
    pub(super) stored: bool,
}

impl UploadRow {
    pub(super) fn into_upload(self) -> StoreResult<Upload> {
        let dimension = |d: Option<i64>| d.and_then(|d| u32::try_from(d).ok());
        Ok(Upload {
            id: UploadId::try_from(self.id)?,
            site_id: SiteId::try_from(self.site_id)?,
            conversation_id: ConversationId::try_from(self.conversation_id)?,
            sender: Side::parse(&self.sender)
                .ok_or_else(|| StoreError::Corrupt(format!("upload sender {}", self.sender)))?,
            name: self.name,
            size: u64::try_from(self.size).unwrap_or(0),
            content_type: self.content_type,
            width: dimension(self.width),
            height: dimension(self.height),
            thumbnail: self.thumbnail,
            message_id: self.message_id.map(MessageId::try_from).transpose()?,
            created_at: self.created_at,
            stored: self.stored,
        })
    }
}

/// A row of either backend, read by column name: the bounds sqlx needs, written once.
pub(super) trait ByName {
    fn text(&self, column: &str) -> StoreResult<String>;
    fn maybe_text(&self, column: &str) -> StoreResult<Option<String>>;
    fn int(&self, column: &str) -> StoreResult<i64>;
}

impl<R> ByName for R
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    fn text(&self, column: &str) -> StoreResult<String> {
        Ok(self.try_get(column)?)
    }

    fn maybe_text(&self, column: &str) -> StoreResult<Option<String>> {
        Ok(self.try_get(column)?)
    }

    fn int(&self, column: &str) -> StoreResult<i64> {
        Ok(self.try_get(column)?)
    }
}

pub(super) fn conversation_from(row: &impl ByName) -> StoreResult<Conversation> {
    let status = row.text("status")?;
    Ok(Conversation {
        id: ConversationId::try_from(row.text("id")?)?,
        site_id: SiteId::try_from(row.text("site_id")?)?,
        visitor_id: VisitorId::try_from(row.text("visitor_id")?)?,
        status: Status::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("status {status}")))?,
        last_seq: row.int("last_seq")?,
        visitor_read_seq: row.int("visitor_read_seq")?,
        agent_read_seq: row.int("agent_read_seq")?,
        updated_at: row.int("updated_at")?,
    })
}

pub(super) fn visitor_from(row: &impl ByName) -> StoreResult<Visitor> {
    Ok(Visitor {
        id: VisitorId::try_from(row.text("v_id")?)?,
        name: row.maybe_text("v_name")?,
        email: row.maybe_text("v_email")?,
        phone: row.maybe_text("v_phone")?,
    })
}

pub(super) fn summary_from(row: &impl ByName) -> StoreResult<SummaryRow> {
    let last_message = match row.maybe_text("m_id")? {
        Some(id) => Some(
            MessageRow {
                id,
                conversation_id: row.text("id")?,
                seq: row.int("m_seq")?,
                sender: row.text("m_sender")?,
                agent_name: row.maybe_text("m_agent_name")?,
                text: row.text("m_text")?,
                client_id: row.maybe_text("m_client_id")?,
                created_at: row.int("m_created_at")?,
                attachments: row.maybe_text("m_attachments")?,
            }
            .into_message()?,
        ),
        None => None,
    };
    let page = match row.maybe_text("page_url")? {
        Some(url) => Some(Page {
            url,
            title: row.maybe_text("page_title")?,
        }),
        None => None,
    };
    Ok(SummaryRow {
        conversation: conversation_from(row)?,
        visitor: visitor_from(row)?,
        page,
        last_message,
        unread: row.int("unread")?,
    })
}

pub(super) fn summary_query(filter: &str) -> String {
    format!(
        "SELECT {CONVERSATION_COLUMNS}, c.page_url, c.page_title, \
           v.id AS v_id, v.name AS v_name, v.email AS v_email, v.phone AS v_phone, \
           m.id AS m_id, m.seq AS m_seq, m.sender AS m_sender, m.agent_name AS m_agent_name, \
           m.text AS m_text, m.client_id AS m_client_id, m.created_at AS m_created_at, \
           m.attachments AS m_attachments, \
           (SELECT COUNT(*) FROM messages u WHERE u.conversation_id = c.id \
              AND u.sender = 'visitor' AND u.seq > c.agent_read_seq) AS unread \
         FROM conversations c \
         JOIN visitors v ON v.id = c.visitor_id \
         LEFT JOIN messages m ON m.conversation_id = c.id AND m.seq = c.last_seq \
         WHERE {filter}"
    )
}
