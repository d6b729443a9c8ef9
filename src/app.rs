//! [`App`]: everything wired together and bound to a port, ready to run until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderValue, Method};
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use socketioxide::adapter::{Adapter, Emitter, LocalAdapter};
use socketioxide_core::adapter::DefinedAdapter;

use crate::cluster::{self, ClusterAdapter, RedisDirectory};
use crate::config::ServeConfig;
use crate::domain::auth::{random_token, JwtKeys};
use crate::domain::cluster::{Cluster, SingleNode};
use crate::domain::files::FilesError;
use crate::domain::mail::{self, MailConfig, Mailer};
use crate::domain::model::now_millis;
use crate::domain::store::{Store, StoreError};
use crate::domain::uploads::{
    UploadConfig, CONVERSATION_UPLOAD_QUOTA, DEFAULT_ALLOWED_TYPES, UPLOADS_AT_ONCE_PER_VISITOR,
};
use crate::domain::{Chat, ChatConfig};
use crate::http::edge::{self, Edge};
use crate::http::serve::ConnectionLimits;
use crate::mail::smtp::{SmtpConfigError, SmtpMailer};
use crate::socket::events::SocketEvents;
use crate::store;
use crate::telemetry::{logs, prometheus};
use crate::{files, http, socket};

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
    #[error(transparent)]
    Mail(#[from] SmtpConfigError),
    #[error(transparent)]
    Files(#[from] FilesError),
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
    /// `GET /metrics` on a listener of its own, when `PARLOR_METRICS_LISTEN` is set.
    metrics: Option<Metrics>,
    /// Sends the e-mail outbox, when `PARLOR_SMTP_URL` is set.
    mailer: Option<Arc<dyn Mailer>>,
}

/// The metrics listener and what it serves.
struct Metrics {
    listener: TcpListener,
    router: Router,
    recorder: PrometheusHandle,
}

/// How often the recorder folds recorded histogram samples into its buckets, so that they do not
/// pile up between scrapes (or without any).
const METRICS_UPKEEP: Duration = Duration::from_secs(5);

/// A background loop over this node's sockets, whatever the adapter.
type Sweep = Pin<Box<dyn Future<Output = ()> + Send>>;

impl App {
    /// Opens the store, builds the service and binds the listener (port 0 picks a free one).
    pub async fn build(config: &ServeConfig) -> Result<App, StartError> {
        // Before anything records: without a recorder, recording does nothing.
        let recorder = config.metrics_listen.map(|_| prometheus::recorder());
        let store = store::open(&config.db.database_url).await?;
        let secret = jwt_secret(store.as_ref(), config.jwt_secret.as_deref()).await?;
        let jwt = JwtKeys::new(secret.as_bytes(), config.jwt_ttl_secs);
        let mailer = config
            .smtp_url
            .as_deref()
            .map(|url| SmtpMailer::new(url, &config.mail_from))
            .transpose()?
            .map(Arc::new);
        let storage = files::open(&config.files, &config.db.database_url)?;
        // Bound first: with port 0, links in e-mails need the port it picked.
        let listener = bind(config.listen).await?;
        let base_url = match config.links.invitations().public_url {
            Some(url) => url,
            None => {
                if mailer.is_some() {
                    tracing::warn!(
                        "PARLOR_PUBLIC_URL is unset: links in e-mails point at the listen address"
                    );
                }
                let addr = listener.local_addr().map_err(|source| StartError::Bind {
                    addr: config.listen,
                    source,
                })?;
                format!("http://{addr}")
            }
        };
        let chat_config = ChatConfig {
            presence_grace: config.presence_grace(),
            rate_limits: config.rate_limits(),
            reply_limits: config.reply_limits(),
            max_sockets_per_visitor: config.max_sockets_per_visitor,
            visitor_token_ttl: config.visitor_token_ttl(),
            password_checks: config.password_checks(),
            password_wait: config.password_wait(),
            invitations: config.links.invitations(),
            mail: mailer.as_ref().map(|m| MailConfig {
                domain: m.domain(),
                base_url: base_url.clone(),
                visitor_delay: Duration::from_secs(config.mail_visitor_delay_secs),
                agent_delay: Duration::from_secs(config.mail_agent_delay_secs),
            }),
            uploads: UploadConfig {
                storage,
                max_bytes: config.upload_max_bytes,
                allowed_types: if config.upload_types.is_empty() {
                    DEFAULT_ALLOWED_TYPES
                        .iter()
                        .map(|t| (*t).to_owned())
                        .collect()
                } else {
                    config
                        .upload_types
                        .iter()
                        .map(|t| t.trim().to_owned())
                        .collect()
                },
                conversation_quota: CONVERSATION_UPLOAD_QUOTA,
                at_once_per_visitor: UPLOADS_AT_ONCE_PER_VISITOR,
                signed_path_ttl_secs: i64::from(config.upload_url_ttl_secs.max(1)),
            },
        };
        let (router, chat, directory, revocation, sockets) = match &config.redis_url {
            None => {
                let (router, chat, revocation, _, sockets) =
                    wire::<LocalAdapter>(store, Arc::new(SingleNode), (), jwt, chat_config, config);
                metrics::gauge!("parlor_cluster_nodes").set(1.0);
                (router, chat, None, revocation, sockets)
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
                let (router, chat, revocation, inits, sockets) = wire::<ClusterAdapter<Emitter>>(
                    store,
                    directory.clone(),
                    connected.adapter,
                    jwt,
                    chat_config,
                    config,
                );
                for init in inits {
                    init.await.map_err(|e| StartError::Redis(e.to_string()))?;
                }
                tracing::info!(node_id, "joined the cluster");
                (router, chat, Some(directory), revocation, sockets)
            }
        };
        let edge = Arc::new(Edge::new(
            config.trusted_proxies.clone(),
            config.rate_handshakes,
        ));
        // The widget runs on customers' pages: its long-polling requests and the script itself
        // are cross-origin, and so are its uploads and downloads. Which origins may open a
        // visitor connection is checked per site at the handshake. Nothing else is: a foreign
        // page must not read a login's answer.
        let cors = CorsLayer::new()
            .allow_origin(AllowOrigin::predicate(|_, req| {
                let path = req.uri.path();
                path.starts_with("/socket.io/")
                    || path == "/widget.js"
                    || path.starts_with("/api/uploads")
            }))
            .allow_methods([Method::GET, Method::POST])
            // Mirrored rather than `*`: a wildcard does not cover `Authorization`, which an
            // upload sends (its bearer is a header, never a cookie).
            .allow_headers(AllowHeaders::mirror_request());
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
            ))
            .layer(axum::middleware::from_fn(logs::request_span));
        if config.http_idle_timeout_ms <= config.ping_interval_ms {
            tracing::warn!(
                "PARLOR_HTTP_IDLE_TIMEOUT_MS is not above PARLOR_PING_INTERVAL_MS: \
                 long-polling clients will be cut off while they wait for a ping"
            );
        }
        let metrics = match (config.metrics_listen, recorder) {
            (Some(addr), Some(recorder)) => Some(Metrics {
                listener: bind(addr).await?,
                router: prometheus::router(recorder.clone(), vec![sockets]),
                recorder,
            }),
            _ => None,
        };
        Ok(App {
            listener,
            router,
            chat,
            edge,
            limits: config.connection_limits(),
            directory,
            revocation,
            metrics,
            mailer: mailer.map(|m| m as Arc<dyn Mailer>),
        })
    }

    pub fn addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where `/metrics` is served, when it is.
    pub fn metrics_addr(&self) -> std::io::Result<Option<SocketAddr>> {
        self.metrics
            .as_ref()
            .map(|m| m.listener.local_addr())
            .transpose()
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
                if let Err(e) = chat.sweep_unsent_uploads(now_millis()).await {
                    tracing::warn!(error = %e, "could not delete unsent uploads");
                }
            }
        });
        let revocation = tokio::spawn(self.revocation);
        let mail = self.mailer.map(|mailer| {
            (
                tokio::spawn(mail::deliver(
                    self.chat.store().clone(),
                    mailer,
                    self.chat.mail_wake(),
                )),
                tokio::spawn(mail::schedule(self.chat.clone())),
            )
        });
        let heartbeat = self
            .directory
            .map(|directory| tokio::spawn(directory.run(self.chat.clone())));
        let metrics = self.metrics.map(|m| {
            let upkeep = tokio::spawn(async move {
                let mut every = tokio::time::interval(METRICS_UPKEEP);
                loop {
                    every.tick().await;
                    m.recorder.run_upkeep();
                }
            });
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            // The same accept loop and bounds as the public listener.
            let served = tokio::spawn(http::serve::serve(
                m.listener,
                m.router,
                self.limits.clone(),
                async {
                    let _ = stopped.await;
                },
            ));
            (upkeep, stop, served)
        });
        let served = http::serve::serve(self.listener, self.router, self.limits, shutdown).await;
        if let Some((upkeep, stop, metrics_served)) = metrics {
            upkeep.abort();
            let _ = stop.send(());
            let _ = metrics_served.await;
        }
        housekeeping.abort();
        revocation.abort();
        if let Some((deliver, schedule)) = mail {
            deliver.abort();
            schedule.abort();
        }
        if let Some(heartbeat) = heartbeat {
            heartbeat.abort();
        }
        served
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}

/// The service over Socket.IO adapter `A` (local on one node, Redis in a cluster): the chat
/// service, the routes with the Socket.IO layer, the revocation sweep over this node's sockets,
/// the adapter's initialisations for the caller to await, and the count of this node's sockets
/// for `/metrics`.
fn wire<A: Adapter + DefinedAdapter>(
    store: Arc<dyn Store>,
    cluster: Arc<dyn Cluster>,
    adapter: A::State,
    jwt: JwtKeys,
    chat_config: ChatConfig,
    config: &ServeConfig,
) -> (
    Router,
    Arc<Chat>,
    Sweep,
    [A::InitRes; 2],
    prometheus::Collect,
) {
    let events = Arc::new(SocketEvents::<A>::default());
    let chat = Chat::new(store, events.clone(), cluster, jwt, chat_config);
    let (layer, io, inits) = socket::layer::<A>(chat.clone(), adapter, config.socket_limits());
    let revocation = Box::pin(socket::revocation::sweep(io.clone(), chat.clone()));
    let sockets = socket::count_sockets(io.clone());
    events.bind(io);
    let router = http::router(
        chat.clone(),
        config.http_max_body_bytes,
        config.http_request_timeout(),
        config.upload_max_bytes,
    )
    .layer(layer);
    (router, chat, revocation, inits, sockets)
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
