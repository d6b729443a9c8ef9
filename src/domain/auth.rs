//! Secrets: agent passwords (argon2), agent JWTs (HS256), visitor tokens and ids.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{decode, encode, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::model::now_millis;

/// `n` random bytes from the OS, URL-safe base64 without padding.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new id: a UUID v7, time-ordered with 74 random bits. Time order makes new rows land on
/// the last page of each id index instead of a random one (one page written per insert, not
/// two). No id is ever the only access check.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// SHA-256, URL-safe base64 without padding.
pub fn sha256_base64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(s.as_bytes()))
}

pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AgentClaims {
    /// Agent id.
    pub sub: String,
    pub site: String,
    /// The agent's token version at issue time.
    pub ver: i64,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
}

/// Signs and checks agent JWTs with one HS256 secret.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl_secs: i64,
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl_secs: i64) -> Self {
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl_secs,
        }
    }

    pub fn issue(&self, agent_id: &str, site_id: &str, version: i64) -> Option<String> {
        let claims = AgentClaims {
            sub: agent_id.to_owned(),
            site: site_id.to_owned(),
            ver: version,
            exp: now_millis() / 1000 + self.ttl_secs,
        };
        encode(&Header::default(), &claims, &self.encoding).ok()
    }

    /// The claims of a well-signed, unexpired token.
    pub fn verify(&self, token: &str) -> Option<AgentClaims> {
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.leeway = 0;
        decode::<AgentClaims>(token, &self.decoding, &validation)
            .ok()
            .map(|d| d.claims)
    }
}

/// What a signed visitor link lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Continue the conversation (`/c/{token}`, and the visitor handshake's `token`).
    Conversation,
    /// Stop missed-reply e-mails (`List-Unsubscribe`).
    Unsubscribe,
}

impl LinkPurpose {
    fn audience(self) -> &'static str {
        match self {
            LinkPurpose::Conversation => "parlor:conversation",
            LinkPurpose::Unsubscribe => "parlor:unsubscribe",
        }
    }
}

/// A visitor link's claims: one conversation of one site.
#[derive(Debug, Serialize, Deserialize)]
pub struct LinkClaims {
    pub aud: String,
    /// Visitor id.
    pub sub: String,
    pub site: String,
    /// Conversation id.
    pub cnv: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
}

impl JwtKeys {
    /// A link for `purpose`, valid for `ttl_secs`. Signed with the agents' secret under an
    /// audience of its own, so neither kind of token passes for the other.
    pub fn issue_link(
        &self,
        purpose: LinkPurpose,
        site_id: &str,
        visitor_id: &str,
        conversation_id: &str,
        ttl_secs: i64,
    ) -> Option<String> {
        let claims = LinkClaims {
            aud: purpose.audience().to_owned(),
            sub: visitor_id.to_owned(),
            site: site_id.to_owned(),
            cnv: conversation_id.to_owned(),
            exp: now_millis() / 1000 + ttl_secs,
        };
        encode(&Header::default(), &claims, &self.encoding).ok()
    }

    /// The claims of a well-signed, unexpired link for `purpose`.
    pub fn verify_link(&self, purpose: LinkPurpose, token: &str) -> Option<LinkClaims> {
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.leeway = 0;
        validation.set_audience(&[purpose.audience()]);
        decode::<LinkClaims>(token, &self.decoding, &validation)
            .ok()
            .map(|d| d.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("correct horse").unwrap();
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn jwts_from_another_secret_are_refused() {
        let ours = JwtKeys::new(&[1; 32], 60);
        let theirs = JwtKeys::new(&[2; 32], 60);
        let token = theirs.issue("a", "s", 0).unwrap();
        assert!(ours.verify(&token).is_none());
        let token = ours.issue("a", "s", 3).unwrap();
        assert_eq!(ours.verify(&token).unwrap().ver, 3);
    }

    #[test]
    fn links_pass_only_for_their_own_purpose() {
        let keys = JwtKeys::new(&[1; 32], 60);
        let link = keys
            .issue_link(LinkPurpose::Conversation, "s", "v", "c", 60)
            .unwrap();
        assert_eq!(
            keys.verify_link(LinkPurpose::Conversation, &link)
                .unwrap()
                .cnv,
            "c"
        );
        assert!(keys.verify_link(LinkPurpose::Unsubscribe, &link).is_none());
        assert!(keys.verify(&link).is_none(), "a link is no agent token");
        let agent = keys.issue("a", "s", 0).unwrap();
        assert!(keys
            .verify_link(LinkPurpose::Conversation, &agent)
            .is_none());
        let expired = keys
            .issue_link(LinkPurpose::Conversation, "s", "v", "c", -10)
            .unwrap();
        assert!(keys
            .verify_link(LinkPurpose::Conversation, &expired)
            .is_none());
    }

    #[test]
    fn expired_jwts_are_refused() {
        let keys = JwtKeys::new(&[1; 32], -10);
        let token = keys.issue("a", "s", 0).unwrap();
        assert!(keys.verify(&token).is_none());
    }

    #[test]
    fn visitor_tokens_are_256_bit_and_hashed() {
        let t = super::super::ids::VisitorToken::generate();
        assert_eq!(URL_SAFE_NO_PAD.decode(t.as_str()).unwrap().len(), 32);
        assert_ne!(t.hash().as_str(), t.as_str());
    }
}
