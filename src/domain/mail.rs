//! E-mail: what Parlor sends, the outbox it goes through and the worker that sends it. An
//! e-mail is composed when its cause is recorded, written to the outbox (a row that outlives
//! restarts) and sent by whichever node claims it first, through the [`Mailer`] port (SMTP in
//! `crate::mail`). Connection errors and temporary refusals are retried for a day; a
//! permanent refusal is final.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::agents::AgentIdentity;
use super::auth::{random_token, LinkPurpose};
use super::chat::Chat;
use super::error::{DomainError, DomainResult};
use super::ids::{ConversationId, SiteId};
use super::limits::Budget;
use super::model::{format_millis, now_millis, Message, Millis, Sender, Side, Site};
use super::store::{DueMail, NewMail, SeqSide, Store, StoreError};
use super::visitors::VisitorIdentity;

/// An e-mail as composed, stored in the outbox and handed to the [`Mailer`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mail {
    pub to: String,
    /// The site's own sender (`Name <address>`), instead of `PARLOR_MAIL_FROM`.
    #[serde(default)]
    pub from: Option<String>,
    /// The sender's display name (the site's); the address is `PARLOR_MAIL_FROM`'s.
    pub from_name: Option<String>,
    /// The site's contact address, when it set one.
    #[serde(default)]
    pub reply_to: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Without angle brackets: `id@domain`.
    pub message_id: String,
    /// The conversation's thread: every e-mail of one conversation refers to the same root,
    /// so mail clients show them together.
    pub thread: Option<String>,
    /// The one-click unsubscribe URL (`List-Unsubscribe`, RFC 8058), on e-mails to visitors.
    #[serde(default)]
    pub unsubscribe: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// A connection error or a 4xx answer: worth another try.
    #[error("temporary: {0}")]
    Transient(String),
    /// A 5xx answer or an e-mail the server will never take.
    #[error("permanent: {0}")]
    Permanent(String),
}

/// Sends one e-mail now.
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;
}

/// How e-mail is sent; `None` in [`super::chat::ChatConfig`] when `PARLOR_SMTP_URL` is unset.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// The domain of Message-IDs: the sending address's.
    pub domain: String,
    /// The absolute base of links in e-mails, without a trailing `/`.
    pub base_url: String,
    /// How long an agent's message may stay unread before the visitor is e-mailed.
    pub visitor_delay: Duration,
    /// How long a visitor's message that arrived while no agent was online may stay unread
    /// before the site's agents are e-mailed.
    pub agent_delay: Duration,
}

impl MailConfig {
    /// When a message sent now is to be e-mailed to the other side if it stays unread.
    pub(super) fn due_at(&self, to: Side, now: Millis) -> Millis {
        let delay = match to {
            Side::Visitor => self.visitor_delay,
            Side::Agent => self.agent_delay,
        };
        now.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2))
    }
}

/// What `parlor_mail_total{outcome}` counts.
pub const MAIL_OUTCOMES: [&str; 3] = ["sent", "retried", "failed"];

/// Tries for a day, then gives up.
const GIVE_UP_AFTER_MS: Millis = 24 * 3600 * 1000;
/// The first ten minutes retry at most a minute apart; later ones back off to an hour.
const EAGER_MS: Millis = 10 * 60 * 1000;
/// How long a worker holds a claimed e-mail: longer than an SMTP exchange may take
/// (`crate::mail` gives it 30 s), so no other node takes it while it is being sent.
const LEASE_MS: Millis = 90 * 1000;
/// E-mails claimed at once.
const BATCH: i64 = 10;
/// How often an idle worker looks for e-mail that other nodes queued or that came due.
const POLL: Duration = Duration::from_secs(1);
/// Due conversations handled per look, per side.
const DUE_BATCH: i64 = 50;
/// Messages one missed-reply or offline e-mail lists at most.
const DUE_MESSAGES: i64 = 100;

/// Looks for conversations due for an e-mail every second, forever.
pub async fn schedule(chat: Arc<Chat>) {
    let mut every = tokio::time::interval(POLL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(e) = chat.mail_due().await {
            tracing::warn!(error = %e, "could not look for e-mail to send");
        }
    }
}

/// When to try again after `attempts` tries of an e-mail queued at `created_at`; `None`: give
/// up. Doubling from 2 s, at most 60 s apart in the first ten minutes, then at most an hour.
pub fn next_attempt(attempts: i64, created_at: Millis, now: Millis) -> Option<Millis> {
    let age = now - created_at;
    if age >= GIVE_UP_AFTER_MS {
        return None;
    }
    let cap: Millis = if age < EAGER_MS { 60_000 } else { 3_600_000 };
    let doubled = 2_000i64.saturating_mul(1i64 << attempts.clamp(1, 30).saturating_sub(1));
    let at = now + doubled.min(cap);
    Some(at.min(created_at + GIVE_UP_AFTER_MS))
}

/// Sends what the outbox holds, forever: claims due e-mails, sends each, and records the
/// outcome. Woken at once by e-mail this node queues; polls for the rest.
pub async fn deliver(store: Arc<dyn Store>, mailer: Arc<dyn Mailer>, wake: Arc<Notify>) {
    loop {
        let now = now_millis();
        let claimed = match store.claim_mail(now, now + LEASE_MS, BATCH).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the e-mail outbox");
                Vec::new()
            }
        };
        let idle = claimed.is_empty();
        for queued in claimed {
            let outcome = match serde_json::from_str::<Mail>(&queued.mail) {
                Ok(mail) => mailer.send(&mail).await,
                Err(e) => Err(MailError::Permanent(format!("unreadable outbox row: {e}"))),
            };
            let now = now_millis();
            let recorded = match outcome {
                Ok(()) => {
                    metrics::counter!("parlor_mail_total", "outcome" => "sent").increment(1);
                    store.mail_sent(&queued.id, now).await
                }
                Err(MailError::Transient(why)) => {
                    match next_attempt(queued.attempts, queued.created_at, now) {
                        Some(at) => {
                            metrics::counter!("parlor_mail_total", "outcome" => "retried")
                                .increment(1);
                            tracing::info!(mail = %queued.id, attempts = queued.attempts, error = %why, "e-mail not sent; will retry");
                            store.mail_retry(&queued.id, at, &why).await
                        }
                        None => {
                            metrics::counter!("parlor_mail_total", "outcome" => "failed")
                                .increment(1);
                            tracing::warn!(mail = %queued.id, error = %why, "e-mail given up after a day of tries");
                            store.mail_failed(&queued.id, &why).await
                        }
                    }
                }
                Err(MailError::Permanent(why)) => {
                    metrics::counter!("parlor_mail_total", "outcome" => "failed").increment(1);
                    tracing::warn!(mail = %queued.id, error = %why, "e-mail refused for good");
                    store.mail_failed(&queued.id, &why).await
                }
            };
            if let Err(e) = recorded {
                // The lease runs out and the e-mail is tried again: at worst sent twice.
                tracing::warn!(mail = %queued.id, error = %e, "could not record an e-mail's outcome");
            }
        }
        if idle {
            let _ = tokio::time::timeout(POLL, wake.notified()).await;
        }
    }
}

impl Chat {
    /// Queues an e-mail and wakes this node's worker.
    async fn enqueue(&self, site: &Site, dedupe_key: &str, mail: &Mail) -> DomainResult<()> {
        let json = serde_json::to_string(mail)
            .map_err(|e| DomainError::Internal(StoreError::Corrupt(e.to_string())))?;
        let id = mail
            .message_id
            .split('@')
            .next()
            .unwrap_or(&mail.message_id);
        self.store
            .enqueue_mail(NewMail {
                id,
                dedupe_key,
                site_id: &site.id,
                recipient: &mail.to,
                mail: &json,
                now: now_millis(),
            })
            .await?;
        self.mail_wake.notify_one();
        Ok(())
    }

    /// The visitor's `transcript`: the whole conversation, e-mailed to the visitor's address.
    pub async fn visitor_transcript(&self, id: &VisitorIdentity) -> DomainResult<()> {
        self.send_transcript(&id.site_id, &id.conversation_id).await
    }

    /// An agent's `transcript`: the same e-mail, for a conversation of the agent's site.
    pub async fn agent_transcript(
        &self,
        id: &AgentIdentity,
        conversation_id: &ConversationId,
    ) -> DomainResult<()> {
        self.send_transcript(&id.site_id, conversation_id).await
    }

    /// Rate-limited per conversation, whoever asks: the visitor's inbox is what it protects.
    async fn send_transcript(
        &self,
        site_id: &SiteId,
        conversation_id: &ConversationId,
    ) -> DomainResult<()> {
        let Some(config) = self.mail.as_ref() else {
            return Err(DomainError::invalid("this server does not send e-mail"));
        };
        let row = self
            .store
            .summary(site_id, conversation_id)
            .await?
            .ok_or(DomainError::NotFound)?;
        let Some(to) = row.visitor.email else {
            return Err(DomainError::invalid(
                "the visitor has no e-mail address: set one with profile first",
            ));
        };
        if !self
            .limiters
            .allow(Budget::Transcript, conversation_id.as_str())
        {
            return Err(DomainError::RateLimited);
        }
        let site = self
            .store
            .site_by_id(site_id)
            .await?
            .ok_or(DomainError::NotFound)?;
        let messages = self.whole_conversation(conversation_id).await?;
        let link = self.link_url(
            LinkPurpose::Conversation,
            &config.base_url,
            site_id,
            &row.visitor.id,
            conversation_id,
        );
        let mail = compose(
            config,
            &site,
            conversation_id,
            Letter {
                to: &to,
                subject: format!("Your conversation with {}", site.name),
                heading: format!("Your conversation with {}", site.name),
                messages: &messages,
                reader: Reader::Visitor,
                link: link.map(|url| ("Continue the conversation", url)),
                footer: None,
                unsubscribe: None,
            },
        );
        let dedupe = format!("transcript:{}", mail.message_id);
        self.enqueue(&site, &dedupe, &mail).await
    }

    /// E-mails whatever has come due: agent messages the visitor left unread, and visitor
    /// messages no agent read since they arrived with no agent online. Run every second on
    /// every node; of two nodes reading the same due conversation, both compose the same
    /// e-mail under the same dedupe key, so it is queued once. Returns how many conversations
    /// were handled.
    pub async fn mail_due(&self) -> DomainResult<usize> {
        let Some(config) = self.mail.as_ref() else {
            return Ok(0);
        };
        let mut handled = 0;
        for to in [Side::Visitor, Side::Agent] {
            let now = now_millis();
            for due in self.store.due_mail(to, now, DUE_BATCH).await? {
                self.mail_one_due(config, to, &due, now).await?;
                handled += 1;
            }
        }
        Ok(handled)
    }

    async fn mail_one_due(
        &self,
        config: &MailConfig,
        to: Side,
        due: &DueMail,
        now: Millis,
    ) -> DomainResult<()> {
        let after = due.read_seq.max(due.mailed_seq);
        let from_other_side = match to {
            Side::Visitor => Sender::Agent,
            Side::Agent => Sender::Visitor,
        };
        let page = self
            .store
            .messages(&due.conversation_id, SeqSide::After(after), DUE_MESSAGES)
            .await?;
        // A full page leaves the rest for the next e-mail, due again at once.
        let covered = if page.len() as i64 == DUE_MESSAGES {
            page.last().map_or(due.last_seq, |m| m.seq)
        } else {
            due.last_seq
        };
        let unread: Vec<Message> = page
            .into_iter()
            .filter(|m| m.sender == from_other_side)
            .collect();
        if !unread.is_empty() {
            if let Some(site) = self.store.site_by_id(&due.site_id).await? {
                let kind = match to {
                    Side::Visitor => "missed",
                    Side::Agent => "offline",
                };
                let key = format!("{kind}:{}:{after}-{covered}", due.conversation_id);
                match to {
                    Side::Visitor => self.mail_visitor(config, &site, due, &unread, &key).await?,
                    Side::Agent => self.mail_agents(config, &site, due, &unread, &key).await?,
                }
            }
        }
        self.store
            .mail_covered(
                to,
                &due.conversation_id,
                covered,
                covered,
                config.due_at(to, now),
            )
            .await?;
        Ok(())
    }

    /// Agent replies the visitor has not read: one e-mail for all of them, with the link that
    /// continues the conversation and the one that stops these e-mails.
    async fn mail_visitor(
        &self,
        config: &MailConfig,
        site: &Site,
        due: &DueMail,
        unread: &[Message],
        key: &str,
    ) -> DomainResult<()> {
        let Some(to) = due.visitor_email.as_deref().filter(|_| !due.unsubscribed) else {
            return Ok(());
        };
        let ids = (&due.site_id, &due.visitor_id, &due.conversation_id);
        let link = self.link_url(
            LinkPurpose::Conversation,
            &config.base_url,
            ids.0,
            ids.1,
            ids.2,
        );
        let unsubscribe = self.link_url(
            LinkPurpose::Unsubscribe,
            &config.base_url,
            ids.0,
            ids.1,
            ids.2,
        );
        let subject = match unread.len() {
            1 => format!("New reply from {}", site.name),
            n => format!("{n} new replies from {}", site.name),
        };
        let footer = unsubscribe
            .as_ref()
            .map(|url| format!("You get this e-mail because you wrote to {} and left before the reply. No more of these: {url}", site.name));
        let mail = compose(
            config,
            site,
            &due.conversation_id,
            Letter {
                to,
                heading: subject.clone(),
                subject,
                messages: unread,
                reader: Reader::Visitor,
                link: link.map(|url| ("Reply", url)),
                footer,
                unsubscribe,
            },
        );
        self.enqueue(site, key, &mail).await
    }

    /// Visitor messages no agent has read: one e-mail to each of the site's agents who wants
    /// them, with a link to the conversation in the dashboard.
    async fn mail_agents(
        &self,
        config: &MailConfig,
        site: &Site,
        due: &DueMail,
        unread: &[Message],
        key: &str,
    ) -> DomainResult<()> {
        let recipients = self.store.offline_recipients(&due.site_id).await?;
        if recipients.is_empty() {
            return Ok(());
        }
        let visitor = self
            .store
            .summary(&due.site_id, &due.conversation_id)
            .await?
            .map(|row| row.visitor);
        let visitor_name = visitor
            .as_ref()
            .and_then(|v| v.name.clone().or_else(|| v.email.clone()))
            .unwrap_or_else(|| "A visitor".to_owned());
        let subject = match unread.len() {
            1 => format!(
                "{visitor_name} wrote to {} while no one was online",
                site.name
            ),
            n => format!(
                "{n} messages from {visitor_name} to {} while no one was online",
                site.name
            ),
        };
        let url = format!(
            "{}/admin/conversations/{}",
            config.base_url, due.conversation_id
        );
        let footer = format!(
            "You get this e-mail because no agent of {} was online. Turn it off in your profile: {}/admin/profile",
            site.name, config.base_url
        );
        for recipient in recipients {
            let mail = compose(
                config,
                site,
                &due.conversation_id,
                Letter {
                    to: &recipient.email,
                    subject: subject.clone(),
                    heading: subject.clone(),
                    messages: unread,
                    reader: Reader::Agents {
                        visitor_name: &visitor_name,
                    },
                    link: Some(("Open the conversation", url.clone())),
                    footer: Some(footer.clone()),
                    unsubscribe: None,
                },
            );
            self.enqueue(site, &format!("{key}:{}", recipient.agent_id), &mail)
                .await?;
        }
        Ok(())
    }

    /// Every message of a conversation, oldest first, a page at a time.
    async fn whole_conversation(&self, id: &ConversationId) -> DomainResult<Vec<Message>> {
        const PAGE: i64 = 500;
        let mut all: Vec<Message> = Vec::new();
        loop {
            let after = all.last().map_or(0, |m| m.seq);
            let page = self.store.messages(id, SeqSide::After(after), PAGE).await?;
            let done = (page.len() as i64) < PAGE;
            all.extend(page);
            if done {
                return Ok(all);
            }
        }
    }
}

/// Who reads an e-mail's messages: the visitor sees its own as "You", agents see the
/// visitor's name.
#[derive(Debug, Clone, Copy)]
enum Reader<'a> {
    Visitor,
    Agents { visitor_name: &'a str },
}

/// One e-mail's content before it becomes a [`Mail`].
struct Letter<'a> {
    to: &'a str,
    subject: String,
    heading: String,
    messages: &'a [Message],
    reader: Reader<'a>,
    /// The call to action: a label and an absolute URL.
    link: Option<(&'a str, String)>,
    /// A closing line, e.g. how to stop these e-mails.
    footer: Option<String>,
    /// `List-Unsubscribe` (RFC 8058 one-click) for e-mails to visitors.
    unsubscribe: Option<String>,
}

/// A message's text with a line per file it carries (`[file: name]`): the e-mail says a file
/// was sent, without a link that would outlive the conversation's access rules.
fn with_files(m: &Message) -> String {
    let mut body = m.text.clone();
    for a in &m.attachments {
        if !body.is_empty() {
            body.push('\n');
        }
        let _ = write!(body, "[file: {}]", a.name);
    }
    body
}

/// Composes an e-mail of a conversation: every message with its author and time, as text and
/// as HTML in which every user-supplied text is escaped. No images, no tracking.
fn compose(
    config: &MailConfig,
    site: &Site,
    conversation: &ConversationId,
    letter: Letter<'_>,
) -> Mail {
    let site_name = &site.name;
    let accent = site.accent_color.as_deref().unwrap_or("#2563eb");
    let mut text = format!("{}\n\n", letter.heading);
    let mut rows = String::new();
    for m in letter.messages {
        let who = match (m.sender, letter.reader) {
            (Sender::Visitor, Reader::Visitor) => "You",
            (Sender::Visitor, Reader::Agents { visitor_name }) => visitor_name,
            (Sender::Agent, _) => m.agent_name.as_deref().unwrap_or(site_name),
            (Sender::System, _) => site_name,
        };
        let when = format_millis(m.created_at);
        let body = with_files(m);
        let _ = write!(text, "{who} ({when}):\n{body}\n\n");
        let _ = write!(
            rows,
            "<tr><td style=\"padding:8px 0;vertical-align:top\"><div style=\"font-weight:600\">{}</div>\
             <div style=\"color:#6b7280;font-size:12px\">{}</div>\
             <div style=\"white-space:pre-wrap;margin-top:4px\">{}</div></td></tr>",
            escape(who),
            escape(&when),
            escape(&body)
        );
    }
    if letter.messages.is_empty() {
        text.push_str("(no messages yet)\n\n");
    }
    let mut after = String::new();
    if let Some((label, url)) = &letter.link {
        let _ = writeln!(text, "{label}: {url}");
        let _ = write!(
            after,
            "<p style=\"margin:24px 0\"><a href=\"{}\" style=\"background:{accent};color:#ffffff;\
             padding:10px 16px;border-radius:6px;text-decoration:none;display:inline-block\">{}</a></p>",
            escape(url),
            escape(label)
        );
    }
    if let Some(footer) = &letter.footer {
        let _ = write!(text, "\n{footer}\n");
        let _ = write!(
            after,
            "<p style=\"color:#6b7280;font-size:12px\">{}</p>",
            escape(footer)
        );
    }
    let html = format!(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;color:#111827\">\
         <div style=\"border-top:4px solid {accent};max-width:600px;margin:0 auto;padding:16px\">\
         <h1 style=\"font-size:18px\">{}</h1>\
         <table style=\"width:100%;border-collapse:collapse\">{rows}</table>{after}</div></body></html>",
        escape(&letter.heading)
    );
    Mail {
        to: letter.to.to_owned(),
        from: site.mail_from.clone(),
        from_name: Some(site_name.clone()),
        reply_to: site.contact_email.clone(),
        subject: letter.subject,
        text,
        html,
        message_id: format!("{}@{}", random_token(16), config.domain),
        thread: Some(format!("conversation-{conversation}@{}", config.domain)),
        unsubscribe: letter.unsubscribe,
    }
}

/// Text for an HTML element or a double-quoted attribute.
pub fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_from_two_seconds_and_stay_within_a_minute_at_first() {
        let t0 = 1_000_000;
        assert_eq!(next_attempt(1, t0, t0), Some(t0 + 2_000));
        assert_eq!(next_attempt(2, t0, t0), Some(t0 + 4_000));
        assert_eq!(next_attempt(6, t0, t0), Some(t0 + 60_000));
        assert_eq!(next_attempt(20, t0, t0 + 5 * 60_000), Some(t0 + 6 * 60_000));
    }

    #[test]
    fn later_retries_back_off_to_an_hour_and_stop_after_a_day() {
        let t0 = 1_000_000;
        let late = t0 + 2 * 3_600_000;
        assert_eq!(next_attempt(30, t0, late), Some(late + 3_600_000));
        let almost = t0 + GIVE_UP_AFTER_MS - 60_000;
        assert_eq!(next_attempt(30, t0, almost), Some(t0 + GIVE_UP_AFTER_MS));
        assert_eq!(next_attempt(30, t0, t0 + GIVE_UP_AFTER_MS), None);
    }

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(
            escape(r#"<img src=x onerror="a('1')"> & co"#),
            "&lt;img src=x onerror=&quot;a(&#39;1&#39;)&quot;&gt; &amp; co"
        );
    }
}
