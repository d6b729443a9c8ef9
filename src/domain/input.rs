//! Client input parsed once at the edge into types that are valid by construction.

use super::error::{DomainError, DomainResult};
use super::ids::UploadId;

pub const MAX_TEXT_CHARS: usize = 4000;
pub const MAX_CLIENT_ID_CHARS: usize = 64;
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_PHONE_CHARS: usize = 32;
pub const MAX_URL_CHARS: usize = 2048;
pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_PAGE_LIMIT: i64 = 100;
pub const DEFAULT_PAGE_LIMIT: i64 = 50;
pub const SYNC_LIMIT: i64 = 500;
pub const MAX_ATTACHMENTS: usize = 10;

/// A message body: 1..=4000 Unicode scalar values after trimming, kept verbatim otherwise.
#[derive(Debug, Clone)]
pub struct MessageText(String);

impl MessageText {
    pub fn parse(raw: &str) -> DomainResult<Self> {
        if raw.trim().is_empty() {
            return Err(DomainError::invalid("text is empty"));
        }
        Self::parse_or_empty(raw)
    }

    /// The text of a message with attachments, which may have none.
    fn parse_or_empty(raw: &str) -> DomainResult<Self> {
        let text = raw.trim();
        reject_nul(text, "text")?;
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(DomainError::invalid("text is longer than 4000 characters"));
        }
        Ok(MessageText(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a `send` carries: text, files, or both.
#[derive(Debug, Clone)]
pub struct MessageContent {
    pub text: MessageText,
    /// Upload ids, at most [`MAX_ATTACHMENTS`], no repeats.
    pub attachments: Vec<UploadId>,
}

impl MessageContent {
    /// `text` may be absent or empty only when there are attachments.
    pub fn parse(text: Option<&str>, attachments: &[String]) -> DomainResult<Self> {
        if attachments.len() > MAX_ATTACHMENTS {
            return Err(DomainError::invalid(format!(
                "at most {MAX_ATTACHMENTS} attachments"
            )));
        }
        let mut ids: Vec<UploadId> = Vec::with_capacity(attachments.len());
        for raw in attachments {
            let id = UploadId::parse(raw)
                .ok_or_else(|| DomainError::invalid("an attachment is not an upload id"))?;
            if ids.contains(&id) {
                return Err(DomainError::invalid("an attachment is named twice"));
            }
            ids.push(id);
        }
        let text = if ids.is_empty() {
            MessageText::parse(text.unwrap_or(""))?
        } else {
            MessageText::parse_or_empty(text.unwrap_or(""))?
        };
        Ok(MessageContent {
            text,
            attachments: ids,
        })
    }
}

/// The sender's idempotency key for `send`.
#[derive(Debug, Clone)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(raw: &str) -> DomainResult<Self> {
        let n = raw.chars().count();
        if n == 0 || n > MAX_CLIENT_ID_CHARS {
            return Err(DomainError::invalid("clientId must be 1..64 characters"));
        }
        reject_nul(raw, "clientId")?;
        Ok(ClientId(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A pre-chat form update: each field present is replaced; an empty string clears it.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    pub name: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
}

impl ProfileUpdate {
    pub fn parse(
        name: Option<&str>,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> DomainResult<Self> {
        Ok(ProfileUpdate {
            name: name.map(parse_name).transpose()?,
            email: email.map(parse_email).transpose()?,
            phone: phone.map(parse_phone).transpose()?,
        })
    }
}

/// U+0000 is no text anyone types, and PostgreSQL cannot store it: refuse it everywhere.
fn reject_nul(s: &str, field: &str) -> DomainResult<()> {
    if s.contains('\0') {
        Err(DomainError::invalid(format!("{field} contains U+0000")))
    } else {
        Ok(())
    }
}

fn non_empty(raw: &str) -> Option<String> {
    let t = raw.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// Characters that reorder the text around them (U+202A–U+202E, U+2066–U+2069): in a name or
/// title shown next to other text they can make it read as something else.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A single-line field as shown: bidi controls dropped, line breaks and tabs made spaces.
pub fn single_line(raw: &str) -> String {
    raw.chars()
        .filter(|c| !is_bidi_control(*c))
        .map(|c| {
            if matches!(c, '\r' | '\n' | '\t') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

fn parse_name(raw: &str) -> DomainResult<Option<String>> {
    let name = non_empty(&single_line(raw));
    match &name {
        Some(n) if n.chars().count() > MAX_NAME_CHARS => {
            Err(DomainError::invalid("name is longer than 100 characters"))
        }
        Some(n) if n.chars().any(char::is_control) => {
            Err(DomainError::invalid("name contains control characters"))
        }
        _ => Ok(name),
    }
}

/// An e-mail address as both sides give it: `None` when blank, `invalid` unless it looks like one.
pub fn parse_email(raw: &str) -> DomainResult<Option<String>> {
    let Some(email) = non_empty(raw) else {
        return Ok(None);
    };
    let looks_right = email.chars().count() <= MAX_EMAIL_CHARS
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
    if looks_right {
        Ok(Some(email))
    } else {
        Err(DomainError::invalid(
            "email does not look like an e-mail address",
        ))
    }
}

fn parse_phone(raw: &str) -> DomainResult<Option<String>> {
    let Some(phone) = non_empty(raw) else {
        return Ok(None);
    };
    let allowed = |c: char| c.is_ascii_digit() || " +-()".contains(c);
    if phone.chars().count() <= MAX_PHONE_CHARS
        && phone.chars().all(allowed)
        && phone.chars().any(|c| c.is_ascii_digit())
    {
        Ok(Some(phone))
    } else {
        Err(DomainError::invalid(
            "phone must be at most 32 digits, spaces and +-()",
        ))
    }
}

/// The page a visitor reports being on.
#[derive(Debug, Clone)]
pub struct PageReport {
    pub url: String,
    pub title: Option<String>,
}

impl PageReport {
    /// `allowed_query_params` are the query parameters the site lets through (a name, or a
    /// prefix ending in `*` such as `utm_*`); every other part of the query, the fragment and
    /// any user info are dropped: they often carry secrets (`?token=...`, `#access_token=`).
    pub fn parse(
        url: &str,
        title: Option<&str>,
        allowed_query_params: &[String],
    ) -> DomainResult<Self> {
        let url = url.trim();
        if url.is_empty() || url.chars().count() > MAX_URL_CHARS {
            return Err(DomainError::invalid("url must be 1..2048 characters"));
        }
        reject_nul(url, "url")?;
        if let Some(title) = title {
            reject_nul(title, "title")?;
        }
        let url = private_page_url(url, allowed_query_params);
        let title = title.map(single_line);
        let title = title.as_deref().and_then(non_empty);
        if title
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_TITLE_CHARS)
        {
            return Err(DomainError::invalid("title is longer than 200 characters"));
        }
        Ok(PageReport { url, title })
    }
}

/// Origin and path of a page URL, with only the allowed query parameters.
fn private_page_url(raw: &str, allowed_query_params: &[String]) -> String {
    let Ok(mut parsed) = url::Url::parse(raw) else {
        // Not an absolute URL: keep what comes before any query or fragment.
        let end = raw.find(['?', '#']).unwrap_or(raw.len());
        return single_line(&raw[..end]);
    };
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(name, _)| query_param_allowed(name, allowed_query_params))
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    parsed.set_fragment(None);
    parsed.set_query(None);
    if !kept.is_empty() {
        parsed.query_pairs_mut().extend_pairs(kept);
    }
    single_line(parsed.as_str())
}

fn query_param_allowed(name: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|a| match a.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => a == name,
    })
}

/// A page size for `history` and `list`.
pub fn page_limit(raw: Option<i64>) -> DomainResult<i64> {
    match raw {
        None => Ok(DEFAULT_PAGE_LIMIT),
        Some(n) if (1..=MAX_PAGE_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(DomainError::invalid("limit must be 1..100")),
    }
}

/// A seq cursor from a client: never negative.
pub fn seq_cursor(raw: i64) -> DomainResult<i64> {
    if raw < 0 {
        Err(DomainError::invalid("seq must not be negative"))
    } else {
        Ok(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded_in_scalar_values() {
        assert_eq!(MessageText::parse("  hi  ").unwrap().as_str(), "hi");
        assert!(MessageText::parse("   ").is_err());
        assert!(MessageText::parse(&"é".repeat(4000)).is_ok());
        assert!(MessageText::parse(&"é".repeat(4001)).is_err());
    }

    #[test]
    fn attachments_make_text_optional() {
        let ids = |n: usize| (0..n).map(|i| format!("u_{i}")).collect::<Vec<_>>();
        assert!(MessageContent::parse(None, &[]).is_err());
        assert!(MessageContent::parse(Some("  "), &[]).is_err());
        let content = MessageContent::parse(None, &ids(1)).unwrap();
        assert_eq!(content.text.as_str(), "");
        assert_eq!(content.attachments.len(), 1);
        assert!(MessageContent::parse(Some("see"), &ids(10)).is_ok());
        assert!(MessageContent::parse(Some("see"), &ids(11)).is_err());
        assert!(MessageContent::parse(None, &["u_1".into(), "u_1".into()]).is_err());
        assert!(MessageContent::parse(None, &["../etc".into()]).is_err());
        assert!(MessageContent::parse(Some(&"a".repeat(4001)), &ids(1)).is_err());
    }

    #[test]
    fn nul_characters_are_invalid() {
        assert!(MessageText::parse("a\0b").is_err());
        assert!(ClientId::parse("a\0").is_err());
        assert!(PageReport::parse("https://x/\0", None, &[]).is_err());
    }

    #[test]
    fn text_keeps_html_verbatim() {
        let t = "<img src=x onerror=alert(1)>";
        assert_eq!(MessageText::parse(t).unwrap().as_str(), t);
    }

    #[test]
    fn emails_must_look_like_emails() {
        assert!(parse_email("a@b.co").unwrap().is_some());
        assert!(parse_email("nope").is_err());
        assert!(parse_email("a@b").is_err());
        assert!(parse_email("a b@c.de").is_err());
        assert_eq!(parse_email("").unwrap(), None);
    }

    #[test]
    fn phones_allow_digits_spaces_and_punctuation() {
        assert!(parse_phone("+1 (555) 010-9999").unwrap().is_some());
        assert!(parse_phone("call me").is_err());
        assert!(parse_phone(&"1".repeat(33)).is_err());
    }

    #[test]
    fn page_urls_keep_origin_and_path_only() {
        let page = |url: &str, allowed: &[&str]| {
            let allowed: Vec<String> = allowed.iter().map(|a| a.to_string()).collect();
            PageReport::parse(url, None, &allowed).unwrap().url
        };
        assert_eq!(
            page("https://user:pw@shop.example/cart?token=s3cret#frag", &[]),
            "https://shop.example/cart"
        );
        assert_eq!(
            page(
                "https://shop.example/?utm_source=mail&token=x&ref=a",
                &["utm_*", "ref"]
            ),
            "https://shop.example/?utm_source=mail&ref=a"
        );
        assert_eq!(page("/relative?token=x#y", &[]), "/relative");
    }

    #[test]
    fn single_line_fields_lose_bidi_controls_and_line_breaks() {
        assert_eq!(
            parse_name("Eve\u{202E}gnp.exe").unwrap().as_deref(),
            Some("Evegnp.exe")
        );
        assert_eq!(
            parse_name("Ann\r\nSmith").unwrap().as_deref(),
            Some("Ann  Smith")
        );
        let report = PageReport::parse("https://x.example/", Some("Sale\u{2066}\nnow"), &[]);
        assert_eq!(report.unwrap().title.as_deref(), Some("Sale now"));
    }

    #[test]
    fn client_ids_are_bounded() {
        assert!(ClientId::parse("").is_err());
        assert!(ClientId::parse(&"x".repeat(64)).is_ok());
        assert!(ClientId::parse(&"x".repeat(65)).is_err());
    }
}
