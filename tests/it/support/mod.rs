//! Plumbing for the integration tests, so that the tests read like the protocol.
//!
//! - [`backend`]: a fresh SQLite or PostgreSQL database per test.
//! - [`chat`]: `TestChat`, the domain service over a real store with a recording `Events`.
//! - [`server`]: `TestServer`, the real `App` on port 0, with [`sio`] (a Socket.IO client)
//!   and [`http`] (an HTTP/1.1 client) to talk to it over the network.
//! - [`s3`]: a real S3-compatible server (moto) for the test binary, and a bucket per test.

pub mod backend;
pub mod chat;
pub mod events;
pub mod http;
pub mod s3;
pub mod server;
pub mod sio;

use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use parlor::domain::auth::new_id;
use parlor::domain::ids::{AgentId, SiteId};
use parlor::domain::model::{now_millis, Role};
use parlor::domain::store::{NewAgent, Store};

/// Runs an `async fn name(backend: Backend)` once on each backend, as two tests named
/// `name::on_sqlite` and `name::on_postgres` (so `cargo test on_postgres` runs one backend).
/// Arguments after the name go to `#[tokio::test(...)]`.
macro_rules! both_backends {
    ($name:ident) => {
        both_backends!($name, flavor = "current_thread");
    };
    ($name:ident, $($arg:tt)+) => {
        mod $name {
            #[tokio::test($($arg)+)]
            async fn on_sqlite() {
                super::$name($crate::support::backend::Backend::Sqlite).await
            }

            #[tokio::test($($arg)+)]
            async fn on_postgres() {
                super::$name($crate::support::backend::Backend::Postgres).await
            }
        }
    };
}

/// A site as the command line creates it.
#[derive(Debug, Clone)]
pub struct TestSite {
    pub id: SiteId,
    /// As the widget snippet carries it.
    pub key: String,
}

/// An agent as the command line creates it, with the password it logs in with.
#[derive(Debug, Clone)]
pub struct AgentAccount {
    pub id: AgentId,
    pub username: String,
    pub name: String,
    pub password: String,
}

/// `parlor site create`.
pub async fn create_site(
    store: &dyn Store,
    allowed_origins: &[&str],
    allowed_query_params: &[&str],
) -> TestSite {
    let owned = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let site = parlor::cli::create_site(
        store,
        &format!("Site {}", &new_id()[..8]),
        &owned(allowed_origins),
        &["name".to_owned(), "email".to_owned()],
        &owned(allowed_query_params),
    )
    .await
    .expect("create a site");
    TestSite {
        id: site.id,
        key: site.site_key.as_str().to_owned(),
    }
}

/// An argon2id hash with the smallest parameters: argon2 reads its parameters from the hash,
/// so a login checks it all the same, and the default cost takes seconds in a debug build.
pub fn cheap_hash(password: &str) -> String {
    let params = Params::new(8, 1, 1, None).expect("argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
        .expect("hash the password")
        .to_string()
}

/// `parlor agent create`, with a [`cheap_hash`] of a random password.
pub async fn create_agent(store: &dyn Store, site: &TestSite) -> AgentAccount {
    let password = format!("pw {}", new_id());
    let hash = cheap_hash(&password);
    let (id, username) = (AgentId::generate(), format!("agent-{}", new_id()));
    let name = format!("Agent {}", &id.as_str()[id.as_str().len() - 6..]);
    store
        .create_agent(NewAgent {
            id: &id,
            site_id: &site.id,
            username: &username,
            name: &name,
            password_hash: &hash,
            role: Role::Agent,
            email: None,
            now: now_millis(),
        })
        .await
        .expect("create an agent");
    AgentAccount {
        id,
        username,
        name,
        password,
    }
}

/// Lets every task that is ready run (a grace timer that just fired, say) before the test
/// looks at what was heard.
pub async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}
