//! The file storage adapters (`domain::files::FileStorage`): a local directory, or S3-compatible
//! object storage.

pub mod local;
pub mod s3;

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Files;
use crate::domain::files::{FileStorage, FilesError};

/// The storage `files` names: S3-compatible storage for `PARLOR_FILES_URL`, else the directory
/// `PARLOR_FILES_DIR`, else one next to the database ([`default_dir`]).
pub fn open(files: &Files, database_url: &str) -> Result<Arc<dyn FileStorage>, FilesError> {
    if let Some(url) = &files.files_url {
        return Ok(Arc::new(s3::S3Files::open(url)?));
    }
    let dir = files
        .files_dir
        .clone()
        .unwrap_or_else(|| default_dir(database_url));
    let local = local::LocalFiles::open(&dir)
        .map_err(|e| FilesError::Storage(format!("{}: {e}", dir.display())))?;
    Ok(Arc::new(local))
}

/// `<database>-files` next to an SQLite database (`parlor.db`: `parlor-files`);
/// `./parlor-files` for PostgreSQL.
pub fn default_dir(database_url: &str) -> PathBuf {
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        return PathBuf::from("parlor-files");
    }
    let path = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .unwrap_or(database_url);
    let path = PathBuf::from(path.split('?').next().unwrap_or(path));
    let stem = path
        .file_stem()
        .map_or_else(|| "parlor".into(), |s| s.to_string_lossy().into_owned());
    path.with_file_name(format!("{stem}-files"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_live_next_to_the_sqlite_database() {
        assert_eq!(
            default_dir("sqlite://parlor.db"),
            PathBuf::from("parlor-files")
        );
        assert_eq!(
            default_dir("sqlite:///var/lib/parlor/chat.db?synchronous=full"),
            PathBuf::from("/var/lib/parlor/chat-files")
        );
        assert_eq!(default_dir("/tmp/x.db"), PathBuf::from("/tmp/x-files"));
        assert_eq!(
            default_dir("postgres://u@h/db"),
            PathBuf::from("parlor-files")
        );
    }
}
