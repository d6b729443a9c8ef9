//! Sends e-mail over SMTP with lettre: one pooled transport, STARTTLS or TLS as the URL says.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::domain::mail::{Mail, MailError, Mailer};

/// An SMTP exchange that takes longer is a temporary failure (the outbox lease is longer).
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

#[derive(Debug, thiserror::Error)]
pub enum SmtpConfigError {
    #[error("PARLOR_SMTP_URL: {0}")]
    Url(String),
    #[error("PARLOR_MAIL_FROM is not an address like `Acme <support@acme.example>`: {0}")]
    From(String),
}

impl SmtpMailer {
    /// `url` as lettre reads it (`smtp://`, `smtps://`, `?tls=required`); `from` a mailbox.
    pub fn new(url: &str, from: &str) -> Result<Self, SmtpConfigError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            // lettre's message repeats the URL, password included: say only what is wrong.
            .map_err(|e| SmtpConfigError::Url(without_url(&e.to_string())))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| SmtpConfigError::From(e.to_string()))?;
        Ok(SmtpMailer { transport, from })
    }

    /// The domain of the sending address: the Message-IDs' right-hand side.
    pub fn domain(&self) -> String {
        self.from.email.domain().to_owned()
    }

    fn message(&self, mail: &Mail) -> Result<Message, MailError> {
        let to = mail
            .to
            .parse::<Mailbox>()
            .map_err(|e| MailError::Permanent(format!("recipient: {e}")))?;
        // The site's own sender when it has one (its domain must let this server send: SPF,
        // DKIM); else the server's address with the site's name.
        let from = match mail.from.as_deref().map(str::parse::<Mailbox>) {
            Some(Ok(own)) => own,
            Some(Err(e)) => return Err(MailError::Permanent(format!("from: {e}"))),
            None => Mailbox::new(
                mail.from_name.clone().or_else(|| self.from.name.clone()),
                self.from.email.clone(),
            ),
        };
        let mut builder = Message::builder()
            .from(from)
            .to(to)
            .subject(&mail.subject)
            .message_id(Some(format!("<{}>", mail.message_id)));
        if let Some(reply_to) = &mail.reply_to {
            let reply_to = reply_to
                .parse::<Mailbox>()
                .map_err(|e| MailError::Permanent(format!("reply-to: {e}")))?;
            builder = builder.reply_to(reply_to);
        }
        if let Some(thread) = &mail.thread {
            builder = builder
                .in_reply_to(format!("<{thread}>"))
                .references(format!("<{thread}>"));
        }
        if let Some(url) = &mail.unsubscribe {
            // RFC 8058: a mail client may unsubscribe with one POST to the URL, no page shown.
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{url}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_owned(),
                ));
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| MailError::Permanent(format!("composing: {e}")))
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let message = self.message(mail)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(MailError::Permanent(e.to_string())),
            Err(e) => Err(MailError::Transient(e.to_string())),
        }
    }
}

/// A message with any URL in it cut off there.
fn without_url(message: &str) -> String {
    match message.find("://") {
        Some(i) => {
            let start = message[..i].rfind(' ').map_or(0, |s| s + 1);
            format!("{}<url>", &message[..start])
        }
        None => message.to_owned(),
    }
}
