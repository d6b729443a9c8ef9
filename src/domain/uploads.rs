//! Files in the chat. A visitor or an agent uploads a file over HTTP; the bytes are streamed to
//! the [`FileStorage`] while the first of them tell what the file is (sniffed, never the
//! client's word, and checked against an allowlist), and a row in the store says whose it is.
//! A `send` then names uploads as the message's attachments (`Chat::post`), and the append
//! takes them in the transaction that stores the message. Payloads carry signed download
//! paths, valid for [`SIGNED_PATH_TTL_SECS`] by default, for `<img>` tags that cannot send a bearer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_util::{stream, StreamExt};
use tokio::sync::Semaphore;

use super::chat::Chat;
use super::error::{DomainError, DomainResult};
use super::files::{thumbnail_key, upload_key, ByteStream, FileStorage, FilesError};
use super::ids::{ConversationId, SiteId, UploadId, VisitorId};
use super::limits::Budget;
use super::model::{now_millis, Attachment, Message, Millis, Side, Upload};
use super::slots::Slots;
use super::thumbnails::{self, MAX_PIXELS};
use super::visitors::VisitorCredential;

/// How long a signed download path in a payload stays valid, unless configured.
pub const SIGNED_PATH_TTL_SECS: i64 = 600;

/// Uploads no message carries are deleted this long after they were made.
pub const UNSENT_UPLOAD_TTL_MILLIS: Millis = 24 * 60 * 60 * 1000;

/// What an upload's type is sniffed from: enough for every signature `infer` knows (the Office
/// formats are told apart by the names of the first entries of their ZIP) and for the header of
/// an image with a large EXIF block before its dimensions.
const SNIFF_BYTES: usize = 64 * 1024;

/// All uploads of one conversation together, sent or not.
pub const CONVERSATION_UPLOAD_QUOTA: u64 = 100 * 1024 * 1024;

/// Uploads of one visitor in flight at once.
pub const UPLOADS_AT_ONCE_PER_VISITOR: u32 = 3;

/// Longest file name kept, in characters.
const MAX_NAME_CHARS: usize = 200;

/// Raster images: served inline and thumbnailed.
const IMAGE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// The types an upload may have unless `PARLOR_UPLOAD_TYPES` says otherwise.
pub const DEFAULT_ALLOWED_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
    "text/csv",
    "application/zip",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
];

pub struct UploadConfig {
    pub storage: Arc<dyn FileStorage>,
    /// `PARLOR_UPLOAD_MAX_BYTES`.
    pub max_bytes: u64,
    /// Content types an upload may have (`PARLOR_UPLOAD_TYPES`).
    pub allowed_types: Vec<String>,
    /// All uploads of one conversation together, sent or not.
    pub conversation_quota: u64,
    /// Uploads of one visitor in flight at once.
    pub at_once_per_visitor: u32,
    /// How long signed download paths stay valid (`PARLOR_UPLOAD_URL_TTL_SECS`).
    pub signed_path_ttl_secs: i64,
}

/// The upload half of [`Chat`].
pub(super) struct Uploads {
    config: UploadConfig,
    in_flight: Arc<Slots<VisitorId>>,
    /// Thumbnails decoded at once: each may take up to `thumbnails::MAX_ALLOC` bytes.
    thumbnailing: Semaphore,
}

impl Uploads {
    pub(super) fn new(config: UploadConfig) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Uploads {
            in_flight: Slots::new(config.at_once_per_visitor),
            thumbnailing: Semaphore::new(cores.clamp(1, 2)),
            config,
        }
    }
}

/// A side of one conversation, as a bearer proved it.
#[derive(Debug, Clone)]
struct Party {
    site_id: SiteId,
    /// The visitor's own conversation; for an agent, the one it named (if any).
    conversation_id: Option<ConversationId>,
    side: Side,
    /// A visitor's id: its upload budget and slots are its own.
    visitor_id: Option<VisitorId>,
}

/// A file as the client sends it.
pub struct IncomingFile {
    /// The name the client gave, if any.
    pub name: Option<String>,
    /// `Content-Length` of the file, when known before the body is read.
    pub length: Option<u64>,
    pub body: ByteStream,
}

/// Which bytes of an upload a download is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    File,
    Thumbnail,
}

impl Variant {
    fn signed_as(self) -> &'static str {
        match self {
            Variant::File => "file",
            Variant::Thumbnail => "thumbnail",
        }
    }
}

/// What lets a download through.
pub enum Access<'a> {
    /// `Authorization: Bearer` with a visitor token, a conversation link or an agent JWT.
    Bearer(&'a str),
    /// The `exp` and `sig` of a signed path.
    Signed { exp: i64, sig: &'a str },
}

/// A download, ready to stream.
pub struct Download {
    pub name: String,
    pub content_type: String,
    pub size: u64,
    /// Shown in the browser (raster images and thumbnails) rather than saved.
    pub inline: bool,
    pub body: ByteStream,
}

impl Chat {
    /// Stores an upload of the bearer's side of a conversation (`conversation`: the one an
    /// agent names) and returns it as a message will carry it, with signed paths.
    pub async fn upload(
        &self,
        bearer: Option<&str>,
        conversation: Option<&str>,
        file: IncomingFile,
    ) -> DomainResult<Attachment> {
        let party = self.party(bearer).await?;
        let conversation_id = match (&party.conversation_id, conversation) {
            (Some(own), _) => own.clone(),
            (None, Some(named)) => {
                let id = ConversationId::named(named)?;
                self.conversation_of(&party.site_id, &id).await?.id
            }
            (None, None) => return Err(DomainError::invalid("conversationId is required")),
        };
        let _slot = match &party.visitor_id {
            Some(visitor) => {
                self.charge(Budget::Upload, visitor)?;
                Some(
                    self.uploads
                        .in_flight
                        .take(visitor.clone())
                        .ok_or(DomainError::RateLimited)?,
                )
            }
            None => None,
        };
        let config = &self.uploads.config;
        if file.length.is_some_and(|n| n > config.max_bytes) {
            return Err(too_large(config.max_bytes));
        }
        let used = self
            .store
            .conversation_upload_bytes(&conversation_id)
            .await?;
        let used = u64::try_from(used).unwrap_or(0);
        // What is left of the quota bounds the body as it streams, so that a body without a
        // Content-Length cannot take the conversation past it either.
        let room = config.conversation_quota.saturating_sub(used);
        if file.length.unwrap_or(0) > room || room == 0 {
            return Err(over_quota(config.conversation_quota));
        }
        let (cap, over_cap) = if room < config.max_bytes {
            (room, over_quota(config.conversation_quota))
        } else {
            (config.max_bytes, too_large(config.max_bytes))
        };
        let name = file_name(file.name.as_deref());
        let (head, rest) = read_head(file.body).await?;
        if head.is_empty() {
            return Err(DomainError::invalid("the file is empty"));
        }
        let content_type = sniff(&head, &name)
            .filter(|t| config.allowed_types.iter().any(|a| a == t))
            .ok_or_else(|| {
                DomainError::UnsupportedType("files of this type are not allowed".into())
            })?;
        let is_image = IMAGE_TYPES.contains(&content_type.as_str());
        let dimensions = if is_image {
            thumbnails::dimensions(&head)
        } else {
            None
        };

        // The row first, the bytes after: whatever a crash cuts short, the sweep of unsent
        // uploads finds the row and deletes the bytes with it.
        let mut upload = Upload {
            id: UploadId::generate(),
            site_id: party.site_id.clone(),
            conversation_id,
            sender: party.side,
            name,
            size: 0,
            content_type,
            width: dimensions.map(|(w, _)| w),
            height: dimensions.map(|(_, h)| h),
            thumbnail: false,
            message_id: None,
            created_at: now_millis(),
            stored: false,
        };
        self.store.insert_upload(&upload).await?;
        let key = upload_key(party.site_id.as_str(), upload.id.as_str());
        let over = Arc::new(AtomicBool::new(false));
        let body = capped(head, rest, cap, Arc::clone(&over));
        let stored = match config.storage.put(&key, body).await {
            Ok(size) => Ok(size),
            Err(FilesError::Body(_)) if over.load(Ordering::Relaxed) => Err(over_cap),
            Err(FilesError::Body(e)) => {
                Err(DomainError::invalid(format!("the upload was cut off: {e}")))
            }
            Err(e) => Err(e.into()),
        };
        upload.size = match stored {
            Ok(size) => size,
            Err(e) => {
                self.discard(&upload).await;
                return Err(e);
            }
        };
        upload.thumbnail = match dimensions {
            Some((w, h)) if u64::from(w) * u64::from(h) <= MAX_PIXELS => {
                self.make_thumbnail(&party.site_id, &upload.id, &key).await
            }
            _ => false,
        };
        if let Err(e) = self
            .store
            .upload_stored(&upload.id, upload.size, upload.thumbnail)
            .await
        {
            self.discard(&upload).await;
            return Err(e.into());
        }
        metrics::counter!("parlor_uploads_total").increment(1);
        metrics::counter!("parlor_upload_bytes_total").increment(upload.size);
        let mut attachment = upload.attachment();
        self.sign(std::slice::from_mut(&mut attachment));
        Ok(attachment)
    }

    /// An upload's bytes (or its thumbnail's) for whoever may see them: the visitor of its
    /// conversation and the agents of its site; the other side's only once a message carries
    /// it. Everything else is `NotFound`, so an id tells nothing.
    pub async fn download(
        &self,
        id: &str,
        variant: Variant,
        access: Access<'_>,
    ) -> DomainResult<Download> {
        let id = UploadId::parse(id).ok_or(DomainError::NotFound)?;
        match access {
            Access::Signed { exp, sig } => {
                let what = format!("{id}/{}", variant.signed_as());
                if !self.jwt.path_signed(&what, exp, sig, now_millis() / 1000) {
                    return Err(DomainError::Unauthorized);
                }
            }
            Access::Bearer(_) => {}
        }
        let upload = self.store.upload(&id).await?.ok_or(DomainError::NotFound)?;
        if let Access::Bearer(bearer) = access {
            let party = self.party(Some(bearer)).await?;
            let theirs = match &party.conversation_id {
                Some(own) => own == &upload.conversation_id,
                None => party.site_id == upload.site_id,
            };
            let visible = upload.sender == party.side || upload.message_id.is_some();
            if !theirs || !visible {
                return Err(DomainError::NotFound);
            }
        }
        let (key, content_type) = match variant {
            Variant::File => (
                upload_key(upload.site_id.as_str(), id.as_str()),
                upload.content_type.clone(),
            ),
            Variant::Thumbnail if upload.thumbnail => (
                thumbnail_key(upload.site_id.as_str(), id.as_str()),
                thumbnails::CONTENT_TYPE.to_owned(),
            ),
            Variant::Thumbnail => return Err(DomainError::NotFound),
        };
        let (size, body) = self
            .uploads
            .config
            .storage
            .get(&key)
            .await?
            .ok_or(DomainError::NotFound)?;
        Ok(Download {
            inline: variant == Variant::Thumbnail
                || IMAGE_TYPES.contains(&upload.content_type.as_str()),
            name: upload.name,
            content_type,
            size,
            body,
        })
    }

    /// Gives attachments their signed download paths, valid from now.
    pub(super) fn sign(&self, attachments: &mut [Attachment]) {
        let exp = now_millis() / 1000 + self.uploads.config.signed_path_ttl_secs;
        for a in attachments {
            let path = |variant: Variant, suffix: &str| {
                let sig = self
                    .jwt
                    .sign_path(&format!("{}/{}", a.id, variant.signed_as()), exp);
                format!("/api/uploads/{}{suffix}?exp={exp}&sig={sig}", a.id)
            };
            a.url = Some(path(Variant::File, ""));
            a.thumbnail_url = a.thumbnail.then(|| path(Variant::Thumbnail, "/thumbnail"));
        }
    }

    /// Signs the attachments of messages on their way out.
    pub(super) fn sign_messages<'m>(&self, messages: impl IntoIterator<Item = &'m mut Message>) {
        for message in messages {
            if !message.attachments.is_empty() {
                self.sign(&mut message.attachments);
            }
        }
    }

    /// The uploads a `send` names, as the message will carry them: each must be of the
    /// sender's side of the conversation (whether one is still unsent is the append's to
    /// check, after it has looked for a retry).
    pub(super) async fn attachments_of(
        &self,
        conversation_id: &ConversationId,
        side: Side,
        ids: &[UploadId],
    ) -> DomainResult<Vec<Attachment>> {
        let mut attachments = Vec::with_capacity(ids.len());
        for id in ids {
            let upload = self.store.upload(id).await?;
            match upload {
                Some(u) if &u.conversation_id == conversation_id && u.sender == side => {
                    attachments.push(u.attachment());
                }
                _ => {
                    return Err(DomainError::invalid(format!(
                        "attachment {id} is not an upload of this side of the conversation"
                    )))
                }
            }
        }
        Ok(attachments)
    }

    /// Deletes uploads made before `now` less a day that no message carries; returns how many.
    pub async fn sweep_unsent_uploads(&self, now: Millis) -> DomainResult<usize> {
        const BATCH: i64 = 100;
        let mut swept = 0;
        loop {
            let stale = self
                .store
                .unsent_uploads(now - UNSENT_UPLOAD_TTL_MILLIS, BATCH)
                .await?;
            let ids: Vec<UploadId> = stale.iter().map(|u| u.id.clone()).collect();
            let deleted = self.store.delete_unsent_uploads(&ids).await?;
            for upload in stale.iter().filter(|u| deleted.contains(&u.id)) {
                self.delete_files(upload).await;
            }
            swept += deleted.len();
            if (stale.len() as i64) < BATCH || deleted.is_empty() {
                return Ok(swept);
            }
        }
    }

    /// Deletes every file of a site (its rows go with the site's).
    pub async fn delete_site_files(&self, site_id: &SiteId) -> DomainResult<()> {
        Ok(self
            .uploads
            .config
            .storage
            .delete_site(site_id.as_str())
            .await?)
    }

    /// Deletes an upload that failed before it was stored: its row, then what was written of
    /// its bytes. Should either fail, the sweep of unsent uploads does it later.
    async fn discard(&self, upload: &Upload) {
        match self
            .store
            .delete_unsent_uploads(std::slice::from_ref(&upload.id))
            .await
        {
            Ok(_) => self.delete_files(upload).await,
            Err(e) => tracing::warn!(error = %e, "could not delete a failed upload's row"),
        }
    }

    /// Deletes an upload's file and thumbnail. One not stored may have a thumbnail half made.
    async fn delete_files(&self, upload: &Upload) {
        let storage = &self.uploads.config.storage;
        let site = upload.site_id.as_str();
        let mut keys = vec![upload_key(site, upload.id.as_str())];
        if upload.thumbnail || !upload.stored {
            keys.push(thumbnail_key(site, upload.id.as_str()));
        }
        for key in keys {
            if let Err(e) = storage.delete(&key).await {
                tracing::warn!(error = %e, key, "could not delete an upload's file");
            }
        }
    }

    /// Makes the thumbnail of the image stored under `key`; false when it cannot (too large to
    /// decode safely, not decodable, storage failing). Reads the image back from storage, so
    /// the upload itself was never held whole in memory.
    async fn make_thumbnail(&self, site_id: &SiteId, id: &UploadId, key: &str) -> bool {
        let Ok(_turn) = self.uploads.thumbnailing.acquire().await else {
            return false;
        };
        let storage = &self.uploads.config.storage;
        let image = match storage.get(key).await {
            Ok(Some((size, body))) => collect(body, size).await,
            _ => None,
        };
        let Some(image) = image else {
            return false;
        };
        let made = tokio::task::spawn_blocking(move || thumbnails::make(&image))
            .await
            .ok()
            .flatten();
        let Some(thumbnail) = made else {
            return false;
        };
        let body: ByteStream = Box::pin(stream::once(async move { Ok(Bytes::from(thumbnail)) }));
        let key = thumbnail_key(site_id.as_str(), id.as_str());
        match storage.put(&key, body).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(error = %e, "could not store a thumbnail");
                false
            }
        }
    }

    /// The side of a conversation a bearer stands for: an agent JWT (its site), a visitor
    /// token or a conversation link (its conversation). Anything else is `Unauthorized`.
    async fn party(&self, bearer: Option<&str>) -> DomainResult<Party> {
        let bearer = bearer.ok_or(DomainError::Unauthorized)?;
        if let Ok(agent) = self.authenticate_agent(bearer).await {
            return Ok(Party {
                site_id: agent.site_id,
                conversation_id: None,
                side: Side::Agent,
                visitor_id: None,
            });
        }
        let holder = match VisitorCredential::parse(bearer) {
            Some(VisitorCredential::Token(token)) => {
                let seen = self.visitor_seen_window();
                self.store
                    .visitor_by_token(None, &token.hash(), seen.expired_before)
                    .await?
            }
            Some(VisitorCredential::Link(link)) => self.link_holder_of_any_site(&link).await?,
            None => None,
        };
        let holder = holder.ok_or(DomainError::Unauthorized)?;
        Ok(Party {
            site_id: holder.conversation.site_id,
            conversation_id: Some(holder.conversation.id),
            side: Side::Visitor,
            visitor_id: Some(holder.visitor.id),
        })
    }
}

fn too_large(max_bytes: u64) -> DomainError {
    DomainError::FileTooLarge { max_bytes }
}

fn over_quota(quota: u64) -> DomainError {
    DomainError::TooLarge(format!(
        "this conversation's files are over {} MiB in all",
        quota / (1024 * 1024)
    ))
}

/// The name a file is kept and served under: the last path segment of what the client gave,
/// without control characters or the characters that would need quoting in a header.
pub fn file_name(raw: Option<&str>) -> String {
    let raw = raw.unwrap_or("");
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let name: String = last
        .trim()
        .chars()
        .filter(|c| !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
        .map(|c| {
            if c.is_control() || matches!(c, '"' | ';' | '/' | '\\') {
                '_'
            } else {
                c
            }
        })
        .take(MAX_NAME_CHARS)
        .collect();
    if name.is_empty() || name == "." || name == ".." {
        "file".to_owned()
    } else {
        name
    }
}

/// What the bytes are: a type `infer` knows by its signature, else text (UTF-8 without NUL)
/// as CSV or plain text by the name, else nothing.
pub fn sniff(head: &[u8], name: &str) -> Option<String> {
    // Markup is text like any other: stored and served as plain text, never as a document a
    // browser would run.
    const MARKUP: [&str; 4] = ["text/html", "text/xml", "application/xml", "image/svg+xml"];
    match infer::get(head) {
        Some(kind) if !MARKUP.contains(&kind.mime_type()) => {
            return Some(kind.mime_type().to_owned())
        }
        _ => {}
    }
    let text = match std::str::from_utf8(head) {
        Ok(_) => true,
        // Cut inside a character at the end of the sniffed bytes: still text.
        Err(e) => e.error_len().is_none(),
    };
    if !text || head.contains(&0) {
        return None;
    }
    let csv = name.to_ascii_lowercase().ends_with(".csv");
    Some(if csv { "text/csv" } else { "text/plain" }.to_owned())
}

/// Reads the body until [`SNIFF_BYTES`] or its end: those bytes, and the rest of the stream.
async fn read_head(mut body: ByteStream) -> DomainResult<(Bytes, ByteStream)> {
    let mut head = BytesMut::new();
    while head.len() < SNIFF_BYTES {
        match body.next().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            Some(Err(e)) => {
                return Err(DomainError::invalid(format!("the upload was cut off: {e}")))
            }
            None => break,
        }
    }
    Ok((head.freeze(), body))
}

/// The whole body again (`head`, then `rest`), failing once it passes `max` bytes (and
/// setting `over`), so that storage keeps nothing of a file that is too large.
fn capped(head: Bytes, rest: ByteStream, max: u64, over: Arc<AtomicBool>) -> ByteStream {
    let mut seen = 0u64;
    let all = stream::once(async move { Ok(head) }).chain(rest);
    Box::pin(all.map(move |chunk| {
        let chunk = chunk?;
        seen += chunk.len() as u64;
        if seen > max {
            over.store(true, Ordering::Relaxed);
            return Err(std::io::Error::other("the file is over the size limit"));
        }
        Ok(chunk)
    }))
}

/// A stored file read whole (an image to thumbnail, at most the upload limit).
async fn collect(mut body: ByteStream, size: u64) -> Option<Vec<u8>> {
    let mut bytes = Vec::with_capacity(usize::try_from(size).ok()?);
    while let Some(chunk) = body.next().await {
        bytes.extend_from_slice(&chunk.ok()?);
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_only_their_last_segment_and_no_header_characters() {
        assert_eq!(file_name(Some("C:\\Users\\me\\report.pdf")), "report.pdf");
        assert_eq!(file_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(file_name(Some("a\"b;c\r\n.txt")), "a_b_c__.txt");
        assert_eq!(file_name(Some("\u{202E}gpj.exe")), "gpj.exe");
        assert_eq!(file_name(Some("")), "file");
        assert_eq!(file_name(None), "file");
        assert_eq!(file_name(Some("..")), "file");
        assert_eq!(file_name(Some(&"x".repeat(500))).chars().count(), 200);
    }

    #[test]
    fn types_are_sniffed_from_the_bytes_not_the_name() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(sniff(png, "x.pdf").as_deref(), Some("image/png"));
        assert_eq!(
            sniff(b"%PDF-1.7\n", "x.png").as_deref(),
            Some("application/pdf")
        );
        assert_eq!(
            sniff(b"a,b\n1,2\n", "data.CSV").as_deref(),
            Some("text/csv")
        );
        assert_eq!(
            sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "x.svg").as_deref(),
            Some("text/plain")
        );
        assert_eq!(
            sniff(b"<html><script>", "x.html").as_deref(),
            Some("text/plain")
        );
        assert_eq!(sniff(b"caf\xc3", "cut.txt").as_deref(), Some("text/plain"));
        assert_eq!(sniff(b"\x00\x01\x02\xff", "x.bin"), None);
        assert_eq!(sniff(b"\xff\xfe\x00", "x.txt"), None);
    }
}
