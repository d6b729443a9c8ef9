//! A pub/sub driver for socketioxide-redis over redis-rs's `ConnectionManager`.
//!
//! socketioxide-redis's own driver sits on a `MultiplexedConnection`, which never reconnects:
//! after a Redis restart a node would stay cut off from the cluster. The connection manager
//! reconnects by itself and resubscribes every channel, so cross-node delivery resumes when
//! Redis returns.
//!
//! Publishing never waits for Redis. socketioxide-redis publishes a broadcast before it
//! delivers it to this node's own sockets, and gives up on both when the publish fails: with
//! Redis gone, every same-node event waited for a timeout. Here a publish is queued and
//! answered at once; one task sends the queue in order, retrying the head until Redis takes
//! it, so what was sent during a short outage reaches the other nodes when Redis returns (in
//! order, late). Past [`PUBLISH_QUEUE`] waiting publishes the newest are dropped and counted;
//! clients on other nodes heal by `sync` when the next message shows a gap in `seq`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, FromRedisValue, PushInfo, PushKind};
use socketioxide_redis::drivers::{ChanItem, Driver, MessageStream};
use tokio::sync::mpsc;

/// How often an idle subscriber checks that its connection is alive: a Redis restart is
/// noticed (and every channel subscribed again) within this, plus one reconnect delay.
const KEEPALIVE: Duration = Duration::from_millis(250);

/// The longest wait between two reconnect attempts: cross-node delivery resumes within
/// KEEPALIVE + this of Redis returning (the bound in docs/deploy.md is 2 s).
const RECONNECT_DELAY_MAX: Duration = Duration::from_millis(500);

/// Publishes waiting for Redis, in messages.
const PUBLISH_QUEUE: usize = 65_536;

/// How long the publisher waits before trying a failed publish again.
const PUBLISH_RETRY: Duration = Duration::from_millis(200);

/// How long, after Redis returns, held publishes wait for the other nodes to subscribe again
/// (their keepalive notices the restart within a second, then they resubscribe).
const RESUBSCRIBE_WAIT: Duration = Duration::from_secs(3);

type Handlers = Arc<RwLock<HashMap<String, mpsc::Sender<ChanItem>>>>;

#[derive(Clone)]
pub struct ManagedDriver {
    handlers: Handlers,
    conn: ConnectionManager,
    outbox: mpsc::Sender<ChanItem>,
    /// Set while publishes are being dropped, so that a long outage logs once.
    dropping: Arc<AtomicBool>,
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
            .set_max_delay(RECONNECT_DELAY_MAX);
        let conn = ConnectionManager::new_with_config(client.clone(), config).await?;
        let routes = handlers.clone();
        let disconnections = Arc::new(AtomicU64::new(0));
        let counted = disconnections.clone();
        tokio::spawn(async move {
            while let Some(push) = push_rx.recv().await {
                if push.kind == PushKind::Disconnection {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
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
        let (outbox, queued) = mpsc::channel(PUBLISH_QUEUE);
        tokio::spawn(publish_in_order(conn.clone(), queued, disconnections));
        Ok(ManagedDriver {
            handlers,
            conn,
            outbox,
            dropping: Arc::default(),
        })
    }
}

/// Sends queued publishes one at a time, in order; a failed one is tried again until Redis
/// takes it.
///
/// Redis keeps no pub/sub message for a subscriber that is not there: after an outage the
/// other nodes must have subscribed again before the held messages go out, or the first ones
/// reach nobody. So after a failed publish, and after the connection was lost (a publish
/// issued while the connection manager reconnects waits for it and then succeeds, with no
/// error to tell), the publisher waits (at most [`RESUBSCRIBE_WAIT`]) until the channel has as
/// many subscribers as its last publish before reached.
async fn publish_in_order(
    mut conn: ConnectionManager,
    mut queued: mpsc::Receiver<ChanItem>,
    disconnections: Arc<AtomicU64>,
) {
    let mut receivers: HashMap<String, i64> = HashMap::new();
    let mut connection_seen = disconnections.load(Ordering::Relaxed);
    while let Some((chan, payload)) = queued.recv().await {
        let mut failures = 0u32;
        loop {
            let connection = disconnections.load(Ordering::Relaxed);
            if failures > 0 || connection != connection_seen {
                let expected = receivers.get(&chan).copied().unwrap_or(0);
                wait_for_subscribers(&mut conn, &chan, expected).await;
            }
            match conn.publish::<_, _, i64>(&chan, &payload).await {
                Ok(reached) => {
                    if failures == 0 || reached >= receivers.get(&chan).copied().unwrap_or(0) {
                        receivers.insert(chan.clone(), reached);
                    }
                    connection_seen = connection;
                    break;
                }
                Err(e) => {
                    if failures == 0 {
                        tracing::warn!(error = %e, waiting = queued.len(), "cluster publish failed; holding cross-node events until Redis answers");
                    }
                    failures += 1;
                    tokio::time::sleep(PUBLISH_RETRY).await;
                }
            }
        }
        if failures > 0 {
            tracing::info!(failures, "cluster publish resumed");
        }
    }
}

/// Waits until `chan` has at least `expected` subscribers, or until [`RESUBSCRIBE_WAIT`] has
/// passed since Redis first answered. While Redis does not answer it returns at once (the
/// publish fails and is retried): a wait that counted from before Redis returned could end
/// just after it did, before the other nodes subscribed again, and the first held messages
/// would reach nobody.
async fn wait_for_subscribers(conn: &mut ConnectionManager, chan: &str, expected: i64) {
    let mut deadline = None;
    loop {
        let count: redis::RedisResult<(String, i64)> = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(chan)
            .query_async(conn)
            .await;
        match count {
            Ok((_, n)) if n >= expected => return,
            Ok(_) => {
                let now = tokio::time::Instant::now();
                if now >= *deadline.get_or_insert(now + RESUBSCRIBE_WAIT) {
                    return;
                }
            }
            Err(_) => return,
        }
        tokio::time::sleep(PUBLISH_RETRY / 2).await;
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

    /// Queued, never awaited: see the module's documentation.
    async fn publish(&self, chan: String, val: Vec<u8>) -> Result<(), Self::Error> {
        if self.outbox.try_send((chan, val)).is_err() {
            metrics::counter!("parlor_cluster_publish_dropped_total").increment(1);
            if !self.dropping.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "cluster publish queue full: cross-node events are dropped until Redis answers"
                );
            }
        } else {
            self.dropping.store(false, Ordering::Relaxed);
        }
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
