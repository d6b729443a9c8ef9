//! Open connections per key, capped: one visitor token cannot hold hundreds of sockets, one
//! address cannot hold thousands of TCP connections. A [`Slot`] is taken when a connection
//! opens and given back when it is dropped (with the socket, whether or not the connection
//! ever completed).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::{Arc, Mutex};

use super::ids::VisitorId;

/// Open connections per key, at most `cap` each.
pub struct Slots<K: Hash + Eq> {
    open: Mutex<HashMap<K, u32>>,
    cap: u32,
}

/// One open connection of a key; dropping it frees the slot.
pub struct Slot<K: Hash + Eq> {
    slots: Arc<Slots<K>>,
    key: K,
}

impl<K: Hash + Eq + Clone> Slots<K> {
    pub fn new(cap: u32) -> Arc<Self> {
        Arc::new(Slots {
            open: Mutex::new(HashMap::new()),
            cap: cap.max(1),
        })
    }

    /// A slot for one more connection of `key`, or `None` when it holds the maximum.
    pub fn take(self: &Arc<Self>, key: K) -> Option<Slot<K>> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(key.clone()).or_insert(0);
        if *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(Slot {
            slots: Arc::clone(self),
            key,
        })
    }

    /// Keys that hold at least one slot.
    pub fn keys_held(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl<K: Hash + Eq> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key);
                // A map keeps the capacity of its peak; give it back after a burst.
                if open.capacity() > 64 && open.len() < open.capacity() / 4 {
                    open.shrink_to_fit();
                }
            }
        }
    }
}

impl<K: Hash + Eq> std::fmt::Debug for Slot<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Slot")
    }
}

/// Visitors are counted by a keyed 64-bit hash of their id rather than the id itself: every
/// connected socket holds a slot, and a hash costs 8 bytes where an id's copy costs 56. Two
/// visitors sharing a hash (one chance in 2^64 per pair, with a key an attacker cannot know)
/// would only share a cap.
pub struct VisitorSlots {
    slots: Arc<Slots<u64>>,
    hasher: RandomState,
}

pub type VisitorSlot = Slot<u64>;

impl VisitorSlots {
    pub fn new(max_per_visitor: u32) -> Arc<Self> {
        Arc::new(VisitorSlots {
            slots: Slots::new(max_per_visitor),
            hasher: RandomState::new(),
        })
    }

    /// A slot for one more connection of the visitor, or `None` when it holds the maximum.
    pub fn take(&self, visitor_id: &VisitorId) -> Option<VisitorSlot> {
        self.slots.take(self.hasher.hash_one(visitor_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_holds_at_most_the_maximum_and_slots_come_back() {
        let slots = Slots::new(2);
        let a = slots.take("v").unwrap();
        let _b = slots.take("v").unwrap();
        assert!(slots.take("v").is_none());
        assert!(slots.take("w").is_some(), "another key is not affected");
        drop(a);
        assert!(slots.take("v").is_some());
    }

    #[test]
    fn a_key_is_forgotten_when_it_has_no_connection_left() {
        let slots = Slots::new(5);
        let slot = slots.take("v").unwrap();
        assert_eq!(slots.keys_held(), 1);
        drop(slot);
        assert_eq!(slots.keys_held(), 0);
    }

    #[test]
    fn each_visitor_has_a_cap_of_its_own() {
        let slots = VisitorSlots::new(1);
        let (v, w) = (VisitorId::generate(), VisitorId::generate());
        let _held = slots.take(&v).unwrap();
        assert!(slots.take(&v).is_none());
        assert!(slots.take(&w).is_some());
    }
}
