//! What a visitor can do: connect, fill in the pre-chat form, send, page back, sync, read, type.

use std::sync::Arc;

use jiff::Timestamp;

use serde::Serialize;

use super::chat::{Author, Chat};
use super::cluster::Member;
use super::error::{DomainError, DomainResult, Refusal};
use super::events::{AgentEvent, AgentRead, AgentTyping, AgentsPresence, ConnectionId};
use super::hours::OfficeHoursNow;
use super::ids::{ConversationId, ConversationLink, SiteId, SiteKey, VisitorId, VisitorToken};
use super::input::{ClientId, MessageContent, PageReport, ProfileUpdate};
use super::limits::Budget;
use super::model::{
    activity_now, now_millis, Conversation, ConversationRef, Message, MessagePage, Page, Sender,
    Side, Site, Visitor,
};
use super::settings::required_of;
use super::slots::VisitorSlot;
use super::store::{NewVisitor, TokenHolder};

/// Messages in the `session` event.
const SESSION_MESSAGES: i64 = 50;

/// Who a visitor connection is, fixed at the handshake.
#[derive(Debug, Clone)]
pub struct VisitorIdentity {
    pub site_id: SiteId,
    pub visitor_id: VisitorId,
    pub conversation_id: ConversationId,
}

impl VisitorIdentity {
    fn member(&self) -> Member {
        Member::Visitor {
            site_id: self.site_id.clone(),
            conversation_id: self.conversation_id.clone(),
        }
    }
}

/// What a visitor presents at the handshake to be let in as itself.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum VisitorCredential {
    /// The token the visitor's `session` gave it.
    Token(VisitorToken),
    /// A conversation link from an e-mail: kept as the token of that browser.
    Link(ConversationLink),
}

impl VisitorCredential {
    /// What the client keeps and presents again.
    pub fn as_str(&self) -> &str {
        match self {
            VisitorCredential::Token(token) => token.as_str(),
            VisitorCredential::Link(link) => link.as_str(),
        }
    }

    /// A token or a link, by its shape; `None` for anything else (no credential: a new visitor).
    pub fn parse(raw: &str) -> Option<Self> {
        VisitorToken::parse(raw)
            .map(VisitorCredential::Token)
            .or_else(|| ConversationLink::parse(raw).map(VisitorCredential::Link))
    }
}

/// Where a handshake comes from, for the site's origin allowlist.
#[derive(Debug, Clone, Copy)]
pub struct HandshakeOrigin<'a> {
    /// The `Origin` header.
    pub origin: Option<&'a str>,
    /// The page is this server's own (the hosted chat pages): no allowlist applies to it.
    pub own: bool,
}

/// The outcome of a visitor handshake.
#[derive(Debug, Clone)]
pub struct AdmittedVisitor {
    pub identity: VisitorIdentity,
    pub site: Site,
    pub visitor: Visitor,
    /// The token to keep: the one presented, or a new one.
    pub token: VisitorCredential,
    /// Created by this handshake: agents have not heard of the conversation yet.
    pub is_new: bool,
    /// This connection's place under the visitor's connection cap; keep it with the socket.
    pub slot: Arc<VisitorSlot>,
}

/// The `session` event.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VisitorSession {
    pub visitor: Visitor,
    pub token: VisitorCredential,
    pub conversation: ConversationRef,
    pub messages: Vec<Message>,
    pub has_more: bool,
    pub agents_online: bool,
    pub site: SiteInfo,
}

/// What the widget needs to know about the site.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteInfo {
    pub name: String,
    pub prechat_fields: Vec<String>,
    /// Which of `prechat_fields` must be filled in.
    pub prechat_required: Vec<String>,
    /// Query parameters the widget may keep in the page URLs it reports.
    pub allowed_query_params: Vec<String>,
    /// `#rrggbb`, or `null` for the widget's default.
    pub accent_color: Option<String>,
    /// The site's own greeting, or `null` for the widget's built-in one.
    pub greeting: Option<String>,
    /// The site's own message while no agent is online, or `null` for the built-in one.
    pub away_message: Option<String>,
    /// `null`, or the site's hours and whether it is within them at the handshake.
    pub office_hours: Option<OfficeHoursNow>,
    /// Whether this server e-mails transcripts (`PARLOR_SMTP_URL` is set).
    pub transcripts: bool,
}

impl Chat {
    /// Checks a handshake and resumes the visitor of `token`, or creates a new visitor.
    pub async fn admit_visitor(
        &self,
        site_key: &SiteKey,
        token: Option<&VisitorCredential>,
        origin: HandshakeOrigin<'_>,
        ip: &str,
    ) -> Result<AdmittedVisitor, Refusal> {
        let site = self
            .store
            .site_by_key(site_key)
            .await?
            .ok_or(Refusal::UnknownSite)?;
        if !origin.own && !origin_allowed(&site.allowed_origins, origin.origin) {
            return Err(Refusal::OriginNotAllowed);
        }
        let holder = match token {
            Some(VisitorCredential::Token(token)) => {
                let seen = self.visitor_seen_window();
                self.store
                    .visitor_by_token(Some(&site.id), &token.hash(), seen.expired_before)
                    .await?
            }
            Some(VisitorCredential::Link(link)) => self.link_holder(&site.id, link).await?,
            None => None,
        };
        if let (Some(token), Some(holder)) = (token, holder) {
            let TokenHolder {
                visitor,
                conversation,
                last_seen_at,
            } = holder;
            let seen = self.visitor_seen_window();
            if last_seen_at < seen.refresh_before {
                self.store.touch_visitor(&visitor.id, seen.now).await?;
            }
            if !self.limiters.allow(Budget::Reconnect, &visitor.id) {
                return Err(Refusal::RateLimited);
            }
            return self.admitted(site, visitor, conversation, token.clone(), false);
        }
        if !self.limiters.allow(Budget::NewVisitor, ip) {
            return Err(Refusal::RateLimited);
        }
        let token = VisitorToken::generate();
        let (visitor, conversation) = self
            .store
            .create_visitor(NewVisitor {
                visitor_id: &VisitorId::generate(),
                conversation_id: &ConversationId::generate(),
                site_id: &site.id,
                token_hash: &token.hash(),
                now: now_millis(),
                activity: activity_now(),
            })
            .await?;
        self.admitted(
            site,
            visitor,
            conversation,
            VisitorCredential::Token(token),
            true,
        )
    }

    /// A visitor let in: its place under the connection cap taken.
    fn admitted(
        &self,
        site: Site,
        visitor: Visitor,
        conversation: Conversation,
        token: VisitorCredential,
        is_new: bool,
    ) -> Result<AdmittedVisitor, Refusal> {
        let slot = self
            .visitor_slots
            .take(&visitor.id)
            .ok_or(Refusal::TooManyConnections)?;
        Ok(AdmittedVisitor {
            identity: VisitorIdentity {
                site_id: site.id.clone(),
                visitor_id: visitor.id.clone(),
                conversation_id: conversation.id,
            },
            site,
            visitor,
            token,
            is_new,
            slot: Arc::new(slot),
        })
    }

    /// Starts a connected visitor's session. `deliver` runs under the conversation lock, so no
    /// message can be announced between the snapshot and the moment the connection listens:
    /// it must join the connection to the conversation's events and emit the session.
    ///
    /// Presence is not under that lock: a change announced between the snapshot and the join
    /// would be missed. Every change is recorded before it is announced, so a second look
    /// once the connection listens sees it, and `tell` sends it to this connection alone.
    pub async fn open_visitor_session(
        &self,
        admitted: AdmittedVisitor,
        deliver: impl FnOnce(VisitorSession),
        tell: impl FnOnce(AgentsPresence),
    ) -> DomainResult<()> {
        let id = &admitted.identity;
        self.came(id.member()).await;
        if admitted.is_new {
            // After `came`, so the agents' first Summary already shows the visitor online.
            self.announce_summary(&id.site_id, &id.conversation_id)
                .await?;
        }
        let agents = Member::Agents {
            site_id: id.site_id.clone(),
        };
        let order = self.lock_conversation(&id.conversation_id).await;
        let conversation = self
            .conversation_of(&id.site_id, &id.conversation_id)
            .await?;
        let page = self
            .history(
                &id.conversation_id,
                conversation.last_seq + 1,
                Some(SESSION_MESSAGES),
            )
            .await?;
        let was_online = self.is_online(agents.clone()).await;
        deliver(VisitorSession {
            visitor: admitted.visitor,
            token: admitted.token,
            conversation: ConversationRef {
                id: conversation.id,
                status: conversation.status,
            },
            messages: page.messages,
            has_more: page.has_more,
            agents_online: was_online,
            site: SiteInfo {
                prechat_required: required_of(
                    &admitted.site.prechat_fields,
                    &admitted.site.prechat_required,
                ),
                name: admitted.site.name,
                prechat_fields: admitted.site.prechat_fields,
                allowed_query_params: admitted.site.allowed_query_params,
                accent_color: admitted.site.accent_color,
                greeting: admitted.site.greeting,
                away_message: admitted.site.away_message,
                office_hours: admitted.site.office_hours.map(|h| OfficeHoursNow {
                    now: h.at(Timestamp::now()),
                    hours: h.input().clone(),
                }),
                transcripts: self.mail.is_some(),
            },
        });
        drop(order);
        let agents_online = self.is_online(agents).await;
        if agents_online != was_online {
            tell(AgentsPresence { agents_online });
        }
        Ok(())
    }

    pub fn close_visitor_session(self: &Arc<Self>, id: &VisitorIdentity) {
        self.left(id.member());
    }

    pub async fn update_profile(
        &self,
        id: &VisitorIdentity,
        update: ProfileUpdate,
    ) -> DomainResult<Visitor> {
        self.charge(Budget::ProfileUpdate, &id.visitor_id)?;
        let row = self
            .store
            .summary(&id.site_id, &id.conversation_id)
            .await?
            .ok_or(DomainError::NotFound)?;
        let mut visitor = row.visitor;
        if let Some(name) = update.name {
            visitor.name = name;
        }
        if let Some(email) = update.email {
            visitor.email = email;
        }
        if let Some(phone) = update.phone {
            visitor.phone = phone;
        }
        self.store.update_visitor(&visitor).await?;
        self.announce_summary(&id.site_id, &id.conversation_id)
            .await?;
        Ok(visitor)
    }

    /// Stores a visitor message (or finds the original of a retry) and announces it to the
    /// agents and the visitor's other connections.
    pub async fn visitor_send(
        &self,
        id: &VisitorIdentity,
        from: &ConnectionId,
        client_id: ClientId,
        content: MessageContent,
    ) -> DomainResult<Message> {
        if !self.limiters.allow(Budget::Message, &id.visitor_id) {
            // A retry of a stored message is answered even when over the limit.
            let mut original = self
                .store
                .message_by_client_id(
                    &id.site_id,
                    &id.conversation_id,
                    Sender::Visitor,
                    client_id.as_str(),
                )
                .await?
                .ok_or(DomainError::RateLimited)?;
            self.sign_messages([&mut original]);
            return Ok(original);
        }
        let author = Author {
            sender: Sender::Visitor,
            agent: None,
            from,
        };
        self.post(&id.site_id, &id.conversation_id, author, client_id, content)
            .await
    }

    pub async fn visitor_history(
        &self,
        id: &VisitorIdentity,
        before_seq: i64,
        limit: Option<i64>,
    ) -> DomainResult<MessagePage> {
        self.charge(Budget::Sync, &id.visitor_id)?;
        self.history(&id.conversation_id, before_seq, limit).await
    }

    pub async fn visitor_sync(
        &self,
        id: &VisitorIdentity,
        after_seq: i64,
    ) -> DomainResult<MessagePage> {
        self.charge(Budget::Sync, &id.visitor_id)?;
        self.sync(&id.conversation_id, after_seq).await
    }

    /// The visitor has read agent messages up to `seq`.
    pub async fn visitor_read(&self, id: &VisitorIdentity, seq: i64) -> DomainResult<()> {
        self.charge(Budget::Read, &id.visitor_id)?;
        let conversation = self
            .conversation_of(&id.site_id, &id.conversation_id)
            .await?;
        let Some(stored) = self
            .raise_read_marker(&conversation, Side::Visitor, seq)
            .await?
        else {
            return Ok(());
        };
        let event = AgentRead {
            conversation_id: id.conversation_id.clone(),
            by: Side::Visitor,
            seq: stored,
        };
        self.events
            .to_agents(&id.site_id, None, AgentEvent::Read(event))
            .await;
        Ok(())
    }

    pub async fn visitor_page(&self, id: &VisitorIdentity, report: PageReport) -> DomainResult<()> {
        self.charge(Budget::ProfileUpdate, &id.visitor_id)?;
        let page = Page {
            url: report.url,
            title: report.title,
        };
        self.store.set_page(&id.conversation_id, &page).await?;
        self.announce_summary(&id.site_id, &id.conversation_id)
            .await?;
        Ok(())
    }

    /// Relayed to the agents at most a few times a second per conversation; the rest are
    /// dropped (receivers expire an indicator that is not refreshed anyway).
    pub async fn visitor_typing(&self, id: &VisitorIdentity, typing: bool) {
        if !self.limiters.allow(Budget::Typing, &id.conversation_id) {
            metrics::counter!("parlor_typing_dropped_total").increment(1);
            return;
        }
        let event = AgentTyping {
            conversation_id: id.conversation_id.clone(),
            typing,
        };
        self.events
            .to_agents(&id.site_id, None, AgentEvent::Typing(event))
            .await;
    }
}

pub(super) fn check_read_seq(seq: i64, last_seq: i64) -> DomainResult<()> {
    if (0..=last_seq).contains(&seq) {
        Ok(())
    } else {
        Err(DomainError::invalid("seq is beyond the last message"))
    }
}

/// An empty allowlist admits every origin; otherwise the handshake's `Origin` must be listed.
fn origin_allowed(allowed: &[String], origin: Option<&str>) -> bool {
    if allowed.is_empty() {
        return true;
    }
    origin.is_some_and(|o| {
        let o = o.trim_end_matches('/');
        allowed
            .iter()
            .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(o))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_checked_only_when_listed() {
        assert!(origin_allowed(&[], None));
        let list = vec!["https://shop.example".to_owned()];
        assert!(origin_allowed(&list, Some("https://shop.example")));
        assert!(!origin_allowed(&list, Some("https://evil.example")));
        assert!(!origin_allowed(&list, None));
    }

    #[test]
    fn read_markers_stay_within_the_conversation() {
        assert!(check_read_seq(3, 3).is_ok());
        assert!(check_read_seq(4, 3).is_err());
        assert!(check_read_seq(-1, 3).is_err());
    }
}
