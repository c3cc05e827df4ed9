//! A small cache of encoded tiles that are costly to make (the coverage grid scores every
//! merchant of its hexes). Entries belong to one generation of the data; a newer generation
//! makes them unreachable, and they are dropped when the cache fills.

use std::collections::HashMap;
use std::sync::Mutex;

/// Encoded tiles (`V`: a cheaply cloned byte buffer) with the generation each was made for.
pub struct TileCache<V> {
    capacity: usize,
    entries: Mutex<HashMap<String, (u64, V)>>,
}

impl<V: Clone> TileCache<V> {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, key: &str, generation: u64) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(g, _)| *g == generation)
            .map(|(_, v)| v.clone())
    }

    pub fn put(&self, key: String, generation: u64, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity {
            entries.retain(|_, (g, _)| *g == generation);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (generation, value));
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn entries_of_an_older_generation_are_not_served_and_make_room() {
        let c = TileCache::new(2);
        c.put("a".into(), 1, Arc::new(vec![1]));
        assert_eq!(c.get("a", 1).as_deref(), Some(&vec![1]));
        assert!(c.get("a", 2).is_none());
        c.put("b".into(), 2, Arc::new(vec![2]));
        c.put("c".into(), 2, Arc::new(vec![3]));
        assert!(
            c.get("a", 1).is_none(),
            "the full cache dropped the old generation"
        );
        assert_eq!(c.len(), 2);
    }
}
