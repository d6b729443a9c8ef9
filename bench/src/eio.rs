//! A minimal Engine.IO 4 / Socket.IO 5 client over a WebSocket, just what the benchmark needs.
//!
//! Frames are text: engine.io `0{open}`, `2` ping (answered with `3`), `1` close; socket.io
//! `40/ns,{auth}` connect, `44/ns,{error}` connect error, `42/ns,[event]` event,
//! `42/ns,ID[event]` event with ack id, `43/ns,ID[args]` ack, `41/ns,` disconnect.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub type Ws = WebSocketStream<TcpStream>;

/// What one text frame means to the benchmark.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    Ping,
    /// `42/ns,[...]`: the event name and the whole frame (for cheap scanning).
    Event(&'a str, &'a str),
    /// `43/ns,ID[...]`: the ack id and the arguments.
    Ack(u64, &'a str),
    /// Server-side disconnect of the namespace, or engine.io close.
    Closed,
    Other,
}

/// Parses a frame of namespace `ns` (e.g. `/visitor`).
pub fn parse<'a>(ns: &str, text: &'a str) -> Frame<'a> {
    match text.as_bytes().first() {
        Some(b'2') if text.len() == 1 => return Frame::Ping,
        Some(b'1') => return Frame::Closed,
        Some(b'4') => {}
        _ => return Frame::Other,
    }
    let rest = &text[1..];
    let (kind, rest) = rest.split_at(rest.len().min(1));
    let Some(rest) = rest.strip_prefix(ns).and_then(|r| r.strip_prefix(',')) else {
        return Frame::Other;
    };
    match kind {
        "2" => {
            let start = rest.find('[').unwrap_or(rest.len());
            let args = &rest[start..];
            match args
                .strip_prefix("[\"")
                .and_then(|a| a.split_once('"'))
                .map(|(name, _)| name)
            {
                Some(name) => Frame::Event(name, text),
                None => Frame::Other,
            }
        }
        "3" => {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            match rest[..digits].parse() {
                Ok(id) => Frame::Ack(id, &rest[digits..]),
                Err(_) => Frame::Other,
            }
        }
        "1" => Frame::Closed,
        _ => Frame::Other,
    }
}

/// Finds `"key":` in a JSON text and returns what follows the colon.
pub fn after_key<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("\"{key}\":");
    json.find(&pat).map(|i| &json[i + pat.len()..])
}

/// The string value of `"key":"..."` (no escapes expected).
pub fn str_field<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let v = after_key(json, key)?.strip_prefix('"')?;
    v.split_once('"').map(|(s, _)| s)
}

/// The unsigned integer value of `"key":N`.
pub fn u64_field(json: &str, key: &str) -> Option<u64> {
    let v = after_key(json, key)?;
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    v[..digits].parse().ok()
}

/// Whether an ack's arguments are `[{ ..., "ok": true, ... }]` (keys come in any order).
pub fn is_ok(args: &str) -> bool {
    args.starts_with("[{") && args.contains("\"ok\":true")
}

pub fn text(s: String) -> Message {
    Message::Text(s.into())
}

fn ws_config() -> WebSocketConfig {
    // Small buffers: the generator holds up to 19k sockets next to the server.
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

/// Opens a WebSocket to `server` from `source` (port 0), connects to namespace `ns` with the
/// JSON `auth`, and waits for the first event (`session` or `conversations`), which it returns.
pub async fn open(
    server: SocketAddr,
    source: Option<Ipv4Addr>,
    ns: &str,
    auth: &str,
    timeout: Duration,
) -> anyhow::Result<(Ws, String)> {
    tokio::time::timeout(timeout, open_inner(server, source, ns, auth))
        .await
        .map_err(|_| anyhow!("handshake timed out"))?
}

async fn open_inner(
    server: SocketAddr,
    source: Option<Ipv4Addr>,
    ns: &str,
    auth: &str,
) -> anyhow::Result<(Ws, String)> {
    let sock = TcpSocket::new_v4()?;
    if let Some(ip) = source {
        sock.bind(SocketAddr::new(ip.into(), 0))
            .with_context(|| format!("bind {ip}"))?;
    }
    let tcp = sock.connect(server).await.context("tcp connect")?;
    tcp.set_nodelay(true)?;
    let url = format!("ws://{server}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, tcp, Some(ws_config()))
        .await
        .context("websocket upgrade")?;
    let open = next_text(&mut ws).await?;
    if !open.starts_with('0') {
        bail!("expected engine.io open, got {open:?}");
    }
    ws.send(text(format!("40{ns},{auth}"))).await?;
    let mut connected = false;
    loop {
        let frame = next_text(&mut ws).await?;
        if frame == "2" {
            ws.send(text("3".into())).await?;
            continue;
        }
        if frame.starts_with(&format!("44{ns},")) {
            bail!("connect_error: {frame}");
        }
        if frame.starts_with(&format!("40{ns},")) {
            connected = true;
            continue;
        }
        if connected && matches!(parse(ns, &frame), Frame::Event(..)) {
            return Ok((ws, frame));
        }
    }
}

async fn next_text(ws: &mut Ws) -> anyhow::Result<String> {
    loop {
        match ws.next().await {
            None => bail!("connection closed"),
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_owned()),
            Some(Ok(Message::Close(_))) => bail!("connection closed"),
            Some(Ok(_)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        assert_eq!(parse("/visitor", "2"), Frame::Ping);
        assert_eq!(
            parse("/visitor", "43/visitor,17[{\"ok\":true}]"),
            Frame::Ack(17, "[{\"ok\":true}]")
        );
        let ev = "42/agent,[\"message\",{\"seq\":3}]";
        assert_eq!(parse("/agent", ev), Frame::Event("message", ev));
        assert_eq!(parse("/agent", "41/agent,"), Frame::Closed);
        assert_eq!(parse("/visitor", "42/agent,[\"x\"]"), Frame::Other);
        assert_eq!(u64_field(ev, "seq"), Some(3));
        assert_eq!(str_field("{\"a\":\"b c\"}", "a"), Some("b c"));
    }
}
