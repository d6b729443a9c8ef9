//! Rate limits on what the public can trigger, keyed by IP, visitor or username.

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;

/// Per-minute budgets; each also allows a burst of its full size.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    pub new_visitors_per_ip: u32,
    pub messages_per_visitor: u32,
    /// Profile and page reports together: each one writes and notifies every agent.
    pub profile_updates_per_visitor: u32,
    pub logins: u32,
}

pub struct Limiters {
    new_visitors: DefaultKeyedRateLimiter<String>,
    messages: DefaultKeyedRateLimiter<String>,
    profile_updates: DefaultKeyedRateLimiter<String>,
    logins_per_ip: DefaultKeyedRateLimiter<String>,
    logins_per_username: DefaultKeyedRateLimiter<String>,
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
        }
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
        });
        assert!(l.new_visitor("1.1.1.1"));
        assert!(l.new_visitor("1.1.1.1"));
        assert!(!l.new_visitor("1.1.1.1"));
        assert!(l.new_visitor("2.2.2.2"));
        assert!(l.message("v"));
        assert!(!l.message("v"));
    }
}
