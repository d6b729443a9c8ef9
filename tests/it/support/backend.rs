//! A fresh database per test, on either backend: an SQLite file in a temporary folder, or a
//! PostgreSQL database `parlor_it_<random>` created on the server of `PARLOR_TEST_PG_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`, what `scripts/services.sh` starts).
//! Both are removed when the [`TestDb`] is dropped, also when the test fails.

use std::path::PathBuf;
use std::sync::Arc;

use parlor::domain::auth::random_token;
use parlor::domain::store::Store;
use parlor::store;
use sqlx::Connection;

/// The storage a test runs on. `both_backends!` runs a test once with each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Folder(PathBuf),
    Database { admin_url: String, name: String },
}

fn pg_admin_url() -> String {
    std::env::var("PARLOR_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `admin_url` with its database name replaced.
fn with_database(admin_url: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin_url).expect("PARLOR_TEST_PG_URL is not a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// Lowercase, so that PostgreSQL needs no quotes around the name.
fn random_suffix() -> String {
    random_token(9)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

impl Backend {
    /// A fresh, empty database (the store creates the schema when it opens it).
    pub async fn database(self) -> TestDb {
        match self {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("parlor-it-{}", random_suffix()));
                std::fs::create_dir_all(&dir).expect("cannot create a temporary folder");
                TestDb {
                    url: format!("sqlite://{}", dir.join("parlor.db").display()),
                    cleanup: Cleanup::Folder(dir),
                }
            }
            Backend::Postgres => {
                let admin_url = pg_admin_url();
                let name = format!("parlor_it_{}", random_suffix());
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .unwrap_or_else(|e| {
                        panic!(
                            "PostgreSQL is not reachable at {admin_url} ({e}); start it with \
                             `bash scripts/services.sh` or set PARLOR_TEST_PG_URL"
                        )
                    });
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .unwrap_or_else(|e| panic!("cannot create database {name}: {e}"));
                let _ = admin.close().await;
                TestDb {
                    url: with_database(&admin_url, &name),
                    cleanup: Cleanup::Database { admin_url, name },
                }
            }
        }
    }

    /// A fresh database and the store on it, migrated.
    pub async fn store(self) -> (TestDb, Arc<dyn Store>) {
        let db = self.database().await;
        let store = store::open(&db.url)
            .await
            .unwrap_or_else(|e| panic!("cannot open the {self:?} store: {e}"));
        (db, store)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Folder(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Database { admin_url, name } => {
                if std::env::var_os("PARLOR_KEEP_DB").is_some() {
                    return;
                }
                // Drop may run inside the test's runtime, which cannot be blocked on: the
                // DROP runs on a thread with a runtime of its own. FORCE ends the sessions the
                // store's pool still holds. Best effort: a leftover database harms no test.
                let (admin_url, sql) = (
                    admin_url.clone(),
                    format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                );
                let dropped = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .ok()?;
                    runtime.block_on(async {
                        let mut admin = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                        sqlx::query(&sql).execute(&mut admin).await.ok()?;
                        admin.close().await.ok()
                    })
                });
                let _ = dropped.join();
            }
        }
    }
}
