//! The accept loop: hyper with bounds on what one client can hold open.
//!
//! `axum::serve` has no header read timeout, no bound on the header buffer and no per-client
//! connection cap, so a few thousand half-sent requests would each hold a socket and a buffer
//! forever. Here every accepted socket gets:
//! - `TCP_NODELAY` (small Socket.IO frames otherwise wait for delayed ACKs);
//! - a place in its address's connection count, or an immediate close over the cap (trusted
//!   proxies are exempt: all their clients share their address);
//! - hyper's HTTP/1 header read timeout, which also runs while a keep-alive connection waits
//!   for its next request, and a bounded read buffer (over it: 431 and close);
//! - an idle timeout for what the header timeout does not see: a connection that has not yet
//!   sent enough bytes to tell HTTP/1 from HTTP/2, or an HTTP/2 connection, with no bytes in
//!   either direction for that long is closed. Upgraded (WebSocket) connections leave this
//!   watch; Engine.IO's ping timeout bounds them.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

use super::client_addr::{ClientAddr, TrustedProxies};
use crate::domain::slots::{Slot, Slots};

/// hyper refuses a smaller read buffer limit.
const MIN_HEADER_BUFFER: usize = 8192;
/// After a failed accept (usually EMFILE: out of file descriptors), the next try waits this
/// long, so that the loop does not spin while descriptors are short.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How long a shutdown waits for requests in flight (a long-poll can take a ping interval).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Bounds of the accept loop (`PARLOR_HTTP_*`, `PARLOR_MAX_CONNECTIONS_PER_ADDRESS`).
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_header_bytes: usize,
    pub max_connections_per_address: usize,
    pub trusted_proxies: TrustedProxies,
}

/// Serves `router` on `listener` until `shutdown` completes, then lets requests in flight end.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes.max(MIN_HEADER_BUFFER));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
    // Open connections per client address.
    let counts = Slots::<ClientAddr>::new(
        u32::try_from(limits.max_connections_per_address).unwrap_or(u32::MAX),
    );
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            // The peer gave up before we accepted: nothing is short, try the next one.
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed; backing off");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let slot = if limits.trusted_proxies.contains(peer.ip()) {
            None
        } else {
            match counts.take(ClientAddr::of(peer.ip())) {
                Some(slot) => Some(slot),
                None => {
                    tracing::debug!(%peer, "connection over the per-address cap closed");
                    continue;
                }
            }
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "could not set TCP_NODELAY");
        }
        let activity = Arc::new(Activity::now());
        let io = Tracked {
            tcp,
            activity: activity.clone(),
            _slot: slot,
        };
        let service = TowerToHyperService::new(router.clone().map_request(
            move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            },
        ));
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(io), service)
            .into_owned();
        let conn = graceful.watch(conn);
        let idle_timeout = limits.idle_timeout;
        tokio::spawn(async move {
            tokio::pin!(conn);
            let idle = tokio::time::sleep(idle_timeout);
            tokio::pin!(idle);
            loop {
                tokio::select! {
                    served = &mut conn => {
                        if let Err(e) = served {
                            tracing::debug!(%peer, error = %e, "connection ended with an error");
                        }
                        break;
                    }
                    () = &mut idle => {
                        let quiet = activity.quiet_for();
                        if quiet >= idle_timeout {
                            tracing::debug!(%peer, "idle connection closed");
                            break;
                        }
                        idle.as_mut().reset(tokio::time::Instant::now() + (idle_timeout - quiet));
                    }
                }
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::info!("requests still in flight at shutdown were cut off");
    }
    Ok(())
}

/// Errors that concern one connection only, not the listener.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// When a connection last moved a byte, in milliseconds since [`epoch`].
struct Activity(AtomicU64);

impl Activity {
    fn now() -> Self {
        Activity(AtomicU64::new(Self::millis()))
    }

    fn millis() -> u64 {
        u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn touch(&self) {
        self.0.store(Self::millis(), Ordering::Relaxed);
    }

    fn quiet_for(&self) -> Duration {
        Duration::from_millis(Self::millis().saturating_sub(self.0.load(Ordering::Relaxed)))
    }
}

/// The accepted socket, recording activity and holding its connection slot.
struct Tracked {
    tcp: TcpStream,
    activity: Arc<Activity>,
    /// Given back when the socket is dropped, wherever it is by then (hyper's connection, or
    /// an upgraded WebSocket).
    _slot: Option<Slot<ClientAddr>>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.tcp).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.tcp).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_64_shares_one_count() {
        let counts = Slots::<ClientAddr>::new(1);
        let _one = counts
            .take(ClientAddr::of("2001:db8::1".parse().unwrap()))
            .unwrap();
        assert!(counts
            .take(ClientAddr::of("2001:db8::2".parse().unwrap()))
            .is_none());
        assert!(counts
            .take(ClientAddr::of("2001:db8:0:1::1".parse().unwrap()))
            .is_some());
    }
}
