//! WAL checkpoints on a thread and a connection of their own, so that no write waits behind one
//! (ARCHITECTURE.md, "SQLite's write path"). Once the WAL is past [`WAL_REWIND_FRAMES`], more
//! passes copy what arrived during the previous one, and the appender copies the small rest
//! ([`Appender::rewind_wal`]).

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use rusqlite::Connection;

use super::appender::Appender;
use crate::domain::store::{StoreError, StoreResult};

/// How often the WAL is checkpointed.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// WAL length (in pages) past which the WAL is started over.
const WAL_REWIND_FRAMES: i64 = 16384;

/// Pages left for the appender to copy when it finishes a checkpoint: a pause of a few ms.
const REWIND_TAIL_FRAMES: i64 = 256;

/// Background passes that chase the writers before the appender is asked to finish anyway.
const MAX_CATCH_UP_PASSES: usize = 4;

/// Stops the checkpointer when dropped.
pub struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    /// Opens the checkpointer's own connection to the (already migrated) database and starts
    /// its thread.
    pub fn start(path: &Path, synchronous_full: bool, appender: Appender) -> StoreResult<Self> {
        let conn = Connection::open(path).map_err(corrupt)?;
        // Its checkpoints sync like every other connection's commits.
        let synchronous = if synchronous_full { "FULL" } else { "NORMAL" };
        conn.execute_batch(&format!(
            "PRAGMA synchronous = {synchronous}; PRAGMA wal_autocheckpoint = 0;"
        ))
        .map_err(corrupt)?;
        let (stop, stopped) = mpsc::channel();
        let path = path.to_owned();
        std::thread::Builder::new()
            .name("parlor-checkpointer".into())
            .spawn(move || run(&conn, &path, &appender, &stopped))
            .map_err(|e| StoreError::Corrupt(format!("cannot start the checkpointer: {e}")))?;
        Ok(Checkpointer { _stop: stop })
    }
}

fn corrupt(e: rusqlite::Error) -> StoreError {
    StoreError::Corrupt(format!("checkpointer: {e}"))
}

fn run(conn: &Connection, path: &Path, appender: &Appender, stopped: &mpsc::Receiver<()>) {
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
        let Some((frames, mut copied)) = checkpoint(conn) else {
            continue;
        };
        if frames <= WAL_REWIND_FRAMES {
            continue;
        }
        let mut arrived = i64::MAX;
        for _ in 0..MAX_CATCH_UP_PASSES {
            let Some((frames, now_copied)) = checkpoint(conn) else {
                break;
            };
            arrived = frames - copied;
            copied = now_copied;
            if arrived <= REWIND_TAIL_FRAMES {
                break;
            }
        }
        if arrived == 0 {
            // Nothing was committed meanwhile: SQLite starts the WAL over at the next commit.
            continue;
        }
        // SQLite syncs the database file only after a checkpoint that caught up, which only the
        // appender's will. Syncing here first leaves that one just the tail to flush.
        if let Err(e) = std::fs::File::open(path).and_then(|f| f.sync_data()) {
            tracing::warn!(error = %e, "could not sync the database file");
        }
        appender.rewind_wal();
    }
}

/// One PASSIVE checkpoint: the WAL's length and how much of it is now in the database file.
fn checkpoint(conn: &Connection) -> Option<(i64, i64)> {
    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    }) {
        Ok(done) => Some(done),
        Err(e) => {
            tracing::warn!(error = %e, "WAL checkpoint failed");
            None
        }
    }
}
