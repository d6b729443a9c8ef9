//! The storage adapters: [`crate::domain::store::Store`] on SQLite and on PostgreSQL. The SQL
//! both run is written once (`shared`), the rows are read one way (`rows`); each backend keeps
//! only what differs (SQLite's single writer thread, PostgreSQL's row locks).

mod postgres;
mod rows;
mod shared;
mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use std::sync::Arc;

use crate::domain::store::{Store, StoreError, StoreResult};

/// Opens the store named by a database URL: `postgres://` or `postgresql://` (with an optional
/// `?pool_size=N`, default 16), else `sqlite:` or a plain path. Each backend applies its own
/// pending migrations.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(PostgresStore::open(url).await?));
    }
    Ok(Arc::new(SqliteStore::open(url).await?))
}

// The domain's error keeps the adapters' errors as causes without naming their types.

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(Box::new(e))
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(Box::new(e))
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(Box::new(e))
    }
}
