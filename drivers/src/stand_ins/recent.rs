//! [`Recent`]: what a stand-in remembers per request, keeping only the newest entries, so a
//! long run (a benchmark, a soak) does not grow with every request it sends.

use std::{
    borrow::Borrow,
    collections::{HashMap, VecDeque},
    hash::Hash,
};

/// At most `capacity` entries by key; a new key beyond that forgets the oldest key first.
pub(crate) struct Recent<K, V> {
    capacity: usize,
    entries: HashMap<K, V>,
    /// Keys, oldest first.
    order: VecDeque<K>,
}

impl<K: Eq + Hash + Clone, V> Recent<K, V> {
    /// Empty, keeping at most `capacity` entries (at least one).
    pub fn new(capacity: usize) -> Self {
        Recent {
            capacity: capacity.max(1),
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// The value under `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.get(key)
    }

    /// Sets `key` to `value`; a key already present keeps its place in the eviction order.
    pub fn insert(&mut self, key: K, value: V) {
        if let Some(kept) = self.entries.get_mut(&key) {
            *kept = value;
            return;
        }
        if self.entries.len() >= self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.entries.remove(&oldest);
        }
        self.order.push_back(key.clone());
        self.entries.insert(key, value);
    }

    /// How many entries are kept.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beyond_its_capacity_the_oldest_key_is_forgotten_first() {
        let mut recent = Recent::new(2);
        recent.insert("a".to_owned(), 1);
        recent.insert("b".to_owned(), 2);
        recent.insert("a".to_owned(), 10);
        assert_eq!(recent.len(), 2, "replacing a value adds no entry");
        recent.insert("c".to_owned(), 3);
        assert_eq!(recent.len(), 2);
        assert_eq!(recent.get("a"), None, "a was the oldest key");
        assert_eq!(recent.get("b"), Some(&2));
        assert_eq!(recent.get("c"), Some(&3));
    }
}
