//! [`TestServer`]: the real `App` (the binary's code path: `App::build`, then `run_until`) on
//! 127.0.0.1 port 0 over a fresh database, and clients that reach it over the network.

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Parser;
use parlor::app::App;
use parlor::config::{Cli, ServeConfig};
use parlor::domain::Chat;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::backend::{Backend, TestDb};
use super::http::{self, Response};
use super::sio::SioClient;
use super::{create_agent, create_site, AgentAccount, TestSite};

/// High enough that no test meets a limit: every client of a test shares 127.0.0.1.
const HIGH: u32 = 100_000;

pub struct TestServer {
    pub addr: SocketAddr,
    chat: Arc<Chat>,
    shutdown: Option<oneshot::Sender<()>>,
    /// Last, so the database goes after the server.
    _db: TestDb,
}

/// The configuration `parlor serve` would get with no flags, then what the tests need:
/// port 0, the test's database, a single node, a short presence grace period, and the rate
/// limits and connection caps lifted.
fn config(database_url: &str) -> ServeConfig {
    let mut config = Cli::try_parse_from(["parlor"])
        .expect("the default configuration parses")
        .serve;
    config.listen = "127.0.0.1:0".parse().expect("an address");
    config.db.database_url = database_url.to_owned();
    config.redis_url = None;
    config.demo = Some(false);
    config.presence_grace_ms = 300;
    config.rate_new_visitors = HIGH;
    config.rate_messages = HIGH;
    config.rate_profile = HIGH;
    config.rate_login = HIGH;
    config.rate_login_per_address = HIGH;
    config.rate_sync = HIGH;
    config.rate_read = HIGH;
    config.rate_reconnects = HIGH;
    config.rate_handshakes = HIGH;
    config.max_connections_per_address = HIGH as usize;
    config
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        let db = backend.database().await;
        let app = App::build(&config(&db.url))
            .await
            .unwrap_or_else(|e| panic!("the server did not start on {backend:?}: {e}"));
        let addr = app.addr().expect("the bound address");
        let chat = app.chat().clone();
        let (shutdown, stop) = oneshot::channel::<()>();
        tokio::spawn(app.run_until(async {
            let _ = stop.await;
        }));
        TestServer {
            addr,
            chat,
            shutdown: Some(shutdown),
            _db: db,
        }
    }

    pub async fn site(&self) -> TestSite {
        create_site(self.chat.store().as_ref(), &[], &[]).await
    }

    pub async fn account(&self, site: &TestSite) -> AgentAccount {
        create_agent(self.chat.store().as_ref(), site).await
    }

    pub async fn get(&self, path: &str) -> Response {
        http::get(self.addr, path).await
    }

    /// `POST /api/login`.
    pub async fn login(&self, username: &str, password: &str) -> Response {
        http::post_json(
            self.addr,
            "/api/login",
            &json!({ "username": username, "password": password }),
        )
        .await
    }

    /// Logs the account in over HTTP and returns the token.
    pub async fn token(&self, account: &AgentAccount) -> String {
        let answer = self.login(&account.username, &account.password).await;
        assert_eq!(answer.status, 200, "login: {:?}", answer.json());
        answer.json()["token"].as_str().expect("a token").to_owned()
    }

    /// A `/visitor` connection with `auth`; a refusal is the `connect_error` message.
    pub async fn visitor(&self, auth: Value) -> Result<SioClient, String> {
        SioClient::connect(self.addr, "/visitor", auth).await
    }

    /// An `/agent` connection with `auth: { token }`.
    pub async fn agent(&self, token: &str) -> Result<SioClient, String> {
        SioClient::connect(self.addr, "/agent", json!({ "token": token })).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
