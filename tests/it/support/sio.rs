//! A small Socket.IO v5 (Engine.IO 4) client over a WebSocket: enough of the protocol for the
//! tests, strict about what it does parse. Text frames only (Parlor sends no binary):
//! Engine.IO `0` open, `2` ping (answered `3`), `1` close; Socket.IO `40/ns,{..}` connect,
//! `44/ns,{message}` connect error, `42/ns,[name, data]` event, `42/ns,ID[..]` event with an
//! ack id, `43/ns,ID[..]` ack, `41/ns,` disconnect.
//!
//! Every event is recorded from the moment the namespace is joined, so `next` never misses one
//! that arrived before the test asked for it.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio_tungstenite::tungstenite::Message as Frame;

/// How long a test waits for an answer or an event before it fails.
pub const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Inbox {
    events: VecDeque<(String, Value)>,
    /// The server closed the namespace or the connection.
    closed: bool,
}

struct Shared {
    inbox: Mutex<Inbox>,
    arrived: Notify,
    acks: Mutex<HashMap<u64, oneshot::Sender<Value>>>,
}

pub struct SioClient {
    ns: String,
    /// Frames for the writer task.
    out: mpsc::UnboundedSender<String>,
    shared: Arc<Shared>,
    next_ack: AtomicU64,
    tasks: [tokio::task::JoinHandle<()>; 2],
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `text` minus the Socket.IO packet type and namespace prefix (`4<kind>/ns,`), if it is a
/// packet of `kind` in `ns`.
fn packet<'a>(text: &'a str, kind: char, ns: &str) -> Option<&'a str> {
    text.strip_prefix('4')?
        .strip_prefix(kind)?
        .strip_prefix(ns)?
        .strip_prefix(',')
}

/// The next text frame.
async fn next_text<S>(stream: &mut S) -> Result<String, String>
where
    S: futures_util::Stream<Item = Result<Frame, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match stream.next().await {
            Some(Ok(Frame::Text(t))) => return Ok(t.as_str().to_owned()),
            Some(Ok(Frame::Close(_))) | None => return Err("closed".to_owned()),
            Some(Err(e)) => return Err(e.to_string()),
            Some(Ok(_)) => {}
        }
    }
}

/// An optional ack id, then a JSON array.
fn split_ack_id(rest: &str) -> (Option<u64>, &str) {
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    (rest[..digits].parse().ok(), &rest[digits..])
}

impl SioClient {
    /// Opens a WebSocket to `addr` and joins namespace `ns` with `auth`. A refusal is the
    /// `connect_error` message.
    pub async fn connect(addr: SocketAddr, ns: &str, auth: Value) -> Result<SioClient, String> {
        tokio::time::timeout(TIMEOUT, Self::connect_inner(addr, ns, auth))
            .await
            .map_err(|_| format!("the {ns} handshake timed out"))?
    }

    async fn connect_inner(addr: SocketAddr, ns: &str, auth: Value) -> Result<SioClient, String> {
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| format!("websocket: {e}"))?;
        let (mut sink, mut stream) = ws.split();
        let open = next_text(&mut stream).await?;
        if !open.starts_with('0') {
            return Err(format!("expected an Engine.IO open packet, got {open:?}"));
        }
        sink.send(Frame::text(format!("40{ns},{auth}")))
            .await
            .map_err(|e| e.to_string())?;
        loop {
            let text = next_text(&mut stream).await?;
            if text == "2" {
                sink.send(Frame::text("3"))
                    .await
                    .map_err(|e| e.to_string())?;
            } else if let Some(error) = packet(&text, '4', ns) {
                let error: Value = serde_json::from_str(error).map_err(|e| e.to_string())?;
                return Err(error["message"]
                    .as_str()
                    .unwrap_or("connect_error without a message")
                    .to_owned());
            } else if packet(&text, '0', ns).is_some() {
                break;
            }
        }
        let shared = Arc::new(Shared {
            inbox: Mutex::new(Inbox::default()),
            arrived: Notify::new(),
            acks: Mutex::new(HashMap::new()),
        });
        let (out, mut outgoing) = mpsc::unbounded_channel::<String>();
        let writer = tokio::spawn(async move {
            while let Some(text) = outgoing.recv().await {
                if sink.send(Frame::text(text)).await.is_err() {
                    return;
                }
            }
            let _ = sink.close().await;
        });
        let reader = {
            let (shared, out, ns) = (shared.clone(), out.clone(), ns.to_owned());
            tokio::spawn(async move {
                while let Some(Ok(frame)) = stream.next().await {
                    let Frame::Text(text) = frame else { continue };
                    if !Self::on_frame(&shared, &out, &ns, text.as_str()) {
                        break;
                    }
                }
                lock(&shared.inbox).closed = true;
                shared.arrived.notify_waiters();
            })
        };
        Ok(SioClient {
            ns: ns.to_owned(),
            out,
            shared,
            next_ack: AtomicU64::new(0),
            tasks: [reader, writer],
        })
    }

    /// Handles one frame; false once the connection or namespace is closed.
    fn on_frame(
        shared: &Shared,
        out: &mpsc::UnboundedSender<String>,
        ns: &str,
        text: &str,
    ) -> bool {
        if text == "2" {
            let _ = out.send("3".to_owned());
        } else if text.starts_with('1') || packet(text, '1', ns).is_some() {
            return false;
        } else if let Some(rest) = packet(text, '2', ns) {
            let (_, args) = split_ack_id(rest);
            let Ok(Value::Array(mut args)) = serde_json::from_str::<Value>(args) else {
                panic!("an event that is not a JSON array: {text}");
            };
            let name = match args.first() {
                Some(Value::String(name)) => name.clone(),
                _ => panic!("an event without a name: {text}"),
            };
            let data = if args.len() > 1 {
                args.swap_remove(1)
            } else {
                Value::Null
            };
            lock(&shared.inbox).events.push_back((name, data));
            shared.arrived.notify_waiters();
        } else if let Some(rest) = packet(text, '3', ns) {
            let (id, args) = split_ack_id(rest);
            let args: Value = serde_json::from_str(args).expect("an ack's arguments are JSON");
            if let Some(reply) = id.and_then(|id| lock(&shared.acks).remove(&id)) {
                let _ = reply.send(args.get(0).cloned().unwrap_or(Value::Null));
            }
        }
        true
    }

    /// Emits an event without an ack.
    pub fn emit(&self, event: &str, data: Value) {
        let frame = format!("42{},{}", self.ns, Value::Array(vec![event.into(), data]));
        let _ = self.out.send(frame);
    }

    /// Emits an event with an ack and returns the ack's argument (`{ ok, ... }`).
    pub async fn request(&self, event: &str, data: Value) -> Value {
        let id = self.next_ack.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        lock(&self.shared.acks).insert(id, reply);
        let frame = format!(
            "42{},{id}{}",
            self.ns,
            Value::Array(vec![event.into(), data])
        );
        let _ = self.out.send(frame);
        match tokio::time::timeout(TIMEOUT, answer).await {
            Ok(Ok(ack)) => ack,
            _ => panic!("no ack for {event} within {TIMEOUT:?}"),
        }
    }

    /// The next `event` received (also one received before the call), removed from the inbox.
    pub async fn next(&self, event: &str) -> Value {
        let wait = async {
            loop {
                let arrived = self.shared.arrived.notified();
                {
                    let mut inbox = lock(&self.shared.inbox);
                    if let Some(i) = inbox.events.iter().position(|(name, _)| name == event) {
                        return inbox.events.remove(i).map(|(_, data)| data);
                    }
                    if inbox.closed {
                        return None;
                    }
                }
                arrived.await;
            }
        };
        match tokio::time::timeout(TIMEOUT, wait).await {
            Ok(Some(data)) => data,
            Ok(None) => panic!("the connection closed before {event} arrived"),
            Err(_) => panic!("no {event} within {TIMEOUT:?}"),
        }
    }

    /// The names of the events received and not taken yet.
    pub fn pending(&self) -> Vec<String> {
        let inbox = lock(&self.shared.inbox);
        inbox.events.iter().map(|(name, _)| name.clone()).collect()
    }
}

impl Drop for SioClient {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
