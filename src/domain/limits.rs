//! Rate limits on what the public can trigger, keyed by IP, visitor or username.

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Instant;

pub use super::replies::ReplyLimits;

/// Per-minute budgets; each also allows a burst of its full size.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    pub new_visitors_per_ip: u32,
    pub messages_per_visitor: u32,
    /// Profile and page reports together: each one writes and notifies every agent.
    pub profile_updates_per_visitor: u32,
    /// Failed logins per minute per (username, client address).
    pub logins: u32,
    /// `sync` and `history` together: each reads and sends up to a page of messages.
    pub syncs_per_visitor: u32,
    /// `read` markers.
    pub reads_per_visitor: u32,
    /// Handshakes of a returning visitor (all its tabs' connects and reconnects).
    pub reconnects_per_visitor: u32,
    /// `typing` events that reach the agents, per conversation and **second**.
    pub typing_per_second: u32,
    /// Failed logins per minute per client address, whatever the usernames.
    pub login_failures_per_address: u32,
    /// Transcripts e-mailed per conversation and **hour**.
    pub transcripts_per_hour: u32,
    /// Uploads per visitor.
    pub uploads_per_visitor: u32,
}

/// The limits `parlor_rate_limited_total{limit}` names: each is its `PARLOR_RATE_*` variable's
/// name (`reply_budget`: `PARLOR_REPLY_BUDGET_BYTES`). Typing is not among them: its surplus is
/// dropped, not refused (`parlor_typing_dropped_total`).
pub const LIMIT_NAMES: [&str; 12] = [
    "handshakes",
    "new_visitors",
    "messages",
    "profile",
    "sync",
    "read",
    "reconnects",
    "login",
    "login_per_address",
    "reply_budget",
    "transcripts",
    "uploads",
];

/// Counts a request refused by the limit named `limit` (one of [`LIMIT_NAMES`]).
pub fn count_refusal(limit: &'static str) {
    debug_assert!(LIMIT_NAMES.contains(&limit));
    metrics::counter!("parlor_rate_limited_total", "limit" => limit).increment(1);
}

/// What a visitor (or an address) spends: each has its own token bucket per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// A handshake that creates a visitor, per client address.
    NewVisitor,
    /// A `send`, per visitor.
    Message,
    /// A `profile` or `page`, per visitor.
    ProfileUpdate,
    /// A `sync` or `history`, per visitor.
    Sync,
    /// A `read`, per visitor.
    Read,
    /// A returning visitor's handshake, per visitor.
    Reconnect,
    /// A `typing` event relayed to the agents, per conversation.
    Typing,
    /// A transcript e-mailed, per conversation.
    Transcript,
    /// An upload, per visitor.
    Upload,
}

impl Budget {
    /// The name a refusal is counted under; none for typing, whose surplus is only dropped.
    fn limit_name(self) -> Option<&'static str> {
        match self {
            Budget::NewVisitor => Some("new_visitors"),
            Budget::Message => Some("messages"),
            Budget::ProfileUpdate => Some("profile"),
            Budget::Sync => Some("sync"),
            Budget::Read => Some("read"),
            Budget::Reconnect => Some("reconnects"),
            Budget::Typing => None,
            Budget::Transcript => Some("transcripts"),
            Budget::Upload => Some("uploads"),
        }
    }
}

pub struct Limiters {
    new_visitors: DefaultKeyedRateLimiter<String>,
    messages: DefaultKeyedRateLimiter<String>,
    profile_updates: DefaultKeyedRateLimiter<String>,
    syncs: DefaultKeyedRateLimiter<String>,
    reads: DefaultKeyedRateLimiter<String>,
    reconnects: DefaultKeyedRateLimiter<String>,
    typing: DefaultKeyedRateLimiter<String>,
    transcripts: DefaultKeyedRateLimiter<String>,
    uploads: DefaultKeyedRateLimiter<String>,
    /// Keyed by (lowercased username, client address): a brute force from one address never
    /// locks the agent out from another, and a success resets it.
    login_failures: FailureBudget<(String, String)>,
    /// Keyed by client address: spraying usernames from one address gets no further.
    login_failures_per_address: FailureBudget<String>,
}

fn per_minute(n: u32) -> DefaultKeyedRateLimiter<String> {
    RateLimiter::keyed(Quota::per_minute(
        NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN),
    ))
}

impl Limiters {
    pub fn new(l: RateLimits) -> Self {
        Limiters {
            new_visitors: per_minute(l.new_visitors_per_ip),
            messages: per_minute(l.messages_per_visitor),
            profile_updates: per_minute(l.profile_updates_per_visitor),
            syncs: per_minute(l.syncs_per_visitor),
            reads: per_minute(l.reads_per_visitor),
            reconnects: per_minute(l.reconnects_per_visitor),
            typing: RateLimiter::keyed(Quota::per_second(
                NonZeroU32::new(l.typing_per_second).unwrap_or(NonZeroU32::MIN),
            )),
            transcripts: RateLimiter::keyed(Quota::per_hour(
                NonZeroU32::new(l.transcripts_per_hour).unwrap_or(NonZeroU32::MIN),
            )),
            uploads: per_minute(l.uploads_per_visitor),
            login_failures: FailureBudget::new(l.logins),
            login_failures_per_address: FailureBudget::new(l.login_failures_per_address),
        }
    }

    /// Whether one more of `budget` is allowed for `key` (an address, a visitor or a
    /// conversation, as the budget says); charges it if so, and counts a refusal if not.
    pub fn allow(&self, budget: Budget, key: impl AsRef<str>) -> bool {
        let limiter = match budget {
            Budget::NewVisitor => &self.new_visitors,
            Budget::Message => &self.messages,
            Budget::ProfileUpdate => &self.profile_updates,
            Budget::Sync => &self.syncs,
            Budget::Read => &self.reads,
            Budget::Reconnect => &self.reconnects,
            Budget::Typing => &self.typing,
            Budget::Transcript => &self.transcripts,
            Budget::Upload => &self.uploads,
        };
        let allowed = limiter.check_key(&key.as_ref().to_owned()).is_ok();
        if !allowed {
            if let Some(limit) = budget.limit_name() {
                count_refusal(limit);
            }
        }
        allowed
    }

    /// Whether a login from `ip` as `username` may be tried: neither failure budget is spent.
    /// Only failures are charged ([`Limiters::login_failed`]), so an agent who types the right
    /// password is never slowed down by their own successful logins. A refusal is counted
    /// under the budget that was spent.
    pub fn login_allowed(&self, ip: &str, username: &str) -> bool {
        if !self.login_failures_per_address.allows(ip) {
            count_refusal("login_per_address");
            return false;
        }
        if !self
            .login_failures
            .allows(&(username.to_lowercase(), ip.to_owned()))
        {
            count_refusal("login");
            return false;
        }
        true
    }

    pub fn login_failed(&self, ip: &str, username: &str) {
        self.login_failures_per_address.charge(ip.to_owned());
        self.login_failures
            .charge((username.to_lowercase(), ip.to_owned()));
    }

    /// The agent proved who they are from this address: their earlier typos there are forgiven.
    pub fn login_succeeded(&self, ip: &str, username: &str) {
        self.login_failures
            .reset(&(username.to_lowercase(), ip.to_owned()));
    }

    /// Forgets keys whose budget is full again, so memory does not grow with every IP seen.
    pub fn shrink(&self) {
        self.new_visitors.retain_recent();
        self.messages.retain_recent();
        self.profile_updates.retain_recent();
        self.syncs.retain_recent();
        self.reads.retain_recent();
        self.reconnects.retain_recent();
        self.typing.retain_recent();
        self.transcripts.retain_recent();
        self.uploads.retain_recent();
        self.login_failures.shrink();
        self.login_failures_per_address.shrink();
    }
}

/// Failures per key in a leaky bucket: it holds at most `per_minute` and drains `per_minute`
/// a minute. Unlike a governor limiter, checking does not charge: only [`FailureBudget::charge`]
/// does, after the outcome is known.
struct FailureBudget<K> {
    per_minute: f64,
    buckets: Mutex<HashMap<K, (f64, Instant)>>,
}

impl<K: Hash + Eq> FailureBudget<K> {
    fn new(per_minute: u32) -> Self {
        FailureBudget {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn drained(&self, (level, at): (f64, Instant), now: Instant) -> f64 {
        let drained = now.saturating_duration_since(at).as_secs_f64() * self.per_minute / 60.0;
        (level - drained).max(0.0)
    }

    fn allows<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        let buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets
            .get(key)
            .is_none_or(|b| self.drained(*b, Instant::now()) + 1.0 <= self.per_minute)
    }

    fn charge(&self, key: K) {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry(key).or_insert((0.0, now));
        let level = (self.drained(*bucket, now) + 1.0).min(self.per_minute);
        *bucket = (level, now);
    }

    fn reset(&self, key: &K) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets.remove(key);
    }

    /// Forgets keys that have drained empty.
    fn shrink(&self) {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets.retain(|_, b| self.drained(*b, now) > 0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every budget at 1, but for what a test sets.
    fn limits(set: impl FnOnce(&mut RateLimits)) -> Limiters {
        let mut l = RateLimits {
            new_visitors_per_ip: 1,
            messages_per_visitor: 1,
            profile_updates_per_visitor: 1,
            logins: 1,
            login_failures_per_address: 1,
            syncs_per_visitor: 1,
            reads_per_visitor: 1,
            reconnects_per_visitor: 1,
            typing_per_second: 1,
            transcripts_per_hour: 1,
            uploads_per_visitor: 1,
        };
        set(&mut l);
        Limiters::new(l)
    }

    #[test]
    fn a_budget_runs_out_per_key() {
        let l = limits(|l| l.new_visitors_per_ip = 2);
        assert!(l.allow(Budget::NewVisitor, "1.1.1.1"));
        assert!(l.allow(Budget::NewVisitor, "1.1.1.1"));
        assert!(!l.allow(Budget::NewVisitor, "1.1.1.1"));
        assert!(l.allow(Budget::NewVisitor, "2.2.2.2"));
        assert!(l.allow(Budget::Message, "v"));
        assert!(!l.allow(Budget::Message, "v"));
    }

    #[test]
    fn typing_reaches_agents_at_most_five_times_a_second() {
        let l = limits(|l| l.typing_per_second = 5);
        let passed = (0..100).filter(|_| l.allow(Budget::Typing, "c")).count();
        assert_eq!(passed, 5);
        assert!(l.allow(Budget::Typing, "another conversation"));
    }

    fn login_limits(logins: u32, per_address: u32) -> Limiters {
        limits(|l| {
            l.logins = logins;
            l.login_failures_per_address = per_address;
        })
    }

    #[test]
    fn only_login_failures_are_charged() {
        let l = login_limits(3, 10);
        for _ in 0..10 {
            assert!(l.login_allowed("1.1.1.1", "mira"));
            l.login_succeeded("1.1.1.1", "mira");
        }
        for _ in 0..3 {
            assert!(l.login_allowed("1.1.1.1", "mira"));
            l.login_failed("1.1.1.1", "mira");
        }
        assert!(!l.login_allowed("1.1.1.1", "mira"));
        assert!(!l.login_allowed("1.1.1.1", "MIRA"));
    }

    #[test]
    fn a_brute_force_from_one_address_does_not_lock_out_another() {
        let l = login_limits(3, 3);
        for _ in 0..50 {
            if l.login_allowed("1.1.1.1", "mira") {
                l.login_failed("1.1.1.1", "mira");
            }
        }
        assert!(!l.login_allowed("1.1.1.1", "mira"));
        assert!(l.login_allowed("2.2.2.2", "mira"));
        // The attacking address cannot move on to another username either.
        assert!(!l.login_allowed("1.1.1.1", "oskar"));
    }

    #[test]
    fn a_success_forgives_that_address_its_typos_for_that_username() {
        let l = login_limits(3, 10);
        l.login_failed("1.1.1.1", "mira");
        l.login_failed("1.1.1.1", "mira");
        l.login_succeeded("1.1.1.1", "mira");
        l.login_failed("1.1.1.1", "mira");
        l.login_failed("1.1.1.1", "mira");
        assert!(l.login_allowed("1.1.1.1", "mira"));
        // The address's own budget is not forgiven: one's own account is no reset button.
        for _ in 0..6 {
            l.login_failed("1.1.1.1", "oskar");
        }
        l.login_succeeded("1.1.1.1", "mira");
        assert!(!l.login_allowed("1.1.1.1", "mira"));
    }

    #[test]
    fn spraying_usernames_from_one_address_runs_out_of_the_address_budget() {
        let l = login_limits(3, 5);
        for i in 0..5 {
            assert!(l.login_allowed("1.1.1.1", &format!("user{i}")));
            l.login_failed("1.1.1.1", &format!("user{i}"));
        }
        assert!(!l.login_allowed("1.1.1.1", "user9"));
    }

    #[test]
    fn the_failure_budget_drains_over_time() {
        let b = FailureBudget::<&str>::new(60);
        let long_ago = Instant::now() - std::time::Duration::from_secs(120);
        b.buckets.lock().unwrap().insert("k", (60.0, long_ago));
        assert!(b.allows(&"k"));
        b.shrink();
        assert!(b.buckets.lock().unwrap().is_empty());
    }
}
