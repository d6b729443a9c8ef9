//! SQLite in WAL mode: a pool of readers, the group-committing [`appender`] for every write of
//! chatting, the [`checkpointer`], and one sqlx writer connection for the rare rest (sites,
//! agents, settings, migrations). How they share the database, durability and the WAL's bound:
//! ARCHITECTURE.md, "SQLite's write path".

mod appender;
mod checkpointer;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

use crate::domain::ids::{ConversationId, VisitorId};
use crate::domain::model::{Conversation, Micros, Millis, Page, Side, Status, Visitor};
use crate::domain::store::{Appended, Chatting, NewMessage, NewVisitor, StoreError, StoreResult};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

pub struct SqliteStore {
    writer: SqlitePool,
    readers: SqlitePool,
    appender: appender::Appender,
    _checkpointer: checkpointer::Checkpointer,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let url = if url.starts_with("sqlite:") {
            url.to_owned()
        } else {
            format!("sqlite://{url}")
        };
        let (url, synchronous) = take_synchronous(&url)?;
        let options = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .foreign_keys(true)
            // Only the checkpointer checkpoints; SQLite's default would run one inside a commit.
            .pragma("wal_autocheckpoint", "0")
            // A connection's page cache is dropped whenever another one has committed, which the
            // appender does all the time; past one statement's pages, a bigger cache only keeps
            // memory.
            .pragma("cache_size", "-256")
            .pragma(
                "journal_size_limit",
                appender::WAL_FILE_LIMIT_BYTES.to_string(),
            )
            .busy_timeout(Duration::from_secs(5));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&writer).await?;
        let full = matches!(synchronous, SqliteSynchronous::Full);
        let appender = appender::Appender::start(options.get_filename(), full)?;
        let checkpointer =
            checkpointer::Checkpointer::start(options.get_filename(), full, appender.clone())?;
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        Ok(SqliteStore {
            appender,
            _checkpointer: checkpointer,
            writer,
            readers,
        })
    }
}

/// Removes our own `synchronous=normal|full` parameter from the URL (sqlx does not know it).
fn take_synchronous(url: &str) -> StoreResult<(String, SqliteSynchronous)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), SqliteSynchronous::Normal));
    };
    let mut synchronous = SqliteSynchronous::Normal;
    let mut rest = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("synchronous", "full")) => synchronous = SqliteSynchronous::Full,
            Some(("synchronous", "normal")) => synchronous = SqliteSynchronous::Normal,
            Some(("synchronous", other)) => {
                return Err(StoreError::UnsupportedUrl(format!(
                    "synchronous={other}: use normal or full"
                )))
            }
            _ => rest.push(pair),
        }
    }
    let url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok((url, synchronous))
}

/// Ids bind as their text in the appender's statements.
macro_rules! ids_to_sql {
    ($($id:ty),*) => {$(
        impl rusqlite::ToSql for $id {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(rusqlite::types::ToSqlOutput::from(self.as_str()))
            }
        }
    )*};
}

ids_to_sql!(
    crate::domain::ids::AgentId,
    crate::domain::ids::ConversationId,
    crate::domain::ids::MessageId,
    crate::domain::ids::SiteId,
    crate::domain::ids::TokenHash,
    crate::domain::ids::UploadId,
    crate::domain::ids::VisitorId
);

/// The queries SQLite runs as PostgreSQL does.
mod shared {
    crate::store::shared::shared_sql!(
        super::SqliteStore, sqlx::Sqlite, reads: readers, fresh: writer, writes: writer, json: "",
        claim_lock: ""
    );
}

#[async_trait]
impl Chatting for SqliteStore {
    async fn create_visitor(&self, v: NewVisitor<'_>) -> StoreResult<(Visitor, Conversation)> {
        let created = v.created();
        let (visitor_id, conversation_id) = (created.0.id.clone(), created.1.id.clone());
        let (site_id, token_hash) = (v.site_id.clone(), v.token_hash.clone());
        let (now, activity) = (v.now, v.activity);
        self.appender
            .write(move |conn| {
                appender::in_savepoint(conn, |conn| {
                    conn.prepare_cached(
                        "INSERT INTO visitors (id, site_id, token_hash, created_at, last_seen_at) \
                         VALUES (?1, ?2, ?3, ?4, ?4)",
                    )?
                    .execute(rusqlite::params![visitor_id, site_id, token_hash, now])?;
                    conn.prepare_cached(
                        "INSERT INTO conversations (id, site_id, visitor_id, created_at, updated_at) \
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?
                    .execute(rusqlite::params![
                        conversation_id,
                        site_id,
                        visitor_id,
                        now,
                        activity
                    ])?;
                    Ok(())
                })
            })
            .await?;
        Ok(created)
    }

    async fn touch_visitor(&self, id: &VisitorId, now: Millis) -> StoreResult<()> {
        // Through the appender, like every write of chatting: no second writer waits.
        let id = id.clone();
        self.appender
            .write(move |conn| {
                conn.prepare_cached(
                    "UPDATE visitors SET last_seen_at = ?1 WHERE id = ?2 AND last_seen_at < ?1",
                )?
                .execute(rusqlite::params![now, id])
            })
            .await?;
        Ok(())
    }

    async fn update_visitor(&self, v: &Visitor) -> StoreResult<()> {
        let v = v.clone();
        self.appender
            .write(move |conn| {
                conn.prepare_cached(
                    "UPDATE visitors SET name = ?1, email = ?2, phone = ?3 WHERE id = ?4",
                )?
                .execute(rusqlite::params![v.name, v.email, v.phone, v.id])
            })
            .await?;
        Ok(())
    }

    async fn set_page(&self, conversation_id: &ConversationId, page: &Page) -> StoreResult<()> {
        let (id, url, title) = (
            conversation_id.to_owned(),
            page.url.clone(),
            page.title.clone(),
        );
        self.appender
            .write(move |conn| {
                conn.prepare_cached(
                    "UPDATE conversations SET page_url = ?1, page_title = ?2 WHERE id = ?3",
                )?
                .execute(rusqlite::params![url, title, id])
            })
            .await?;
        Ok(())
    }

    async fn set_status(
        &self,
        id: &ConversationId,
        status: Status,
        activity: Micros,
    ) -> StoreResult<bool> {
        let id = id.to_owned();
        let changed = self
            .appender
            .write(move |conn| {
                conn.prepare_cached(
                    "UPDATE conversations SET status = ?1, updated_at = ?2 \
                     WHERE id = ?3 AND status <> ?1",
                )?
                .execute(rusqlite::params![status.as_str(), activity, id])
            })
            .await?;
        Ok(changed == 1)
    }

    async fn append_message(&self, m: NewMessage<'_>) -> StoreResult<Option<Appended>> {
        self.appender.append(m).await
    }

    async fn mark_read(
        &self,
        conversation_id: &ConversationId,
        side: Side,
        seq: i64,
    ) -> StoreResult<i64> {
        let sql = match side {
            Side::Visitor => {
                "UPDATE conversations SET visitor_read_seq = MAX(visitor_read_seq, ?1) \
                 WHERE id = ?2 RETURNING visitor_read_seq"
            }
            Side::Agent => {
                "UPDATE conversations SET agent_read_seq = MAX(agent_read_seq, ?1) \
                 WHERE id = ?2 RETURNING agent_read_seq"
            }
        };
        let id = conversation_id.to_owned();
        self.appender
            .write(move |conn| {
                conn.prepare_cached(sql)?
                    .query_row(rusqlite::params![seq, id], |row| row.get(0))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::appender::WAL_FILE_LIMIT_BYTES;
    use super::*;
    use crate::domain::auth::new_id;
    use crate::domain::ids::{AgentId, MalformedId, MessageId, SiteId, TokenHash, VisitorId};
    use crate::domain::model::{activity_now, now_millis};
    use crate::domain::model::{Agent, Role, Sender};
    use crate::domain::store::{
        AgentChange, AgentChanged, Directory, Lookups, NewAgent, NewSite, SeqSide,
    };

    /// A new random id of whichever kind is wanted.
    fn fresh<T: TryFrom<String, Error = MalformedId>>() -> T {
        T::try_from(new_id()).unwrap()
    }

    /// A fixed id, e.g. of a row inserted by SQL.
    fn named<T: TryFrom<String, Error = MalformedId>>(id: &str) -> T {
        T::try_from(id.to_owned()).unwrap()
    }

    /// A store on a fresh file with one site: the store, the file, the site's id.
    async fn store_with_site() -> (Arc<SqliteStore>, PathBuf, SiteId) {
        let dir = std::env::temp_dir().join(format!("parlor-test-{}", new_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("parlor.db");
        let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
        let site = store
            .create_site(NewSite {
                id: &fresh(),
                site_key: &fresh(),
                name: "Site",
                allowed_origins: &[],
                prechat_fields: &[],
                allowed_query_params: &[],
                now: now_millis(),
            })
            .await
            .unwrap();
        (Arc::new(store), path, site.id)
    }

    /// A new visitor of the site; returns its conversation's id.
    async fn new_visitor(store: &SqliteStore, site_id: &SiteId) -> ConversationId {
        let (_, conversation) = store
            .create_visitor(NewVisitor {
                visitor_id: &fresh(),
                conversation_id: &fresh(),
                site_id,
                token_hash: &fresh(),
                now: now_millis(),
                activity: activity_now(),
            })
            .await
            .unwrap();
        conversation.id
    }

    /// A store on a fresh file with one site and `n` conversations.
    async fn store_with_conversations(
        n: usize,
    ) -> (Arc<SqliteStore>, PathBuf, SiteId, Vec<ConversationId>) {
        let (store, path, site_id) = store_with_site().await;
        let mut conversations = Vec::new();
        for _ in 0..n {
            conversations.push(new_visitor(&store, &site_id).await);
        }
        (store, path, site_id, conversations)
    }

    /// A visitor message with the given idempotency key.
    fn visitor_message<'a>(
        site_id: &'a SiteId,
        conversation_id: &'a ConversationId,
        client_id: &'a str,
    ) -> NewMessage<'a> {
        NewMessage {
            id: Box::leak(Box::new(fresh())),
            site_id,
            conversation_id,
            sender: Sender::Visitor,
            agent_id: None,
            agent_name: None,
            text: "hello",
            client_id: Some(client_id),
            reopen: true,
            now: now_millis(),
            activity: activity_now(),
            mail_due_at: None,
            attachments: &[],
        }
    }

    #[tokio::test]
    async fn another_sites_conversation_is_not_found_and_the_batch_goes_on() {
        let (store, path, site_id, conversations) = store_with_conversations(1).await;
        let (other_site, other_site_dir) = {
            let (other, other_path, other_site) = store_with_site().await;
            drop(other);
            (other_site, other_path)
        };
        let conversation = &conversations[0];
        let unknown_conversation = named("no_such_conversation");
        let ids: Vec<MessageId> = (0..3).map(|_| fresh()).collect();
        let (mine, foreign, unknown) = tokio::join!(
            store.append_message(NewMessage {
                id: &ids[0],
                ..visitor_message(&site_id, conversation, "a")
            }),
            store.append_message(NewMessage {
                id: &ids[1],
                ..visitor_message(&other_site, conversation, "b")
            }),
            store.append_message(NewMessage {
                id: &ids[2],
                ..visitor_message(&site_id, &unknown_conversation, "c")
            }),
        );
        assert_eq!(mine.unwrap().map(|a| a.message.seq), Some(1));
        assert!(foreign.unwrap().is_none());
        assert!(unknown.unwrap().is_none());
        let stored: Vec<String> = sqlx::query_scalar("SELECT id FROM messages")
            .fetch_all(&store.readers)
            .await
            .unwrap();
        assert_eq!(stored, [ids[0].as_str()]);
        for dir in [path, other_site_dir] {
            let _ = std::fs::remove_dir_all(dir.parent().unwrap());
        }
    }

    /// An agent of the site, created through the store.
    async fn new_agent(store: &SqliteStore, site_id: &SiteId) -> Agent {
        let (id, username): (AgentId, String) = (fresh(), new_id());
        store
            .create_agent(NewAgent {
                id: &id,
                site_id,
                username: &username,
                name: "Ann",
                password_hash: "x",
                role: Role::Agent,
                email: None,
                now: now_millis(),
            })
            .await
            .unwrap()
    }

    fn agent_message<'a>(
        site_id: &'a SiteId,
        conversation_id: &'a ConversationId,
        agent: &'a Agent,
        client_id: &'a str,
    ) -> NewMessage<'a> {
        NewMessage {
            sender: Sender::Agent,
            agent_id: Some(&agent.id),
            agent_name: Some(&agent.name),
            reopen: false,
            ..visitor_message(site_id, conversation_id, client_id)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_disabled_agents_append_is_refused_and_the_batch_goes_on() {
        let (store, path, site_id, conversations) = store_with_conversations(1).await;
        let conversation = &conversations[0];
        let (active, disabled) = (
            new_agent(&store, &site_id).await,
            new_agent(&store, &site_id).await,
        );
        let earlier: MessageId = fresh();
        store
            .append_message(NewMessage {
                id: &earlier,
                ..agent_message(&site_id, conversation, &disabled, "before")
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            store
                .change_agent(&disabled.username, AgentChange::Disabled(true))
                .await
                .unwrap(),
            AgentChanged::Done
        );
        let ids: Vec<MessageId> = (0..4).map(|_| fresh()).collect();
        let (refused, retry, other_agent, visitor) = tokio::join!(
            store.append_message(NewMessage {
                id: &ids[0],
                ..agent_message(&site_id, conversation, &disabled, "after")
            }),
            store.append_message(NewMessage {
                id: &ids[1],
                ..agent_message(&site_id, conversation, &disabled, "before")
            }),
            store.append_message(NewMessage {
                id: &ids[2],
                ..agent_message(&site_id, conversation, &active, "other")
            }),
            store.append_message(NewMessage {
                id: &ids[3],
                ..visitor_message(&site_id, conversation, "v")
            }),
        );
        assert!(matches!(refused, Err(StoreError::AgentInactive)));
        // A retry of a message stored before the disable writes nothing: it gets the original.
        assert_eq!(retry.unwrap().unwrap().message.id, earlier);
        assert!(other_agent.unwrap().unwrap().created);
        assert!(visitor.unwrap().unwrap().created);
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages")
            .fetch_one(&store.readers)
            .await
            .unwrap();
        assert_eq!(stored, 3);
        // Deleted: refused the same way, and the username is free again.
        let tombstone = format!("deleted:{}", active.id);
        let delete = AgentChange::Delete {
            tombstone: &tombstone,
            now: 1,
        };
        assert_eq!(
            store.change_agent(&active.username, delete).await.unwrap(),
            AgentChanged::Done
        );
        let refused = store
            .append_message(NewMessage {
                id: &fresh(),
                ..agent_message(&site_id, conversation, &active, "late")
            })
            .await;
        assert!(matches!(refused, Err(StoreError::AgentInactive)));
        assert!(store
            .agent_by_username(&active.username)
            .await
            .unwrap()
            .is_none());
        let listed = store.list_agents(&site_id).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert!(listed[0].disabled);
        let found = store
            .agents_by_ids(&[active.id.clone(), disabled.id.clone(), named("nobody")])
            .await
            .unwrap();
        assert_eq!(found.len(), 2);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[tokio::test]
    async fn a_token_unused_for_too_long_is_not_found_until_touched() {
        let (store, path, site_id) = store_with_site().await;
        let token_hash: TokenHash = fresh();
        let (visitor, _) = store
            .create_visitor(NewVisitor {
                visitor_id: &fresh(),
                conversation_id: &fresh(),
                site_id: &site_id,
                token_hash: &token_hash,
                now: 1_000,
                activity: activity_now(),
            })
            .await
            .unwrap();
        let last_seen = |expired_before: Millis| {
            let store = store.clone();
            let (site_id, token_hash) = (site_id.clone(), token_hash.clone());
            async move {
                store
                    .visitor_by_token(Some(&site_id), &token_hash, expired_before)
                    .await
                    .unwrap()
                    .map(|holder| holder.last_seen_at)
            }
        };
        assert_eq!(last_seen(900).await, Some(1_000));
        assert_eq!(
            last_seen(1_100).await,
            None,
            "unused since before the window"
        );
        store.touch_visitor(&visitor.id, 1_400).await.unwrap();
        assert_eq!(last_seen(1_100).await, Some(1_400));
        store.touch_visitor(&visitor.id, 1_200).await.unwrap();
        assert_eq!(
            last_seen(0).await,
            Some(1_400),
            "a touch never moves it back"
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_write_is_undone_whole_and_the_batch_goes_on() {
        let (store, path, site_id, conversations) = store_with_conversations(1).await;
        let (visitor_id, token_hash, message_id): (VisitorId, TokenHash, MessageId) =
            (fresh(), fresh(), fresh());
        let (clash, appended) = tokio::join!(
            // The visitor row goes in, then its conversation clashes with an existing one.
            store.create_visitor(NewVisitor {
                visitor_id: &visitor_id,
                conversation_id: &conversations[0],
                site_id: &site_id,
                token_hash: &token_hash,
                now: now_millis(),
                activity: activity_now(),
            }),
            store.append_message(NewMessage {
                id: &message_id,
                ..visitor_message(&site_id, &conversations[0], "c")
            }),
        );
        assert!(clash.is_err());
        assert_eq!(appended.unwrap().map(|a| a.message.seq), Some(1));
        let visitors: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM visitors WHERE id = ?")
            .bind(visitor_id.as_str())
            .fetch_one(&store.readers)
            .await
            .unwrap();
        assert_eq!(visitors, 0, "half of the failed write stayed");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "slow: run by scripts/test.sh"]
    async fn the_wal_stays_bounded_under_steady_load() {
        const MESSAGES: usize = 60_000;
        let (store, path, site_id, conversations) = store_with_conversations(200).await;
        let conversations = Arc::new(conversations);
        let sent = Arc::new(AtomicUsize::new(0));
        let writers: Vec<_> = (0..64)
            .map(|_| {
                let (store, site_id, conversations, sent) = (
                    store.clone(),
                    site_id.clone(),
                    conversations.clone(),
                    sent.clone(),
                );
                tokio::spawn(async move {
                    loop {
                        let i = sent.fetch_add(1, Ordering::Relaxed);
                        if i >= MESSAGES {
                            return;
                        }
                        store
                            .append_message(NewMessage {
                                id: &fresh(),
                                site_id: &site_id,
                                conversation_id: &conversations[i % conversations.len()],
                                sender: Sender::Visitor,
                                agent_id: None,
                                agent_name: None,
                                text: "a message of a steady stream",
                                client_id: Some(&i.to_string()),
                                reopen: true,
                                now: now_millis(),
                                activity: activity_now(),
                                mail_due_at: None,
                                attachments: &[],
                            })
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        let done = Arc::new(AtomicBool::new(false));
        let wal = path.with_extension("db-wal");
        let watcher = {
            let done = done.clone();
            tokio::spawn(async move {
                let mut largest = 0;
                while !done.load(Ordering::Relaxed) {
                    largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                largest
            })
        };
        for writer in writers {
            writer.await.unwrap();
        }
        done.store(true, Ordering::Relaxed);
        let largest = watcher.await.unwrap();
        // Growing without end, the WAL would hold every page written, several per message.
        // Past the limit, at most one more batch.
        let bound = WAL_FILE_LIMIT_BYTES + 16 * 1024 * 1024;
        assert!(largest < bound, "the WAL grew to {largest} bytes");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "slow: run by scripts/test.sh"]
    async fn the_wal_starts_over_when_only_visitors_arrive() {
        const VISITORS: usize = 20_000;
        let (store, path, site_id) = store_with_site().await;
        let wal = path.with_extension("db-wal");
        let mut largest = 0;
        for i in 0..VISITORS {
            new_visitor(&store, &site_id).await;
            if i % 100 == 0 {
                largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
            }
        }
        // No message is appended: the appender still starts the WAL over on the background's
        // requests, and once past the limit on its own (without either it grew without end).
        // Past the limit, one more write.
        let bound = WAL_FILE_LIMIT_BYTES + 16 * 1024 * 1024;
        assert!(largest < bound, "the WAL grew to {largest} bytes");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[tokio::test]
    async fn only_the_checkpointer_checkpoints() {
        let (store, path, _, _) = store_with_conversations(0).await;
        for pool in [&store.writer, &store.readers] {
            let pages: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!(pages, 0);
        }
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    /// A fresh database with only `migrations` applied and `rows` inserted, as an older
    /// release left it; returns its folder and URL.
    async fn database_migrated_to(migrations: &[&str], rows: &str) -> (PathBuf, String) {
        let dir = std::env::temp_dir().join(format!("parlor-test-{}", new_id()));
        std::fs::create_dir_all(dir.join("migrations")).unwrap();
        for file in migrations {
            std::fs::copy(
                format!("migrations/sqlite/{file}"),
                dir.join("migrations").join(file),
            )
            .unwrap();
        }
        let url = format!("sqlite://{}", dir.join("parlor.db").display());
        let options = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true);
        let pool = SqlitePool::connect_with(options).await.unwrap();
        let earlier = sqlx::migrate::Migrator::new(dir.join("migrations"))
            .await
            .unwrap();
        earlier.run(&pool).await.unwrap();
        sqlx::raw_sql(rows).execute(&pool).await.unwrap();
        pool.close().await;
        (dir, url)
    }

    #[tokio::test]
    async fn messages_stored_before_the_clustering_migration_are_kept() {
        let (dir, url) = database_migrated_to(
            &["0001_init.sql"],
            "INSERT INTO sites (id, site_key, name, created_at) VALUES ('s', 'k', 'Site', 0);
                 INSERT INTO visitors (id, site_id, token_hash, created_at) VALUES ('v', 's', 'h', 0);
                 INSERT INTO conversations (id, site_id, visitor_id, last_seq, created_at, updated_at)
                   VALUES ('c', 's', 'v', 2, 0, 0);
                 INSERT INTO messages (id, conversation_id, seq, sender, text, client_id, created_at)
                   VALUES ('m2', 'c', 2, 'visitor', 'second', 'b', 2),
                          ('m1', 'c', 1, 'visitor', 'first', 'a', 1);",
        )
        .await;
        let store = SqliteStore::open(&url).await.unwrap();

        let texts: Vec<String> = store
            .messages(&named("c"), SeqSide::After(0), 10)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.text)
            .collect();
        assert_eq!(texts, ["first", "second"]);
        // Clustered by conversation: a WITHOUT ROWID table has no rowid to select.
        assert!(sqlx::query("SELECT rowid FROM messages")
            .fetch_all(&store.readers)
            .await
            .is_err());
        let retry = store
            .append_message(NewMessage {
                id: &fresh(),
                site_id: &named("s"),
                conversation_id: &named("c"),
                sender: Sender::Visitor,
                agent_id: None,
                agent_name: None,
                text: "first again",
                client_id: Some("a"),
                reopen: true,
                now: now_millis(),
                activity: activity_now(),
                mail_due_at: None,
                attachments: &[],
            })
            .await
            .unwrap()
            .expect("the conversation is the site's");
        assert!(!retry.created);
        assert_eq!((retry.message.id.as_str(), retry.message.seq), ("m1", 1));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn rows_from_before_the_revocation_migration_get_its_defaults() {
        let (dir, url) = database_migrated_to(
            &["0001_init.sql", "0002_messages_clustered.sql"],
            "INSERT INTO sites (id, site_key, name, created_at) VALUES ('s', 'k', 'Site', 0);
                 INSERT INTO agents (id, site_id, username, name, password_hash, created_at)
                   VALUES ('a', 's', 'ann', 'Ann', 'x', 0);
                 INSERT INTO visitors (id, site_id, token_hash, created_at)
                   VALUES ('v', 's', 'h', 1234);
                 INSERT INTO conversations (id, site_id, visitor_id, created_at, updated_at)
                   VALUES ('c', 's', 'v', 0, 0);",
        )
        .await;
        let store = SqliteStore::open(&url).await.unwrap();

        let agent = store.agent_by_username("ann").await.unwrap().unwrap();
        assert!(agent.is_active());
        assert_eq!(
            store.list_sites().await.unwrap()[0].allowed_query_params,
            Vec::<String>::new()
        );
        let last_seen: i64 = sqlx::query_scalar("SELECT last_seen_at FROM visitors WHERE id = 'v'")
            .fetch_one(&store.readers)
            .await
            .unwrap();
        assert_eq!(
            last_seen, 1234,
            "an existing visitor counts from its creation"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn synchronous_is_taken_from_the_url() {
        let (url, sync) = take_synchronous("sqlite:///tmp/p.db?synchronous=full&mode=rwc").unwrap();
        assert_eq!(url, "sqlite:///tmp/p.db?mode=rwc");
        assert!(matches!(sync, SqliteSynchronous::Full));
        let (url, sync) = take_synchronous("sqlite:///tmp/p.db").unwrap();
        assert_eq!(url, "sqlite:///tmp/p.db");
        assert!(matches!(sync, SqliteSynchronous::Normal));
        assert!(take_synchronous("sqlite:///tmp/p.db?synchronous=off").is_err());
    }
}
