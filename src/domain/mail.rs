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
use super::auth::random_token;
use super::chat::Chat;
use super::error::{DomainError, DomainResult};
use super::ids::{ConversationId, SiteId};
use super::limits::Budget;
use super::model::{format_millis, now_millis, Message, Millis, Sender, Site};
use super::store::{NewMail, SeqSide, Store, StoreError};
use super::visitors::VisitorIdentity;

/// An e-mail as composed, stored in the outbox and handed to the [`Mailer`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mail {
    pub to: String,
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
        let mail = transcript(config, &site, conversation_id, &to, &messages);
        let dedupe = format!("transcript:{}", mail.message_id);
        self.enqueue(&site, &dedupe, &mail).await
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

/// The transcript e-mail: every message with its author and time, as text and as HTML in
/// which every user-supplied text is escaped.
pub fn transcript(
    config: &MailConfig,
    site: &Site,
    conversation: &ConversationId,
    to: &str,
    messages: &[Message],
) -> Mail {
    let site_name = &site.name;
    let accent = site.accent_color.as_deref().unwrap_or("#2563eb");
    let mut text = format!("Your conversation with {site_name}\n\n");
    let mut rows = String::new();
    for m in messages {
        let who = match m.sender {
            Sender::Visitor => "You",
            Sender::Agent => m.agent_name.as_deref().unwrap_or(site_name),
            Sender::System => site_name,
        };
        let when = format_millis(m.created_at);
        let _ = write!(text, "{who} ({when}):\n{}\n\n", m.text);
        let _ = write!(
            rows,
            "<tr><td style=\"padding:8px 0;vertical-align:top\"><div style=\"font-weight:600\">{}</div>\
             <div style=\"color:#6b7280;font-size:12px\">{}</div>\
             <div style=\"white-space:pre-wrap;margin-top:4px\">{}</div></td></tr>",
            escape(who),
            escape(&when),
            escape(&m.text)
        );
    }
    if messages.is_empty() {
        text.push_str("(no messages yet)\n");
    }
    let html = format!(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;color:#111827\">\
         <div style=\"border-top:4px solid {accent};max-width:600px;margin:0 auto;padding:16px\">\
         <h1 style=\"font-size:18px\">Your conversation with {}</h1>\
         <table style=\"width:100%;border-collapse:collapse\">{rows}</table></div></body></html>",
        escape(site_name)
    );
    Mail {
        to: to.to_owned(),
        from_name: Some(site_name.clone()),
        reply_to: site.contact_email.clone(),
        subject: format!("Your conversation with {site_name}"),
        text,
        html,
        message_id: format!("{}@{}", random_token(16), config.domain),
        thread: Some(format!("conversation-{conversation}@{}", config.domain)),
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
