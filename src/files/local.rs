//! Files in a local directory: `DIR/<site>/<upload>`, written 0600 under directories 0700. A
//! file is written as `<key>.part` and renamed when whole, so a reader never sees half of one.
//! An upload that fails deletes its part; one cut short by a crash leaves it, and deleting the
//! key (the sweep of unsent uploads does, for the upload's row) deletes the part too. Each key
//! is written once (uploads and thumbnails have ids of their own): a second writer of a key
//! whose part exists fails.

use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;

use crate::domain::files::{ByteStream, FileStorage, FilesError};

/// Bytes gathered before one write to the file.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

pub struct LocalFiles {
    dir: PathBuf,
}

impl LocalFiles {
    /// Files under `dir`, created (0700) if missing.
    pub fn open(dir: &Path) -> io::Result<LocalFiles> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        Ok(LocalFiles {
            dir: dir.to_owned(),
        })
    }

    /// The path of a key. Keys are made by the domain from ids of `[A-Za-z0-9_-]`; anything
    /// else (`..`, an absolute path) is refused rather than trusted.
    fn path(&self, key: &str) -> Result<PathBuf, FilesError> {
        let safe = !key.is_empty()
            && key.split('/').all(|part| {
                !part.is_empty()
                    && !part.starts_with('.')
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
            });
        if safe {
            Ok(self.dir.join(key))
        } else {
            Err(FilesError::Storage(format!("not a file key: {key:?}")))
        }
    }
}

/// Where the file of `path` is written until it is whole.
fn part_of(path: &Path) -> PathBuf {
    let mut part = path.as_os_str().to_owned();
    part.push(".part");
    part.into()
}

fn storage(e: io::Error) -> FilesError {
    FilesError::Storage(e.to_string())
}

#[async_trait]
impl FileStorage for LocalFiles {
    async fn put(&self, key: &str, mut body: ByteStream) -> Result<u64, FilesError> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .await
                .map_err(storage)?;
        }
        let partial = part_of(&path);
        let written = async {
            let file = tokio::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&partial)
                .await
                .map_err(storage)?;
            // Every write goes through tokio's blocking pool: a body arrives in pieces of about
            // 16 KiB, and gathering them first costs fewer hand-offs (docs/benchmarks.md).
            let mut file = tokio::io::BufWriter::with_capacity(WRITE_BUFFER_BYTES, file);
            let mut size = 0u64;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(FilesError::Body)?;
                file.write_all(&chunk).await.map_err(storage)?;
                size += chunk.len() as u64;
            }
            file.flush().await.map_err(storage)?;
            file.get_ref().sync_all().await.map_err(storage)?;
            tokio::fs::rename(&partial, &path).await.map_err(storage)?;
            Ok(size)
        }
        .await;
        if written.is_err() {
            let _ = tokio::fs::remove_file(&partial).await;
        }
        written
    }

    async fn get(&self, key: &str) -> Result<Option<(u64, ByteStream)>, FilesError> {
        let path = self.path(key)?;
        let file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(storage(e)),
        };
        let size = file.metadata().await.map_err(storage)?.len();
        Ok(Some((size, Box::pin(ReaderStream::new(file)))))
    }

    async fn delete(&self, key: &str) -> Result<(), FilesError> {
        let path = self.path(key)?;
        for file in [part_of(&path), path] {
            match tokio::fs::remove_file(file).await {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(storage(e)),
                _ => {}
            }
        }
        Ok(())
    }

    async fn delete_site(&self, site: &str) -> Result<(), FilesError> {
        match tokio::fs::remove_dir_all(self.path(site)?).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(storage(e)),
            _ => Ok(()),
        }
    }
}
