//! S3-compatible object storage (the helper's branch replaces this placeholder).

use async_trait::async_trait;

use crate::domain::files::{ByteStream, FileStorage, FilesError};

pub struct S3Files;

impl S3Files {
    pub fn open(_url: &url::Url) -> Result<S3Files, FilesError> {
        Err(FilesError::Storage("S3 storage is not built yet".into()))
    }
}

#[async_trait]
impl FileStorage for S3Files {
    async fn put(&self, _key: &str, _body: ByteStream) -> Result<u64, FilesError> {
        Err(FilesError::Storage("S3 storage is not built yet".into()))
    }
    async fn get(&self, _key: &str) -> Result<Option<(u64, ByteStream)>, FilesError> {
        Err(FilesError::Storage("S3 storage is not built yet".into()))
    }
    async fn delete(&self, _key: &str) -> Result<(), FilesError> {
        Err(FilesError::Storage("S3 storage is not built yet".into()))
    }
    async fn delete_site(&self, _site: &str) -> Result<(), FilesError> {
        Err(FilesError::Storage("S3 storage is not built yet".into()))
    }
}
