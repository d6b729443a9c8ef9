//! `POST /api/uploads` and `GET /api/uploads/{id}[/thumbnail]` (docs/protocol.md, "Files").
//! Bodies are streamed to the domain a chunk at a time, never collected; downloads are
//! streamed back from storage. These routes have their own body limit (the upload limit,
//! checked against `Content-Length` before the body is read) and a longer timeout than the
//! other routes.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::TryStreamExt;
use serde::Deserialize;
use tower_http::timeout::TimeoutLayer;

use super::HttpError;
use crate::domain::files::ByteStream;
use crate::domain::uploads::{Access, Download, IncomingFile, Variant};
use crate::domain::{Chat, DomainError};

/// How long an upload (or a download's first byte) may take.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// What a multipart body may carry beyond the file: its boundaries and part headers.
const MULTIPART_SLACK_BYTES: u64 = 64 * 1024;

/// The routes. The upload limit is the domain's: a raw body's `Content-Length` is checked
/// before anything is read, and every body is counted as it streams.
pub fn router(chat: Arc<Chat>, max_upload_bytes: u64) -> Router {
    Router::new()
        .route("/api/uploads", post(upload))
        .route("/api/uploads/{id}", get(file))
        .route("/api/uploads/{id}/{variant}", get(file))
        .with_state(Uploads {
            chat,
            max_bytes: max_upload_bytes,
        })
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            UPLOAD_TIMEOUT,
        ))
}

#[derive(Clone)]
struct Uploads {
    chat: Arc<Chat>,
    max_bytes: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadQuery {
    filename: Option<String>,
    conversation_id: Option<String>,
}

/// The token of `Authorization: Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn io_error(e: impl std::error::Error + Send + Sync + 'static) -> std::io::Error {
    std::io::Error::other(e)
}

async fn upload(
    State(Uploads { chat, max_bytes }): State<Uploads>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, HttpError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let stream = body.into_data_stream().map_err(io_error);
    let file = match multer::parse_boundary(content_type) {
        Ok(boundary) => {
            // The parts before the file are read through (and the file is capped by the
            // domain): the whole body is bounded here.
            let whole = max_bytes.saturating_add(MULTIPART_SLACK_BYTES);
            if content_length(&headers).is_some_and(|n| n > whole) {
                return Err(DomainError::FileTooLarge { max_bytes }.into());
            }
            let limits =
                multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(whole));
            let mut multipart = multer::Multipart::with_constraints(stream, boundary, limits);
            let field = loop {
                match multipart.next_field().await {
                    Ok(Some(field)) if field.name() == Some("file") => break field,
                    Ok(Some(_)) => continue,
                    Ok(None) => return Err(DomainError::invalid("no part named file").into()),
                    Err(e) => return Err(multipart_error(e).into()),
                }
            };
            let name = query
                .filename
                .clone()
                .or_else(|| field.file_name().map(str::to_owned));
            let body: ByteStream = Box::pin(field.map_err(|e| io_error(multipart_error(e))));
            IncomingFile {
                name,
                // Only the whole body's length is known: the file's is checked as it streams.
                length: None,
                body,
            }
        }
        Err(_) => IncomingFile {
            name: query.filename.clone(),
            length: content_length(&headers),
            body: Box::pin(stream),
        },
    };
    let attachment = chat
        .upload(bearer(&headers), query.conversation_id.as_deref(), file)
        .await?;
    Ok((StatusCode::CREATED, Json(attachment)).into_response())
}

fn multipart_error(e: multer::Error) -> DomainError {
    match e {
        multer::Error::StreamSizeExceeded { .. } => {
            DomainError::TooLarge("the multipart body is too large".into())
        }
        multer::Error::StreamReadFailed(e) => {
            DomainError::invalid(format!("the upload was cut off: {e}"))
        }
        e => DomainError::invalid(format!("malformed multipart body: {e}")),
    }
}

#[derive(Deserialize)]
pub struct Signature {
    exp: Option<i64>,
    sig: Option<String>,
}

/// Which upload a download names, and which of its files: `/api/uploads/{id}` the file,
/// `/api/uploads/{id}/thumbnail` its thumbnail.
#[derive(Deserialize)]
pub struct FilePath {
    id: String,
    variant: Option<String>,
}

async fn file(
    State(uploads): State<Uploads>,
    Path(path): Path<FilePath>,
    Query(signature): Query<Signature>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let variant = match path.variant.as_deref() {
        None => Variant::File,
        Some("thumbnail") => Variant::Thumbnail,
        Some(_) => return Err(DomainError::NotFound.into()),
    };
    download(&uploads.chat, &path.id, variant, &signature, &headers).await
}

async fn download(
    chat: &Chat,
    id: &str,
    variant: Variant,
    signature: &Signature,
    headers: &HeaderMap,
) -> Result<Response, HttpError> {
    let access = match (signature.exp, signature.sig.as_deref(), bearer(headers)) {
        (Some(exp), Some(sig), _) => Access::Signed { exp, sig },
        (_, _, Some(bearer)) => Access::Bearer(bearer),
        _ => return Err(DomainError::Unauthorized.into()),
    };
    let download = chat.download(id, variant, access).await?;
    Ok(file_response(download))
}

/// A file as a browser must treat it: as the sniffed type and nothing else, shown only when it
/// is a raster image, never run (a `sandbox` policy should a browser render it anyway).
fn file_response(download: Download) -> Response {
    let disposition = content_disposition(download.inline, &download.name);
    let mut res = Body::from_stream(download.body).into_response();
    let headers = res.headers_mut();
    let content_type = HeaderValue::from_str(&download.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(download.size));
    if let Ok(disposition) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=600"),
    );
    headers.insert(
        header::HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("cross-origin"),
    );
    res
}

/// `inline` or `attachment`, with the name both as ASCII (`filename`) and as UTF-8
/// (`filename*`, RFC 5987). The name has no quotes, semicolons or control characters
/// (`uploads::file_name`).
fn content_disposition(inline: bool, name: &str) -> String {
    let kind = if inline { "inline" } else { "attachment" };
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_name_the_file_in_ascii_and_utf8() {
        assert_eq!(
            content_disposition(false, "résumé 1.pdf"),
            "attachment; filename=\"r_sum_ 1.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%201.pdf"
        );
        assert!(content_disposition(true, "a.png").starts_with("inline; "));
    }

    #[test]
    fn only_bearer_authorization_counts() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(bearer(&headers), Some("abc"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&headers), None);
    }
}
