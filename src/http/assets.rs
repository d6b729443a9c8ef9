//! The browser front end, embedded into the binary from `web/dist/` (built by
//! build.rs): the widget (`/widget.js`), the agent dashboard (`/admin`), the
//! demo page (`/demo?site=KEY`), their hashed assets (`/assets/...`) and the
//! hosted pages' stylesheet (`/hosted.css`).
//!
//! Caching: hashed assets are immutable for a year; `widget.js` is cached for
//! five minutes (site owners embed a stable URL); HTML is revalidated on every
//! load. Every response carries a strong ETag and answers `If-None-Match`
//! with 304. Compression is applied globally by the server.

use axum::{
    extract::Path,
    http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::get,
    Router,
};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "web/dist/"]
#[exclude = "*.map"]
struct Dist;

/// The policy of this server's own app pages (the dashboard, the hosted chat pages), with the
/// pages that may frame them.
macro_rules! app_csp {
    ($frame_ancestors:literal) => {
        concat!(
            "default-src 'none'; script-src 'self'; style-src 'self'; ",
            "img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; ",
            "media-src 'self' data:; manifest-src 'self'; base-uri 'none'; ",
            "form-action 'self'; frame-ancestors ",
            $frame_ancestors
        )
    };
}
pub(crate) use app_csp;

/// Strict policy for the dashboard: only its own scripts, styles and socket; only pages of this
/// server may frame it. Images from `blob:` are the chat's attachments, fetched with the agent's
/// bearer once their signed links have expired (and a blob document inherits this policy).
pub const ADMIN_CSP: &str = app_csp!("'self'");

const DEMO_CSP: &str =
    "default-src 'self'; img-src 'self' data: blob:; base-uri 'none'; frame-ancestors 'none'";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const SHORT: &str = "public, max-age=300";
const REVALIDATE: &str = "no-cache";

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/widget.js", get(widget))
        .route("/admin", get(admin))
        .route("/admin/", get(admin))
        .route("/admin/{*rest}", get(admin))
        .route("/demo", get(demo))
        .route("/demo/", get(demo))
        .route("/assets/{*path}", get(asset))
        .route("/favicon.svg", get(favicon))
        .route("/hosted.css", get(hosted_css))
        .route(
            "/favicon.ico",
            get(|| async { Redirect::permanent("/favicon.svg") }),
        )
}

async fn widget(headers: HeaderMap) -> Response {
    let res = serve("widget.js", SHORT, &headers);
    with(
        res,
        [
            // Loaded by third-party pages, including ones with COEP.
            (
                HeaderName::from_static("cross-origin-resource-policy"),
                "cross-origin",
            ),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
    )
}

async fn admin(headers: HeaderMap) -> Response {
    let res = serve("admin/index.html", REVALIDATE, &headers);
    with(
        res,
        [
            (header::CONTENT_SECURITY_POLICY, ADMIN_CSP),
            // For browsers without CSP frame-ancestors; says the same.
            (header::X_FRAME_OPTIONS, "SAMEORIGIN"),
            // Dashboard URLs name conversations; no other site needs to learn them.
            (header::REFERRER_POLICY, "no-referrer"),
        ],
    )
}

async fn demo(headers: HeaderMap) -> Response {
    let res = serve("demo/index.html", REVALIDATE, &headers);
    with(res, [(header::CONTENT_SECURITY_POLICY, DEMO_CSP)])
}

/// `res` with these headers set.
fn with<const N: usize>(mut res: Response, headers: [(HeaderName, &'static str); N]) -> Response {
    for (name, value) in headers {
        res.headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    res
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    if path.contains("..") {
        return StatusCode::NOT_FOUND.into_response();
    }
    serve(&format!("assets/{path}"), IMMUTABLE, &headers)
}

/// The style of the hosted pages' "not valid" page (`http/hosted.rs`).
async fn hosted_css(headers: HeaderMap) -> Response {
    serve("hosted.css", SHORT, &headers)
}

async fn favicon(headers: HeaderMap) -> Response {
    serve("favicon.svg", "public, max-age=86400", &headers)
}

fn serve(path: &str, cache: &'static str, req: &HeaderMap) -> Response {
    let Some(file) = Dist::get(path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let etag = format!(
        "\"{}\"",
        file.metadata
            .sha256_hash()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let mut res = if req
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mime = mime_guess::from_path(path).first_or_octet_stream();
        let ct = match mime.type_() {
            mime_guess::mime::TEXT | mime_guess::mime::APPLICATION
                if mime.get_param("charset").is_none()
                    && (mime.type_() == mime_guess::mime::TEXT
                        || mime.subtype() == mime_guess::mime::JAVASCRIPT
                        || mime.subtype() == mime_guess::mime::JSON) =>
            {
                format!("{mime}; charset=utf-8")
            }
            _ => mime.to_string(),
        };
        let mut r = file.data.into_owned().into_response();
        // Built from a MIME type: always a valid header value, but never worth a panic.
        if let Ok(ct) = HeaderValue::from_str(&ct) {
            r.headers_mut().insert(header::CONTENT_TYPE, ct);
        }
        r
    };
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, etag);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}
