//! Files in S3-compatible object storage (AWS S3, MinIO, Ceph, Cloudflare R2, ...):
//! `s3://bucket/prefix` keeps a file under the object `prefix/<site>/<upload>`. Configured by
//! the standard `AWS_*` environment variables (`AWS_ENDPOINT` and `AWS_ALLOW_HTTP` for a
//! server of one's own); requests are path-style unless `AWS_VIRTUAL_HOSTED_STYLE_REQUEST`
//! says otherwise, which is what MinIO and most self-hosted servers want.
//!
//! An upload is streamed: a body that ends within one part is sent with one `PUT` (most
//! uploads are small); a longer one becomes a multipart upload of fixed-size parts (R2 wants
//! every part but the last the same size), each stored before the body is read on, so an
//! upload holds one part in memory whatever the file's size. An object appears
//! only when the upload completes; a failed one is aborted, so that its parts are not kept
//! (and billed) by the storage.

use std::io;

use async_trait::async_trait;
use bytes::BytesMut;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload, WriteMultipart};

use crate::domain::files::{ByteStream, FileStorage, FilesError};

/// The size of a multipart upload's parts: S3's minimum (every part but the last must be at
/// least 5 MiB), so that an upload holds as little as S3 allows.
const PART_BYTES: usize = 5 * 1024 * 1024;

pub struct S3Files {
    store: AmazonS3,
    /// The objects' common prefix (`prefix` of `s3://bucket/prefix`); empty for the bucket's
    /// root.
    prefix: Path,
}

impl std::fmt::Debug for S3Files {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Files")
            .field("store", &self.store.to_string())
            .field("prefix", &self.prefix.as_ref())
            .finish()
    }
}

fn storage(e: object_store::Error) -> FilesError {
    FilesError::Storage(e.to_string())
}

impl S3Files {
    /// The storage of `s3://bucket/prefix` (the prefix is optional), with credentials, region
    /// and endpoint from the `AWS_*` environment variables. Nothing is sent to the storage
    /// yet: a wrong endpoint or credentials show at the first request.
    pub fn open(url: &url::Url) -> Result<S3Files, FilesError> {
        S3Files::open_with_env(url, std::env::vars())
    }

    /// [`S3Files::open`] with `vars` in place of the process's environment (only the `AWS_*`
    /// ones are read), for a caller that must not change the environment of a running
    /// process, such as a test.
    pub fn open_with_env(
        url: &url::Url,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<S3Files, FilesError> {
        if url.scheme() != "s3" {
            return Err(FilesError::Storage(format!(
                "not an s3:// URL: {}://...",
                url.scheme()
            )));
        }
        let bucket = url
            .host_str()
            .filter(|bucket| !bucket.is_empty())
            .ok_or_else(|| FilesError::Storage("the s3:// URL names no bucket".to_owned()))?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(FilesError::Storage(
                "the s3:// URL has a query or fragment; configure the storage with AWS_* variables"
                    .to_owned(),
            ));
        }
        let prefix = url.path().trim_matches('/');
        if !prefix.is_empty() && !prefix.split('/').all(valid_segment) {
            return Err(FilesError::Storage(format!(
                "not a usable prefix in the s3:// URL: {prefix:?}"
            )));
        }
        let prefix = Path::parse(prefix)
            .map_err(|e| FilesError::Storage(format!("the s3:// URL's prefix: {e}")))?;
        // What `AmazonS3Builder::from_env` does, over `vars`; unknown `AWS_*` names are other
        // tools' and ignored.
        let builder = vars
            .into_iter()
            .filter(|(name, _)| name.starts_with("AWS_"))
            .fold(AmazonS3Builder::new(), |builder, (name, value)| match name
                .to_ascii_lowercase()
                .parse()
            {
                Ok(key) => builder.with_config(key, value),
                Err(_) => builder,
            });
        let store = builder.with_bucket_name(bucket).build().map_err(storage)?;
        Ok(S3Files { store, prefix })
    }

    /// The object of a key. Keys are made by the domain from ids of `[A-Za-z0-9_-]`; anything
    /// else is refused rather than trusted, as the local directory does.
    fn path(&self, key: &str) -> Result<Path, FilesError> {
        if key.is_empty() || !key.split('/').all(valid_segment) {
            return Err(FilesError::Storage(format!("not a file key: {key:?}")));
        }
        Ok(key
            .split('/')
            .fold(self.prefix.clone(), |path, segment| path.child(segment)))
    }
}

fn valid_segment(segment: &str) -> bool {
    !segment.is_empty()
        && !segment.starts_with('.')
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
}

/// A multipart upload under way. Dropped before it is finished (the request's future was
/// dropped: a timeout, the connection closed) it is aborted in the background, so that its
/// parts do not stay in the storage.
struct Pending(Option<WriteMultipart>);

impl Pending {
    fn writer(&mut self) -> &mut WriteMultipart {
        // Set in `put`, taken only by `abort` and `finish`, which consume `self`.
        self.0.as_mut().expect("the upload is under way")
    }

    async fn abort(mut self) {
        if let Some(writer) = self.0.take() {
            if let Err(e) = writer.abort().await {
                tracing::warn!(error = %e, "could not abort a multipart upload");
            }
        }
    }

    async fn finish(mut self) -> Result<(), FilesError> {
        // The parts still in flight first: if one failed, the upload is aborted here
        // (`WriteMultipart::finish` would return that error without aborting).
        if let Err(e) = self.writer().wait_for_capacity(0).await {
            self.abort().await;
            return Err(storage(e));
        }
        let writer = self.0.take().expect("the upload is under way");
        // Aborts the upload itself when completing it fails.
        writer.finish().await.map(|_| ()).map_err(storage)
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(writer) = self.0.take() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    if let Err(e) = writer.abort().await {
                        tracing::warn!(error = %e, "could not abort a multipart upload");
                    }
                });
            }
        }
    }
}

#[async_trait]
impl FileStorage for S3Files {
    async fn put(&self, key: &str, mut body: ByteStream) -> Result<u64, FilesError> {
        let path = self.path(key)?;
        // The first part, grown as the body comes: if the body ends within it, one PUT stores
        // the whole file. The body's chunks are copied, not kept: each may hold on to a larger
        // read buffer.
        let mut part = BytesMut::new();
        let carry = loop {
            match body.next().await {
                None => {
                    let size = part.len() as u64;
                    self.store
                        .put(&path, PutPayload::from(part.freeze()))
                        .await
                        .map_err(storage)?;
                    return Ok(size);
                }
                Some(Err(e)) => return Err(FilesError::Body(e)),
                Some(Ok(mut chunk)) => {
                    let take = chunk.len().min(PART_BYTES - part.len());
                    part.extend_from_slice(&chunk[..take]);
                    if part.len() == PART_BYTES {
                        break chunk.split_off(take);
                    }
                }
            }
        };

        let upload = self.store.put_multipart(&path).await.map_err(storage)?;
        let mut pending = Pending(Some(WriteMultipart::new_with_chunk_size(
            upload, PART_BYTES,
        )));
        // Each part is one buffer of exactly a part's size, handed over whole (no copy), and
        // stored before the body is read on: one part in memory at a time. (A client is slower
        // than the storage, so waiting costs little; reading on meanwhile would double the
        // memory an upload holds.)
        pending.writer().put(part.freeze());
        let mut part = BytesMut::new();
        let mut size = (PART_BYTES + carry.len()) as u64;
        let mut carry = Some(carry).filter(|rest| !rest.is_empty());
        loop {
            if let Err(e) = pending.writer().wait_for_capacity(0).await {
                pending.abort().await;
                return Err(storage(e));
            }
            let chunk = match carry.take() {
                Some(chunk) => chunk,
                None => match body.next().await {
                    None => break,
                    Some(Ok(chunk)) => {
                        size += chunk.len() as u64;
                        chunk
                    }
                    Some(Err(e)) => {
                        pending.abort().await;
                        return Err(FilesError::Body(e));
                    }
                },
            };
            let take = chunk.len().min(PART_BYTES - part.len());
            if part.is_empty() {
                part.reserve(PART_BYTES);
            }
            part.extend_from_slice(&chunk[..take]);
            if part.len() == PART_BYTES {
                pending.writer().put(std::mem::take(&mut part).freeze());
                // The rest of the chunk goes into the next part, once this one is stored.
                carry = Some(chunk.slice(take..)).filter(|rest| !rest.is_empty());
            }
        }
        if !part.is_empty() {
            pending.writer().put(part.freeze());
        }
        pending.finish().await?;
        Ok(size)
    }

    async fn get(&self, key: &str) -> Result<Option<(u64, ByteStream)>, FilesError> {
        let path = self.path(key)?;
        match self.store.get(&path).await {
            Ok(result) => {
                let size = result.meta.size;
                let stream = result.into_stream().map_err(io::Error::from);
                Ok(Some((size, Box::pin(stream))))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(storage(e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), FilesError> {
        match self.store.delete(&self.path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(storage(e)),
        }
    }

    async fn delete_site(&self, site: &str) -> Result<(), FilesError> {
        // A listing by path segments: the site `abc` does not take `abcd/...` with it.
        let site = self.path(site)?;
        let locations = self
            .store
            .list(Some(&site))
            .map_ok(|meta| meta.location)
            .boxed();
        let mut deleted = self.store.delete_stream(locations);
        while let Some(result) = deleted.next().await {
            match result {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(storage(e)),
            }
        }
        Ok(())
    }
}
