//! Rows as both backends read them: the column lists, the row structs and their conversion
//! into the domain's model, where each id is parsed into its type (a malformed one is a
//! corrupt row).

use sqlx::{ColumnIndex, Decode, FromRow, Row, Type};

use crate::domain::ids::{AgentId, ConversationId, MessageId, SiteId, SiteKey, VisitorId};
use crate::domain::model::{Agent, Conversation, Message, Page, Sender, Site, Status, Visitor};
use crate::domain::store::{StoreError, StoreResult, SummaryRow};

/// The JSON lists are `jsonb` on PostgreSQL, `TEXT` on SQLite: both read them as text.
pub(super) const SITE_COLUMNS: &str = "id, site_key, name, \
     CAST(allowed_origins AS TEXT) AS allowed_origins, \
     CAST(prechat_fields AS TEXT) AS prechat_fields, \
     CAST(allowed_query_params AS TEXT) AS allowed_query_params";
pub(super) const AGENT_COLUMNS: &str =
    "id, site_id, username, name, password_hash, token_version, disabled, deleted_at";
pub(super) const CONVERSATION_COLUMNS: &str =
    "c.id, c.site_id, c.visitor_id, c.status, c.last_seq, \
     c.visitor_read_seq, c.agent_read_seq, c.updated_at";
pub(super) const MESSAGE_COLUMNS: &str =
    "id, conversation_id, seq, sender, agent_name, text, client_id, created_at";

#[derive(FromRow)]
pub(super) struct SiteRow {
    pub(super) id: String,
    pub(super) site_key: String,
    pub(super) name: String,
    pub(super) allowed_origins: String,
    pub(super) prechat_fields: String,
    pub(super) allowed_query_params: String,
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
        })
    }
}

pub(super) fn conversation_from<'r, R>(row: &'r R) -> StoreResult<Conversation>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let status: String = row.try_get("status")?;
    Ok(Conversation {
        id: ConversationId::try_from(row.try_get::<String, _>("id")?)?,
        site_id: SiteId::try_from(row.try_get::<String, _>("site_id")?)?,
        visitor_id: VisitorId::try_from(row.try_get::<String, _>("visitor_id")?)?,
        status: Status::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("status {status}")))?,
        last_seq: row.try_get("last_seq")?,
        visitor_read_seq: row.try_get("visitor_read_seq")?,
        agent_read_seq: row.try_get("agent_read_seq")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) fn visitor_from<'r, R>(row: &'r R) -> StoreResult<Visitor>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(Visitor {
        id: VisitorId::try_from(row.try_get::<String, _>("v_id")?)?,
        name: row.try_get("v_name")?,
        email: row.try_get("v_email")?,
        phone: row.try_get("v_phone")?,
    })
}

pub(super) fn summary_from<'r, R>(row: &'r R) -> StoreResult<SummaryRow>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let page_url: Option<String> = row.try_get("page_url")?;
    let last_message = match row.try_get::<Option<String>, _>("m_id")? {
        Some(id) => Some(
            MessageRow {
                id,
                conversation_id: row.try_get("id")?,
                seq: row.try_get("m_seq")?,
                sender: row.try_get("m_sender")?,
                agent_name: row.try_get("m_agent_name")?,
                text: row.try_get("m_text")?,
                client_id: row.try_get("m_client_id")?,
                created_at: row.try_get("m_created_at")?,
            }
            .into_message()?,
        ),
        None => None,
    };
    Ok(SummaryRow {
        conversation: conversation_from(row)?,
        visitor: visitor_from(row)?,
        page: match page_url {
            Some(url) => Some(Page {
                url,
                title: row.try_get("page_title")?,
            }),
            None => None,
        },
        last_message,
        unread: row.try_get("unread")?,
    })
}

pub(super) fn summary_query(filter: &str) -> String {
    format!(
        "SELECT {CONVERSATION_COLUMNS}, c.page_url, c.page_title, \
           v.id AS v_id, v.name AS v_name, v.email AS v_email, v.phone AS v_phone, \
           m.id AS m_id, m.seq AS m_seq, m.sender AS m_sender, m.agent_name AS m_agent_name, \
           m.text AS m_text, m.client_id AS m_client_id, m.created_at AS m_created_at, \
           (SELECT COUNT(*) FROM messages u WHERE u.conversation_id = c.id \
              AND u.sender = 'visitor' AND u.seq > c.agent_read_seq) AS unread \
         FROM conversations c \
         JOIN visitors v ON v.id = c.visitor_id \
         LEFT JOIN messages m ON m.conversation_id = c.id AND m.seq = c.last_seq \
         WHERE {filter}"
    )
}
