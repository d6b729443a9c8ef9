//! Group commit for the hot writes: one thread commits every write of chatting that is waiting
//! as one transaction and answers each caller after the commit (ARCHITECTURE.md, "SQLite's
//! write path", tells the whole story).
//!
//! The thread talks to SQLite directly through rusqlite with cached prepared statements: the
//! profile showed sqlx's hand-off of every statement to its worker thread (a channel round trip
//! and a wake-up each) dominating the cost of a message. It shares sqlx's SQLite library.
//!
//! Its part in checkpoints: the last few pages, when the background asks, so that SQLite can
//! start the WAL over (when idle, with a RESTART checkpoint that gives up after
//! [`REWIND_PATIENCE`] rather than keep messages waiting for a long read); and everything, once
//! the WAL is past [`WAL_FILE_LIMIT_BYTES`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::{mpsc, oneshot};

use crate::domain::ids::{AgentId, ConversationId, MessageId, SiteId};
use crate::domain::model::{Attachment, Message, Micros, Millis, Sender, Status};
use crate::domain::store::{mail_due, Appended, NewMessage, StoreError, StoreResult};
use crate::store::rows::{attachments_column, attachments_from};

/// Size the WAL file is cut back to when SQLite starts it over, and past which the writer
/// checkpoints it itself. Steady load stays well below it (the background starts the WAL over
/// once past 64 MiB), so the file is reused.
pub const WAL_FILE_LIMIT_BYTES: u64 = 256 * 1024 * 1024;

/// How long the RESTART checkpoint waits for a commit or a read to end before trying again at
/// the background's next request.
const REWIND_PATIENCE: Duration = Duration::from_millis(50);

/// How long a commit waits for another connection's write or checkpoint.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Most writes committed together; bounds the time a transaction holds the write lock.
const MAX_BATCH: usize = 512;

/// The WAL's size is looked at (a `stat`) once this many writes were committed since the last
/// look, not after every batch: at moderate rates a batch is one write, and the `stat` was 3 %
/// of the writer's time. The WAL passes its limit by at most this many writes and a batch.
const WAL_CHECK_EVERY: usize = 64;

/// One write waiting for the batch it goes into.
trait Write: Send {
    /// Runs inside the batch's transaction. An error here fails the whole batch.
    fn run(&mut self, conn: &Connection) -> rusqlite::Result<()>;
    /// Answers the caller once the batch has committed, or with the reason it did not.
    fn answer(self: Box<Self>, committed: Result<(), &str>);
}

/// An append waiting for the writer, with everything owned.
struct Job {
    id: MessageId,
    site_id: SiteId,
    conversation_id: ConversationId,
    sender: Sender,
    agent_id: Option<AgentId>,
    agent_name: Option<String>,
    text: String,
    client_id: Option<String>,
    reopen: bool,
    now: Millis,
    activity: Micros,
    mail_due_at: Option<Millis>,
    attachments: Vec<Attachment>,
    appended: Option<Outcome>,
    reply: oneshot::Sender<StoreResult<Option<Appended>>>,
}

/// What an append did inside the batch. Only an SQL error fails the batch; a conversation of
/// another site and a disabled or deleted agent are answers to this append alone.
enum Outcome {
    Appended(Appended),
    NotFound,
    AgentInactive,
    AttachmentUnavailable,
}

/// An append is two statements (the conversation's `last_seq`, then the message), so its error
/// fails the batch: the seq it took must not be committed without its message.
impl Write for Job {
    fn run(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        self.appended = Some(append(conn, self)?);
        Ok(())
    }

    fn answer(self: Box<Self>, committed: Result<(), &str>) {
        let result = match (committed, self.appended) {
            (Ok(()), Some(Outcome::Appended(appended))) => Ok(Some(appended)),
            (Ok(()), Some(Outcome::NotFound)) => Ok(None),
            (Ok(()), Some(Outcome::AgentInactive)) => Err(StoreError::AgentInactive),
            (Ok(()), Some(Outcome::AttachmentUnavailable)) => {
                Err(StoreError::AttachmentUnavailable)
            }
            (Ok(()), None) => Err(stopped()),
            (Err(e), _) => Err(batch_failed(e)),
        };
        let _ = self.reply.send(result);
    }
}

/// Any other write: a closure with its own result. A failed statement is undone by SQLite on
/// its own, so its error is this write's answer and the batch goes on; a write of several
/// statements runs them in a savepoint (see [`in_savepoint`]).
struct Statement<T, F> {
    work: Option<F>,
    done: Option<rusqlite::Result<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Write for Statement<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> rusqlite::Result<T> + Send,
{
    fn run(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        if let Some(work) = self.work.take() {
            self.done = Some(work(conn));
        }
        Ok(())
    }

    fn answer(self: Box<Self>, committed: Result<(), &str>) {
        let result = match (committed, self.done) {
            (Ok(()), Some(Ok(value))) => Ok(value),
            (Ok(()), Some(Err(e))) => Err(write_failed(e)),
            (Ok(()), None) => Err(stopped()),
            (Err(e), _) => Err(batch_failed(e)),
        };
        let _ = self.reply.send(result);
    }
}

/// Runs several statements as one write: all of them or, on an error, none.
pub fn in_savepoint<T>(
    conn: &Connection,
    work: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached("SAVEPOINT write")?.execute([])?;
    match work(conn) {
        Ok(value) => {
            conn.prepare_cached("RELEASE write")?.execute([])?;
            Ok(value)
        }
        Err(e) => {
            conn.prepare_cached("ROLLBACK TO write")?.execute([])?;
            conn.prepare_cached("RELEASE write")?.execute([])?;
            Err(e)
        }
    }
}

/// What the writer is asked to do. A rewind request also travels as a flag, which an appender
/// busy with a full queue sees after its batch.
enum Work {
    Write(Box<dyn Write>),
    RewindWal,
}

#[derive(Clone)]
pub struct Appender {
    jobs: mpsc::Sender<Work>,
    rewind_due: Arc<AtomicBool>,
}

impl Appender {
    /// Opens the writer's own connection to the (already migrated) database and starts it.
    pub fn start(path: &Path, synchronous_full: bool) -> StoreResult<Self> {
        let conn = Connection::open(path).map_err(corrupt)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(corrupt)?;
        let synchronous = if synchronous_full { "FULL" } else { "NORMAL" };
        // A small page cache, as on sqlx's connections: SQLite's default filled up with the
        // pages of new visitors and stayed after they left, and made no difference to
        // messages, whose pages are spread wider than any cache anyway (docs/benchmarks.md).
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON; \
             PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {WAL_FILE_LIMIT_BYTES}; \
             PRAGMA cache_size = -256;"
        ))
        .map_err(corrupt)?;
        let (jobs, rx) = mpsc::channel(MAX_BATCH * 8);
        let rewind_due = Arc::new(AtomicBool::new(false));
        let writer_rewind_due = Arc::clone(&rewind_due);
        let wal = wal_path(path);
        std::thread::Builder::new()
            .name("parlor-appender".into())
            .spawn(move || {
                raise_priority();
                run(conn, rx, &wal, &writer_rewind_due)
            })
            .map_err(|e| StoreError::Corrupt(format!("cannot start the message writer: {e}")))?;
        Ok(Appender { jobs, rewind_due })
    }

    /// Asks the writer to checkpoint after its current batch, or now when it is idle. The
    /// checkpoint copies every frame, and SQLite starts the WAL over at the next commit.
    pub fn rewind_wal(&self) {
        self.rewind_due.store(true, Ordering::Relaxed);
        let _ = self.jobs.try_send(Work::RewindWal);
    }

    pub async fn append(&self, m: NewMessage<'_>) -> StoreResult<Option<Appended>> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            id: m.id.clone(),
            site_id: m.site_id.clone(),
            conversation_id: m.conversation_id.clone(),
            sender: m.sender,
            agent_id: m.agent_id.cloned(),
            agent_name: m.agent_name.map(str::to_owned),
            text: m.text.to_owned(),
            client_id: m.client_id.map(str::to_owned),
            reopen: m.reopen,
            now: m.now,
            activity: m.activity,
            mail_due_at: m.mail_due_at,
            attachments: m.attachments.to_vec(),
            appended: None,
            reply,
        };
        self.queue(Box::new(job)).await?;
        answer.await.map_err(|_| stopped())?
    }

    /// Runs `work` in the next batch and answers after its commit.
    pub async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.queue(Box::new(Statement {
            work: Some(work),
            done: None,
            reply,
        }))
        .await?;
        answer.await.map_err(|_| stopped())?
    }

    async fn queue(&self, write: Box<dyn Write>) -> StoreResult<()> {
        self.jobs
            .send(Work::Write(write))
            .await
            .map_err(|_| stopped())
    }
}

fn corrupt(e: rusqlite::Error) -> StoreError {
    StoreError::Corrupt(format!("message writer: {e}"))
}

fn stopped() -> StoreError {
    StoreError::Corrupt("the message writer has stopped".into())
}

fn batch_failed(e: &str) -> StoreError {
    StoreError::Corrupt(format!("batch failed: {e}"))
}

fn write_failed(e: rusqlite::Error) -> StoreError {
    StoreError::Corrupt(format!("write failed: {e}"))
}

/// How far the writer thread raises its priority over the rest of the process.
const PRIORITY_BOOST: libc::c_int = 3;

/// Puts the writer ahead of the tokio workers when both wait for a core: it is the one serial
/// stage, and every message waits while it waits (docs/benchmarks.md, "Seventh round"). Needs
/// `CAP_SYS_NICE` or a `RLIMIT_NICE` that allows it (docs/deploy.md); refused, the writer runs
/// at the process's priority, as before.
fn raise_priority() {
    // SAFETY: `getpriority`/`setpriority` on this thread's own id; no memory is touched.
    let refused = unsafe {
        let tid = libc::gettid() as libc::id_t;
        let now = libc::getpriority(libc::PRIO_PROCESS, tid);
        libc::setpriority(libc::PRIO_PROCESS, tid, now - PRIORITY_BOOST) != 0
    };
    if refused {
        tracing::debug!("the message writer runs at the process's priority (no CAP_SYS_NICE)");
    }
}

/// SQLite's name for a database's WAL file.
fn wal_path(database: &Path) -> PathBuf {
    let mut wal = database.as_os_str().to_owned();
    wal.push("-wal");
    wal.into()
}

fn run(conn: Connection, mut rx: mpsc::Receiver<Work>, wal: &Path, rewind_due: &AtomicBool) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // Writes committed since the WAL's size was last looked at.
    let mut unchecked = 0;
    while let Some(first) = rx.blocking_recv() {
        if let Work::Write(write) = first {
            batch.push(write);
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Work::Write(write)) => batch.push(write),
                Ok(Work::RewindWal) => {}
                Err(_) => break,
            }
        }
        let idle = batch.is_empty();
        if !idle {
            unchecked += batch.len();
            commit_batch(&conn, &mut batch);
        }
        if rewind_due.swap(false, Ordering::Relaxed) {
            if idle {
                // Only sqlx's rare writes (sites, agents, settings) race with it: hold them back.
                let _ = conn.busy_timeout(REWIND_PATIENCE);
                checkpoint(&conn, "RESTART");
                let _ = conn.busy_timeout(BUSY_TIMEOUT);
            } else {
                // Under load, RESTART would wait for readers while the next batch waits. Between
                // two batches a PASSIVE one copies everything but a rare sqlx write.
                checkpoint(&conn, "PASSIVE");
            }
        } else if unchecked >= WAL_CHECK_EVERY {
            unchecked = 0;
            if std::fs::metadata(wal).is_ok_and(|m| m.len() > WAL_FILE_LIMIT_BYTES) {
                rewind_now(&conn);
            }
        }
    }
}

/// Copies every frame and has the next commit start the WAL over, however long a background
/// pass takes: SQLite answers busy at once while another connection checkpoints (it waits for
/// writers and readers, not for another checkpoint), and the WAL grew far past the limit during
/// one slow pass. Writes wait meanwhile; the WAL stays bounded.
fn rewind_now(conn: &Connection) {
    let started = Instant::now();
    while !checkpoint(conn, "RESTART") && started.elapsed() < BUSY_TIMEOUT {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Commits the batch and answers every caller in it. A commit's time, `BEGIN` to `COMMIT`, is
/// `parlor_store_commit_seconds`.
fn commit_batch(conn: &Connection, batch: &mut Vec<Box<dyn Write>>) {
    let started = Instant::now();
    let committed = commit(conn, batch);
    if committed.is_ok() {
        metrics::histogram!("parlor_store_commit_seconds").record(started.elapsed().as_secs_f64());
    }
    let committed = committed.map_err(|e| {
        tracing::error!(error = %e, writes = batch.len(), "write batch failed");
        e.to_string()
    });
    for write in batch.drain(..) {
        write.answer(committed.as_ref().map(|_| ()).map_err(String::as_str));
    }
}

/// Whether the checkpoint copied every frame of the WAL.
fn checkpoint(conn: &Connection, mode: &str) -> bool {
    let checkpoint = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    });
    match checkpoint {
        Ok((busy, frames, copied)) => {
            tracing::debug!(mode, busy, frames, copied, "WAL checkpointed");
            busy == 0 && frames == copied
        }
        Err(e) => {
            tracing::warn!(mode, error = %e, "WAL checkpoint by the message writer failed");
            false
        }
    }
}

/// Runs every write in one transaction. Within it the writer holds SQLite's write lock, so an
/// idempotency check sees every earlier append, including those of the same batch, and the
/// `last_seq` it reads cannot change before the update. `BEGIN` and `COMMIT` are cached
/// statements: rusqlite's transaction parses both again for every batch.
fn commit(conn: &Connection, batch: &mut [Box<dyn Write>]) -> rusqlite::Result<()> {
    conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    let committed = batch
        .iter_mut()
        .try_for_each(|write| {
            write.run(conn)?;
            // Some errors (a full disk, an I/O error) make SQLite roll the whole transaction
            // back: what follows would commit on its own, so the batch stops here.
            if conn.is_autocommit() {
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
                    Some("the transaction was rolled back".into()),
                ));
            }
            Ok(())
        })
        .and_then(|()| conn.prepare_cached("COMMIT")?.execute([]).map(|_| ()));
    if committed.is_err() && !conn.is_autocommit() {
        let _ = conn
            .prepare_cached("ROLLBACK")
            .and_then(|mut rollback| rollback.execute([]));
    }
    committed
}

/// A retry's original message: id, seq, agent name, text, time, attachments.
type Original = (String, i64, Option<String>, String, Millis, Option<String>);

/// What one read tells about an append: the conversation's status and last seq and, for a
/// retry, the original message.
struct State {
    status: String,
    last_seq: i64,
    original: Option<Original>,
    /// Whether the sending agent may send; `None` for a visitor or an unknown agent.
    agent_active: Option<bool>,
}

/// `NotFound` when the site has no such conversation, `AgentInactive` when the sending agent is
/// disabled or deleted; either way nothing is written and the rest of the batch goes on.
fn append(conn: &Connection, job: &Job) -> rusqlite::Result<Outcome> {
    // The agent's state comes with the same read (NULL for a visitor's message), so an agent's
    // reply costs no extra statement. Read inside the batch's transaction, it is the state as
    // committed by `parlor agent disable` in another process.
    let state = conn
        .prepare_cached(
            "SELECT c.status, c.last_seq, m.id, m.seq, m.agent_name, m.text, m.created_at, \
               (SELECT a.disabled = 0 AND a.deleted_at IS NULL FROM agents a WHERE a.id = ?5), \
               m.attachments \
             FROM conversations c \
             LEFT JOIN messages m \
               ON m.conversation_id = c.id AND m.sender = ?1 AND m.client_id = ?2 \
             WHERE c.id = ?3 AND c.site_id = ?4",
        )?
        .query_row(
            params![
                job.sender.as_str(),
                job.client_id,
                job.conversation_id,
                job.site_id,
                job.agent_id
            ],
            |row| {
                let id: Option<String> = row.get(2)?;
                Ok(State {
                    status: row.get(0)?,
                    last_seq: row.get(1)?,
                    original: match id {
                        Some(id) => Some((
                            id,
                            row.get(3)?,
                            row.get(4)?,
                            row.get(5)?,
                            row.get(6)?,
                            row.get(8)?,
                        )),
                        None => None,
                    },
                    agent_active: row.get(7)?,
                })
            },
        )
        .optional()?;
    let Some(state) = state else {
        return Ok(Outcome::NotFound);
    };
    // A retry of a message stored before the agent was disabled still gets the original (it
    // writes nothing); only a new message is refused.
    if state.original.is_none() && job.agent_id.is_some() && state.agent_active != Some(true) {
        return Ok(Outcome::AgentInactive);
    }
    if let Some((id, seq, agent_name, text, created_at, attachments)) = state.original {
        let attachments = attachments_from(attachments.as_deref()).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(8, rusqlite::types::Type::Text, e.into())
        })?;
        return Ok(Outcome::Appended(Appended {
            message: Message {
                id: MessageId::try_from(id).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        2,
                        rusqlite::types::Type::Text,
                        e.into(),
                    )
                })?,
                conversation_id: job.conversation_id.clone(),
                seq,
                sender: job.sender,
                agent_name,
                text,
                client_id: job.client_id.clone(),
                created_at,
                attachments,
            },
            created: false,
            reopened: false,
        }));
    }
    if !job.attachments.is_empty() && !attachments_free(conn, job)? {
        return Ok(Outcome::AttachmentUnavailable);
    }
    let reopened = job.reopen && state.status == Status::Ended.as_str();
    let seq = state.last_seq + 1;
    let status = if reopened {
        Status::Open.as_str()
    } else {
        state.status.as_str()
    };
    // No RETURNING: SQLite builds a temporary table for it, and the seq is known already.
    let (visitor_mail_due, agent_mail_due) = mail_due(job.sender, job.mail_due_at);
    conn.prepare_cached(
        "UPDATE conversations SET last_seq = ?1, updated_at = ?2, status = ?3, \
           visitor_mail_due_at = COALESCE(visitor_mail_due_at, ?5), \
           agent_mail_due_at = COALESCE(agent_mail_due_at, ?6) \
         WHERE id = ?4",
    )?
    .execute(params![
        seq,
        job.activity,
        status,
        job.conversation_id,
        visitor_mail_due,
        agent_mail_due
    ])?;
    conn.prepare_cached(
        "INSERT INTO messages \
           (id, conversation_id, seq, sender, agent_id, agent_name, text, client_id, created_at, \
            attachments) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        job.id,
        job.conversation_id,
        seq,
        job.sender.as_str(),
        job.agent_id,
        job.agent_name,
        job.text,
        job.client_id,
        job.now,
        attachments_column(&job.attachments)
    ])?;
    for attachment in &job.attachments {
        conn.prepare_cached("UPDATE uploads SET message_id = ?1 WHERE id = ?2")?
            .execute(params![job.id, attachment.id])?;
    }
    Ok(Outcome::Appended(Appended {
        message: Message {
            id: job.id.clone(),
            conversation_id: job.conversation_id.clone(),
            seq,
            sender: job.sender,
            agent_name: job.agent_name.clone(),
            text: job.text.clone(),
            client_id: job.client_id.clone(),
            created_at: job.now,
            attachments: job.attachments.clone(),
        },
        created: true,
        reopened,
    }))
}

/// Whether every attachment is an upload of the sender's side of the conversation that no
/// message carries yet. Read in the batch's transaction, which holds SQLite's write lock: no
/// other message can take one between this check and the update that follows it.
fn attachments_free(conn: &Connection, job: &Job) -> rusqlite::Result<bool> {
    let mut free = conn.prepare_cached(
        "SELECT 1 FROM uploads WHERE id = ?1 AND conversation_id = ?2 AND sender = ?3 \
           AND message_id IS NULL AND stored",
    )?;
    for attachment in &job.attachments {
        let found = free
            .query_row(
                params![attachment.id, job.conversation_id, job.sender.as_str()],
                |_| Ok(()),
            )
            .optional()?;
        if found.is_none() {
            return Ok(false);
        }
    }
    Ok(true)
}
