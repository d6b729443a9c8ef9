//! [`App`]: everything wired together and bound to a port, ready to run until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderValue, Method};
use axum::Router;
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use socketioxide::adapter::{Emitter, LocalAdapter};

use crate::cluster::{self, ClusterAdapter, RedisDirectory};
use crate::config::ServeConfig;
use crate::domain::auth::{random_token, JwtKeys};
use crate::domain::cluster::SingleNode;
use crate::domain::{Chat, ChatConfig};
use crate::http::edge::{self, Edge};
use crate::http::serve::ConnectionLimits;
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
    #[error("redis: {0}")]
    Redis(String),
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
    edge: Arc<Edge>,
    limits: ConnectionLimits,
    /// Cluster presence, when Redis joins this node to others.
    directory: Option<Arc<RedisDirectory>>,
    /// Closes this node's agent sockets whose token expired or was revoked.
    revocation: Sweep,
}

/// A background loop over this node's sockets, whatever the adapter.
type Sweep = Pin<Box<dyn Future<Output = ()> + Send>>;

impl App {
    /// Opens the store, builds the service and binds the listener (port 0 picks a free one).
    pub async fn build(config: &ServeConfig) -> Result<App, StartError> {
        let store = store::open(&config.db.database_url).await?;
        let secret = jwt_secret(store.as_ref(), config.jwt_secret.as_deref()).await?;
        let jwt = JwtKeys::new(secret.as_bytes(), config.jwt_ttl_secs);
        let chat_config = ChatConfig {
            presence_grace: config.presence_grace(),
            rate_limits: config.rate_limits(),
            reply_limits: config.reply_limits(),
            max_sockets_per_visitor: config.max_sockets_per_visitor,
            visitor_token_ttl: config.visitor_token_ttl(),
            password_checks: config.password_checks(),
            password_wait: config.password_wait(),
        };
        let body_limit = config.http_max_body_bytes;
        let request_timeout = config.http_request_timeout();
        let (router, chat, directory, revocation): (_, _, _, Sweep) = match &config.redis_url {
            None => {
                let events = Arc::new(SocketEvents::<LocalAdapter>::default());
                let chat = Chat::new(
                    store,
                    events.clone(),
                    Arc::new(SingleNode),
                    jwt,
                    chat_config,
                );
                let (layer, io, _) =
                    socket::layer::<LocalAdapter>(chat.clone(), (), config.socket_limits());
                let revocation = Box::pin(socket::revocation::sweep(io.clone(), chat.clone()));
                events.bind(io);
                (
                    http::router(chat.clone(), body_limit, request_timeout).layer(layer),
                    chat,
                    None,
                    revocation,
                )
            }
            Some(url) => {
                let node_id = random_token(12);
                let connected = cluster::connect(
                    url,
                    &config.redis_prefix,
                    node_id.clone(),
                    config.cluster_heartbeat(),
                )
                .await
                .map_err(|e| StartError::Redis(e.to_string()))?;
                let directory = Arc::new(connected.directory);
                let events = Arc::new(SocketEvents::<ClusterAdapter<Emitter>>::default());
                let chat = Chat::new(store, events.clone(), directory.clone(), jwt, chat_config);
                let (layer, io, inits) = socket::layer::<ClusterAdapter<Emitter>>(
                    chat.clone(),
                    connected.adapter,
                    config.socket_limits(),
                );
                for init in inits {
                    init.await.map_err(|e| StartError::Redis(e.to_string()))?;
                }
                let revocation = Box::pin(socket::revocation::sweep(io.clone(), chat.clone()));
                events.bind(io);
                tracing::info!(node_id, "joined the cluster");
                (
                    http::router(chat.clone(), body_limit, request_timeout).layer(layer),
                    chat,
                    Some(directory),
                    revocation,
                )
            }
        };
        let edge = Arc::new(Edge::new(
            config.trusted_proxies.clone(),
            config.rate_handshakes,
        ));
        // The widget runs on customers' pages: its long-polling requests and the script itself
        // are cross-origin. Which origins may open a visitor connection is checked per site at
        // the handshake. Nothing else is: a foreign page must not read a login's answer.
        let cors = CorsLayer::new()
            .allow_origin(AllowOrigin::predicate(|_, req| {
                let path = req.uri.path();
                path.starts_with("/socket.io/") || path == "/widget.js"
            }))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers(Any);
        // Outermost last: the edge middleware (client address, handshake budget) runs before
        // socketioxide and before detach_request_head, so sockets keep its extensions.
        let router = router
            .layer(axum::middleware::map_request(socket::detach_request_head))
            .layer(cors)
            .layer(axum::middleware::from_fn_with_state(
                edge.clone(),
                edge::edge,
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ));
        if config.http_idle_timeout_ms <= config.ping_interval_ms {
            tracing::warn!(
                "PARLOR_HTTP_IDLE_TIMEOUT_MS is not above PARLOR_PING_INTERVAL_MS: \
                 long-polling clients will be cut off while they wait for a ping"
            );
        }
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
            edge,
            limits: config.connection_limits(),
            directory,
            revocation,
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
        let edge = self.edge.clone();
        let housekeeping = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                chat.housekeeping();
                edge.housekeeping();
            }
        });
        let revocation = tokio::spawn(self.revocation);
        let heartbeat = self
            .directory
            .map(|directory| tokio::spawn(directory.run(self.chat.clone())));
        let served = http::serve::serve(self.listener, self.router, self.limits, shutdown).await;
        housekeeping.abort();
        revocation.abort();
        if let Some(heartbeat) = heartbeat {
            heartbeat.abort();
        }
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
