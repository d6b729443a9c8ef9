//! The unsubscribe link of missed-reply e-mails (`/unsubscribe/{token}`). A mail client's
//! one-click unsubscribe (RFC 8058) POSTs to it; a person following the link gets a page that
//! asks first, so a link scanner's GET changes nothing.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use crate::domain::mail::escape;
use crate::domain::Chat;

use super::hosted::hardened;
use super::HttpError;

/// Plain HTML: no script, no styles, forms only to this server.
const PAGE_CSP: &str = "default-src 'none'; form-action 'self'; frame-ancestors 'none'";

/// `GET`: what following the link would do, and a button that does it.
pub async fn show(
    State(chat): State<Arc<Chat>>,
    Path(token): Path<String>,
) -> Result<Response, HttpError> {
    Ok(match chat.unsubscribe_site(&token).await? {
        Some(site) => page(
            StatusCode::OK,
            "Unsubscribe",
            &format!(
                "<p>Stop e-mails about replies from {} that you have not read?</p>\
                 <form method=\"post\"><button type=\"submit\">Unsubscribe</button></form>",
                escape(&site.name)
            ),
        ),
        None => not_found(),
    })
}

/// `POST` (the page's button, or a mail client's `List-Unsubscribe=One-Click`): done.
pub async fn confirm(
    State(chat): State<Arc<Chat>>,
    Path(token): Path<String>,
) -> Result<Response, HttpError> {
    Ok(if chat.unsubscribe(&token).await? {
        page(
            StatusCode::OK,
            "Unsubscribed",
            "<p>You are unsubscribed: no more e-mails about unread replies. \
             A transcript you ask for is still sent.</p>",
        )
    } else {
        not_found()
    })
}

fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Link not valid",
        "<p>This link is not valid.</p>",
    )
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
    );
    hardened(status, html, PAGE_CSP)
}
