//! Secrets: agent passwords (argon2), agent JWTs (HS256), visitor tokens and ids.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
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
    /// The key of signed download paths: derived from the secret, so every node of a cluster
    /// checks what any node signed, and never the secret itself.
    paths: [u8; 32],
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl_secs: i64) -> Self {
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl_secs,
            paths: Sha256::new()
                .chain_update(b"parlor signed paths\0")
                .chain_update(secret)
                .finalize()
                .into(),
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

type PathMac = Hmac<Sha256>;

impl JwtKeys {
    /// The signature of `what` until `exp` (seconds since the epoch): 128 bits of HMAC-SHA256,
    /// URL-safe base64.
    pub fn sign_path(&self, what: &str, exp: i64) -> String {
        let mut mac = self.path_mac(what, exp);
        URL_SAFE_NO_PAD.encode(&mac.finalize_reset().into_bytes()[..16])
    }

    /// Whether `sig` signs `what` until `exp`, and `exp` is not past `now`.
    pub fn path_signed(&self, what: &str, exp: i64, sig: &str, now: i64) -> bool {
        let Ok(sig) = URL_SAFE_NO_PAD.decode(sig) else {
            return false;
        };
        sig.len() == 16
            && exp >= now
            && self.path_mac(what, exp).verify_truncated_left(&sig).is_ok()
    }

    fn path_mac(&self, what: &str, exp: i64) -> PathMac {
        let mut mac = <PathMac as Mac>::new_from_slice(&self.paths)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(what.as_bytes());
        mac.update(b"\0");
        mac.update(exp.to_string().as_bytes());
        mac
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
    fn signed_paths_pass_until_they_expire_and_only_for_what_they_sign() {
        let keys = JwtKeys::new(&[1; 32], 60);
        let sig = keys.sign_path("u_1/file", 100);
        assert!(keys.path_signed("u_1/file", 100, &sig, 100));
        assert!(!keys.path_signed("u_1/file", 100, &sig, 101), "expired");
        assert!(
            !keys.path_signed("u_1/file", 101, &sig, 100),
            "another expiry"
        );
        assert!(
            !keys.path_signed("u_2/file", 100, &sig, 100),
            "another file"
        );
        assert!(!keys.path_signed("u_1/thumbnail", 100, &sig, 100));
        assert!(!JwtKeys::new(&[2; 32], 60).path_signed("u_1/file", 100, &sig, 100));
        assert!(!keys.path_signed("u_1/file", 100, "", 100));
        assert!(
            !keys.path_signed("u_1/file", 100, &sig[..10], 100),
            "truncated"
        );
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
