//! Group commit for messages: one task owns message inserts and commits every append that is
//! waiting as one transaction, so a burst of sends costs one commit (and one fsync) instead of
//! one each. Each caller still gets its answer only after the commit: an ack means committed.

use sqlx::sqlite::SqlitePool;
use sqlx::{Row, Sqlite, Transaction};
use tokio::sync::{mpsc, oneshot};

use super::MessageRow;
use crate::domain::model::{Message, Micros, Millis, Sender, Status};
use crate::store::{Appended, NewMessage, StoreError, StoreResult};

/// Most appends committed together; bounds the time a transaction holds the write lock.
const MAX_BATCH: usize = 512;

/// An append waiting for the writer, with everything owned.
struct Job {
    id: String,
    conversation_id: String,
    sender: Sender,
    agent_id: Option<String>,
    agent_name: Option<String>,
    text: String,
    client_id: Option<String>,
    reopen: bool,
    now: Millis,
    activity: Micros,
    reply: oneshot::Sender<StoreResult<Appended>>,
}

#[derive(Clone)]
pub struct Appender {
    jobs: mpsc::Sender<Job>,
}

impl Appender {
    /// Starts the writer task on `writer` (a pool of one connection).
    pub fn start(writer: SqlitePool) -> Self {
        let (jobs, rx) = mpsc::channel(MAX_BATCH * 8);
        tokio::spawn(run(writer, rx));
        Appender { jobs }
    }

    pub async fn append(&self, m: NewMessage<'_>) -> StoreResult<Appended> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            id: m.id.to_owned(),
            conversation_id: m.conversation_id.to_owned(),
            sender: m.sender,
            agent_id: m.agent_id.map(str::to_owned),
            agent_name: m.agent_name.map(str::to_owned),
            text: m.text.to_owned(),
            client_id: m.client_id.map(str::to_owned),
            reopen: m.reopen,
            now: m.now,
            activity: m.activity,
            reply,
        };
        self.jobs.send(job).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Corrupt("the message writer has stopped".into())
}

async fn run(writer: SqlitePool, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match commit(&writer, &batch).await {
            Ok(results) => {
                for (job, result) in batch.drain(..).zip(results) {
                    let _ = job.reply.send(Ok(result));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, appends = batch.len(), "message batch failed");
                let reason = e.to_string();
                for job in batch.drain(..) {
                    let _ = job
                        .reply
                        .send(Err(StoreError::Corrupt(format!("batch failed: {reason}"))));
                }
            }
        }
    }
}

/// Stores every job in one transaction. Within it the writer is alone, so an idempotency
/// check sees every earlier append, including those of the same batch.
async fn commit(writer: &SqlitePool, batch: &[Job]) -> StoreResult<Vec<Appended>> {
    let mut tx = writer.begin().await?;
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        results.push(append(&mut tx, job).await?);
    }
    tx.commit().await?;
    Ok(results)
}

async fn append(tx: &mut Transaction<'_, Sqlite>, job: &Job) -> StoreResult<Appended> {
    // One read answers both questions: was this clientId used, and is the conversation ended.
    let state = sqlx::query(
        "SELECT c.status, m.id, m.seq, m.agent_name, m.text, m.created_at \
         FROM conversations c \
         LEFT JOIN messages m \
           ON m.conversation_id = c.id AND m.sender = ?1 AND m.client_id = ?2 \
         WHERE c.id = ?3",
    )
    .bind(job.sender.as_str())
    .bind(&job.client_id)
    .bind(&job.conversation_id)
    .fetch_one(&mut **tx)
    .await?;
    if let Some(id) = state.try_get::<Option<String>, _>("id")? {
        let original = MessageRow {
            id,
            conversation_id: job.conversation_id.clone(),
            seq: state.try_get("seq")?,
            sender: job.sender.as_str().to_owned(),
            agent_name: state.try_get("agent_name")?,
            text: state.try_get("text")?,
            client_id: job.client_id.clone(),
            created_at: state.try_get("created_at")?,
        };
        return Ok(Appended {
            message: original.into_message()?,
            created: false,
            reopened: false,
        });
    }
    let reopened = job.reopen && state.try_get::<String, _>("status")? == Status::Ended.as_str();
    let seq: i64 = sqlx::query_scalar(
        "UPDATE conversations SET last_seq = last_seq + 1, updated_at = ?1, \
           status = CASE WHEN ?2 THEN 'open' ELSE status END \
         WHERE id = ?3 \
         RETURNING last_seq",
    )
    .bind(job.activity)
    .bind(reopened)
    .bind(&job.conversation_id)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO messages \
           (id, conversation_id, seq, sender, agent_id, agent_name, text, client_id, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&job.id)
    .bind(&job.conversation_id)
    .bind(seq)
    .bind(job.sender.as_str())
    .bind(&job.agent_id)
    .bind(&job.agent_name)
    .bind(&job.text)
    .bind(&job.client_id)
    .bind(job.now)
    .execute(&mut **tx)
    .await?;
    Ok(Appended {
        message: Message {
            id: job.id.clone(),
            conversation_id: job.conversation_id.clone(),
            seq,
            sender: job.sender,
            agent_name: job.agent_name.clone(),
            text: job.text.clone(),
            client_id: job.client_id.clone(),
            created_at: job.now,
        },
        created: true,
        reopened,
    })
}
