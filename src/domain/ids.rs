//! Ids and keys: one type each, so that a site id cannot be passed where a conversation id is
//! meant. Each is parsed once, where it enters the process (a client's payload, a token, a
//! stored row), and the type carries the proof: 1 to 64 characters of `A-Z a-z 0-9 _ -`.
//! Every id and key Parlor makes has that shape (UUIDs in simple form, `pk_` keys and tokens in
//! URL-safe base64), and no such string holds U+0000, which PostgreSQL's TEXT cannot store.

use std::fmt;

use serde::Serialize;

use super::error::{DomainError, DomainResult};

/// Longer than any id Parlor makes (a visitor token is 43 characters).
pub const MAX_ID_CHARS: usize = 64;

fn well_formed(raw: &str) -> bool {
    !raw.is_empty()
        && raw.len() <= MAX_ID_CHARS
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A string that is not the shape of an id (a stored row that was not written by Parlor).
#[derive(Debug, thiserror::Error)]
#[error("not a well-formed {kind}: {len} bytes")]
pub struct MalformedId {
    pub kind: &'static str,
    pub len: usize,
}

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident = $kind:literal;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// `None` unless `raw` has the shape of an id.
            pub fn parse(raw: &str) -> Option<Self> {
                well_formed(raw).then(|| Self(raw.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = MalformedId;

            fn try_from(raw: String) -> Result<Self, MalformedId> {
                if well_formed(&raw) {
                    Ok(Self(raw))
                } else {
                    Err(MalformedId { kind: $kind, len: raw.len() })
                }
            }
        }

        /// Tests name ids by literals.
        #[cfg(test)]
        impl From<&str> for $name {
            fn from(raw: &str) -> Self {
                Self::parse(raw).expect("a well-formed id")
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    )*};
}

ids! {
    /// A site (a business). Internal: clients know the site by its key.
    SiteId = "site id";
    /// The public key a site's widget connects with (`pk_...`).
    SiteKey = "site key";
    AgentId = "agent id";
    VisitorId = "visitor id";
    ConversationId = "conversation id";
    MessageId = "message id";
    /// An uploaded file (`u_` and 128 random bits): unguessable, though never the only check.
    UploadId = "upload id";
    /// The visitor's secret: only its hash is stored. Never logged (`Debug` hides it).
    VisitorToken = "visitor token";
    /// The stored SHA-256 of a visitor or invitation token (URL-safe base64).
    TokenHash = "token hash";
    /// The secret of a one-time invitation link: only its hash is stored. Never logged.
    InvitationToken = "invitation token";
}

macro_rules! shown {
    ($($name:ident),*) => {$(
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    )*};
}

shown!(
    SiteId,
    SiteKey,
    AgentId,
    VisitorId,
    ConversationId,
    MessageId,
    UploadId,
    TokenHash
);

impl UploadId {
    pub fn generate() -> Self {
        Self(format!("u_{}", super::auth::random_token(16)))
    }
}

impl fmt::Debug for VisitorToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VisitorToken(..)")
    }
}

/// A signed conversation link (`/c/{token}`), presented at a visitor handshake in place of the
/// visitor's token: a JWT (`header.claims.signature`, URL-safe base64). Never logged.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ConversationLink(String);

impl ConversationLink {
    /// Far longer than any link Parlor makes (about 250 characters).
    const MAX_CHARS: usize = 1024;

    /// `None` unless `raw` has the shape of a link; whether it is one is the signature's to say.
    pub fn parse(raw: &str) -> Option<Self> {
        let shaped = raw.len() <= Self::MAX_CHARS
            && raw.split('.').count() == 3
            && raw.split('.').all(well_formed_part);
        shaped.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn well_formed_part(part: &str) -> bool {
    !part.is_empty()
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl fmt::Debug for ConversationLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConversationLink(..)")
    }
}

impl fmt::Debug for InvitationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InvitationToken(..)")
    }
}

impl InvitationToken {
    /// 256 random bits.
    pub fn generate() -> Self {
        Self(super::auth::random_token(32))
    }

    /// What the store keeps (high entropy: a fast hash is enough).
    pub fn hash(&self) -> TokenHash {
        TokenHash(super::auth::sha256_base64(self.as_str()))
    }
}

impl ConversationId {
    /// The conversation a client names. One that cannot exist is `not_found`, as an unknown
    /// one is: a client learns nothing from the difference.
    pub fn named(raw: &str) -> DomainResult<Self> {
        Self::parse(raw).ok_or(DomainError::NotFound)
    }
}

macro_rules! row_ids {
    ($($name:ident),*) => {$(
        impl $name {
            /// A new row's id: time-ordered, random (see [`super::auth::new_id`]).
            pub fn generate() -> Self {
                Self(super::auth::new_id())
            }
        }
    )*};
}

row_ids!(SiteId, AgentId, VisitorId, ConversationId, MessageId);

impl SiteKey {
    pub fn generate() -> Self {
        Self(format!("pk_{}", super::auth::random_token(18)))
    }
}

impl VisitorToken {
    /// 256 random bits.
    pub fn generate() -> Self {
        Self(super::auth::random_token(32))
    }

    /// What the store keeps. The token is high-entropy, so a fast hash is enough (no salt or
    /// stretching needed).
    pub fn hash(&self) -> TokenHash {
        TokenHash(super::auth::sha256_base64(self.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_well_formed() {
        for id in [
            SiteId::generate().0,
            SiteKey::generate().0,
            ConversationId::generate().0,
            VisitorToken::generate().0,
            VisitorToken::generate().hash().0,
        ] {
            assert!(well_formed(&id), "{id}");
        }
    }

    #[test]
    fn ids_refuse_what_no_id_looks_like() {
        for raw in ["", "a b", "a\0b", "é", "x:y", &"a".repeat(MAX_ID_CHARS + 1)] {
            assert!(ConversationId::parse(raw).is_none(), "{raw:?}");
        }
        assert!(ConversationId::parse(&"a".repeat(MAX_ID_CHARS)).is_some());
        assert!(matches!(
            ConversationId::named("no such"),
            Err(DomainError::NotFound)
        ));
    }

    #[test]
    fn a_visitor_token_is_not_shown_in_logs() {
        let token = VisitorToken::generate();
        assert!(!format!("{token:?}").contains(token.as_str()));
    }
}
