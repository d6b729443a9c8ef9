//! The SQL both backends run as it is, written once. `$n` placeholders and `CAST` work on SQLite
//! and PostgreSQL alike; what differs (SQLite's writes through the appender thread,
//! PostgreSQL's row locks and `jsonb`) stays in `sqlite` and `postgres`.
//!
//! sqlx's executor traits need a handful of higher-ranked bounds per database to be used
//! generically, so each function is written once in [`shared_sql!`] and compiled once per
//! backend (`sqlite::shared`, `postgres::shared`) over that backend's pool.

/// A JSON array of strings, as both backends store a site's lists.
pub(super) fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

/// Expands to the shared queries over `sqlx::Pool<$db>`.
macro_rules! shared_sql {
    ($db:ty) => {
        use sqlx::Pool;

        use crate::domain::ids::{AgentId, ConversationId, SiteId, SiteKey, TokenHash};
        use crate::domain::model::{Agent, Conversation, Message, Millis, Sender, Site, Status, Visitor};
        use crate::domain::store::{ListFilter, StoreResult, SummaryRow};
        use crate::store::rows::{
            conversation_from, summary_from, summary_query, visitor_from, AgentRow, MessageRow,
            SiteRow, AGENT_COLUMNS, CONVERSATION_COLUMNS, MESSAGE_COLUMNS, SITE_COLUMNS,
        };

        type Db = Pool<$db>;

        /// The stored value for `key`, storing `value` first if there was none. Two nodes
        /// starting at once both insert; the loser's row is dropped and both read the winner's.
        pub(crate) async fn setting_or_insert(db: &Db, key: &str, value: &str) -> StoreResult<String> {
            sqlx::query(
                "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(value)
            .execute(db)
            .await?;
            Ok(sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_one(db)
                .await?)
        }

        pub(crate) async fn list_sites(db: &Db) -> StoreResult<Vec<Site>> {
            let sql = format!("SELECT {SITE_COLUMNS} FROM sites ORDER BY created_at, id");
            sqlx::query_as::<_, SiteRow>(&sql)
                .fetch_all(db)
                .await?
                .into_iter()
                .map(SiteRow::into_site)
                .collect()
        }

        /// The site whose `column` (`id` or `site_key`) is `value`.
        async fn site_where(db: &Db, column: &str, value: &str) -> StoreResult<Option<Site>> {
            let sql = format!("SELECT {SITE_COLUMNS} FROM sites WHERE {column} = $1");
            sqlx::query_as::<_, SiteRow>(&sql)
                .bind(value)
                .fetch_optional(db)
                .await?
                .map(SiteRow::into_site)
                .transpose()
        }

        pub(crate) async fn site_by_key(db: &Db, key: &SiteKey) -> StoreResult<Option<Site>> {
            site_where(db, "site_key", key.as_str()).await
        }

        pub(crate) async fn site_by_id(db: &Db, id: &SiteId) -> StoreResult<Option<Site>> {
            site_where(db, "id", id.as_str()).await
        }

        pub(crate) async fn count_sites(db: &Db) -> StoreResult<i64> {
            Ok(sqlx::query_scalar("SELECT COUNT(*) FROM sites")
                .fetch_one(db)
                .await?)
        }

        /// The agents that match `filter` (a condition on `$1`), oldest first.
        async fn agents_where(db: &Db, filter: &str, value: &str) -> StoreResult<Vec<Agent>> {
            let sql =
                format!("SELECT {AGENT_COLUMNS} FROM agents WHERE {filter} ORDER BY created_at, id");
            sqlx::query_as::<_, AgentRow>(&sql)
                .bind(value)
                .fetch_all(db)
                .await?
                .into_iter()
                .map(Agent::try_from)
                .collect()
        }

        pub(crate) async fn agent_by_username(db: &Db, username: &str) -> StoreResult<Option<Agent>> {
            Ok(agents_where(db, "username = $1", username).await?.pop())
        }

        pub(crate) async fn agent_by_id(db: &Db, id: &AgentId) -> StoreResult<Option<Agent>> {
            Ok(agents_where(db, "id = $1", id.as_str()).await?.pop())
        }

        pub(crate) async fn list_agents(db: &Db, site_id: &SiteId) -> StoreResult<Vec<Agent>> {
            agents_where(db, "site_id = $1 AND deleted_at IS NULL", site_id.as_str()).await
        }

        /// Sets a new password hash and bumps the token version.
        pub(crate) async fn set_agent_password(
            db: &Db,
            username: &str,
            password_hash: &str,
        ) -> StoreResult<bool> {
            let done = sqlx::query(
                "UPDATE agents SET password_hash = $1, token_version = token_version + 1 \
                 WHERE username = $2 AND deleted_at IS NULL",
            )
            .bind(password_hash)
            .bind(username)
            .execute(db)
            .await?;
            Ok(done.rows_affected() == 1)
        }

        /// Disabling revokes every token; enabling leaves the version alone (tokens from
        /// before the disable stay revoked: the agent logs in again).
        pub(crate) async fn set_agent_disabled(
            db: &Db,
            username: &str,
            disabled: bool,
        ) -> StoreResult<bool> {
            let done = sqlx::query(
                "UPDATE agents SET disabled = $1, \
                   token_version = token_version + CASE WHEN $1 THEN 1 ELSE 0 END \
                 WHERE username = $2 AND deleted_at IS NULL",
            )
            .bind(disabled)
            .bind(username)
            .execute(db)
            .await?;
            Ok(done.rows_affected() == 1)
        }

        /// The visitor of a token with its conversation and `last_seen_at`, unless last seen
        /// before `expired_before`.
        pub(crate) async fn visitor_by_token(
            db: &Db,
            site_id: &SiteId,
            token_hash: &TokenHash,
            expired_before: Millis,
        ) -> StoreResult<Option<(Visitor, Conversation, Millis)>> {
            let sql = format!(
                "SELECT {CONVERSATION_COLUMNS}, v.id AS v_id, v.name AS v_name, \
                   v.email AS v_email, v.phone AS v_phone, v.last_seen_at AS v_last_seen_at \
                 FROM visitors v JOIN conversations c ON c.visitor_id = v.id \
                 WHERE v.site_id = $1 AND v.token_hash = $2 AND v.last_seen_at >= $3"
            );
            let Some(row) = sqlx::query(&sql)
                .bind(site_id.as_str())
                .bind(token_hash.as_str())
                .bind(expired_before)
                .fetch_optional(db)
                .await?
            else {
                return Ok(None);
            };
            let last_seen: Millis = sqlx::Row::try_get(&row, "v_last_seen_at")?;
            Ok(Some((visitor_from(&row)?, conversation_from(&row)?, last_seen)))
        }

        pub(crate) async fn conversation(
            db: &Db,
            site_id: &SiteId,
            id: &ConversationId,
        ) -> StoreResult<Option<Conversation>> {
            let sql = format!(
                "SELECT {CONVERSATION_COLUMNS} FROM conversations c \
                 WHERE c.site_id = $1 AND c.id = $2"
            );
            sqlx::query(&sql)
                .bind(site_id.as_str())
                .bind(id.as_str())
                .fetch_optional(db)
                .await?
                .map(|r| conversation_from(&r))
                .transpose()
        }

        pub(crate) async fn summary(
            db: &Db,
            site_id: &SiteId,
            id: &ConversationId,
        ) -> StoreResult<Option<SummaryRow>> {
            sqlx::query(&summary_query("c.site_id = $1 AND c.id = $2"))
                .bind(site_id.as_str())
                .bind(id.as_str())
                .fetch_optional(db)
                .await?
                .map(|r| summary_from(&r))
                .transpose()
        }

        pub(crate) async fn list_summaries(
            db: &Db,
            site_id: &SiteId,
            filter: ListFilter,
        ) -> StoreResult<Vec<SummaryRow>> {
            let sql = summary_query(
                "c.site_id = $1 \
                   AND (CAST($2 AS BIGINT) IS NULL OR c.updated_at < $2) \
                   AND (CAST($3 AS TEXT) IS NULL OR c.status = $3) \
                 ORDER BY c.updated_at DESC, c.id DESC LIMIT $4",
            );
            sqlx::query(&sql)
                .bind(site_id.as_str())
                .bind(filter.before)
                .bind(filter.status.map(Status::as_str))
                .bind(filter.limit + 1)
                .fetch_all(db)
                .await?
                .iter()
                .map(summary_from)
                .collect()
        }

        pub(crate) async fn message_by_client_id(
            db: &Db,
            site_id: &SiteId,
            conversation_id: &ConversationId,
            sender: Sender,
            client_id: &str,
        ) -> StoreResult<Option<Message>> {
            let sql = format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages \
                 WHERE conversation_id = $1 AND sender = $2 AND client_id = $3 \
                   AND EXISTS (SELECT 1 FROM conversations WHERE id = $1 AND site_id = $4)"
            );
            sqlx::query_as::<_, MessageRow>(&sql)
                .bind(conversation_id.as_str())
                .bind(sender.as_str())
                .bind(client_id)
                .bind(site_id.as_str())
                .fetch_optional(db)
                .await?
                .map(MessageRow::into_message)
                .transpose()
        }

        /// Up to `limit + 1` messages with `seq < before`, ascending.
        pub(crate) async fn messages_before(
            db: &Db,
            conversation_id: &ConversationId,
            before: i64,
            limit: i64,
        ) -> StoreResult<Vec<Message>> {
            messages_beside(db, conversation_id, "<", before, limit).await
        }

        /// Up to `limit + 1` messages with `seq > after`, ascending.
        pub(crate) async fn messages_after(
            db: &Db,
            conversation_id: &ConversationId,
            after: i64,
            limit: i64,
        ) -> StoreResult<Vec<Message>> {
            messages_beside(db, conversation_id, ">", after, limit).await
        }

        /// The page next to `seq` on the side `side` (`<` or `>`): the nearest first from the
        /// index, returned ascending.
        async fn messages_beside(
            db: &Db,
            conversation_id: &ConversationId,
            side: &'static str,
            seq: i64,
            limit: i64,
        ) -> StoreResult<Vec<Message>> {
            let order = if side == "<" { "DESC" } else { "ASC" };
            let sql = format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND seq {side} $2 \
                 ORDER BY seq {order} LIMIT $3"
            );
            let mut rows = sqlx::query_as::<_, MessageRow>(&sql)
                .bind(conversation_id.as_str())
                .bind(seq)
                .bind(limit + 1)
                .fetch_all(db)
                .await?;
            if side == "<" {
                rows.reverse();
            }
            rows.into_iter().map(MessageRow::into_message).collect()
        }
    };
}

pub(super) use shared_sql;
