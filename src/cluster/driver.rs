//! A pub/sub driver for socketioxide-redis over redis-rs's `ConnectionManager`.
//!
//! socketioxide-redis's own driver sits on a `MultiplexedConnection`, which never reconnects:
//! after a Redis restart a node would stay cut off from the cluster. The connection manager
//! reconnects by itself and resubscribes every channel, so cross-node delivery resumes when
//! Redis returns. Otherwise this follows the library's driver.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, FromRedisValue, PushInfo, PushKind};
use socketioxide_redis::drivers::{ChanItem, Driver, MessageStream};
use tokio::sync::mpsc;

/// How often an idle subscriber checks that its connection is alive.
const KEEPALIVE: Duration = Duration::from_secs(1);

type Handlers = Arc<RwLock<HashMap<String, mpsc::Sender<ChanItem>>>>;

#[derive(Clone)]
pub struct ManagedDriver {
    handlers: Handlers,
    conn: ConnectionManager,
}

impl ManagedDriver {
    pub async fn connect(client: &redis::Client, timeout: Duration) -> redis::RedisResult<Self> {
        let handlers: Handlers = Arc::default();
        let (push_tx, mut push_rx) = mpsc::unbounded_channel::<PushInfo>();
        let config = ConnectionManagerConfig::new()
            .set_push_sender(push_tx)
            .set_automatic_resubscription()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_max_delay(Duration::from_secs(2));
        let conn = ConnectionManager::new_with_config(client.clone(), config).await?;
        let routes = handlers.clone();
        tokio::spawn(async move {
            while let Some(push) = push_rx.recv().await {
                route(push, &routes);
            }
        });
        // The manager reconnects (and resubscribes) only when a command fails; a node that
        // only listens would never notice a Redis restart, so keep a command flowing.
        let mut keepalive = conn.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(KEEPALIVE);
            loop {
                tick.tick().await;
                let _ = redis::cmd("PING").query_async::<()>(&mut keepalive).await;
            }
        });
        Ok(ManagedDriver { handlers, conn })
    }
}

/// Hands a pub/sub message to its channel's subscriber. A full subscriber buffer drops the
/// message (the library's behaviour too); clients heal a lost message with `sync`.
fn route(push: PushInfo, handlers: &Handlers) {
    if !matches!(push.kind, PushKind::Message | PushKind::SMessage) || push.data.len() < 2 {
        return;
    }
    let mut data = push.data.into_iter();
    let (Some(chan), Some(payload)) = (data.next(), data.next()) else {
        return;
    };
    let (Ok(chan), Ok(payload)) = (
        String::from_redis_value(chan),
        Vec::<u8>::from_redis_value(payload),
    ) else {
        tracing::warn!("undecodable pub/sub message");
        return;
    };
    let handlers = handlers.read().unwrap_or_else(|p| p.into_inner());
    if let Some(tx) = handlers.get(&chan) {
        if tx.try_send((chan, payload)).is_err() {
            tracing::warn!("cluster pub/sub buffer full: a cross-node event was dropped");
        }
    }
}

impl Driver for ManagedDriver {
    type Error = redis::RedisError;

    async fn publish(&self, chan: String, val: Vec<u8>) -> Result<(), Self::Error> {
        self.conn
            .clone()
            .publish::<_, _, redis::Value>(chan, val)
            .await?;
        Ok(())
    }

    async fn subscribe(
        &self,
        chan: String,
        size: usize,
    ) -> Result<MessageStream<ChanItem>, Self::Error> {
        let (tx, rx) = mpsc::channel(size);
        self.handlers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(chan.clone(), tx);
        self.conn.clone().subscribe(chan).await?;
        Ok(MessageStream::new(rx))
    }

    async fn unsubscribe(&self, chan: String) -> Result<(), Self::Error> {
        self.handlers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&chan);
        self.conn.clone().unsubscribe(chan).await?;
        Ok(())
    }

    async fn num_serv(&self, chan: &str) -> Result<u16, Self::Error> {
        let (_, count): (String, u16) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(chan)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(count)
    }
}
