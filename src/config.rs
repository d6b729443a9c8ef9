//! Command line and configuration: flags, each with a `PARLOR_*` environment variable.

use clap::{Args, Parser, Subcommand};
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use crate::domain::limits::{RateLimits, ReplyLimits};
use crate::socket::SocketLimits;

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
pub enum Command {
    /// Run the server (the default).
    Serve(ServeConfig),
    /// Manage sites.
    #[command(subcommand)]
    Site(SiteCommand),
    /// Manage agents.
    #[command(subcommand)]
    Agent(AgentCommand),
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
    /// Disable an agent: no login, and its open connections close within 2 s.
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
    /// Delete an agent for good; its messages stay and its username becomes free.
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
    /// Redis URL joining several nodes into one cluster (unset: a single node).
    #[arg(long, env = "PARLOR_REDIS_URL")]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel, so several clusters can share one Redis.
    #[arg(long, env = "PARLOR_REDIS_PREFIX", default_value = "parlor")]
    pub redis_prefix: String,
    /// Cluster heartbeat period in milliseconds; a node silent for 3 periods counts as dead.
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
    /// Login attempts per minute, per IP address and per username.
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
    /// Create a demo site and an `admin` agent when the database has no site yet.
    #[arg(long, env = "PARLOR_DEMO", default_value_t = true, action = clap::ArgAction::Set)]
    pub demo: bool,
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
        }
    }

    pub fn reply_limits(&self) -> ReplyLimits {
        ReplyLimits {
            max_bytes: self.reply_max_bytes.max(16 * 1024),
            budget_bytes: self.reply_budget_bytes,
        }
    }
}

/// Secrets are redacted, so the config can be logged.
impl fmt::Debug for ServeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServeConfig")
            .field("listen", &self.listen)
            .field("database_url", &redact_url(&self.db.database_url))
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
            .field("demo", &self.demo)
            .finish()
    }
}

/// Hides a password in `scheme://user:password@host`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => {
                    format!("{}{user}:<redacted>{}", &url[..scheme_end + 3], &url[at..])
                }
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://parlor:hunter2@db:5432/parlor"),
            "postgres://parlor:<redacted>@db:5432/parlor"
        );
        assert_eq!(redact_url("sqlite://parlor.db"), "sqlite://parlor.db");
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
    fn jwt_secret_is_redacted_in_debug() {
        let mut cli = Cli::parse_from(["parlor"]);
        cli.serve.jwt_secret = Some("top-secret-value".into());
        assert!(!format!("{:?}", cli.serve).contains("top-secret-value"));
    }
}
