//! [`Bounded`]: a map that keeps at most `capacity` entries and forgets the oldest first.
//!
//! The sandbox keeps everything in memory for as long as it runs; this is what stops it from
//! growing with every transfer or delivery it is sent.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// Entries by key, in insertion order; inserting a new key beyond `capacity` evicts the
/// oldest entry. Replacing the value of a present key keeps its place.
#[derive(Debug)]
pub struct Bounded<K, V> {
    capacity: usize,
    entries: HashMap<K, V>,
    /// Keys, oldest first: the eviction order.
    order: VecDeque<K>,
}

impl<K: Eq + Hash + Clone, V> Bounded<K, V> {
    /// An empty map holding at most `capacity` entries (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// The value under `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.entries.get(key)
    }

    /// The value under `key`, inserted with `make` (evicting the oldest entry when full) if
    /// absent.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        if !self.entries.contains_key(&key) {
            if self.entries.len() >= self.capacity
                && let Some(oldest) = self.order.pop_front()
            {
                self.entries.remove(&oldest);
            }
            self.order.push_back(key.clone());
        }
        self.entries.entry(key).or_insert_with(make)
    }

    /// How many entries are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_map_forgets_its_oldest_entry_first() {
        let mut map = Bounded::new(2);
        map.get_or_insert_with("a", || 1);
        map.get_or_insert_with("b", || 2);
        map.get_or_insert_with("c", || 3);
        assert_eq!(map.len(), 2);
        assert_eq!(map.get(&"a"), None);
        assert_eq!(map.get(&"b"), Some(&2));
        assert_eq!(map.get(&"c"), Some(&3));
    }

    #[test]
    fn a_present_key_keeps_its_value_and_its_place() {
        let mut map = Bounded::new(2);
        map.get_or_insert_with("a", || 1);
        map.get_or_insert_with("b", || 2);
        *map.get_or_insert_with("a", || 10) += 5;
        assert_eq!(map.get(&"a"), Some(&6));
        map.get_or_insert_with("c", || 3);
        assert_eq!(map.get(&"a"), None, "a is still the oldest");
        assert_eq!(map.len(), 2);
    }
}
