//! The storage port for uploaded files: where the bytes of uploads and their thumbnails are
//! kept. The rows that say who may see a file are the `Store`'s; this port only keeps bytes
//! under a key. Implemented by a local directory and by S3-compatible object storage
//! (`crate::files`).

use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;

/// A file's bytes as they arrive or leave, a chunk at a time: files are streamed, never held
/// whole in memory.
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// The body being stored failed (the client went away, or it crossed the size limit): the
    /// error the body stream gave.
    #[error("upload interrupted: {0}")]
    Body(std::io::Error),
    /// The storage itself failed.
    #[error("file storage: {0}")]
    Storage(String),
}

/// Where files are kept. Keys are `/`-separated paths made by the domain
/// ([`upload_key`], [`thumbnail_key`]); the first segment is the site, so a site's files are
/// deleted with one [`FileStorage::delete_site`].
#[async_trait]
pub trait FileStorage: Send + Sync {
    /// Streams `body` into the file `key` and returns its size. The file appears whole or not
    /// at all: when the body or the storage fails, nothing is left under `key`.
    async fn put(&self, key: &str, body: ByteStream) -> Result<u64, FilesError>;

    /// The file's size and bytes; `None` when there is no such file.
    async fn get(&self, key: &str) -> Result<Option<(u64, ByteStream)>, FilesError>;

    /// Deletes the file; deleting one that is not there is not an error.
    async fn delete(&self, key: &str) -> Result<(), FilesError>;

    /// Deletes every file of the site (the keys under `site/`).
    async fn delete_site(&self, site: &str) -> Result<(), FilesError>;
}

/// The key of an upload's bytes.
pub fn upload_key(site: &str, upload: &str) -> String {
    format!("{site}/{upload}")
}

/// The key of an upload's thumbnail.
pub fn thumbnail_key(site: &str, upload: &str) -> String {
    format!("{site}/{upload}.thumb")
}
