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
use std::time::{Duration, Instant};

use crate::domain::ids::{AgentId, ConversationId, VisitorId};
use crate::domain::model::{Conversation, Message, Micros, Millis, Page, Side, Status, Visitor};
use crate::domain::store::{
    mail_due, Appended, Chatting, Lookups, NewMessage, NewVisitor, StoreError, StoreResult,
};
use crate::store::rows::attachments_column;

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

/// True when `e` is a unique violation of the named constraint.
fn violates(e: &sqlx::Error, constraint: &str) -> bool {
    matches!(e, sqlx::Error::Database(d)
        if d.is_unique_violation() && d.constraint() == Some(constraint))
}

/// The queries PostgreSQL runs as SQLite does.
mod shared {
    crate::store::shared::shared_sql!(
        super::PostgresStore, sqlx::Postgres, reads: pool, fresh: pool, writes: pool, json: "::jsonb",
        claim_lock: " FOR UPDATE SKIP LOCKED"
    );
}

#[async_trait]
impl Chatting for PostgresStore {
    async fn create_visitor(&self, v: NewVisitor<'_>) -> StoreResult<(Visitor, Conversation)> {
        // One statement, so one round trip and no explicit transaction.
        sqlx::query(
            "WITH visitor AS ( \
               INSERT INTO visitors (id, site_id, token_hash, created_at, last_seen_at) \
               VALUES ($1, $3, $4, $5, $5) RETURNING id) \
             INSERT INTO conversations (id, site_id, visitor_id, created_at, updated_at) \
             SELECT $2, $3, id, $5, $6 FROM visitor",
        )
        .bind(v.visitor_id.as_str())
        .bind(v.conversation_id.as_str())
        .bind(v.site_id.as_str())
        .bind(v.token_hash.as_str())
        .bind(v.now)
        .bind(v.activity)
        .execute(&self.pool)
        .await?;
        Ok(v.created())
    }

    async fn touch_visitor(&self, id: &VisitorId, now: Millis) -> StoreResult<()> {
        sqlx::query("UPDATE visitors SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1")
            .bind(now)
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn update_visitor(&self, v: &Visitor) -> StoreResult<()> {
        sqlx::query("UPDATE visitors SET name = $1, email = $2, phone = $3 WHERE id = $4")
            .bind(&v.name)
            .bind(&v.email)
            .bind(&v.phone)
            .bind(v.id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_page(&self, conversation_id: &ConversationId, page: &Page) -> StoreResult<()> {
        sqlx::query("UPDATE conversations SET page_url = $1, page_title = $2 WHERE id = $3")
            .bind(&page.url)
            .bind(&page.title)
            .bind(conversation_id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_status(
        &self,
        id: &ConversationId,
        status: Status,
        activity: Micros,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE conversations SET status = $1, updated_at = $2 WHERE id = $3 AND status <> $1",
        )
        .bind(status.as_str())
        .bind(activity)
        .bind(id.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn append_message(&self, m: NewMessage<'_>) -> StoreResult<Option<Appended>> {
        // Fast path for a retry of a committed send: no transaction, no row lock.
        if let Some(existing) = self.existing(&m).await? {
            return Ok(Some(Appended {
                message: existing,
                created: false,
                reopened: false,
            }));
        }
        let mut tx = self.pool.begin().await?;
        // The transaction's statements and `COMMIT`, the wait for the row lock included (not
        // the wait for a pooled connection): `parlor_store_commit_seconds`.
        let started = Instant::now();
        // A disabled or deleted agent's send is refused in the transaction that would store it,
        // so one already under way when `parlor agent disable` commits fails too.
        if let Some(agent_id) = m.agent_id {
            let active: Option<bool> = sqlx::query_scalar(
                "SELECT NOT disabled AND deleted_at IS NULL FROM agents WHERE id = $1",
            )
            .bind(agent_id.as_str())
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
        let (visitor_mail_due, agent_mail_due) = mail_due(m.sender, m.mail_due_at);
        let locked: Option<(i64, String)> = sqlx::query_as(
            "UPDATE conversations SET last_seq = last_seq + 1, updated_at = $1, \
               visitor_mail_due_at = COALESCE(visitor_mail_due_at, $4), \
               agent_mail_due_at = COALESCE(agent_mail_due_at, $5) \
             WHERE id = $2 AND site_id = $3 \
             RETURNING last_seq, status",
        )
        .bind(m.activity)
        .bind(m.conversation_id.as_str())
        .bind(m.site_id.as_str())
        .bind(visitor_mail_due)
        .bind(agent_mail_due)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((seq, was_status)) = locked else {
            tx.rollback().await?;
            return Ok(None);
        };
        let reopened = m.reopen && was_status == Status::Ended.as_str();
        if reopened {
            sqlx::query("UPDATE conversations SET status = 'open' WHERE id = $1")
                .bind(m.conversation_id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        let inserted = sqlx::query(
            "INSERT INTO messages \
               (id, conversation_id, seq, sender, agent_id, agent_name, text, client_id, created_at, \
                attachments) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(m.id.as_str())
        .bind(m.conversation_id.as_str())
        .bind(seq)
        .bind(m.sender.as_str())
        .bind(m.agent_id.map(AgentId::as_str))
        .bind(m.agent_name)
        .bind(m.text)
        .bind(m.client_id)
        .bind(m.now)
        .bind(attachments_column(m.attachments))
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
                if !m.attachments.is_empty() {
                    // Under the row locks of the uploads: a concurrent send of the same upload
                    // waits here, then finds it taken.
                    let ids: Vec<&str> = m.attachments.iter().map(|a| a.id.as_str()).collect();
                    let taken = sqlx::query(
                        "UPDATE uploads SET message_id = $1 WHERE id = ANY($2) \
                           AND conversation_id = $3 AND sender = $4 AND message_id IS NULL \
                           AND stored",
                    )
                    .bind(m.id.as_str())
                    .bind(&ids)
                    .bind(m.conversation_id.as_str())
                    .bind(m.sender.as_str())
                    .execute(&mut *tx)
                    .await?;
                    if taken.rows_affected() != ids.len() as u64 {
                        tx.rollback().await?;
                        return Err(StoreError::AttachmentUnavailable);
                    }
                }
                tx.commit().await?;
                metrics::histogram!("parlor_store_commit_seconds")
                    .record(started.elapsed().as_secs_f64());
                Ok(Some(Appended {
                    message: m.stored(seq),
                    created: true,
                    reopened,
                }))
            }
        }
    }

    async fn mark_read(
        &self,
        conversation_id: &ConversationId,
        side: Side,
        seq: i64,
    ) -> StoreResult<i64> {
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
            .bind(conversation_id.as_str())
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
