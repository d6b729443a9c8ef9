//! PostgreSQL, for several `parlor serve` nodes sharing one database.
//!
//! One connection pool (16 connections unless the URL says `?pool_size=N`). Every connection
//! runs at READ COMMITTED whatever the server's default is: `append_message` relies on it.
//!
//! # Guarantees (the same as SQLite's)
//! - **Gap-free, in-order `seq`.** `append_message` takes the conversation row's lock with
//!   `UPDATE conversations SET last_seq = last_seq + 1 ... RETURNING last_seq` and inserts the
//!   message in the same transaction. A second writer, on this node or another, blocks on that
//!   row until the first commits, then re-reads the committed row and takes the next number. A
//!   rolled-back insert rolls the counter back with it. (A SEQUENCE would skip numbers on
//!   rollback and let a later number commit before an earlier one.)
//! - **Idempotent send.** The `messages_idempotency` unique constraint on
//!   `(conversation_id, sender, client_id)`; a retry that races its original past the fast-path
//!   lookup hits the constraint (the original has committed by then: it held the row lock), the
//!   transaction is rolled back and the original is returned.
//! - **Durable acks.** Commits wait for the WAL flush (PostgreSQL's default
//!   `synchronous_commit = on`), so an acked write survives a crash of the node and of the
//!   database server.

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

use super::rows::{
    conversation_from, summary_from, summary_query, visitor_from, AgentRow, MessageRow, SiteRow,
    CONVERSATION_COLUMNS, MESSAGE_COLUMNS,
};
use super::{
    Appended, ListFilter, NewAgent, NewMessage, NewSite, NewVisitor, SeenWindow, Store, StoreError,
    StoreResult, SummaryRow,
};
use crate::domain::model::{
    Agent, Conversation, Message, Micros, Millis, Page, Sender, Side, Site, Status, Visitor,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Connections per node when the URL does not say `pool_size`.
pub const DEFAULT_POOL_SIZE: u32 = 16;
/// The URL query parameter that sets the pool size (removed before the URL reaches the driver).
const POOL_SIZE_PARAM: &str = "pool_size";
/// How long a request waits for a free (or re-established) connection before it fails with an
/// `internal` error instead of hanging while the database is down.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The unique constraints the store turns into domain outcomes (named in the migration).
const IDEMPOTENCY_CONSTRAINT: &str = "messages_idempotency";
const USERNAME_CONSTRAINT: &str = "agents_username_key";

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `postgres://...` (or `postgresql://...`) and applies pending migrations.
    /// Several nodes may start at once: sqlx serializes their migrations with an advisory lock.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let (url, pool_size) = split_pool_size(url)?;
        let options = PgConnectOptions::from_str(&url)?
            .application_name("parlor")
            // Startup options, so no extra round trip per transaction (the space is escaped as
            // the server's option splitter wants). NOTICEs such as "relation already exists,
            // skipping" from the migrator are not worth a log line on every start.
            .options([
                ("default_transaction_isolation", r"read\ committed"),
                ("client_min_messages", "warning"),
            ]);
        let pool = PgPoolOptions::new()
            .max_connections(pool_size)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(PostgresStore { pool })
    }
}

/// Takes `pool_size=N` out of the URL's query string.
fn split_pool_size(url: &str) -> StoreResult<(String, u32)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), DEFAULT_POOL_SIZE));
    };
    let mut pool_size = DEFAULT_POOL_SIZE;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some((POOL_SIZE_PARAM, value)) => {
                pool_size = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| {
                        StoreError::UnsupportedUrl(format!(
                            "{POOL_SIZE_PARAM} must be a positive integer, got {value:?}"
                        ))
                    })?;
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, pool_size))
}

const SITE_COLUMNS: &str = "id, site_key, name, allowed_origins::text AS allowed_origins, \
     prechat_fields::text AS prechat_fields, allowed_query_params::text AS allowed_query_params";
const AGENT_COLUMNS: &str =
    "id, site_id, username, name, password_hash, token_version, disabled, deleted_at";

/// False for a string PostgreSQL cannot hold: TEXT never contains U+0000 (SQLite's does), and
/// binding one is an error. Lookups by such a key answer "no such row", as on SQLite, instead
/// of failing; writes of one still fail (the domain should refuse U+0000 in client input).
fn storable(key: &str) -> bool {
    !key.contains('\0')
}

/// True when `e` is a unique violation of the named constraint.
fn violates(e: &sqlx::Error, constraint: &str) -> bool {
    matches!(e, sqlx::Error::Database(d)
        if d.is_unique_violation() && d.constraint() == Some(constraint))
}

fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn setting_or_insert(&self, key: &str, value: &str) -> StoreResult<String> {
        // Two nodes starting at once both insert; the loser's row is dropped and both read the
        // winner's value.
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        let stored = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_one(&self.pool)
            .await?;
        Ok(stored)
    }

    async fn create_site(&self, s: NewSite<'_>) -> StoreResult<Site> {
        sqlx::query(
            "INSERT INTO sites \
               (id, site_key, name, allowed_origins, prechat_fields, allowed_query_params, \
                created_at) \
             VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7)",
        )
        .bind(s.id)
        .bind(s.site_key)
        .bind(s.name)
        .bind(json_list(s.allowed_origins))
        .bind(json_list(s.prechat_fields))
        .bind(json_list(s.allowed_query_params))
        .bind(s.now)
        .execute(&self.pool)
        .await?;
        Ok(s.site())
    }

    async fn list_sites(&self) -> StoreResult<Vec<Site>> {
        let sql = format!("SELECT {SITE_COLUMNS} FROM sites ORDER BY created_at, id");
        sqlx::query_as::<_, SiteRow>(&sql)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(SiteRow::into_site)
            .collect()
    }

    async fn site_by_key(&self, site_key: &str) -> StoreResult<Option<Site>> {
        if !storable(site_key) {
            return Ok(None);
        }
        let sql = format!("SELECT {SITE_COLUMNS} FROM sites WHERE site_key = $1");
        sqlx::query_as::<_, SiteRow>(&sql)
            .bind(site_key)
            .fetch_optional(&self.pool)
            .await?
            .map(SiteRow::into_site)
            .transpose()
    }

    async fn site_by_id(&self, id: &str) -> StoreResult<Option<Site>> {
        if !storable(id) {
            return Ok(None);
        }
        let sql = format!("SELECT {SITE_COLUMNS} FROM sites WHERE id = $1");
        sqlx::query_as::<_, SiteRow>(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(SiteRow::into_site)
            .transpose()
    }

    async fn count_sites(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM sites")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn create_agent(&self, a: NewAgent<'_>) -> StoreResult<Agent> {
        let inserted = sqlx::query(
            "INSERT INTO agents (id, site_id, username, name, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(a.id)
        .bind(a.site_id)
        .bind(a.username)
        .bind(a.name)
        .bind(a.password_hash)
        .bind(a.now)
        .execute(&self.pool)
        .await;
        match inserted {
            Err(e) if violates(&e, USERNAME_CONSTRAINT) => {
                Err(StoreError::Conflict(format!("username {}", a.username)))
            }
            Err(e) => Err(e.into()),
            Ok(_) => Ok(a.agent()),
        }
    }

    async fn agent_by_username(&self, username: &str) -> StoreResult<Option<Agent>> {
        if !storable(username) {
            return Ok(None);
        }
        let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE username = $1");
        Ok(sqlx::query_as::<_, AgentRow>(&sql)
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
            .map(Agent::from))
    }

    async fn agent_by_id(&self, id: &str) -> StoreResult<Option<Agent>> {
        if !storable(id) {
            return Ok(None);
        }
        let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1");
        Ok(sqlx::query_as::<_, AgentRow>(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(Agent::from))
    }

    async fn agents_by_ids(&self, ids: &[String]) -> StoreResult<Vec<Agent>> {
        let ids: Vec<&str> = ids
            .iter()
            .map(String::as_str)
            .filter(|id| storable(id))
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = ANY($1)");
        Ok(sqlx::query_as::<_, AgentRow>(&sql)
            .bind(ids)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(Agent::from)
            .collect())
    }

    async fn list_agents(&self, site_id: &str) -> StoreResult<Vec<Agent>> {
        if !storable(site_id) {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE site_id = $1 AND deleted_at IS NULL \
             ORDER BY created_at, id"
        );
        Ok(sqlx::query_as::<_, AgentRow>(&sql)
            .bind(site_id)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(Agent::from)
            .collect())
    }

    async fn set_agent_password(&self, username: &str, password_hash: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE agents SET password_hash = $1, token_version = token_version + 1 \
             WHERE username = $2 AND deleted_at IS NULL",
        )
        .bind(password_hash)
        .bind(username)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_agent_disabled(&self, username: &str, disabled: bool) -> StoreResult<bool> {
        // Disabling revokes every token; enabling leaves the version alone (tokens from before
        // the disable stay revoked: the agent logs in again).
        let done = sqlx::query(
            "UPDATE agents SET disabled = $1, \
               token_version = token_version + CASE WHEN $1 THEN 1 ELSE 0 END \
             WHERE username = $2 AND deleted_at IS NULL",
        )
        .bind(disabled)
        .bind(username)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_agent(
        &self,
        username: &str,
        tombstone: &str,
        now: Millis,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE agents SET deleted_at = $1, username = $2, password_hash = '', \
               token_version = token_version + 1 \
             WHERE username = $3 AND deleted_at IS NULL",
        )
        .bind(now)
        .bind(tombstone)
        .bind(username)
        .execute(&self.pool)
        .await;
        match done {
            Err(e) if violates(&e, USERNAME_CONSTRAINT) => {
                Err(StoreError::Conflict(format!("username {tombstone}")))
            }
            Err(e) => Err(e.into()),
            Ok(done) => Ok(done.rows_affected() == 1),
        }
    }

    async fn create_visitor(&self, v: NewVisitor<'_>) -> StoreResult<(Visitor, Conversation)> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO visitors (id, site_id, token_hash, created_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(v.visitor_id)
        .bind(v.site_id)
        .bind(v.token_hash)
        .bind(v.now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO conversations (id, site_id, visitor_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(v.conversation_id)
        .bind(v.site_id)
        .bind(v.visitor_id)
        .bind(v.now)
        .bind(v.activity)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(v.created())
    }

    async fn visitor_by_token(
        &self,
        site_id: &str,
        token_hash: &str,
        seen: SeenWindow,
    ) -> StoreResult<Option<(Visitor, Conversation)>> {
        if !storable(site_id) || !storable(token_hash) {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS}, v.id AS v_id, v.name AS v_name, v.email AS v_email, \
               v.phone AS v_phone, v.last_seen_at AS v_last_seen_at \
             FROM visitors v JOIN conversations c ON c.visitor_id = v.id \
             WHERE v.site_id = $1 AND v.token_hash = $2 AND v.last_seen_at >= $3"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(site_id)
            .bind(token_hash)
            .bind(seen.expired_before)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let (visitor, conversation) = (visitor_from(&row)?, conversation_from(&row)?);
        let last_seen: i64 = sqlx::Row::try_get(&row, "v_last_seen_at")?;
        if last_seen < seen.refresh_before {
            sqlx::query(
                "UPDATE visitors SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1",
            )
            .bind(seen.now)
            .bind(&visitor.id)
            .execute(&self.pool)
            .await?;
        }
        Ok(Some((visitor, conversation)))
    }

    async fn update_visitor(&self, v: &Visitor) -> StoreResult<()> {
        sqlx::query("UPDATE visitors SET name = $1, email = $2, phone = $3 WHERE id = $4")
            .bind(&v.name)
            .bind(&v.email)
            .bind(&v.phone)
            .bind(&v.id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_page(&self, conversation_id: &str, page: &Page) -> StoreResult<()> {
        sqlx::query("UPDATE conversations SET page_url = $1, page_title = $2 WHERE id = $3")
            .bind(&page.url)
            .bind(&page.title)
            .bind(conversation_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn conversation(&self, site_id: &str, id: &str) -> StoreResult<Option<Conversation>> {
        if !storable(site_id) || !storable(id) {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.site_id = $1 AND c.id = $2"
        );
        sqlx::query(&sql)
            .bind(site_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| conversation_from(&r))
            .transpose()
    }

    async fn summary(&self, site_id: &str, id: &str) -> StoreResult<Option<SummaryRow>> {
        if !storable(site_id) || !storable(id) {
            return Ok(None);
        }
        sqlx::query(&summary_query("c.site_id = $1 AND c.id = $2"))
            .bind(site_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| summary_from(&r))
            .transpose()
    }

    async fn list_summaries(
        &self,
        site_id: &str,
        filter: ListFilter,
    ) -> StoreResult<Vec<SummaryRow>> {
        let sql = summary_query(
            "c.site_id = $1 \
               AND ($2::bigint IS NULL OR c.updated_at < $2) \
               AND ($3::text IS NULL OR c.status = $3) \
             ORDER BY c.updated_at DESC, c.id DESC LIMIT $4",
        );
        sqlx::query(&sql)
            .bind(site_id)
            .bind(filter.before)
            .bind(filter.status.map(Status::as_str))
            .bind(filter.limit + 1)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(summary_from)
            .collect()
    }

    async fn set_status(&self, id: &str, status: Status, activity: Micros) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE conversations SET status = $1, updated_at = $2 WHERE id = $3 AND status <> $1",
        )
        .bind(status.as_str())
        .bind(activity)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn append_message(&self, m: NewMessage<'_>) -> StoreResult<Option<Appended>> {
        if !storable(m.conversation_id) || !storable(m.site_id) {
            return Ok(None);
        }
        // Fast path for a retry of a committed send: no transaction, no row lock.
        if let Some(existing) = self.existing(&m).await? {
            return Ok(Some(Appended {
                message: existing,
                created: false,
                reopened: false,
            }));
        }
        let mut tx = self.pool.begin().await?;
        // A disabled or deleted agent's send is refused in the transaction that would store it,
        // so one already under way when `parlor agent disable` commits fails too.
        if let Some(agent_id) = m.agent_id {
            let active: Option<bool> = sqlx::query_scalar(
                "SELECT NOT disabled AND deleted_at IS NULL FROM agents WHERE id = $1",
            )
            .bind(agent_id)
            .fetch_optional(&mut *tx)
            .await?;
            if active != Some(true) {
                tx.rollback().await?;
                return Err(StoreError::AgentInactive);
            }
        }
        // Locks the conversation row until commit; concurrent writers (any node) queue here and
        // then see the committed last_seq. `status` is not changed by this statement, so
        // RETURNING gives the status as it was before this message.
        let locked: Option<(i64, String)> = sqlx::query_as(
            "UPDATE conversations SET last_seq = last_seq + 1, updated_at = $1 \
             WHERE id = $2 AND site_id = $3 \
             RETURNING last_seq, status",
        )
        .bind(m.activity)
        .bind(m.conversation_id)
        .bind(m.site_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((seq, was_status)) = locked else {
            tx.rollback().await?;
            return Ok(None);
        };
        let reopened = m.reopen && was_status == Status::Ended.as_str();
        if reopened {
            sqlx::query("UPDATE conversations SET status = 'open' WHERE id = $1")
                .bind(m.conversation_id)
                .execute(&mut *tx)
                .await?;
        }
        let inserted = sqlx::query(
            "INSERT INTO messages \
               (id, conversation_id, seq, sender, agent_id, agent_name, text, client_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(m.id)
        .bind(m.conversation_id)
        .bind(seq)
        .bind(m.sender.as_str())
        .bind(m.agent_id)
        .bind(m.agent_name)
        .bind(m.text)
        .bind(m.client_id)
        .bind(m.now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if violates(&e, IDEMPOTENCY_CONSTRAINT) => {
                // The original committed while we waited for the row lock. Rolling back also
                // gives back the seq we took.
                tx.rollback().await?;
                let existing = self.existing(&m).await?.ok_or_else(|| {
                    StoreError::Corrupt("idempotency conflict without a message".into())
                })?;
                Ok(Some(Appended {
                    message: existing,
                    created: false,
                    reopened: false,
                }))
            }
            Err(e) => Err(e.into()),
            Ok(_) => {
                tx.commit().await?;
                Ok(Some(Appended {
                    message: m.stored(seq),
                    created: true,
                    reopened,
                }))
            }
        }
    }

    async fn message_by_client_id(
        &self,
        site_id: &str,
        conversation_id: &str,
        sender: Sender,
        client_id: &str,
    ) -> StoreResult<Option<Message>> {
        if !storable(site_id) || !storable(conversation_id) || !storable(client_id) {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages \
             WHERE conversation_id = $1 AND sender = $2 AND client_id = $3 \
               AND EXISTS (SELECT 1 FROM conversations WHERE id = $1 AND site_id = $4)"
        );
        sqlx::query_as::<_, MessageRow>(&sql)
            .bind(conversation_id)
            .bind(sender.as_str())
            .bind(client_id)
            .bind(site_id)
            .fetch_optional(&self.pool)
            .await?
            .map(MessageRow::into_message)
            .transpose()
    }

    async fn messages_before(
        &self,
        conversation_id: &str,
        before_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<Message>> {
        if !storable(conversation_id) {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND seq < $2 \
             ORDER BY seq DESC LIMIT $3"
        );
        let mut rows = sqlx::query_as::<_, MessageRow>(&sql)
            .bind(conversation_id)
            .bind(before_seq)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        rows.reverse();
        rows.into_iter().map(MessageRow::into_message).collect()
    }

    async fn messages_after(
        &self,
        conversation_id: &str,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<Message>> {
        if !storable(conversation_id) {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND seq > $2 \
             ORDER BY seq ASC LIMIT $3"
        );
        sqlx::query_as::<_, MessageRow>(&sql)
            .bind(conversation_id)
            .bind(after_seq)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(MessageRow::into_message)
            .collect()
    }

    async fn mark_read(&self, conversation_id: &str, side: Side, seq: i64) -> StoreResult<i64> {
        let column = match side {
            Side::Visitor => "visitor_read_seq",
            Side::Agent => "agent_read_seq",
        };
        let sql = format!(
            "UPDATE conversations SET {column} = GREATEST({column}, $1) WHERE id = $2 \
             RETURNING {column}"
        );
        Ok(sqlx::query_scalar(&sql)
            .bind(seq)
            .bind(conversation_id)
            .fetch_one(&self.pool)
            .await?)
    }
}

impl PostgresStore {
    async fn existing(&self, m: &NewMessage<'_>) -> StoreResult<Option<Message>> {
        match m.client_id {
            Some(client_id) => {
                self.message_by_client_id(m.site_id, m.conversation_id, m.sender, client_id)
                    .await
            }
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_size_comes_out_of_the_url() {
        let (url, n) = split_pool_size("postgres://u@h/db").expect("plain url");
        assert_eq!((url.as_str(), n), ("postgres://u@h/db", DEFAULT_POOL_SIZE));

        let (url, n) = split_pool_size("postgres://u@h/db?pool_size=4").expect("only pool_size");
        assert_eq!((url.as_str(), n), ("postgres://u@h/db", 4));

        let (url, n) = split_pool_size("postgres://u@h/db?sslmode=disable&pool_size=32&a=b")
            .expect("mixed query");
        assert_eq!(
            (url.as_str(), n),
            ("postgres://u@h/db?sslmode=disable&a=b", 32)
        );

        assert!(split_pool_size("postgres://u@h/db?pool_size=0").is_err());
        assert!(split_pool_size("postgres://u@h/db?pool_size=lots").is_err());
    }
}
