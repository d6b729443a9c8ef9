//! Signed links for visitors: the conversation link that e-mails carry (`/c/{token}`, which
//! continues the conversation on any device) and the unsubscribe link of missed-reply e-mails.
//! Both are JWTs signed with the server's secret under an audience of their own, so they need
//! no table, and every node of a cluster checks them alike.

use std::time::Duration;

use super::auth::LinkPurpose;
use super::chat::Chat;
use super::error::DomainResult;
use super::ids::{ConversationId, ConversationLink, SiteId, VisitorId};
use super::model::{now_millis, Site};
use super::store::{StoreResult, TokenHolder};

/// How long a conversation link in an e-mail stays valid.
pub const CONVERSATION_LINK_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// An unsubscribe link works for as long as anyone may keep the e-mail.
const UNSUBSCRIBE_LINK_TTL: Duration = Duration::from_secs(5 * 365 * 24 * 3600);

/// The conversation a link names, as its claims say (not yet checked against the store).
struct Named {
    site_id: SiteId,
    visitor_id: VisitorId,
    conversation_id: ConversationId,
}

/// Where a link of each purpose leads, and for how long it works.
fn route(purpose: LinkPurpose) -> (&'static str, Duration) {
    match purpose {
        LinkPurpose::Conversation => ("c", CONVERSATION_LINK_TTL),
        LinkPurpose::Unsubscribe => ("unsubscribe", UNSUBSCRIBE_LINK_TTL),
    }
}

impl Chat {
    /// `BASE/c/TOKEN`, which continues the conversation in a hosted page, or
    /// `BASE/unsubscribe/TOKEN`, which stops the visitor's missed-reply e-mails (RFC 8058).
    pub(super) fn link_url(
        &self,
        purpose: LinkPurpose,
        base: &str,
        site_id: &SiteId,
        visitor_id: &VisitorId,
        conversation_id: &ConversationId,
    ) -> Option<String> {
        let (path, ttl) = route(purpose);
        let token = self.jwt.issue_link(
            purpose,
            site_id.as_str(),
            visitor_id.as_str(),
            conversation_id.as_str(),
            i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
        )?;
        Some(format!("{base}/{path}/{token}"))
    }

    fn named(&self, purpose: LinkPurpose, token: &str) -> Option<Named> {
        let claims = self.jwt.verify_link(purpose, token)?;
        Some(Named {
            site_id: SiteId::parse(&claims.site)?,
            visitor_id: VisitorId::parse(&claims.sub)?,
            conversation_id: ConversationId::parse(&claims.cnv)?,
        })
    }

    /// The visitor a conversation link presented at a handshake of `site_id` lets in: `None`
    /// when it is forged, expired, of another site, or its visitor is gone.
    pub(super) async fn link_holder(
        &self,
        site_id: &SiteId,
        link: &ConversationLink,
    ) -> StoreResult<Option<TokenHolder>> {
        let Some(named) = self.named(LinkPurpose::Conversation, link.as_str()) else {
            return Ok(None);
        };
        if &named.site_id != site_id {
            return Ok(None);
        }
        self.store
            .visitor_of_link(site_id, &named.visitor_id, &named.conversation_id)
            .await
    }

    /// The visitor a conversation link lets in, whatever its site (an upload names none).
    pub(super) async fn link_holder_of_any_site(
        &self,
        link: &ConversationLink,
    ) -> StoreResult<Option<TokenHolder>> {
        match self.named(LinkPurpose::Conversation, link.as_str()) {
            Some(named) => self.link_holder(&named.site_id, link).await,
            None => Ok(None),
        }
    }

    /// The site of a valid conversation link (`GET /c/{token}`); `None` for anything else.
    pub async fn hosted_link(&self, token: &str) -> DomainResult<Option<Site>> {
        let Some(named) = self.named(LinkPurpose::Conversation, token) else {
            return Ok(None);
        };
        let holder = self
            .store
            .visitor_of_link(&named.site_id, &named.visitor_id, &named.conversation_id)
            .await?;
        if holder.is_none() {
            return Ok(None);
        }
        Ok(self.store.site_by_id(&named.site_id).await?)
    }

    /// The site of a valid unsubscribe link, to show on its page; `None` for anything else.
    pub async fn unsubscribe_site(&self, token: &str) -> DomainResult<Option<Site>> {
        let Some(named) = self.named(LinkPurpose::Unsubscribe, token) else {
            return Ok(None);
        };
        Ok(self.store.site_by_id(&named.site_id).await?)
    }

    /// Follows an unsubscribe link: no more missed-reply e-mails to its visitor. False for a
    /// link that is not valid. Doing it twice is doing it once.
    pub async fn unsubscribe(&self, token: &str) -> DomainResult<bool> {
        let Some(named) = self.named(LinkPurpose::Unsubscribe, token) else {
            return Ok(false);
        };
        Ok(self
            .store
            .unsubscribe_visitor(&named.visitor_id, now_millis())
            .await?)
    }
}
