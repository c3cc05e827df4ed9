//! Slots by id without a second copy of the ids.
//!
//! A `HashMap<String, u32>` keeps its own copy of every id: for a million merchants that is a
//! million small heap strings (≈ 60–70 bytes each with the map's slot) beside the ids the items
//! already hold. This table stores only the slot (4 bytes and a control byte) and hashes and
//! compares the ids where they live, in the layer's items. hashbrown's `HashTable` is the
//! maintained way to do that (std's map has no API for it).

use std::hash::BuildHasher;

/// foldhash, randomly seeded per table: SipHash (std's) cost 6% of a 30M start-up here, where
/// every id is hashed once; foldhash keeps per-process random seeds against crafted ids.
type RandomState = hashbrown::DefaultHashBuilder;

use hashbrown::hash_table::{Entry, HashTable};

/// Slots keyed by their items' ids. Every method takes a function giving the id in a slot; the
/// table must hold only slots that function knows.
#[derive(Clone, Default)]
pub(crate) struct IdTable {
    table: HashTable<u32>,
    hasher: RandomState,
}

impl IdTable {
    pub fn with_capacity(n: usize) -> Self {
        Self {
            table: HashTable::with_capacity(n),
            hasher: RandomState::default(),
        }
    }

    fn hash(&self, id: &str) -> u64 {
        self.hasher.hash_one(id)
    }

    /// The slot of the item with this id; `id_of` gives the id held in a slot.
    pub fn get<'a>(&self, id: &str, id_of: impl Fn(u32) -> &'a str) -> Option<u32> {
        self.table.find(self.hash(id), |&s| id_of(s) == id).copied()
    }

    /// Adds `slot` (whose item is already stored) unless its id is there; returns the slot
    /// already holding that id, if any.
    pub fn insert_new<'a>(&mut self, slot: u32, id_of: impl Fn(u32) -> &'a str) -> Option<u32> {
        let id = id_of(slot);
        let hash = self.hash(id);
        let hasher = &self.hasher;
        match self
            .table
            .entry(hash, |&s| id_of(s) == id, |&s| hasher.hash_one(id_of(s)))
        {
            Entry::Occupied(e) => Some(*e.get()),
            Entry::Vacant(e) => {
                e.insert(slot);
                None
            }
        }
    }

    /// Forgets the item with this id; returns its slot.
    pub fn remove<'a>(&mut self, id: &str, id_of: impl Fn(u32) -> &'a str) -> Option<u32> {
        let hash = self.hash(id);
        let entry = self.table.find_entry(hash, |&s| id_of(s) == id).ok()?;
        Some(entry.remove().0)
    }

    /// The item in slot `from` moves to slot `to` (its id unchanged).
    pub fn moved<'a>(&mut self, from: u32, to: u32, id_of: impl Fn(u32) -> &'a str) {
        let hash = self.hash(id_of(from));
        if let Some(s) = self.table.find_mut(hash, |&s| s == from) {
            *s = to;
        }
    }
}
