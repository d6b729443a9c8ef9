//! A site's settings as its admins see and change them over `/agent` (`settings`,
//! `updateSettings`): the widget's name, accent colour, greeting and away message, the
//! pre-chat form, the origins that may embed it, the office hours and the site's e-mail (its
//! contact address and its own sender). Widgets see a change at their next connection (the
//! visitor's `session` carries the site's settings).

use std::fmt;

use serde::Serialize;

use super::agents::AgentIdentity;
use super::chat::Chat;
use super::error::{DomainError, DomainResult};
use super::hours::{OfficeHours, OfficeHoursInput};
use super::ids::SiteKey;
use super::input::{parse_email, single_line, MAX_NAME_CHARS};
use super::model::Site;
use super::store::SiteChanges;

/// The pre-chat fields a site may ask for.
pub const PRECHAT_FIELDS: [&str; 3] = ["name", "email", "phone"];
/// Characters of a greeting or an away message.
pub const MAX_SITE_TEXT_CHARS: usize = 500;

/// A site's settings, as the settings page shows them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteSettings {
    pub site_key: SiteKey,
    pub name: String,
    pub accent_color: Option<String>,
    pub greeting: Option<String>,
    pub away_message: Option<String>,
    pub prechat_fields: Vec<String>,
    pub prechat_required: Vec<String>,
    pub allowed_origins: Vec<String>,
    /// `null`: always open.
    pub office_hours: Option<OfficeHours>,
    /// The `Reply-To` of the site's e-mails; `null`: none.
    pub contact_email: Option<String>,
    /// The site's own sender (`Name <address>` or an address); `null`: the server's
    /// `PARLOR_MAIL_FROM`.
    pub mail_from: Option<String>,
    /// Whether this server sends e-mail at all (`PARLOR_SMTP_URL` is set). Read-only.
    pub email_enabled: bool,
}

impl SiteSettings {
    fn of(s: Site, email_enabled: bool) -> Self {
        let prechat_required = required_of(&s.prechat_fields, &s.prechat_required);
        SiteSettings {
            site_key: s.site_key,
            name: s.name,
            accent_color: s.accent_color,
            greeting: s.greeting,
            away_message: s.away_message,
            prechat_fields: s.prechat_fields,
            prechat_required,
            allowed_origins: s.allowed_origins,
            office_hours: s.office_hours,
            contact_email: s.contact_email,
            mail_from: s.mail_from,
            email_enabled,
        }
    }
}

/// The required fields that the form still asks for (a field dropped from the form by the
/// command line is not required any more).
pub fn required_of(fields: &[String], required: &[String]) -> Vec<String> {
    required
        .iter()
        .filter(|r| fields.contains(r))
        .cloned()
        .collect()
}

/// What an admin sends to change; `None` leaves a setting as it is, an empty text clears it.
#[derive(Debug, Default)]
pub struct SettingsUpdate {
    pub name: Option<String>,
    pub accent_color: Option<String>,
    pub greeting: Option<String>,
    pub away_message: Option<String>,
    pub prechat_fields: Option<Vec<String>>,
    pub prechat_required: Option<Vec<String>>,
    pub allowed_origins: Option<Vec<String>>,
    /// `Some(None)`: back to always open.
    pub office_hours: Option<Option<OfficeHoursInput>>,
    /// An empty text clears it.
    pub contact_email: Option<String>,
    /// An empty text clears it (back to the server's sender).
    pub mail_from: Option<String>,
}

/// A sender as a site gives it: `Name <address>` or a bare address. The name is one line of
/// at most 100 characters without `<`, `>`, `"` or control characters (so it can always be
/// written as a quoted display name); the address passes the same check as every other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailFrom {
    pub name: Option<String>,
    pub address: String,
}

impl MailFrom {
    /// `None` for an empty text (no sender of the site's own).
    pub fn parse(raw: &str) -> DomainResult<Option<MailFrom>> {
        let bad = |why: &str| DomainError::invalid(format!("mailFrom {why}"));
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        if raw.chars().any(char::is_control) {
            return Err(bad("must be one line without control characters"));
        }
        let (name, address) = match raw.strip_suffix('>').and_then(|r| r.rsplit_once('<')) {
            Some((name, address)) => (Some(name), address),
            None => (None, raw),
        };
        // A name may come quoted (as this type writes one with specials in it).
        let name = name.map(str::trim).map(|n| {
            n.strip_prefix('"')
                .and_then(|n| n.strip_suffix('"'))
                .unwrap_or(n)
                .trim()
        });
        let name = match name.filter(|n| !n.is_empty()) {
            None => None,
            Some(n) => {
                if n.chars().count() > MAX_NAME_CHARS {
                    return Err(bad("has a name longer than 100 characters"));
                }
                if n.contains(['<', '>', '"', '\\']) {
                    return Err(bad("has a name with <, >, \" or \\ in it"));
                }
                Some(n.to_owned())
            }
        };
        // What would end or split an address in a header is refused beyond the common check.
        let address = address.trim();
        if address.contains(['<', '>', '"', ',', ';', ':', '(', ')', '[', ']', '\\']) {
            return Err(bad("must be \"Name <address>\" or an e-mail address"));
        }
        let address = parse_email(address)
            .ok()
            .flatten()
            .ok_or_else(|| bad("must be \"Name <address>\" or an e-mail address"))?;
        Ok(Some(MailFrom { name, address }))
    }
}

/// `Name <address>` (`"Name" <address>` when the name has a character that RFC 5322 allows
/// only quoted, such as `,` or `:`), or the bare address: the form it is stored and shown in,
/// which mail libraries read as a mailbox.
impl fmt::Display for MailFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) if name.contains(SPECIALS) => write!(f, "\"{name}\" <{}>", self.address),
            Some(name) => write!(f, "{name} <{}>", self.address),
            None => f.write_str(&self.address),
        }
    }
}

/// RFC 5322's specials that a display name may hold only within quotes (`"`, `\\`, `<` and
/// `>` are refused in a name).
const SPECIALS: [char; 8] = ['(', ')', '[', ']', ':', ';', '@', ','];

impl Chat {
    pub async fn site_settings(&self, id: &AgentIdentity) -> DomainResult<SiteSettings> {
        let me = self.admin(id).await?;
        let site = self
            .store
            .site_by_id(&me.site_id)
            .await?
            .ok_or(DomainError::NotFound)?;
        Ok(SiteSettings::of(site, self.mail.is_some()))
    }

    /// Checks every given setting first: one bad setting is `invalid` and changes nothing.
    pub async fn update_site_settings(
        &self,
        id: &AgentIdentity,
        update: SettingsUpdate,
    ) -> DomainResult<SiteSettings> {
        let me = self.admin(id).await?;
        let name = update.name.as_deref().map(site_name).transpose()?;
        let accent_color = update
            .accent_color
            .as_deref()
            .map(accent_color)
            .transpose()?;
        let greeting = update
            .greeting
            .as_deref()
            .map(|t| site_text(t, "greeting"))
            .transpose()?;
        let away_message = update
            .away_message
            .as_deref()
            .map(|t| site_text(t, "awayMessage"))
            .transpose()?;
        let prechat_fields = update
            .prechat_fields
            .as_deref()
            .map(|f| field_list(f, "prechatFields"))
            .transpose()?;
        let prechat_required = update
            .prechat_required
            .as_deref()
            .map(|f| field_list(f, "prechatRequired"))
            .transpose()?;
        let allowed_origins = update
            .allowed_origins
            .as_deref()
            .map(|o| origin_list(o, "allowedOrigins"))
            .transpose()?;
        let office_hours = update
            .office_hours
            .map(|h| h.map(OfficeHours::parse).transpose())
            .transpose()?;
        let contact_email = update
            .contact_email
            .as_deref()
            .map(|e| {
                parse_email(e)
                    .map(Option::unwrap_or_default)
                    .map_err(|_| DomainError::invalid("contactEmail must be an e-mail address"))
            })
            .transpose()?;
        let mail_from = update
            .mail_from
            .as_deref()
            .map(|m| MailFrom::parse(m).map(|m| m.map(|m| m.to_string()).unwrap_or_default()))
            .transpose()?;
        let site = self
            .store
            .site_by_id(&me.site_id)
            .await?
            .ok_or(DomainError::NotFound)?;
        let fields = prechat_fields.as_ref().unwrap_or(&site.prechat_fields);
        let required = prechat_required.as_ref().unwrap_or(&site.prechat_required);
        if let Some(stray) = required.iter().find(|r| !fields.contains(r)) {
            return Err(DomainError::invalid(format!(
                "prechatRequired names {stray:?}, which the form does not ask for"
            )));
        }
        let changes = SiteChanges {
            name: name.as_deref(),
            allowed_origins: allowed_origins.as_deref(),
            prechat_fields: prechat_fields.as_deref(),
            allowed_query_params: None,
            prechat_required: prechat_required.as_deref(),
            accent_color: accent_color.as_deref(),
            greeting: greeting.as_deref(),
            away_message: away_message.as_deref(),
            office_hours: office_hours.as_ref().map(Option::as_ref),
            contact_email: contact_email.as_deref(),
            mail_from: mail_from.as_deref(),
        };
        if !self.store.update_site(&me.site_id, changes).await? {
            return Err(DomainError::NotFound);
        }
        let site = self
            .store
            .site_by_id(&me.site_id)
            .await?
            .ok_or(DomainError::NotFound)?;
        Ok(SiteSettings::of(site, self.mail.is_some()))
    }

    /// The site whose public key is `key`, as anyone may open a chat with it (the hosted
    /// `/chat/{siteKey}` page); `None`: no such site.
    pub async fn site_for_visitors(&self, key: &SiteKey) -> DomainResult<Option<Site>> {
        Ok(self.store.site_by_key(key).await?)
    }
}

/// A site's name: one line, 1..100 characters.
pub fn site_name(raw: &str) -> DomainResult<String> {
    let name = single_line(raw);
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(DomainError::invalid("name must be 1..100 characters"));
    }
    Ok(name.to_owned())
}

/// `#rrggbb` (stored in lower case), or empty for the default.
fn accent_color(raw: &str) -> DomainResult<String> {
    let color = raw.trim().to_ascii_lowercase();
    let hex = color.strip_prefix('#').unwrap_or("");
    if color.is_empty() || (hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit())) {
        Ok(color)
    } else {
        Err(DomainError::invalid("accentColor must be #rrggbb"))
    }
}

/// A greeting or away message: plain text (shown as text, never as HTML), up to 500
/// characters, line breaks kept, other control characters refused; empty for the default.
fn site_text(raw: &str, field: &str) -> DomainResult<String> {
    let text = raw.trim();
    if text.chars().count() > MAX_SITE_TEXT_CHARS {
        return Err(DomainError::invalid(format!(
            "{field} is longer than {MAX_SITE_TEXT_CHARS} characters"
        )));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(DomainError::invalid(format!(
            "{field} contains control characters"
        )));
    }
    Ok(text.to_owned())
}

/// Pre-chat field names, each one of [`PRECHAT_FIELDS`], without repeats.
pub fn field_list(raw: &[String], what: &str) -> DomainResult<Vec<String>> {
    let mut fields: Vec<String> = Vec::new();
    for f in raw {
        let f = f.trim().to_lowercase();
        if f.is_empty() {
            continue;
        }
        if !PRECHAT_FIELDS.contains(&f.as_str()) {
            return Err(DomainError::invalid(format!(
                "{what}: unknown pre-chat field {f:?}; use name, email, phone"
            )));
        }
        if !fields.contains(&f) {
            fields.push(f);
        }
    }
    Ok(fields)
}

/// Origins that may embed the widget (`https://shop.example`), without a trailing slash; an
/// empty list allows any origin.
pub fn origin_list(raw: &[String], what: &str) -> DomainResult<Vec<String>> {
    let mut origins = Vec::new();
    for o in raw {
        let o = o.trim().trim_end_matches('/');
        if o.is_empty() {
            continue;
        }
        let host = o
            .strip_prefix("https://")
            .or_else(|| o.strip_prefix("http://"));
        if !host.is_some_and(|h| !h.is_empty() && !h.contains(['/', ' ', '?', '#'])) {
            return Err(DomainError::invalid(format!(
                "{what}: {o:?} is not an origin like https://shop.example"
            )));
        }
        origins.push(o.to_owned());
    }
    Ok(origins)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accent_colours_are_hex_triplets() {
        assert_eq!(accent_color(" #A1b2C3 ").unwrap(), "#a1b2c3");
        assert_eq!(accent_color("").unwrap(), "");
        for bad in ["red", "#abc", "#abcdefa", "a1b2c3", "#ggg000", "#12345"] {
            assert!(accent_color(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn origins_are_scheme_and_host() {
        let ok = origin_list(
            &[
                "https://shop.example/".into(),
                "http://localhost:3000".into(),
            ],
            "o",
        );
        assert_eq!(
            ok.unwrap(),
            ["https://shop.example", "http://localhost:3000"]
        );
        for bad in [
            "shop.example",
            "https://",
            "https://a b",
            "https://shop.example/path",
            "ftp://x",
        ] {
            assert!(origin_list(&[bad.into()], "o").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn site_texts_keep_line_breaks_and_refuse_other_controls() {
        assert_eq!(
            site_text(" Hi!\nHow can we help? ", "greeting").unwrap(),
            "Hi!\nHow can we help?"
        );
        assert!(site_text("a\u{0}b", "greeting").is_err());
        assert!(site_text(&"x".repeat(501), "greeting").is_err());
    }

    #[test]
    fn senders_are_a_name_and_an_address_or_an_address() {
        let parsed = |raw: &str| MailFrom::parse(raw).unwrap().map(|m| m.to_string());
        assert_eq!(
            parsed(" Acme Support  < support@acme.example > ").as_deref(),
            Some("Acme Support <support@acme.example>")
        );
        assert_eq!(
            parsed("support@acme.example").as_deref(),
            Some("support@acme.example")
        );
        assert_eq!(
            parsed("<support@acme.example>").as_deref(),
            Some("support@acme.example")
        );
        assert_eq!(parsed("  "), None);
        // Specials quoted, and a quoted name read back as it is.
        assert_eq!(
            parsed("Acme, Inc. <a@acme.example>").as_deref(),
            Some("\"Acme, Inc.\" <a@acme.example>")
        );
        assert_eq!(
            parsed("\"Acme, Inc.\" <a@acme.example>").as_deref(),
            Some("\"Acme, Inc.\" <a@acme.example>")
        );
        assert_eq!(
            parsed("\"Acme\" <a@acme.example>").as_deref(),
            Some("Acme <a@acme.example>")
        );
        for bad in [
            "Acme",
            "Acme <>",
            "Acme <not an address>",
            "Ac\"me <a@acme.example>",
            "Ac<me <a@acme.example>",
            "Ac\\me <a@acme.example>",
            "\"Ac\"me\" <a@acme.example>",
            "Acme\n <a@acme.example>",
            "a@acme.example, b@acme.example",
            "Acme <a@acme.example",
        ] {
            assert!(MailFrom::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{} <a@acme.example>", "x".repeat(101));
        assert!(MailFrom::parse(&long).is_err());
    }

    #[test]
    fn field_lists_know_three_fields() {
        assert_eq!(
            field_list(&["Email".into(), "email".into(), " ".into()], "f").unwrap(),
            ["email"]
        );
        assert!(field_list(&["shoe".into()], "f").is_err());
    }
}
