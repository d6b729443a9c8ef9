//! Command line and configuration: flags, each with a `PARLOR_*` environment variable.

use clap::{Args, Parser, Subcommand};
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use crate::domain::chat::InvitationConfig;
use crate::domain::limits::{RateLimits, ReplyLimits};
use crate::http::client_addr::TrustedProxies;
use crate::http::serve::ConnectionLimits;
use crate::socket::SocketLimits;
use crate::telemetry::logs::LogFormat;

#[derive(Parser, Debug)]
#[command(
    name = "parlor",
    version,
    about = "Self-hosted live chat in one binary"
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Serving options, for `parlor` without a subcommand.
    #[command(flatten)]
    pub serve: ServeConfig,
}

#[derive(Subcommand, Debug)]
// Parsed once at start: the size of a variant costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Run the server (the default).
    Serve(ServeConfig),
    /// Manage sites.
    #[command(subcommand)]
    Site(SiteCommand),
    /// Manage agents.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Invite agents by link.
    #[command(subcommand)]
    Invite(InviteCommand),
}

#[derive(Subcommand, Debug)]
pub enum InviteCommand {
    /// A one-time sign-up link for a new agent of the site; prints `{ url, role, expiresAt }`.
    Create {
        /// The site's key.
        #[arg(long)]
        site: String,
        #[arg(long, value_enum, default_value = "agent")]
        role: RoleArg,
        #[command(flatten)]
        links: Links,
        /// The server's address, the links' base when PARLOR_PUBLIC_URL is unset.
        #[arg(long, env = "PARLOR_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        #[command(flatten)]
        db: Database,
    },
}

/// Where uploaded files are kept.
#[derive(Args, Debug, Clone)]
pub struct Files {
    /// A local directory for uploaded files (default: `<database>-files` next to the SQLite
    /// database, `./parlor-files` on PostgreSQL).
    #[arg(long, env = "PARLOR_FILES_DIR")]
    pub files_dir: Option<std::path::PathBuf>,
    /// `s3://bucket/prefix`: S3-compatible object storage instead of a directory, configured by
    /// the standard `AWS_*` variables (`AWS_ENDPOINT` for MinIO, Ceph, R2, ...).
    #[arg(long, env = "PARLOR_FILES_URL")]
    pub files_url: Option<url::Url>,
}

#[derive(Args, Debug, Clone)]
pub struct Database {
    /// `sqlite://PATH` (or a plain path) or `postgres://...`.
    #[arg(
        long,
        env = "PARLOR_DATABASE_URL",
        default_value = "sqlite://parlor.db"
    )]
    pub database_url: String,
}

#[derive(Subcommand, Debug)]
pub enum SiteCommand {
    /// Create a site; prints `{ "id", "siteKey" }`.
    Create {
        #[arg(long)]
        name: String,
        /// An origin allowed to embed the widget (repeatable); none means any origin.
        #[arg(long = "allowed-origin")]
        allowed_origins: Vec<String>,
        /// Pre-chat form fields the widget asks for, comma-separated: name, email, phone.
        #[arg(long, value_delimiter = ',', default_value = "name,email")]
        prechat_fields: Vec<String>,
        /// A query parameter page URLs keep (repeatable; `utm_*` matches a prefix); the
        /// others are stripped.
        #[arg(long = "allowed-query-param")]
        allowed_query_params: Vec<String>,
        #[command(flatten)]
        db: Database,
    },
    /// List every site as a JSON array.
    List {
        #[command(flatten)]
        db: Database,
    },
    /// Print one site's settings as JSON.
    Show {
        /// The site's key.
        key: String,
        #[command(flatten)]
        db: Database,
    },
    /// Change a site's settings; what is not given stays as it is. Prints the site.
    Update {
        /// The site's key.
        key: String,
        #[arg(long)]
        name: Option<String>,
        /// An origin allowed to embed the widget (repeatable; replaces the list; `""` empties
        /// it, which allows any origin).
        #[arg(long = "allowed-origin")]
        allowed_origins: Option<Vec<String>>,
        /// Pre-chat form fields, comma-separated: name, email, phone (`""` for none).
        #[arg(long, value_delimiter = ',')]
        prechat_fields: Option<Vec<String>>,
        /// A query parameter page URLs keep (repeatable; replaces the list; `""` empties it).
        #[arg(long = "allowed-query-param")]
        allowed_query_params: Option<Vec<String>>,
        /// The site's own e-mail sender, `"Name <address>"` or an address, instead of
        /// PARLOR_MAIL_FROM (`""` goes back to it).
        #[arg(long)]
        mail_from: Option<String>,
        #[command(flatten)]
        db: Database,
    },
    /// Delete a site and all its data: conversations, messages, visitors, agents.
    Delete {
        /// The site's key.
        key: String,
        /// Do not ask for confirmation (required without a terminal).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        db: Database,
        #[command(flatten)]
        files: Files,
    },
}

/// An agent's role, as the command line takes it.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleArg {
    /// Also manages the team and the site's settings.
    Admin,
    /// Answers chats.
    Agent,
}

#[derive(Subcommand, Debug)]
pub enum AgentCommand {
    /// Create an agent; the password comes from PARLOR_PASSWORD or standard input.
    Create {
        /// The site's key.
        #[arg(long)]
        site: String,
        #[arg(long)]
        username: String,
        /// Display name shown to visitors.
        #[arg(long)]
        name: String,
        #[arg(long, value_enum, default_value = "agent")]
        role: RoleArg,
        /// Where offline messages are e-mailed.
        #[arg(long)]
        email: Option<String>,
        #[command(flatten)]
        db: Database,
    },
    /// Make an agent an admin of its site, or a plain agent (a site keeps at least one
    /// enabled admin).
    Role {
        #[arg(long)]
        username: String,
        #[arg(value_enum)]
        role: RoleArg,
        #[command(flatten)]
        db: Database,
    },
    /// Set an agent's password (PARLOR_PASSWORD or standard input); older tokens stop working.
    Password {
        #[arg(long)]
        username: String,
        #[command(flatten)]
        db: Database,
    },
    /// List a site's agents (deleted ones are not listed) as a JSON array.
    List {
        /// The site's key.
        #[arg(long)]
        site: String,
        #[command(flatten)]
        db: Database,
    },
    /// Disable an agent: no login, and its open connections close within 2 s (not the site's
    /// last enabled admin).
    Disable {
        #[arg(long)]
        username: String,
        #[command(flatten)]
        db: Database,
    },
    /// Enable a disabled agent again; it logs in anew.
    Enable {
        #[arg(long)]
        username: String,
        #[command(flatten)]
        db: Database,
    },
    /// Delete an agent for good; its messages stay and its username becomes free (not the
    /// site's last enabled admin).
    Delete {
        #[arg(long)]
        username: String,
        /// Do not ask for confirmation (required without a terminal).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        db: Database,
    },
}

#[derive(Args, Clone)]
pub struct ServeConfig {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "PARLOR_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub db: Database,
    #[command(flatten)]
    pub files: Files,
    /// Largest uploaded file in bytes; a larger one is refused with 413.
    #[arg(long, env = "PARLOR_UPLOAD_MAX_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub upload_max_bytes: u64,
    /// Content types an upload may have, comma-separated (sniffed from the bytes); unset: images,
    /// PDF, text, CSV, ZIP and the Office formats (docs/protocol.md, "Files").
    #[arg(long, env = "PARLOR_UPLOAD_TYPES", value_delimiter = ',')]
    pub upload_types: Vec<String>,
    /// How long the signed download paths in message payloads stay valid, in seconds.
    #[arg(long, env = "PARLOR_UPLOAD_URL_TTL_SECS", default_value_t = 600)]
    pub upload_url_ttl_secs: u32,
    /// Uploads per minute per visitor.
    #[arg(long, env = "PARLOR_RATE_UPLOADS", default_value_t = 10)]
    pub rate_uploads: u32,
    /// Redis URL joining several nodes into one cluster (unset: a single node).
    #[arg(long, env = "PARLOR_REDIS_URL")]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel, so several clusters can share one Redis.
    #[arg(long, env = "PARLOR_REDIS_PREFIX", default_value = "parlor")]
    pub redis_prefix: String,
    /// Cluster heartbeat period in milliseconds; a dead node's members go offline within 2 periods.
    #[arg(long, env = "PARLOR_CLUSTER_HEARTBEAT_MS", default_value_t = 2000)]
    pub cluster_heartbeat_ms: u64,
    /// HS256 secret for agent tokens, at least 32 bytes; generated and stored when unset.
    #[arg(long, env = "PARLOR_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Lifetime of an agent token, in seconds.
    #[arg(long, env = "PARLOR_JWT_TTL_SECS", default_value_t = 12 * 3600)]
    pub jwt_ttl_secs: i64,
    /// Days a visitor token stays valid without a connection; then the visitor starts anew.
    #[arg(long, env = "PARLOR_VISITOR_TOKEN_TTL_DAYS", default_value_t = 90)]
    pub visitor_token_ttl_days: u32,
    /// How often the server pings each Socket.IO connection, in milliseconds.
    #[arg(long, env = "PARLOR_PING_INTERVAL_MS", default_value_t = 25_000)]
    pub ping_interval_ms: u64,
    /// How long a ping may go unanswered before the connection is closed, in milliseconds.
    #[arg(long, env = "PARLOR_PING_TIMEOUT_MS", default_value_t = 20_000)]
    pub ping_timeout_ms: u64,
    /// How long a closed connection still counts as online, in milliseconds.
    #[arg(long, env = "PARLOR_PRESENCE_GRACE_MS", default_value_t = 5000)]
    pub presence_grace_ms: u64,
    /// New visitors per minute per IP address.
    #[arg(long, env = "PARLOR_RATE_NEW_VISITORS", default_value_t = 60)]
    pub rate_new_visitors: u32,
    /// Messages per minute per visitor.
    #[arg(long, env = "PARLOR_RATE_MESSAGES", default_value_t = 60)]
    pub rate_messages: u32,
    /// Profile updates and page reports per minute per visitor.
    #[arg(long, env = "PARLOR_RATE_PROFILE", default_value_t = 30)]
    pub rate_profile: u32,
    /// Failed logins per minute per (username, client address); a successful login clears that
    /// username's failures from that address.
    #[arg(long, env = "PARLOR_RATE_LOGIN", default_value_t = 10)]
    pub rate_login: u32,
    /// `sync` and `history` requests per minute per visitor.
    #[arg(long, env = "PARLOR_RATE_SYNC", default_value_t = 120)]
    pub rate_sync: u32,
    /// `read` markers per minute per visitor.
    #[arg(long, env = "PARLOR_RATE_READ", default_value_t = 120)]
    pub rate_read: u32,
    /// Connects and reconnects per minute per returning visitor.
    #[arg(long, env = "PARLOR_RATE_RECONNECTS", default_value_t = 60)]
    pub rate_reconnects: u32,
    /// Typing events per second per conversation that reach the agents; more are dropped.
    #[arg(long, env = "PARLOR_RATE_TYPING", default_value_t = 5)]
    pub rate_typing: u32,
    /// Open Socket.IO connections per visitor (all tabs) on one node.
    #[arg(long, env = "PARLOR_MAX_SOCKETS_PER_VISITOR", default_value_t = 10)]
    pub max_sockets_per_visitor: u32,
    /// Bytes queued for one connection before it is disconnected (a client that does not read).
    #[arg(long, env = "PARLOR_SOCKET_QUEUE_BYTES", default_value_t = 1024 * 1024)]
    pub socket_queue_bytes: usize,
    /// Largest `session`, `sync`, `history` or `list` reply in bytes; `hasMore` pages the rest.
    #[arg(long, env = "PARLOR_REPLY_MAX_BYTES", default_value_t = 256 * 1024)]
    pub reply_max_bytes: usize,
    /// Bytes of message pages being read and built at once, server-wide.
    #[arg(long, env = "PARLOR_REPLY_BUDGET_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub reply_budget_bytes: usize,
    /// Failed logins per minute per client address, across usernames (an office behind one
    /// NAT shares it).
    #[arg(long, env = "PARLOR_RATE_LOGIN_PER_ADDRESS", default_value_t = 30)]
    pub rate_login_per_address: u32,
    /// Transcripts e-mailed per conversation and hour (the visitor's and its agents' asks
    /// together).
    #[arg(long, env = "PARLOR_RATE_TRANSCRIPTS", default_value_t = 5)]
    pub rate_transcripts: u32,
    /// New Engine.IO sessions (Socket.IO connections) per minute per client address.
    #[arg(long, env = "PARLOR_RATE_HANDSHAKES", default_value_t = 600)]
    pub rate_handshakes: u32,
    /// Password checks that may run at once (each takes about 19 MiB); 0: one per CPU core.
    #[arg(long, env = "PARLOR_LOGIN_CONCURRENCY", default_value_t = 0)]
    pub login_concurrency: usize,
    /// How long a login waits for a password check slot before answering 503, in milliseconds.
    #[arg(long, env = "PARLOR_LOGIN_WAIT_MS", default_value_t = 5000)]
    pub login_wait_ms: u64,
    /// How long a client may take to send a request's headers, in milliseconds; also how long
    /// a keep-alive connection may wait for its next request.
    #[arg(long, env = "PARLOR_HTTP_HEADER_TIMEOUT_MS", default_value_t = 10_000)]
    pub http_header_timeout_ms: u64,
    /// A connection with no bytes in either direction for this long is closed, in milliseconds
    /// (until it becomes a WebSocket). Keep it above the ping interval: a long-poll waits that
    /// long for its answer.
    #[arg(long, env = "PARLOR_HTTP_IDLE_TIMEOUT_MS", default_value_t = 60_000)]
    pub http_idle_timeout_ms: u64,
    /// How long a request to the HTTP routes (login, health, assets) may take, body included,
    /// in milliseconds; over it: 408. Socket.IO requests are not bounded by it.
    #[arg(long, env = "PARLOR_HTTP_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    pub http_request_timeout_ms: u64,
    /// Largest request head (request line and headers) in bytes, at least 8192; over it: 431.
    #[arg(long, env = "PARLOR_HTTP_MAX_HEADER_BYTES", default_value_t = 16 * 1024)]
    pub http_max_header_bytes: usize,
    /// Largest request body of the HTTP routes in bytes; over it: 413. Socket.IO packets have
    /// their own limit.
    #[arg(long, env = "PARLOR_HTTP_MAX_BODY_BYTES", default_value_t = 16 * 1024)]
    pub http_max_body_bytes: usize,
    /// Open TCP connections per client address (IPv6: per /64); a connection over it is closed
    /// at once. Trusted proxies are exempt.
    #[arg(
        long,
        env = "PARLOR_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 500
    )]
    pub max_connections_per_address: usize,
    /// Reverse proxies whose `X-Forwarded-For` is believed: comma-separated CIDRs or addresses.
    #[arg(long, env = "PARLOR_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: TrustedProxies,
    /// Create a demo site and an `admin` agent when the database has no site yet. Unset: only
    /// when standard output is a terminal (an interactive first run); `false`: never.
    #[arg(long, env = "PARLOR_DEMO", action = clap::ArgAction::Set)]
    pub demo: Option<bool>,
    /// Address of a second listener that serves `GET /metrics` (Prometheus text format) and
    /// nothing else, e.g. 127.0.0.1:9100; port 0 picks a free port. Unset: no metrics. Keep it
    /// off the public network: the figures are for the operator.
    #[arg(long, env = "PARLOR_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// How logs are written to standard error: `text`, or `json` (one object per line).
    /// `RUST_LOG` picks what is logged (default `info`).
    #[arg(long, env = "PARLOR_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub links: Links,
    /// Outgoing e-mail, as lettre reads the URL: `smtp://user:pass@host:587?tls=required`,
    /// `smtps://user:pass@host`, or `smtp://host:port` for a local relay. Unset: no e-mail.
    /// Only from the environment: it holds a password.
    #[arg(skip = std::env::var("PARLOR_SMTP_URL").ok().filter(|u| !u.trim().is_empty()))]
    pub smtp_url: Option<String>,
    /// The sender of e-mail, e.g. `Acme Support <support@acme.example>` (a site's e-mail shows
    /// the site's name with this address).
    #[arg(
        long,
        env = "PARLOR_MAIL_FROM",
        default_value = "Parlor <parlor@localhost>"
    )]
    pub mail_from: String,
    /// Seconds an agent's message stays unread before the visitor (if it gave an address) is
    /// e-mailed it, with every other unread reply.
    #[arg(long, env = "PARLOR_MAIL_VISITOR_DELAY_SECS", default_value_t = 300)]
    pub mail_visitor_delay_secs: u64,
    /// Seconds a visitor's message that arrived while no agent was online stays unread before
    /// the site's agents are e-mailed it.
    #[arg(long, env = "PARLOR_MAIL_AGENT_DELAY_SECS", default_value_t = 60)]
    pub mail_agent_delay_secs: u64,
}

/// How the links Parlor hands out (invitations) are made.
#[derive(Args, Debug, Clone)]
pub struct Links {
    /// The absolute base URL of this service for links, e.g. https://chat.example.com. Unset:
    /// the dashboard's own origin (`invite create` on the command line: http://PARLOR_LISTEN).
    #[arg(long, env = "PARLOR_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Days an invitation link stays valid.
    #[arg(long, env = "PARLOR_INVITE_TTL_DAYS", default_value_t = 7)]
    pub invite_ttl_days: u32,
}

impl Links {
    pub fn invitations(&self) -> InvitationConfig {
        InvitationConfig {
            ttl: Duration::from_secs(u64::from(self.invite_ttl_days.max(1)) * 24 * 3600),
            public_url: self
                .public_url
                .as_deref()
                .map(|u| u.trim().trim_end_matches('/').to_owned())
                .filter(|u| !u.is_empty()),
        }
    }
}

impl ServeConfig {
    pub fn cluster_heartbeat(&self) -> Duration {
        Duration::from_millis(self.cluster_heartbeat_ms.max(100))
    }

    /// How the Socket.IO layer treats each connection: heartbeat and outgoing bound.
    pub fn socket_limits(&self) -> SocketLimits {
        SocketLimits {
            ping_interval: Duration::from_millis(self.ping_interval_ms.max(10)),
            ping_timeout: Duration::from_millis(self.ping_timeout_ms.max(10)),
            queue_bytes: self.socket_queue_bytes.max(64 * 1024),
        }
    }

    pub fn presence_grace(&self) -> Duration {
        Duration::from_millis(self.presence_grace_ms)
    }

    /// 0 counts as 1 day, like a rate limit's 0.
    pub fn visitor_token_ttl(&self) -> Duration {
        Duration::from_secs(u64::from(self.visitor_token_ttl_days.max(1)) * 24 * 3600)
    }

    pub fn rate_limits(&self) -> RateLimits {
        RateLimits {
            new_visitors_per_ip: self.rate_new_visitors,
            messages_per_visitor: self.rate_messages,
            profile_updates_per_visitor: self.rate_profile,
            logins: self.rate_login,
            syncs_per_visitor: self.rate_sync,
            reads_per_visitor: self.rate_read,
            reconnects_per_visitor: self.rate_reconnects,
            typing_per_second: self.rate_typing,
            login_failures_per_address: self.rate_login_per_address,
            transcripts_per_hour: self.rate_transcripts,
            uploads_per_visitor: self.rate_uploads,
        }
    }

    pub fn reply_limits(&self) -> ReplyLimits {
        ReplyLimits {
            max_bytes: self.reply_max_bytes.max(16 * 1024),
            budget_bytes: self.reply_budget_bytes,
        }
    }

    /// Password checks at once: as configured, or one per core.
    pub fn password_checks(&self) -> usize {
        match self.login_concurrency {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    pub fn password_wait(&self) -> Duration {
        Duration::from_millis(self.login_wait_ms)
    }

    pub fn http_request_timeout(&self) -> Duration {
        Duration::from_millis(self.http_request_timeout_ms.max(1))
    }

    pub fn connection_limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            header_timeout: Duration::from_millis(self.http_header_timeout_ms.max(1)),
            idle_timeout: Duration::from_millis(self.http_idle_timeout_ms.max(1)),
            max_header_bytes: self.http_max_header_bytes,
            max_connections_per_address: self.max_connections_per_address,
            trusted_proxies: self.trusted_proxies.clone(),
        }
    }
}

/// Secrets are redacted, so the config can be logged.
impl fmt::Debug for ServeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServeConfig")
            .field("listen", &self.listen)
            .field("database_url", &redact_url(&self.db.database_url))
            .field("files", &self.files)
            .field("upload_max_bytes", &self.upload_max_bytes)
            .field("upload_types", &self.upload_types)
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("redis_prefix", &self.redis_prefix)
            .field("cluster_heartbeat_ms", &self.cluster_heartbeat_ms)
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("jwt_ttl_secs", &self.jwt_ttl_secs)
            .field("visitor_token_ttl_days", &self.visitor_token_ttl_days)
            .field("ping_interval_ms", &self.ping_interval_ms)
            .field("ping_timeout_ms", &self.ping_timeout_ms)
            .field("presence_grace_ms", &self.presence_grace_ms)
            .field("rate_limits", &self.rate_limits())
            .field("max_sockets_per_visitor", &self.max_sockets_per_visitor)
            .field("socket_queue_bytes", &self.socket_queue_bytes)
            .field("reply_limits", &self.reply_limits())
            .field("rate_handshakes", &self.rate_handshakes)
            .field("password_checks", &self.password_checks())
            .field("login_wait_ms", &self.login_wait_ms)
            .field("http_header_timeout_ms", &self.http_header_timeout_ms)
            .field("http_idle_timeout_ms", &self.http_idle_timeout_ms)
            .field("http_request_timeout_ms", &self.http_request_timeout_ms)
            .field("http_max_header_bytes", &self.http_max_header_bytes)
            .field("http_max_body_bytes", &self.http_max_body_bytes)
            .field(
                "max_connections_per_address",
                &self.max_connections_per_address,
            )
            .field("trusted_proxies", &self.trusted_proxies.to_string())
            .field("demo", &self.demo)
            .field("metrics_listen", &self.metrics_listen)
            .field("log_format", &self.log_format)
            .field("links", &self.links)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("mail_from", &self.mail_from)
            .field("mail_visitor_delay_secs", &self.mail_visitor_delay_secs)
            .field("mail_agent_delay_secs", &self.mail_agent_delay_secs)
            .finish()
    }
}

/// Query parameters whose value is hidden when their name contains one of these.
const SECRET_PARAMS: [&str; 3] = ["password", "token", "secret"];

/// A URL fit for a log: user info (`scheme://user:password@`) and the values of query
/// parameters named like a secret (`?password=`, `?auth_token=`, `?sslsecret=`) are redacted.
pub fn redact_url(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let mut out = match head.find("://") {
        Some(scheme_end) => {
            let rest = &head[scheme_end + 3..];
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => format!("{}<redacted>{}", &head[..scheme_end + 3], &rest[at..]),
                None => head.to_owned(),
            }
        }
        None => head.to_owned(),
    };
    if let Some(query) = query {
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((name, _)) if is_secret_param(name) => {
                    out.push_str(name);
                    out.push_str("=<redacted>");
                }
                _ => out.push_str(pair),
            }
        }
    }
    out
}

fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_PARAMS.iter().any(|secret| name.contains(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_in_urls_is_redacted() {
        assert_eq!(
            redact_url("postgres://parlor:hunter2@db:5432/parlor"),
            "postgres://<redacted>@db:5432/parlor"
        );
        // A token as the user name (Redis, some hosted databases) is a secret too.
        assert_eq!(
            redact_url("redis://s3cr3t-token@cache:6379/0"),
            "redis://<redacted>@cache:6379/0"
        );
        assert_eq!(
            redact_url("rediss://:p@ss@cache:6380"),
            "rediss://<redacted>@cache:6380"
        );
        assert_eq!(redact_url("sqlite://parlor.db"), "sqlite://parlor.db");
        assert_eq!(
            redact_url("sqlite:///var/lib/parlor/a@b.db"),
            "sqlite:///var/lib/parlor/a@b.db"
        );
    }

    #[test]
    fn secret_query_parameters_are_redacted() {
        assert_eq!(
            redact_url("postgres://db/parlor?user=p&password=hunter2&sslmode=require"),
            "postgres://db/parlor?user=p&password=<redacted>&sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://u:x@db/p?sslmode=verify-full&Auth_Token=abc&client_secret=z"),
            "postgres://<redacted>@db/p?sslmode=verify-full&Auth_Token=<redacted>&client_secret=<redacted>"
        );
        assert_eq!(
            redact_url("sqlite://parlor.db?synchronous=full"),
            "sqlite://parlor.db?synchronous=full"
        );
    }

    #[test]
    fn demo_is_unset_by_default_and_settable() {
        assert_eq!(Cli::parse_from(["parlor"]).serve.demo, None);
        let cli = Cli::parse_from(["parlor", "--demo", "false"]);
        assert_eq!(cli.serve.demo, Some(false));
    }

    #[test]
    fn trusted_proxies_are_parsed_from_the_command_line() {
        let cli = Cli::parse_from(["parlor", "--trusted-proxies", "10.0.0.0/8,::1"]);
        assert!(cli
            .serve
            .trusted_proxies
            .contains("10.2.3.4".parse().unwrap()));
        assert!(Cli::parse_from(["parlor"]).serve.trusted_proxies.is_empty());
        assert!(Cli::try_parse_from(["parlor", "--trusted-proxies", "nope"]).is_err());
    }

    #[test]
    fn no_subcommand_means_serve_with_defaults() {
        let cli = Cli::parse_from(["parlor"]);
        assert!(cli.command.is_none());
        assert_eq!(cli.serve.presence_grace_ms, 5000);
    }

    #[test]
    fn agent_administration_parses() {
        let cli = Cli::parse_from(["parlor", "agent", "delete", "--username", "ann", "--yes"]);
        assert!(matches!(
            cli.command,
            Some(Command::Agent(AgentCommand::Delete { yes: true, .. }))
        ));
        let cli = Cli::parse_from(["parlor", "agent", "delete", "--username", "ann"]);
        assert!(matches!(
            cli.command,
            Some(Command::Agent(AgentCommand::Delete { yes: false, .. }))
        ));
        let cli = Cli::parse_from([
            "parlor",
            "site",
            "create",
            "--name",
            "A",
            "--allowed-query-param",
            "utm_*",
            "--allowed-query-param",
            "ref",
        ]);
        match cli.command {
            Some(Command::Site(SiteCommand::Create {
                allowed_query_params,
                ..
            })) => assert_eq!(allowed_query_params, ["utm_*", "ref"]),
            other => panic!("parsed as {other:?}"),
        }
        assert_eq!(Cli::parse_from(["parlor"]).serve.visitor_token_ttl_days, 90);
    }

    #[test]
    fn metrics_are_off_and_logs_are_text_by_default() {
        let serve = Cli::parse_from(["parlor"]).serve;
        assert_eq!(serve.metrics_listen, None);
        assert_eq!(serve.log_format, LogFormat::Text);
        let cli = Cli::parse_from([
            "parlor",
            "--metrics-listen",
            "127.0.0.1:9100",
            "--log-format",
            "json",
        ]);
        assert_eq!(
            cli.serve.metrics_listen,
            Some("127.0.0.1:9100".parse().unwrap())
        );
        assert_eq!(cli.serve.log_format, LogFormat::Json);
        assert!(Cli::try_parse_from(["parlor", "--log-format", "yaml"]).is_err());
    }

    #[test]
    fn jwt_secret_is_redacted_in_debug() {
        let mut cli = Cli::parse_from(["parlor"]);
        cli.serve.jwt_secret = Some("top-secret-value".into());
        assert!(!format!("{:?}", cli.serve).contains("top-secret-value"));
    }
}
