//! The outermost request middleware: who the client is, and how many new Engine.IO sessions it
//! may open.
//!
//! [`ClientAddr`] is resolved here once per request and put into the request's extensions, where
//! HTTP handlers and Socket.IO sockets (`req_parts().extensions`) both find it. New sessions
//! (`GET /socket.io/?...` without `sid`) are counted per client before socketioxide sees them:
//! each allocates a socket and a session, and without a bound one address could open them as
//! fast as it can send requests.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::json;

use super::client_addr::{ClientAddr, TrustedProxies};
use crate::domain::limits::count_refusal;

/// socketioxide's default path.
const SOCKET_IO_PATH: &str = "/socket.io";

pub struct Edge {
    trusted_proxies: TrustedProxies,
    handshakes: DefaultKeyedRateLimiter<ClientAddr>,
}

impl Edge {
    /// `handshakes_per_minute` new Engine.IO sessions per client, with a burst of as many.
    pub fn new(trusted_proxies: TrustedProxies, handshakes_per_minute: u32) -> Self {
        Edge {
            trusted_proxies,
            handshakes: RateLimiter::keyed(Quota::per_minute(
                NonZeroU32::new(handshakes_per_minute).unwrap_or(NonZeroU32::MIN),
            )),
        }
    }

    /// Forgets clients whose budget is full again; called periodically.
    pub fn housekeeping(&self) {
        self.handshakes.retain_recent();
    }
}

/// Resolves [`ClientAddr`] and enforces the handshake budget.
pub async fn edge(State(edge): State<Arc<Edge>>, mut req: Request, next: Next) -> Response {
    // Present on every request the accept loop serves; a router used without it (tests) skips.
    let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() else {
        return next.run(req).await;
    };
    let client = ClientAddr::resolve(peer, req.headers(), &edge.trusted_proxies);
    req.extensions_mut().insert(client);
    if is_new_session(&req) {
        if let Err(not_until) = edge.handshakes.check_key(&client) {
            count_refusal("handshakes");
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return too_many_handshakes(wait.as_secs() + 1);
        }
    }
    next.run(req).await
}

/// An Engine.IO open: polling or WebSocket, without the `sid` of an existing session.
fn is_new_session(req: &Request) -> bool {
    let uri = req.uri();
    req.method() == Method::GET
        && uri
            .path()
            .strip_prefix(SOCKET_IO_PATH)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        && !uri
            .query()
            .unwrap_or("")
            .split('&')
            .any(|pair| pair.starts_with("sid="))
}

fn too_many_handshakes(retry_after_secs: u64) -> Response {
    let mut res = (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({
            "error": "rate_limited",
            "message": "too many new connections from this address, slow down",
        })),
    )
        .into_response();
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn get(uri: &str) -> Request {
        Request::builder().uri(uri).body(Body::empty()).unwrap()
    }

    #[test]
    fn only_opens_count_as_new_sessions() {
        assert!(is_new_session(&get("/socket.io/?EIO=4&transport=polling")));
        assert!(is_new_session(&get(
            "/socket.io/?EIO=4&transport=websocket"
        )));
        assert!(!is_new_session(&get(
            "/socket.io/?EIO=4&transport=polling&sid=abc"
        )));
        assert!(!is_new_session(&get(
            "/socket.io/?EIO=4&sid=abc&transport=websocket"
        )));
        assert!(!is_new_session(&get("/socket.iox/?EIO=4")));
        assert!(!is_new_session(&get("/healthz")));
        let mut post = get("/socket.io/?EIO=4&transport=polling");
        *post.method_mut() = Method::POST;
        assert!(!is_new_session(&post));
    }
}
