//! [`App`]: everything wired together and bound to a port, ready to run until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use axum::Router;
use tokio::net::TcpListener;

use crate::config::ServeConfig;
use crate::domain::auth::{random_token, JwtKeys};
use crate::domain::{Chat, ChatConfig};
use crate::socket::events::SocketEvents;
use crate::store::{self, Store, StoreError};
use crate::{http, socket};

/// The smallest JWT secret accepted: 256 bits.
const MIN_JWT_SECRET_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("PARLOR_JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes")]
    WeakJwtSecret,
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

pub struct App {
    listener: TcpListener,
    router: Router,
    chat: Arc<Chat>,
}

impl App {
    /// Opens the store, builds the service and binds the listener (port 0 picks a free one).
    pub async fn build(config: &ServeConfig) -> Result<App, StartError> {
        let store = store::open(&config.db.database_url).await?;
        let secret = jwt_secret(store.as_ref(), config.jwt_secret.as_deref()).await?;
        let events = Arc::new(SocketEvents::default());
        let chat = Chat::new(
            store,
            events.clone(),
            JwtKeys::new(secret.as_bytes(), config.jwt_ttl_secs),
            ChatConfig {
                presence_grace: config.presence_grace(),
                rate_limits: config.rate_limits(),
            },
        );
        let (socket_layer, io) = socket::layer(chat.clone());
        events.bind(io);
        let router = http::router(chat.clone()).layer(socket_layer);
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: config.listen,
                    source,
                })?;
        Ok(App {
            listener,
            router,
            chat,
        })
    }

    pub fn addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn chat(&self) -> &Arc<Chat> {
        &self.chat
    }

    /// Serves until `shutdown` completes.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let chat = self.chat.clone();
        let housekeeping = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                chat.housekeeping();
            }
        });
        // Without TCP_NODELAY small Socket.IO frames wait for delayed ACKs (40 ms handshakes).
        let listener = self.listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::warn!(error = %e, "could not set TCP_NODELAY");
            }
        });
        let served = axum::serve(
            listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        housekeeping.abort();
        served
    }
}

/// The configured secret, or one generated on first start and kept in the database so agent
/// tokens survive restarts.
async fn jwt_secret(store: &dyn Store, configured: Option<&str>) -> Result<String, StartError> {
    match configured {
        Some(s) if s.len() >= MIN_JWT_SECRET_BYTES => Ok(s.to_owned()),
        Some(_) => Err(StartError::WeakJwtSecret),
        None => Ok(store
            .setting_or_insert("jwt_secret", &random_token(MIN_JWT_SECRET_BYTES))
            .await?),
    }
}
