//! The file storage adapters (`domain::files::FileStorage`): a local directory, or S3-compatible
//! object storage.

pub mod local;
pub mod s3;
