//! The hosted conversation pages (docs/protocol.md, "Hosted pages"): `GET /c/{token}`, the
//! page an e-mail's "Continue the conversation" link opens on any device, and `GET
//! /chat/{siteKey}`, a plain "chat with us" link that needs no embedding. Both are a small HTML
//! page that runs the widget full page (`data-mode="page"`); the first hands it the link's
//! token (`data-token`), with which it joins that conversation.
//!
//! The page has no inline script or style: the site key and the token are attributes of the
//! `<script>` tag, escaped, so the dashboard's strict policy holds. The link's token is in the
//! URL: the page sends no referrer, is never cached and cannot be framed.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::assets::app_csp;
use super::HttpError;
use crate::domain::ids::SiteKey;
use crate::domain::mail::escape;
use crate::domain::model::Site;
use crate::domain::Chat;

/// The dashboard's policy (`assets::ADMIN_CSP`), except that no page may frame these.
const HOSTED_CSP: &str = app_csp!("'none'");

/// A link's token is longer than any id; more than this is no token Parlor made.
const MAX_TOKEN_BYTES: usize = 1024;

/// `GET /c/{token}`: the conversation of a well-signed, unexpired link; otherwise the same 404
/// whatever is wrong with the link (forged, expired, malformed, of a deleted site).
pub async fn conversation(
    State(chat): State<Arc<Chat>>,
    Path(token): Path<String>,
) -> Result<Response, HttpError> {
    if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
        return Ok(not_found());
    }
    Ok(match chat.hosted_link(&token).await? {
        Some(site) => page(&site, Some(&token)),
        None => not_found(),
    })
}

/// `GET /chat/{siteKey}`: a chat with the site; the widget starts or resumes this browser's
/// conversation with it.
pub async fn chat_with(
    State(chat): State<Arc<Chat>>,
    Path(key): Path<String>,
) -> Result<Response, HttpError> {
    let Some(key) = SiteKey::parse(&key) else {
        return Ok(not_found());
    };
    Ok(match chat.site_for_visitors(&key).await? {
        Some(site) => page(&site, None),
        None => not_found(),
    })
}

/// The full-page widget of `site`, with the link's `token` when there is one.
fn page(site: &Site, token: Option<&str>) -> Response {
    let token = token
        .map(|t| format!(" data-token=\"{}\"", escape(t)))
        .unwrap_or_default();
    // Validated as `#rrggbb` when set; escaped all the same.
    let theme = site
        .accent_color
        .as_deref()
        .map(|c| format!("\n<meta name=\"theme-color\" content=\"{}\">", escape(c)))
        .unwrap_or_default();
    let html = format!(
        r#"<!doctype html>
<html>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover, interactive-widget=resizes-content">
<meta name="robots" content="noindex, nofollow">{theme}
<title>{title}</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
</head>
<body>
<noscript>This chat needs JavaScript.</noscript>
<script src="/widget.js" data-site="{key}" data-mode="page"{token} async></script>
</body>
</html>
"#,
        title = escape(&site.name),
        key = escape(site.site_key.as_str()),
    );
    hardened(StatusCode::OK, html, HOSTED_CSP)
}

/// The one answer to every link that leads nowhere: no detail of why.
fn not_found() -> Response {
    hardened(
        StatusCode::NOT_FOUND,
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>Link not valid</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/hosted.css">
</head>
<body>
<main>
<h1>This link has expired or is not valid</h1>
<p>To go on, write to the business again from its web site.</p>
</main>
</body>
</html>
"#
        .to_owned(),
        HOSTED_CSP,
    )
}

/// An HTML answer with the headers every page of a link carries (the hosted chat pages, the
/// unsubscribe page), under the policy `csp`.
pub(super) fn hardened(status: StatusCode, html: String, csp: &'static str) -> Response {
    let mut res = (status, html).into_response();
    let h = res.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::X_FRAME_OPTIONS, "DENY"),
        // The link's token is in the URL: no other site learns it, no cache keeps it.
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (HeaderName::from_static("x-robots-tag"), "noindex, nofollow"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(name: &str) -> Site {
        Site {
            id: "s1".into(),
            site_key: "pk_test".into(),
            name: name.to_owned(),
            allowed_origins: vec![],
            prechat_fields: vec![],
            allowed_query_params: vec![],
            prechat_required: vec![],
            accent_color: Some("#123456".to_owned()),
            greeting: None,
            away_message: None,
            office_hours: None,
            contact_email: None,
            mail_from: None,
        }
    }

    async fn body(res: Response) -> String {
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .expect("a body");
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    #[tokio::test]
    async fn the_page_escapes_the_site_name_and_the_token() {
        let html = body(page(&site("<script>alert(1)</script>"), Some("a\"b<c"))).await;
        assert!(html.contains("<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>"));
        assert!(html.contains(r#"data-token="a&quot;b&lt;c""#));
        assert!(!html.contains("<script>alert"));
    }

    #[tokio::test]
    async fn a_page_without_a_link_has_no_token_attribute() {
        let html = body(page(&site("Acme"), None)).await;
        assert!(html.contains(r#"data-site="pk_test" data-mode="page" async"#));
        assert!(!html.contains("data-token"));
    }
}
