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

/// True when `e` is a unique violation (e.g. a taken username).
pub(super) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// `$1, $2, ... $n`: the placeholders of an `IN` list.
/// The column prefix of the conversation's e-mail state for e-mails to `side`.
pub(super) fn mail_side(side: crate::domain::model::Side) -> &'static str {
    match side {
        crate::domain::model::Side::Visitor => "visitor",
        crate::domain::model::Side::Agent => "agent",
    }
}

pub(super) fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Ids per `IN` list: far below either backend's limit on parameters.
pub(super) const IN_LIST_MAX: usize = 500;

/// Implements [`Lookups`](crate::domain::store::Lookups) and
/// [`Directory`](crate::domain::store::Directory) for `$store` over its sqlx pools:
/// `self.$reads` (any committed state will do), `self.$fresh` (must see every commit so far:
/// idempotency lookups) and `self.$writes`. `$json` is the cast a JSON list's text needs on the
/// way in (`"::jsonb"` on PostgreSQL, nothing on SQLite, where the column is TEXT).
macro_rules! shared_sql {
    (
        $store:ty,
        $db:ty,
        reads: $reads:ident,
        fresh: $fresh:ident,
        writes: $writes:ident,
        json: $json:literal,
        claim_lock: $claim_lock:literal
    ) => {
        use async_trait::async_trait;
        use sqlx::Pool;

        use crate::domain::ids::{AgentId, ConversationId, SiteId, SiteKey, TokenHash};
        use crate::domain::model::{Agent, Conversation, Message, Millis, Role, Sender, Site, Status};
        use crate::domain::store::{
            Accepted, AgentChange, AgentChanged, Directory, Invitation, ListFilter, Lookups,
            NewAgent, NewInvitation, NewSite, SeqSide, SiteChanges, StoreError, StoreResult,
            SummaryRow, TokenHolder,
        };
        use crate::domain::hours::OfficeHours;
        use crate::store::rows::{
            ByName, conversation_from, summary_from, summary_query, visitor_from, AgentRow, MessageRow,
            SiteRow, UploadRow, AGENT_COLUMNS, CONVERSATION_COLUMNS, MESSAGE_COLUMNS, SITE_COLUMNS,
            UPLOAD_COLUMNS,
        };
        use crate::store::shared::{is_unique_violation, json_list, mail_side, placeholders, IN_LIST_MAX};

        type Db = Pool<$db>;

        /// The visitor whose `column` (`v.token_hash` or `v.id`) is `value`, with its conversation,
        /// unless last seen before `since`; of the site `site_id` unless it is `None`.
        async fn token_holder(
            db: &Db,
            column: &str,
            value: &str,
            site_id: Option<&SiteId>,
            since: Millis,
        ) -> StoreResult<Option<TokenHolder>> {
            let sql = format!(
                "SELECT {CONVERSATION_COLUMNS}, v.id AS v_id, v.name AS v_name, \
                   v.email AS v_email, v.phone AS v_phone, v.last_seen_at AS v_last_seen_at \
                 FROM visitors v JOIN conversations c ON c.visitor_id = v.id \
                 WHERE ($1 = '' OR v.site_id = $1) AND {column} = $2 AND v.last_seen_at >= $3"
            );
            let Some(row) = sqlx::query(&sql)
                .bind(site_id.map_or("", SiteId::as_str))
                .bind(value)
                .bind(since)
                .fetch_optional(db)
                .await?
            else {
                return Ok(None);
            };
            Ok(Some(TokenHolder {
                visitor: visitor_from(&row)?,
                conversation: conversation_from(&row)?,
                last_seen_at: row.int("v_last_seen_at")?,
            }))
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

        /// Runs `sql` with `$1` = `value` and `$2` = `username`; whether it changed an agent.
        async fn update_agent<'q, T>(db: &Db, sql: &'q str, value: T, username: &'q str) -> StoreResult<bool>
        where
            T: 'q + Send + sqlx::Encode<'q, $db> + sqlx::Type<$db>,
        {
            let done = sqlx::query(sql).bind(value).bind(username).execute(db).await?;
            Ok(done.rows_affected() == 1)
        }

        /// The condition on a conversation `c` that [`one_of_site`] binds.
        const ONE: &str = "c.site_id = $1 AND c.id = $2";

        /// The row `sql` finds for the site's conversation (`$1`, `$2`), read by `read`.
        async fn one_of_site<T>(
            db: &Db,
            sql: &str,
            site_id: &SiteId,
            id: &ConversationId,
            read: fn(&<$db as sqlx::Database>::Row) -> StoreResult<T>,
        ) -> StoreResult<Option<T>> {
            sqlx::query(sql)
                .bind(site_id.as_str())
                .bind(id.as_str())
                .fetch_optional(db)
                .await?
                .map(|row| read(&row))
                .transpose()
        }

        /// The agents that match `filter` (a condition on `$1`, ...), oldest first.
        async fn agents_where(db: &Db, filter: &str, values: &[&str]) -> StoreResult<Vec<Agent>> {
            let sql =
                format!("SELECT {AGENT_COLUMNS} FROM agents WHERE {filter} ORDER BY created_at, id");
            let mut query = sqlx::query_as::<_, AgentRow>(&sql);
            for value in values {
                query = query.bind(*value);
            }
            query
                .fetch_all(db)
                .await?
                .into_iter()
                .map(Agent::try_from)
                .collect()
        }

        #[async_trait]
        impl Directory for $store {
            /// Two nodes starting at once both insert; the loser's row is dropped and both
            /// read the winner's.
            async fn setting_or_insert(&self, key: &str, value: &str) -> StoreResult<String> {
                sqlx::query(
                    "INSERT INTO settings (key, value) VALUES ($1, $2) \
                     ON CONFLICT (key) DO NOTHING",
                )
                .bind(key)
                .bind(value)
                .execute(&self.$writes)
                .await?;
                Ok(sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                    .bind(key)
                    .fetch_one(&self.$writes)
                    .await?)
            }

            async fn create_site(&self, s: NewSite<'_>) -> StoreResult<Site> {
                sqlx::query(concat!(
                    "INSERT INTO sites (id, site_key, name, allowed_origins, prechat_fields, \
                       allowed_query_params, created_at) \
                     VALUES ($1, $2, $3, $4",
                    $json,
                    ", $5",
                    $json,
                    ", $6",
                    $json,
                    ", $7)"
                ))
                .bind(s.id.as_str())
                .bind(s.site_key.as_str())
                .bind(s.name)
                .bind(json_list(s.allowed_origins))
                .bind(json_list(s.prechat_fields))
                .bind(json_list(s.allowed_query_params))
                .bind(s.now)
                .execute(&self.$writes)
                .await?;
                Ok(s.site())
            }

            async fn create_agent(&self, a: NewAgent<'_>) -> StoreResult<Agent> {
                let inserted = sqlx::query(
                    "INSERT INTO agents \
                       (id, site_id, username, name, password_hash, created_at, role, email) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(a.id.as_str())
                .bind(a.site_id.as_str())
                .bind(a.username)
                .bind(a.name)
                .bind(a.password_hash)
                .bind(a.now)
                .bind(a.role.as_str())
                .bind(a.email)
                .execute(&self.$writes)
                .await;
                match inserted {
                    // The id is new: only the username can clash.
                    Err(e) if is_unique_violation(&e) => {
                        Err(StoreError::Conflict(format!("username {}", a.username)))
                    }
                    Err(e) => Err(e.into()),
                    Ok(_) => Ok(a.agent()),
                }
            }

            async fn set_agent_name(&self, id: &AgentId, name: &str) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE agents SET name = $1 WHERE id = $2 AND deleted_at IS NULL",
                )
                .bind(name)
                .bind(id.as_str())
                .execute(&self.$writes)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_agent_mail(
                &self,
                id: &AgentId,
                email: Option<Option<&str>>,
                offline_emails: Option<bool>,
            ) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE agents SET \
                       email = CASE WHEN $2 THEN $3 ELSE email END, \
                       offline_emails = COALESCE($4, offline_emails) \
                     WHERE id = $1 AND deleted_at IS NULL",
                )
                .bind(id.as_str())
                .bind(email.is_some())
                .bind(email.flatten())
                .bind(offline_emails)
                .execute(&self.$writes)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_agent_password(&self, username: &str, hash: &str) -> StoreResult<bool> {
                let sql = "UPDATE agents SET password_hash = $1, \
                             token_version = token_version + 1 \
                           WHERE username = $2 AND deleted_at IS NULL";
                update_agent(&self.$writes, sql, hash, username).await
            }

            async fn change_agent(&self, username: &str, change: AgentChange<'_>) -> StoreResult<AgentChanged> {
                let mut tx = self.$writes.begin().await?;
                // First, and a write: holds the agent's site's row until the commit, so every
                // change that may take away an admin runs one at a time per site (and SQLite's
                // transaction starts as a writer, never upgrading from a reader).
                let locked = sqlx::query(
                    "UPDATE sites SET name = name WHERE id = \
                       (SELECT site_id FROM agents WHERE username = $1 AND deleted_at IS NULL)",
                )
                .bind(username)
                .execute(&mut *tx)
                .await?;
                if locked.rows_affected() == 0 {
                    return Ok(AgentChanged::NoSuchAgent);
                }
                let sql = format!(
                    "SELECT {AGENT_COLUMNS} FROM agents WHERE username = $1 AND deleted_at IS NULL"
                );
                let Some(agent) = sqlx::query_as::<_, AgentRow>(&sql)
                    .bind(username)
                    .fetch_optional(&mut *tx)
                    .await?
                else {
                    return Ok(AgentChanged::NoSuchAgent);
                };
                let agent = Agent::try_from(agent)?;
                let takes_away_an_admin = agent.role == Role::Admin
                    && !agent.disabled
                    && matches!(
                        change,
                        AgentChange::Role(Role::Agent) | AgentChange::Disabled(true) | AgentChange::Delete { .. }
                    );
                if takes_away_an_admin {
                    let others: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM agents WHERE site_id = $1 AND id <> $2 \
                           AND role = 'admin' AND NOT disabled AND deleted_at IS NULL",
                    )
                    .bind(agent.site_id.as_str())
                    .bind(agent.id.as_str())
                    .fetch_one(&mut *tx)
                    .await?;
                    if others == 0 {
                        return Ok(AgentChanged::LastAdmin);
                    }
                }
                let done = match change {
                    AgentChange::ClearPassword => {
                        sqlx::query(
                            "UPDATE agents SET password_hash = '', \
                               token_version = token_version + 1 WHERE id = $1",
                        )
                        .bind(agent.id.as_str())
                        .execute(&mut *tx)
                        .await
                    }
                    AgentChange::Role(role) => {
                        sqlx::query("UPDATE agents SET role = $1 WHERE id = $2")
                            .bind(role.as_str())
                            .bind(agent.id.as_str())
                            .execute(&mut *tx)
                            .await
                    }
                    AgentChange::Disabled(disabled) => {
                        sqlx::query(
                            "UPDATE agents SET disabled = $1, \
                               token_version = token_version + CASE WHEN $1 THEN 1 ELSE 0 END \
                             WHERE id = $2",
                        )
                        .bind(disabled)
                        .bind(agent.id.as_str())
                        .execute(&mut *tx)
                        .await
                    }
                    AgentChange::Delete { tombstone, now } => {
                        sqlx::query(
                            "UPDATE agents SET deleted_at = $1, username = $2, password_hash = '', \
                               token_version = token_version + 1 \
                             WHERE id = $3",
                        )
                        .bind(now)
                        .bind(tombstone)
                        .bind(agent.id.as_str())
                        .execute(&mut *tx)
                        .await
                    }
                };
                match done {
                    Err(e) if is_unique_violation(&e) => {
                        return Err(StoreError::Conflict(format!("username of agent {}", agent.id)))
                    }
                    Err(e) => return Err(e.into()),
                    Ok(_) => {}
                }
                tx.commit().await?;
                Ok(AgentChanged::Done)
            }

            async fn create_invitation(&self, i: NewInvitation<'_>) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO invitations \
                       (token_hash, site_id, role, created_at, expires_at, agent_id) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(i.token_hash.as_str())
                .bind(i.site_id.as_str())
                .bind(i.role.as_str())
                .bind(i.now)
                .bind(i.expires_at)
                .bind(i.agent_id.map(AgentId::as_str))
                .execute(&self.$writes)
                .await?;
                Ok(())
            }

            async fn accept_invitation(&self, token_hash: &TokenHash, a: NewAgent<'_>) -> StoreResult<Accepted> {
                let mut tx = self.$writes.begin().await?;
                // First, and a write: of two acceptances at once, the second waits for the
                // first's commit and then finds the invitation used.
                let used: Option<(String, String)> = sqlx::query_as(
                    "UPDATE invitations SET used_at = $2 \
                     WHERE token_hash = $1 AND agent_id IS NULL \
                       AND used_at IS NULL AND expires_at > $2 \
                     RETURNING site_id, role",
                )
                .bind(token_hash.as_str())
                .bind(a.now)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((site_id, role)) = used else {
                    return Ok(Accepted::Gone);
                };
                let site_id = SiteId::try_from(site_id)?;
                let role = Role::parse(&role)
                    .ok_or_else(|| StoreError::Corrupt(format!("invitation role {role:?}")))?;
                let inserted = sqlx::query(
                    "INSERT INTO agents \
                       (id, site_id, username, name, password_hash, created_at, role, email) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(a.id.as_str())
                .bind(site_id.as_str())
                .bind(a.username)
                .bind(a.name)
                .bind(a.password_hash)
                .bind(a.now)
                .bind(role.as_str())
                .bind(a.email)
                .execute(&mut *tx)
                .await;
                match inserted {
                    // Dropping the transaction rolls it back: the invitation stays usable.
                    Err(e) if is_unique_violation(&e) => return Ok(Accepted::UsernameTaken),
                    Err(e) => return Err(e.into()),
                    Ok(_) => {}
                }
                tx.commit().await?;
                Ok(Accepted::Joined(NewAgent { site_id: &site_id, role, ..a }.agent()))
            }

            async fn reset_password(
                &self,
                token_hash: &TokenHash,
                password_hash: &str,
                now: Millis,
            ) -> StoreResult<Option<Agent>> {
                let mut tx = self.$writes.begin().await?;
                let used: Option<(String,)> = sqlx::query_as(
                    "UPDATE invitations SET used_at = $2 \
                     WHERE token_hash = $1 AND agent_id IS NOT NULL \
                       AND used_at IS NULL AND expires_at > $2 \
                     RETURNING agent_id",
                )
                .bind(token_hash.as_str())
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((agent_id,)) = used else {
                    return Ok(None);
                };
                let done = sqlx::query(
                    "UPDATE agents SET password_hash = $1, token_version = token_version + 1 \
                     WHERE id = $2 AND deleted_at IS NULL",
                )
                .bind(password_hash)
                .bind(&agent_id)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Ok(None);
                }
                let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1");
                let agent = sqlx::query_as::<_, AgentRow>(&sql)
                    .bind(&agent_id)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Agent::try_from(agent).map(Some)
            }

            async fn update_site(&self, id: &SiteId, c: SiteChanges<'_>) -> StoreResult<bool> {
                // One statement: a field that is not given is written back as it is; an empty
                // text setting is stored as NULL (the widget's default).
                let done = sqlx::query(concat!(
                    "UPDATE sites SET \
                       name = COALESCE($2, name), \
                       allowed_origins = COALESCE(CAST($3 AS TEXT)",
                    $json,
                    ", allowed_origins), prechat_fields = COALESCE(CAST($4 AS TEXT)",
                    $json,
                    ", prechat_fields), allowed_query_params = COALESCE(CAST($5 AS TEXT)",
                    $json,
                    ", allowed_query_params), prechat_required = COALESCE(CAST($6 AS TEXT)",
                    $json,
                    ", prechat_required), \
                     accent_color = CASE WHEN $7 IS NULL THEN accent_color ELSE NULLIF($7, '') END, \
                     greeting = CASE WHEN $8 IS NULL THEN greeting ELSE NULLIF($8, '') END, \
                     away_message = CASE WHEN $9 IS NULL THEN away_message ELSE NULLIF($9, '') END, \
                     office_hours = CASE WHEN $10 THEN CAST($11 AS TEXT)",
                    $json,
                    " ELSE office_hours END, \
                     contact_email = CASE WHEN $12 IS NULL THEN contact_email ELSE NULLIF($12, '') END, \
                     mail_from = CASE WHEN $13 IS NULL THEN mail_from ELSE NULLIF($13, '') END \
                     WHERE id = $1"
                ))
                .bind(id.as_str())
                .bind(c.name)
                .bind(c.allowed_origins.map(json_list))
                .bind(c.prechat_fields.map(json_list))
                .bind(c.allowed_query_params.map(json_list))
                .bind(c.prechat_required.map(json_list))
                .bind(c.accent_color)
                .bind(c.greeting)
                .bind(c.away_message)
                .bind(c.office_hours.is_some())
                .bind(c.office_hours.flatten().map(OfficeHours::to_json))
                .bind(c.contact_email)
                .bind(c.mail_from)
                .execute(&self.$writes)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_site(&self, id: &SiteId) -> StoreResult<bool> {
                let mut tx = self.$writes.begin().await?;
                for sql in [
                    "DELETE FROM messages WHERE conversation_id IN \
                       (SELECT id FROM conversations WHERE site_id = $1)",
                    "DELETE FROM uploads WHERE site_id = $1",
                    "DELETE FROM conversations WHERE site_id = $1",
                    "DELETE FROM visitors WHERE site_id = $1",
                    "DELETE FROM invitations WHERE site_id = $1",
                    "DELETE FROM outbox WHERE site_id = $1",
                    "DELETE FROM agents WHERE site_id = $1",
                ] {
                    sqlx::query(sql).bind(id.as_str()).execute(&mut *tx).await?;
                }
                let done = sqlx::query("DELETE FROM sites WHERE id = $1")
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(done.rows_affected() == 1)
            }
        }

        #[async_trait]
        impl crate::domain::store::Outbox for $store {
            async fn enqueue_mail(
                &self,
                m: crate::domain::store::NewMail<'_>,
            ) -> StoreResult<bool> {
                let done = sqlx::query(
                    "INSERT INTO outbox (id, dedupe_key, site_id, recipient, mail, next_attempt_at, \
                       created_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
                     ON CONFLICT (dedupe_key) DO NOTHING",
                )
                .bind(m.id)
                .bind(m.dedupe_key)
                .bind(m.site_id.as_str())
                .bind(m.recipient)
                .bind(m.mail)
                .bind(m.now)
                .execute(&self.$writes)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn claim_mail(
                &self,
                now: Millis,
                lease_until: Millis,
                limit: i64,
            ) -> StoreResult<Vec<crate::domain::store::QueuedMail>> {
                let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(concat!(
                    "UPDATE outbox SET claimed_until = $2, attempts = attempts + 1 \
                     WHERE id IN (SELECT id FROM outbox \
                       WHERE status = 'pending' AND next_attempt_at <= $1 AND claimed_until <= $1 \
                       ORDER BY next_attempt_at LIMIT $3",
                    $claim_lock,
                    ") RETURNING id, mail, CAST(attempts AS BIGINT), created_at"
                ))
                .bind(now)
                .bind(lease_until)
                .bind(limit)
                .fetch_all(&self.$writes)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, mail, attempts, created_at)| crate::domain::store::QueuedMail {
                        id,
                        mail,
                        attempts,
                        created_at,
                    })
                    .collect())
            }

            async fn mail_sent(&self, id: &str, now: Millis) -> StoreResult<()> {
                sqlx::query("UPDATE outbox SET status = 'sent', sent_at = $2, last_error = NULL WHERE id = $1")
                    .bind(id)
                    .bind(now)
                    .execute(&self.$writes)
                    .await?;
                Ok(())
            }

            async fn mail_retry(&self, id: &str, next_attempt_at: Millis, error: &str) -> StoreResult<()> {
                sqlx::query(
                    "UPDATE outbox SET next_attempt_at = $2, claimed_until = 0, last_error = $3 \
                     WHERE id = $1 AND status = 'pending'",
                )
                .bind(id)
                .bind(next_attempt_at)
                .bind(error)
                .execute(&self.$writes)
                .await?;
                Ok(())
            }

            async fn mail_failed(&self, id: &str, error: &str) -> StoreResult<()> {
                sqlx::query("UPDATE outbox SET status = 'failed', last_error = $2 WHERE id = $1")
                    .bind(id)
                    .bind(error)
                    .execute(&self.$writes)
                    .await?;
                Ok(())
            }

            async fn due_mail(
                &self,
                to: crate::domain::model::Side,
                now: Millis,
                limit: i64,
            ) -> StoreResult<Vec<crate::domain::store::DueMail>> {
                let side = mail_side(to);
                let sql = format!(
                    "SELECT c.site_id, c.id, c.visitor_id, c.last_seq, c.{side}_read_seq AS read_seq, \
                       c.{side}_mailed_seq AS mailed_seq, v.email, \
                       CAST(CASE WHEN v.unsubscribed_at IS NULL THEN 0 ELSE 1 END AS BIGINT) AS unsubscribed \
                     FROM conversations c JOIN visitors v ON v.id = c.visitor_id \
                     WHERE c.{side}_mail_due_at <= $1 \
                     ORDER BY c.{side}_mail_due_at LIMIT $2"
                );
                let rows = sqlx::query(&sql)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(&self.$writes)
                    .await?;
                rows.iter()
                    .map(|row| {
                        Ok(crate::domain::store::DueMail {
                            site_id: SiteId::try_from(row.text("site_id")?)?,
                            conversation_id: ConversationId::try_from(row.text("id")?)?,
                            visitor_id: crate::domain::ids::VisitorId::try_from(row.text("visitor_id")?)?,
                            last_seq: row.int("last_seq")?,
                            read_seq: row.int("read_seq")?,
                            mailed_seq: row.int("mailed_seq")?,
                            visitor_email: row.maybe_text("email")?,
                            unsubscribed: row.int("unsubscribed")? != 0,
                        })
                    })
                    .collect()
            }

            async fn mail_covered(
                &self,
                to: crate::domain::model::Side,
                conversation_id: &ConversationId,
                covered_seq: i64,
                seen_last_seq: i64,
                again_at: Millis,
            ) -> StoreResult<()> {
                let side = mail_side(to);
                let sql = format!(
                    "UPDATE conversations SET \
                       {side}_mailed_seq = CASE WHEN {side}_mailed_seq > $2 THEN {side}_mailed_seq ELSE $2 END, \
                       {side}_mail_due_at = CASE WHEN last_seq > $3 THEN $4 ELSE NULL END \
                     WHERE id = $1"
                );
                sqlx::query(&sql)
                    .bind(conversation_id.as_str())
                    .bind(covered_seq)
                    .bind(seen_last_seq)
                    .bind(again_at)
                    .execute(&self.$writes)
                    .await?;
                Ok(())
            }

            async fn offline_recipients(
                &self,
                site_id: &SiteId,
            ) -> StoreResult<Vec<crate::domain::store::MailRecipient>> {
                let rows = sqlx::query(
                    "SELECT id, email FROM agents \
                     WHERE site_id = $1 AND email IS NOT NULL AND offline_emails \
                       AND NOT disabled AND deleted_at IS NULL \
                     ORDER BY created_at, id",
                )
                .bind(site_id.as_str())
                .fetch_all(&self.$reads)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(crate::domain::store::MailRecipient {
                            agent_id: AgentId::try_from(row.text("id")?)?,
                            email: row.text("email")?,
                        })
                    })
                    .collect()
            }

            async fn unsubscribe_visitor(
                &self,
                id: &crate::domain::ids::VisitorId,
                now: Millis,
            ) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE visitors SET unsubscribed_at = COALESCE(unsubscribed_at, $2) WHERE id = $1",
                )
                .bind(id.as_str())
                .bind(now)
                .execute(&self.$writes)
                .await?;
                Ok(done.rows_affected() == 1)
            }
        }

        #[async_trait]
        impl Lookups for $store {
            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.$reads).await?;
                Ok(())
            }

            async fn list_sites(&self) -> StoreResult<Vec<Site>> {
                let sql = format!("SELECT {SITE_COLUMNS} FROM sites ORDER BY created_at, id");
                sqlx::query_as::<_, SiteRow>(&sql)
                    .fetch_all(&self.$reads)
                    .await?
                    .into_iter()
                    .map(SiteRow::into_site)
                    .collect()
            }

            async fn site_by_key(&self, key: &SiteKey) -> StoreResult<Option<Site>> {
                site_where(&self.$reads, "site_key", key.as_str()).await
            }

            async fn site_by_id(&self, id: &SiteId) -> StoreResult<Option<Site>> {
                site_where(&self.$reads, "id", id.as_str()).await
            }

            async fn count_sites(&self) -> StoreResult<i64> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM sites")
                    .fetch_one(&self.$reads)
                    .await?)
            }

            async fn agent_by_username(&self, username: &str) -> StoreResult<Option<Agent>> {
                Ok(agents_where(&self.$reads, "username = $1", &[username]).await?.pop())
            }

            async fn agent_by_id(&self, id: &AgentId) -> StoreResult<Option<Agent>> {
                Ok(agents_where(&self.$reads, "id = $1", &[id.as_str()]).await?.pop())
            }

            async fn agents_by_ids(&self, ids: &[AgentId]) -> StoreResult<Vec<Agent>> {
                let mut agents = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(IN_LIST_MAX) {
                    let filter = format!("id IN ({})", placeholders(chunk.len()));
                    let values: Vec<&str> = chunk.iter().map(AgentId::as_str).collect();
                    agents.extend(agents_where(&self.$reads, &filter, &values).await?);
                }
                Ok(agents)
            }

            async fn list_agents(&self, site_id: &SiteId) -> StoreResult<Vec<Agent>> {
                let filter = "site_id = $1 AND deleted_at IS NULL";
                agents_where(&self.$reads, filter, &[site_id.as_str()]).await
            }

            async fn invitation(&self, token_hash: &TokenHash) -> StoreResult<Option<Invitation>> {
                let row: Option<(String, Option<String>, String, i64, Option<i64>)> = sqlx::query_as(
                    "SELECT site_id, agent_id, role, expires_at, used_at FROM invitations \
                     WHERE token_hash = $1",
                )
                .bind(token_hash.as_str())
                .fetch_optional(&self.$fresh)
                .await?;
                row.map(|(site_id, agent_id, role, expires_at, used_at)| {
                    Ok(Invitation {
                        site_id: SiteId::try_from(site_id)?,
                        agent_id: agent_id.map(AgentId::try_from).transpose()?,
                        role: Role::parse(&role)
                            .ok_or_else(|| StoreError::Corrupt(format!("invitation role {role:?}")))?,
                        expires_at,
                        used_at,
                    })
                })
                .transpose()
            }

            async fn visitor_by_token(
                &self,
                site_id: Option<&SiteId>,
                token_hash: &TokenHash,
                expired_before: Millis,
            ) -> StoreResult<Option<TokenHolder>> {
                token_holder(&self.$reads, "v.token_hash", token_hash.as_str(), site_id, expired_before).await
            }

            async fn visitor_of_link(
                &self,
                site_id: &SiteId,
                visitor_id: &crate::domain::ids::VisitorId,
                conversation_id: &ConversationId,
            ) -> StoreResult<Option<TokenHolder>> {
                let holder = token_holder(&self.$reads, "v.id", visitor_id.as_str(), Some(site_id), Millis::MIN).await?;
                Ok(holder.filter(|h| &h.conversation.id == conversation_id))
            }

            async fn conversation(
                &self,
                site_id: &SiteId,
                id: &ConversationId,
            ) -> StoreResult<Option<Conversation>> {
                let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE {ONE}");
                one_of_site(&self.$reads, &sql, site_id, id, |row| conversation_from(row)).await
            }

            async fn summary(
                &self,
                site_id: &SiteId,
                id: &ConversationId,
            ) -> StoreResult<Option<SummaryRow>> {
                let sql = summary_query(ONE);
                one_of_site(&self.$reads, &sql, site_id, id, |row| summary_from(row)).await
            }

            async fn list_summaries(
                &self,
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
                    .fetch_all(&self.$reads)
                    .await?
                    .iter()
                    .map(summary_from)
                    .collect()
            }

            async fn message_by_client_id(
                &self,
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
                    .fetch_optional(&self.$fresh)
                    .await?
                    .map(MessageRow::into_message)
                    .transpose()
            }

            async fn messages(
                &self,
                conversation_id: &ConversationId,
                around: SeqSide,
                limit: i64,
            ) -> StoreResult<Vec<Message>> {
                let (filter, seq) = match around {
                    SeqSide::Before(seq) => ("seq < $2 ORDER BY seq DESC", seq),
                    SeqSide::After(seq) => ("seq > $2 ORDER BY seq ASC", seq),
                };
                let sql = format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 \
                       AND {filter} LIMIT $3"
                );
                let mut rows = sqlx::query_as::<_, MessageRow>(&sql)
                    .bind(conversation_id.as_str())
                    .bind(seq)
                    .bind(limit + 1)
                    .fetch_all(&self.$reads)
                    .await?;
                if matches!(around, SeqSide::Before(_)) {
                    rows.reverse();
                }
                rows.into_iter().map(MessageRow::into_message).collect()
            }
        }

        #[async_trait]
        impl crate::domain::store::Uploads for $store {
            async fn insert_upload(&self, u: &crate::domain::model::Upload) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO uploads (id, site_id, conversation_id, sender, name, size, \
                       content_type, width, height, thumbnail, message_id, created_at, stored) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, $11, $12)",
                )
                .bind(u.id.as_str())
                .bind(u.site_id.as_str())
                .bind(u.conversation_id.as_str())
                .bind(u.sender.as_str())
                .bind(&u.name)
                .bind(i64::try_from(u.size).unwrap_or(i64::MAX))
                .bind(&u.content_type)
                .bind(u.width.map(i64::from))
                .bind(u.height.map(i64::from))
                .bind(u.thumbnail)
                .bind(u.created_at)
                .bind(u.stored)
                .execute(&self.$writes)
                .await?;
                Ok(())
            }

            async fn upload_stored(
                &self,
                id: &crate::domain::ids::UploadId,
                size: u64,
                thumbnail: bool,
            ) -> StoreResult<()> {
                sqlx::query("UPDATE uploads SET stored = TRUE, size = $2, thumbnail = $3 WHERE id = $1")
                    .bind(id.as_str())
                    .bind(i64::try_from(size).unwrap_or(i64::MAX))
                    .bind(thumbnail)
                    .execute(&self.$writes)
                    .await?;
                Ok(())
            }

            async fn upload(
                &self,
                id: &crate::domain::ids::UploadId,
            ) -> StoreResult<Option<crate::domain::model::Upload>> {
                let sql = format!("SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = $1 AND stored");
                sqlx::query_as::<_, UploadRow>(&sql)
                    .bind(id.as_str())
                    .fetch_optional(&self.$reads)
                    .await?
                    .map(UploadRow::into_upload)
                    .transpose()
            }

            async fn conversation_upload_bytes(&self, id: &ConversationId) -> StoreResult<i64> {
                Ok(sqlx::query_scalar(
                    "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM uploads \
                     WHERE conversation_id = $1",
                )
                .bind(id.as_str())
                .fetch_one(&self.$reads)
                .await?)
            }

            async fn unsent_uploads(
                &self,
                before: Millis,
                limit: i64,
            ) -> StoreResult<Vec<crate::domain::model::Upload>> {
                let sql = format!(
                    "SELECT {UPLOAD_COLUMNS} FROM uploads \
                     WHERE message_id IS NULL AND created_at < $1 ORDER BY created_at LIMIT $2"
                );
                sqlx::query_as::<_, UploadRow>(&sql)
                    .bind(before)
                    .bind(limit)
                    .fetch_all(&self.$reads)
                    .await?
                    .into_iter()
                    .map(UploadRow::into_upload)
                    .collect()
            }

            async fn delete_unsent_uploads(
                &self,
                ids: &[crate::domain::ids::UploadId],
            ) -> StoreResult<Vec<crate::domain::ids::UploadId>> {
                let mut deleted = Vec::with_capacity(ids.len());
                for id in ids {
                    let done = sqlx::query(
                        "DELETE FROM uploads WHERE id = $1 AND message_id IS NULL",
                    )
                    .bind(id.as_str())
                    .execute(&self.$writes)
                    .await?;
                    if done.rows_affected() == 1 {
                        deleted.push(id.clone());
                    }
                }
                Ok(deleted)
            }
        }
    };
}

pub(super) use shared_sql;
