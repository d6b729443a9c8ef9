//! Rate limits on what the public can trigger, keyed by IP, visitor or username.

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;

pub use super::replies::ReplyLimits;

/// Per-minute budgets; each also allows a burst of its full size.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    pub new_visitors_per_ip: u32,
    pub messages_per_visitor: u32,
    /// Profile and page reports together: each one writes and notifies every agent.
    pub profile_updates_per_visitor: u32,
    pub logins: u32,
    /// `sync` and `history` together: each reads and sends up to a page of messages.
    pub syncs_per_visitor: u32,
    /// `read` markers.
    pub reads_per_visitor: u32,
    /// Handshakes of a returning visitor (all its tabs' connects and reconnects).
    pub reconnects_per_visitor: u32,
    /// `typing` events that reach the agents, per conversation and **second**.
    pub typing_per_second: u32,
}

pub struct Limiters {
    new_visitors: DefaultKeyedRateLimiter<String>,
    messages: DefaultKeyedRateLimiter<String>,
    profile_updates: DefaultKeyedRateLimiter<String>,
    logins_per_ip: DefaultKeyedRateLimiter<String>,
    logins_per_username: DefaultKeyedRateLimiter<String>,
    syncs: DefaultKeyedRateLimiter<String>,
    reads: DefaultKeyedRateLimiter<String>,
    reconnects: DefaultKeyedRateLimiter<String>,
    typing: DefaultKeyedRateLimiter<String>,
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
            logins_per_ip: per_minute(l.logins),
            logins_per_username: per_minute(l.logins),
            syncs: per_minute(l.syncs_per_visitor),
            reads: per_minute(l.reads_per_visitor),
            reconnects: per_minute(l.reconnects_per_visitor),
            typing: RateLimiter::keyed(Quota::per_second(
                NonZeroU32::new(l.typing_per_second).unwrap_or(NonZeroU32::MIN),
            )),
        }
    }

    pub fn sync(&self, visitor_id: &str) -> bool {
        self.syncs.check_key(&visitor_id.to_owned()).is_ok()
    }

    pub fn read(&self, visitor_id: &str) -> bool {
        self.reads.check_key(&visitor_id.to_owned()).is_ok()
    }

    pub fn reconnect(&self, visitor_id: &str) -> bool {
        self.reconnects.check_key(&visitor_id.to_owned()).is_ok()
    }

    pub fn typing(&self, conversation_id: &str) -> bool {
        self.typing.check_key(&conversation_id.to_owned()).is_ok()
    }

    pub fn new_visitor(&self, ip: &str) -> bool {
        self.new_visitors.check_key(&ip.to_owned()).is_ok()
    }

    pub fn message(&self, visitor_id: &str) -> bool {
        self.messages.check_key(&visitor_id.to_owned()).is_ok()
    }

    pub fn profile_update(&self, visitor_id: &str) -> bool {
        self.profile_updates
            .check_key(&visitor_id.to_owned())
            .is_ok()
    }

    /// Both budgets are charged, so neither spraying usernames nor spraying IPs gets far.
    pub fn login(&self, ip: &str, username: &str) -> bool {
        let by_ip = self.logins_per_ip.check_key(&ip.to_owned()).is_ok();
        let by_name = self
            .logins_per_username
            .check_key(&username.to_lowercase())
            .is_ok();
        by_ip && by_name
    }

    /// Forgets keys whose budget is full again, so memory does not grow with every IP seen.
    pub fn shrink(&self) {
        self.new_visitors.retain_recent();
        self.messages.retain_recent();
        self.profile_updates.retain_recent();
        self.logins_per_ip.retain_recent();
        self.logins_per_username.retain_recent();
        self.syncs.retain_recent();
        self.reads.retain_recent();
        self.reconnects.retain_recent();
        self.typing.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_runs_out_per_key() {
        let l = Limiters::new(RateLimits {
            new_visitors_per_ip: 2,
            messages_per_visitor: 1,
            profile_updates_per_visitor: 1,
            logins: 1,
            syncs_per_visitor: 1,
            reads_per_visitor: 1,
            reconnects_per_visitor: 1,
            typing_per_second: 5,
        });
        assert!(l.new_visitor("1.1.1.1"));
        assert!(l.new_visitor("1.1.1.1"));
        assert!(!l.new_visitor("1.1.1.1"));
        assert!(l.new_visitor("2.2.2.2"));
        assert!(l.message("v"));
        assert!(!l.message("v"));
    }

    #[test]
    fn typing_reaches_agents_at_most_five_times_a_second() {
        let l = Limiters::new(RateLimits {
            new_visitors_per_ip: 1,
            messages_per_visitor: 1,
            profile_updates_per_visitor: 1,
            logins: 1,
            syncs_per_visitor: 1,
            reads_per_visitor: 1,
            reconnects_per_visitor: 1,
            typing_per_second: 5,
        });
        let passed = (0..100).filter(|_| l.typing("c")).count();
        assert_eq!(passed, 5);
        assert!(l.typing("another conversation"));
    }
}
