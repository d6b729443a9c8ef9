//! Open connections per visitor on this node, capped: one visitor token cannot hold hundreds
//! of sockets. A [`VisitorSlot`] is taken at the handshake and given back when it is dropped
//! (with the socket, whether or not the connection ever completed).

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};

use super::ids::VisitorId;

/// Visitors are counted by a keyed 64-bit hash of their id rather than the id itself: every
/// connected socket holds a slot, and a hash costs 8 bytes where an id's copy costs 56. Two
/// visitors sharing a hash (one chance in 2^64 per pair, with a key an attacker cannot know)
/// would only share a cap.
pub struct VisitorSlots {
    open: Mutex<HashMap<u64, u32>>,
    hasher: RandomState,
    max_per_visitor: u32,
}

/// One open connection of a visitor; dropping it frees the slot.
pub struct VisitorSlot {
    slots: Arc<VisitorSlots>,
    key: u64,
}

impl VisitorSlots {
    pub fn new(max_per_visitor: u32) -> Arc<Self> {
        Arc::new(VisitorSlots {
            open: Mutex::new(HashMap::new()),
            hasher: RandomState::new(),
            max_per_visitor: max_per_visitor.max(1),
        })
    }

    /// A slot for one more connection of `visitor_id`, or `None` when it holds the maximum.
    pub fn take(self: &Arc<Self>, visitor_id: &VisitorId) -> Option<VisitorSlot> {
        let key = self.hasher.hash_one(visitor_id);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(key).or_insert(0);
        if *count >= self.max_per_visitor {
            return None;
        }
        *count += 1;
        Some(VisitorSlot {
            slots: Arc::clone(self),
            key,
        })
    }

    #[cfg(test)]
    fn open(&self, visitor_id: &VisitorId) -> u32 {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(&self.hasher.hash_one(visitor_id))
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for VisitorSlot {
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

impl std::fmt::Debug for VisitorSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VisitorSlot")
            .field("key", &self.key)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visitor_holds_at_most_the_maximum_and_slots_come_back() {
        let slots = VisitorSlots::new(2);
        let (v, w) = (VisitorId::generate(), VisitorId::generate());
        let a = slots.take(&v).unwrap();
        let _b = slots.take(&v).unwrap();
        assert!(slots.take(&v).is_none());
        assert!(slots.take(&w).is_some(), "another visitor is not affected");
        drop(a);
        assert!(slots.take(&v).is_some());
        assert_eq!(
            slots.open(&v),
            1,
            "the slot of a connection gone is given back"
        );
    }
}
