//! Several nodes as one: the Socket.IO Redis adapter for cross-node delivery, and presence
//! shared through Redis ([`directory`]).

mod directory;
mod driver;

use std::time::Duration;

use redis::{IntoConnectionInfo, ProtocolVersion};
use socketioxide_redis::{CustomRedisAdapter, RedisAdapterConfig, RedisAdapterCtr};

pub use directory::RedisDirectory;
pub use driver::ManagedDriver;

/// The Socket.IO adapter type of a clustered node.
pub type ClusterAdapter<E> = CustomRedisAdapter<E, ManagedDriver>;

/// How long one Redis command may take before it counts as failed.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);

/// Incoming cross-node events buffered per namespace before they are dropped (the library's
/// default is 1024).
const PUBSUB_BUFFER: usize = 65_536;

pub struct Connected {
    pub adapter: RedisAdapterCtr<ManagedDriver>,
    pub directory: RedisDirectory,
}

/// Connects to Redis (RESP3, needed for pub/sub on one multiplexed connection).
pub async fn connect(
    url: &str,
    prefix: &str,
    node_id: String,
    heartbeat: Duration,
) -> redis::RedisResult<Connected> {
    let info = url.into_connection_info()?;
    let resp3 = info
        .redis_settings()
        .clone()
        .set_protocol(ProtocolVersion::RESP3);
    let client = redis::Client::open(info.set_redis_settings(resp3))?;
    let driver = ManagedDriver::connect(&client, REDIS_TIMEOUT).await?;
    let config = RedisAdapterConfig::new()
        .with_prefix(format!("{prefix}-socket.io"))
        .with_stream_buffer(PUBSUB_BUFFER)
        .with_request_timeout(Duration::from_secs(2));
    let conn = redis::aio::ConnectionManager::new_with_config(
        client,
        redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_max_delay(Duration::from_secs(2)),
    )
    .await?;
    Ok(Connected {
        adapter: RedisAdapterCtr::new_with_driver(driver, config),
        directory: RedisDirectory::new(conn, prefix, node_id, heartbeat),
    })
}
