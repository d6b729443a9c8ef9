//! Who is online, counted per connection, with a grace period before "offline" counts.
//!
//! A visitor (key: conversation id) is online while any of its connections is; a site's agent
//! side (key: site id) while any agent connection of the site is. A key whose last connection
//! closes stays online until [`Presence::expire`] runs after the grace period and still finds no
//! connection, so a page reload does not flap.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
struct Entry {
    connections: u32,
    online: bool,
    /// Bumped each time the last connection closes, so only the newest grace timer counts.
    generation: u64,
}

#[derive(Default)]
pub struct PresenceMap {
    entries: Mutex<HashMap<String, Entry>>,
}

impl PresenceMap {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Entry>) -> T) -> T {
        let mut guard = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }

    /// Counts a new connection; true when this made the key go online.
    pub fn connect(&self, key: &str) -> bool {
        self.with(|m| {
            let e = m.entry(key.to_owned()).or_default();
            e.connections += 1;
            !std::mem::replace(&mut e.online, true)
        })
    }

    /// Counts a closed connection; when it was the last one, returns the generation to pass
    /// to [`PresenceMap::expire`] after the grace period.
    pub fn disconnect(&self, key: &str) -> Option<u64> {
        self.with(|m| {
            let e = m.get_mut(key)?;
            e.connections = e.connections.saturating_sub(1);
            (e.connections == 0).then(|| {
                e.generation += 1;
                e.generation
            })
        })
    }

    /// After the grace period: true when the key is still without connections since that
    /// `disconnect`, and so went offline now.
    pub fn expire(&self, key: &str, generation: u64) -> bool {
        self.with(|m| match m.get(key) {
            Some(e) if e.connections == 0 && e.generation == generation => {
                let went_offline = m.remove(key).is_some_and(|e| e.online);
                shrink_after_peak(m);
                went_offline
            }
            _ => false,
        })
    }

    pub fn is_online(&self, key: &str) -> bool {
        self.with(|m| m.get(key).is_some_and(|e| e.online))
    }
}

/// A map keeps the capacity of its peak: after 19,000 visitors leave, that is memory no one
/// uses. Shrinking only once it is three-quarters empty keeps the cost amortised.
fn shrink_after_peak(m: &mut HashMap<String, Entry>) {
    if m.capacity() > 64 && m.len() < m.capacity() / 4 {
        m.shrink_to(m.len() * 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn online_until_the_last_connection_expires() {
        let p = PresenceMap::default();
        assert!(p.connect("v"));
        assert!(!p.connect("v"));
        assert_eq!(p.disconnect("v"), None);
        let generation = p.disconnect("v").unwrap();
        assert!(p.is_online("v"), "still online during the grace period");
        assert!(p.expire("v", generation));
        assert!(!p.is_online("v"));
        assert!(p.with(|m| m.is_empty()), "expired keys are forgotten");
    }

    #[test]
    fn a_reconnect_within_grace_does_not_flap() {
        let p = PresenceMap::default();
        p.connect("v");
        let first = p.disconnect("v").unwrap();
        assert!(!p.connect("v"), "no new online event");
        assert!(!p.expire("v", first));
        let second = p.disconnect("v").unwrap();
        assert!(!p.expire("v", first), "an older timer does not count");
        assert!(p.expire("v", second));
        assert!(!p.is_online("v"));
    }

    #[test]
    fn the_map_gives_back_its_peak_once_visitors_leave() {
        let p = PresenceMap::default();
        let keys: Vec<String> = (0..10_000).map(|i| format!("v{i}")).collect();
        let generations: Vec<u64> = keys
            .iter()
            .map(|k| {
                p.connect(k);
                p.disconnect(k).unwrap()
            })
            .collect();
        let peak = p.with(|m| m.capacity());
        for (k, generation) in keys.iter().zip(generations) {
            p.expire(k, generation);
        }
        assert!(p.with(|m| m.capacity()) <= 128, "peak capacity was {peak}");
    }
}
