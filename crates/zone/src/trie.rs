//! A persistent hash trie (a hash array mapped trie, Bagwell 2001) of
//! shared values keyed by octet strings.
//!
//! Cloning a [`Trie`] costs one reference count; changing the clone copies
//! only the branches on the path to the changed key (at most
//! [`MAX_DEPTH`] of them, each as large as its occupied slots), so two
//! versions share everything a change did not touch. A branch that only one
//! version holds is changed in place, which makes bulk loading as cheap as
//! filling a mutable map.
//!
//! Keys are hashed with a keyed hash (`ahash`, seeded at random per trie
//! and kept by its clones), so crafted names cannot force collisions; keys
//! whose 60 hash bits collide anyway share a collision list.

use std::sync::Arc;

/// A value stored in a [`Trie`]: it carries its own key.
pub trait Keyed {
    /// The octets the value is found by.
    fn key(&self) -> &[u8];
}

/// Bits of the hash consumed per level.
const BITS: u32 = 6;
/// Levels of branches before keys with equal hash bits share a collision list.
pub const MAX_DEPTH: u32 = 10;

enum Slot<V> {
    Leaf(Arc<V>),
    Branch(Arc<Branch<V>>),
    Collision(Arc<Vec<Arc<V>>>),
}

impl<V> Clone for Slot<V> {
    fn clone(&self) -> Self {
        match self {
            Slot::Leaf(v) => Slot::Leaf(v.clone()),
            Slot::Branch(b) => Slot::Branch(b.clone()),
            Slot::Collision(c) => Slot::Collision(c.clone()),
        }
    }
}

/// One level: a bitmap of occupied positions and one slot per set bit.
struct Branch<V> {
    bitmap: u64,
    slots: Vec<Slot<V>>,
}

impl<V> Clone for Branch<V> {
    fn clone(&self) -> Self {
        Branch {
            bitmap: self.bitmap,
            slots: self.slots.clone(),
        }
    }
}

impl<V> Branch<V> {
    fn empty() -> Branch<V> {
        Branch {
            bitmap: 0,
            slots: Vec::new(),
        }
    }
}

/// Position of `hash` at `depth`, as a bit.
fn bit_at(hash: u64, depth: u32) -> u64 {
    1u64 << ((hash >> (depth * BITS)) & 63)
}

/// Index of the slot for `bit` in a branch with `bitmap`.
fn slot_index(bitmap: u64, bit: u64) -> usize {
    (bitmap & (bit - 1)).count_ones() as usize
}

/// A persistent map from keys to `Arc<V>`; see the module docs.
pub struct Trie<V> {
    root: Arc<Branch<V>>,
    len: usize,
    hasher: ahash::RandomState,
}

impl<V> Clone for Trie<V> {
    fn clone(&self) -> Self {
        Trie {
            root: self.root.clone(),
            len: self.len,
            hasher: self.hasher.clone(),
        }
    }
}

impl<V> Default for Trie<V> {
    fn default() -> Self {
        Trie::new()
    }
}

impl<V> std::fmt::Debug for Trie<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trie").field("len", &self.len).finish()
    }
}

impl<V> Trie<V> {
    /// An empty trie with a fresh random hash key.
    pub fn new() -> Trie<V> {
        Trie {
            root: Arc::new(Branch::empty()),
            len: 0,
            hasher: ahash::RandomState::new(),
        }
    }

    /// An empty trie hashing like `self` (cheaper than [`Trie::new`], which seeds a new key).
    pub fn empty_like(&self) -> Trie<V> {
        Trie {
            root: Arc::new(Branch::empty()),
            len: 0,
            hasher: self.hasher.clone(),
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there is no value.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The hash this trie files `key` under.
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }
}

impl<V: Keyed> Trie<V> {
    /// The value for `key`, if any. Allocation- and lock-free.
    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&Arc<V>> {
        let hash = self.hash(key);
        let mut branch: &Branch<V> = &self.root;
        let mut depth = 0;
        loop {
            let bit = bit_at(hash, depth);
            if branch.bitmap & bit == 0 {
                return None;
            }
            match branch.slots.get(slot_index(branch.bitmap, bit))? {
                Slot::Leaf(v) => return (v.key() == key).then_some(v),
                Slot::Branch(next) => {
                    branch = next;
                    depth += 1;
                }
                Slot::Collision(list) => return list.iter().find(|v| v.key() == key),
            }
        }
    }

    /// Inserts `value` under its key; returns the value it replaced.
    pub fn insert(&mut self, value: Arc<V>) -> Option<Arc<V>> {
        let hash = self.hash(value.key());
        let old = insert_at(&mut self.root, value, hash, 0, &self.hasher);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// Removes the value for `key` and returns it; copies nothing when the key is absent.
    pub fn remove(&mut self, key: &[u8]) -> Option<Arc<V>> {
        self.get(key)?;
        let hash = self.hash(key);
        let old = remove_at(&mut self.root, key, hash, 0);
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    /// The value for `key`, for changing in place: the branches on its path
    /// are copied first if another version shares them (the value itself is
    /// copied by the caller's `Arc::make_mut` only if it is shared).
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Arc<V>> {
        self.get(key)?;
        let hash = self.hash(key);
        let mut branch = &mut self.root;
        let mut depth = 0;
        loop {
            let b = Arc::make_mut(branch);
            let bit = bit_at(hash, depth);
            let i = slot_index(b.bitmap, bit);
            match b.slots.get_mut(i)? {
                Slot::Leaf(v) => return (v.key() == key).then_some(v),
                Slot::Branch(next) => {
                    branch = next;
                    depth += 1;
                }
                Slot::Collision(list) => {
                    return Arc::make_mut(list).iter_mut().find(|v| v.key() == key)
                }
            }
        }
    }

    /// Calls `f` on every value, in no particular order.
    pub fn for_each<'a>(&'a self, mut f: impl FnMut(&'a Arc<V>)) {
        fn walk<'a, V>(b: &'a Branch<V>, f: &mut impl FnMut(&'a Arc<V>)) {
            for s in &b.slots {
                match s {
                    Slot::Leaf(v) => f(v),
                    Slot::Branch(next) => walk(next, f),
                    Slot::Collision(list) => list.iter().for_each(&mut *f),
                }
            }
        }
        walk(&self.root, &mut f)
    }
}

fn insert_at<V: Keyed>(
    branch: &mut Arc<Branch<V>>,
    value: Arc<V>,
    hash: u64,
    depth: u32,
    hasher: &ahash::RandomState,
) -> Option<Arc<V>> {
    let b = Arc::make_mut(branch);
    let bit = bit_at(hash, depth);
    let i = slot_index(b.bitmap, bit);
    if b.bitmap & bit == 0 {
        b.bitmap |= bit;
        b.slots.insert(i, Slot::Leaf(value));
        return None;
    }
    let slot = &mut b.slots[i];
    match slot {
        Slot::Leaf(old) if old.key() == value.key() => Some(std::mem::replace(old, value)),
        Slot::Leaf(old) => {
            let old = old.clone();
            if depth + 1 >= MAX_DEPTH {
                *slot = Slot::Collision(Arc::new(vec![old, value]));
                return None;
            }
            let old_hash = hasher.hash_one(old.key());
            let mut next = Arc::new(Branch::empty());
            insert_at(&mut next, old, old_hash, depth + 1, hasher);
            insert_at(&mut next, value, hash, depth + 1, hasher);
            *slot = Slot::Branch(next);
            None
        }
        Slot::Branch(next) => insert_at(next, value, hash, depth + 1, hasher),
        Slot::Collision(list) => {
            let list = Arc::make_mut(list);
            match list.iter_mut().find(|v| v.key() == value.key()) {
                Some(v) => Some(std::mem::replace(v, value)),
                None => {
                    list.push(value);
                    None
                }
            }
        }
    }
}

/// Removes `key` below `branch` (which must hold it), collapsing branches left with one leaf.
fn remove_at<V: Keyed>(
    branch: &mut Arc<Branch<V>>,
    key: &[u8],
    hash: u64,
    depth: u32,
) -> Option<Arc<V>> {
    let b = Arc::make_mut(branch);
    let bit = bit_at(hash, depth);
    if b.bitmap & bit == 0 {
        return None;
    }
    let i = slot_index(b.bitmap, bit);
    let (removed, replacement) = match &mut b.slots[i] {
        Slot::Leaf(v) if v.key() == key => (Some(v.clone()), None),
        Slot::Leaf(_) => return None,
        Slot::Branch(next) => {
            let removed = remove_at(next, key, hash, depth + 1);
            let replacement = match next.slots.as_slice() {
                [] => None,
                [Slot::Leaf(only)] => Some(Slot::Leaf(only.clone())),
                _ => return removed,
            };
            (removed, replacement)
        }
        Slot::Collision(list) => {
            let list = Arc::make_mut(list);
            let pos = list.iter().position(|v| v.key() == key)?;
            let removed = list.remove(pos);
            match list.as_slice() {
                [only] => (Some(removed), Some(Slot::Leaf(only.clone()))),
                _ => return Some(removed),
            }
        }
    };
    match replacement {
        Some(s) => b.slots[i] = s,
        None => {
            b.slots.remove(i);
            b.bitmap &= !bit;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Debug, PartialEq)]
    struct Item(Vec<u8>, u32);

    impl Keyed for Item {
        fn key(&self) -> &[u8] {
            &self.0
        }
    }

    #[test]
    fn behaves_like_a_map_and_versions_stay_apart() {
        let mut t: Trie<Item> = Trie::new();
        let mut model: HashMap<Vec<u8>, u32> = HashMap::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut versions = Vec::new();
        for step in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = format!("k{}", x % 3000).into_bytes();
            if x.is_multiple_of(3) {
                assert_eq!(t.remove(&key).map(|v| v.1), model.remove(&key));
            } else {
                let old = t.insert(Arc::new(Item(key.clone(), step)));
                assert_eq!(old.map(|v| v.1), model.insert(key, step));
            }
            assert_eq!(t.len(), model.len());
            if step % 5000 == 0 {
                versions.push((t.clone(), model.clone()));
            }
        }
        for (k, v) in &model {
            assert_eq!(t.get(k).map(|i| i.1), Some(*v));
        }
        assert!(t.get(b"absent").is_none());
        // Older versions are unaffected by later changes.
        for (old, m) in &versions {
            assert_eq!(old.len(), m.len());
            let mut n = 0;
            old.for_each(|i| {
                assert_eq!(m.get(&i.0), Some(&i.1));
                n += 1;
            });
            assert_eq!(n, m.len());
        }
    }

    #[test]
    fn removing_everything_leaves_an_empty_root() {
        let mut t: Trie<Item> = Trie::new();
        for i in 0..1000u32 {
            t.insert(Arc::new(Item(i.to_be_bytes().to_vec(), i)));
        }
        for i in 0..1000u32 {
            assert!(t.remove(&i.to_be_bytes()).is_some());
        }
        assert!(t.is_empty());
        assert!(t.root.slots.is_empty() && t.root.bitmap == 0);
    }

    #[test]
    fn collision_lists_hold_equal_hashes() {
        // Force every key onto one path by inserting at MAX_DEPTH directly.
        let hasher = ahash::RandomState::new();
        let mut root: Arc<Branch<Item>> = Arc::new(Branch::empty());
        for k in [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()] {
            insert_at(&mut root, Arc::new(Item(k, 1)), 42, MAX_DEPTH - 1, &hasher);
        }
        assert!(matches!(root.slots[0], Slot::Collision(ref l) if l.len() == 3));
        assert!(remove_at(&mut root, b"b", 42, MAX_DEPTH - 1).is_some());
        assert!(remove_at(&mut root, b"a", 42, MAX_DEPTH - 1).is_some());
        assert!(matches!(root.slots[0], Slot::Leaf(ref v) if v.0 == b"c"));
    }
}
