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

/// A value stored in a [`Trie`]: it carries its own key (trie values are also
/// `Clone`, which should cost a reference count).
pub trait Keyed {
    /// The octets the value is found by.
    fn key(&self) -> &[u8];
}

impl<T: Keyed> Keyed for Arc<T> {
    fn key(&self) -> &[u8] {
        (**self).key()
    }
}

/// Bits of the hash consumed per level.
const BITS: u32 = 6;
/// Levels of branches before keys with equal hash bits share a collision list.
pub const MAX_DEPTH: u32 = 10;

/// One slot of a branch. A branch is its occupied-position bitmap plus one
/// shared array of slots, so a lookup follows one pointer per level.
#[derive(Clone)]
enum Slot<V> {
    Leaf(V),
    Branch(u64, Arc<[Slot<V>]>),
    Collision(Arc<[V]>),
    /// What a slot holds for an instant while its array is rebuilt; never in a published array.
    Moved,
}

/// Position of `hash` at `depth`, as a bit.
#[inline]
fn bit_at(hash: u64, depth: u32) -> u64 {
    1u64 << ((hash >> (depth * BITS)) & 63)
}

/// Index of the slot for `bit` in a branch with `bitmap`.
#[inline]
fn slot_index(bitmap: u64, bit: u64) -> usize {
    (bitmap & (bit - 1)).count_ones() as usize
}

/// The slots of an array for changing: in place when no other version holds it, else a copy.
fn unshare<T: Clone>(a: &mut Arc<[T]>) -> &mut [T] {
    if Arc::get_mut(a).is_none() {
        *a = a.iter().cloned().collect();
    }
    Arc::get_mut(a).expect("an array just copied has one owner")
}

/// `a` with `item` inserted at `i`.
fn inserted<T: Clone>(a: &[T], i: usize, item: T) -> Arc<[T]> {
    let mut v = Vec::with_capacity(a.len() + 1);
    v.extend_from_slice(&a[..i]);
    v.push(item);
    v.extend_from_slice(&a[i..]);
    v.into()
}

/// `a` without its `i`-th element.
fn removed<T: Clone>(a: &[T], i: usize) -> Arc<[T]> {
    a.iter()
        .enumerate()
        .filter(|(j, _)| *j != i)
        .map(|(_, x)| x.clone())
        .collect()
}

/// The slots of `a` as a list to rebuild from: moved out when no other
/// version holds the array (no reference counts touched), else cloned.
fn take_slots<V: Clone>(a: &mut Arc<[Slot<V>]>, extra: usize) -> Vec<Slot<V>> {
    let mut v = Vec::with_capacity(a.len() + extra);
    match Arc::get_mut(a) {
        Some(slots) => v.extend(slots.iter_mut().map(|s| std::mem::replace(s, Slot::Moved))),
        None => v.extend_from_slice(a),
    }
    v
}

/// Inserts a slot at `i` of a branch array.
fn insert_slot<V: Clone>(a: &mut Arc<[Slot<V>]>, i: usize, slot: Slot<V>) {
    let mut v = take_slots(a, 1);
    v.insert(i, slot);
    *a = v.into();
}

/// Removes the slot at `i` of a branch array.
fn remove_slot<V: Clone>(a: &mut Arc<[Slot<V>]>, i: usize) {
    let mut v = take_slots(a, 0);
    v.remove(i);
    *a = v.into();
}

/// A persistent map from keys to values that carry them; see the module docs.
#[derive(Clone)]
pub struct Trie<V> {
    bitmap: u64,
    root: Arc<[Slot<V>]>,
    len: usize,
    hasher: ahash::RandomState,
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
            bitmap: 0,
            root: Arc::new([]),
            len: 0,
            hasher: ahash::RandomState::new(),
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
    #[inline]
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }
}

impl<V: Keyed + Clone> Trie<V> {
    /// The value for `key`, if any. Allocation- and lock-free.
    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&V> {
        let hash = self.hash(key);
        let mut bitmap = self.bitmap;
        let mut slots: &[Slot<V>] = &self.root;
        let mut depth = 0;
        loop {
            let bit = bit_at(hash, depth);
            if bitmap & bit == 0 {
                return None;
            }
            match slots.get(slot_index(bitmap, bit))? {
                Slot::Leaf(v) => return (v.key() == key).then_some(v),
                Slot::Branch(b, next) => {
                    bitmap = *b;
                    slots = next;
                    depth += 1;
                }
                Slot::Collision(list) => return list.iter().find(|v| v.key() == key),
                Slot::Moved => return None,
            }
        }
    }

    /// Inserts `value` under its key; returns the value it replaced.
    pub fn insert(&mut self, value: V) -> Option<V> {
        let hash = self.hash(value.key());
        let old = insert_at(
            &mut self.bitmap,
            &mut self.root,
            value,
            hash,
            0,
            &self.hasher,
        );
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// The value for `key`, for changing in place: the branches on its path
    /// are copied first if another version shares them (the value's own
    /// copy-on-write is up to the value).
    ///
    /// For an absent key the path walked is unshared all the same; callers
    /// insert the key then (an empty non-terminal), which needs that path.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        let hash = self.hash(key);
        let mut bitmap = self.bitmap;
        let mut slots = unshare(&mut self.root);
        let mut depth = 0;
        loop {
            let bit = bit_at(hash, depth);
            if bitmap & bit == 0 {
                return None;
            }
            let i = slot_index(bitmap, bit);
            match slots.get_mut(i)? {
                Slot::Leaf(v) => return (v.key() == key).then_some(v),
                Slot::Branch(b, next) => {
                    bitmap = *b;
                    slots = unshare(next);
                    depth += 1;
                }
                Slot::Collision(list) => return unshare(list).iter_mut().find(|v| v.key() == key),
                Slot::Moved => return None,
            }
        }
    }

    /// Removes the value for `key` and returns it; copies nothing when the key is absent.
    pub fn remove(&mut self, key: &[u8]) -> Option<V> {
        self.get(key)?;
        let hash = self.hash(key);
        let old = remove_at(&mut self.bitmap, &mut self.root, key, hash, 0);
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    /// Every value, in no particular order, one at a time: the iterator
    /// holds a path of at most [`MAX_DEPTH`] + 2 positions, not a list.
    pub fn iter(&self) -> Iter<'_, V> {
        Iter {
            stack: vec![(&self.root[..], 0)],
            collision: None,
        }
    }

    /// Calls `f` on every value, in no particular order.
    pub fn for_each<'a>(&'a self, mut f: impl FnMut(&'a V)) {
        fn walk<'a, V>(slots: &'a [Slot<V>], f: &mut impl FnMut(&'a V)) {
            for s in slots {
                match s {
                    Slot::Leaf(v) => f(v),
                    Slot::Branch(_, next) => walk(next, f),
                    Slot::Collision(list) => list.iter().for_each(&mut *f),
                    Slot::Moved => {}
                }
            }
        }
        walk(&self.root, &mut f)
    }
}

/// An iterator over a [`Trie`]'s values; see [`Trie::iter`].
pub struct Iter<'a, V> {
    /// The branches being walked, each with the next slot to visit.
    stack: Vec<(&'a [Slot<V>], usize)>,
    /// A collision list being walked, with the next index.
    collision: Option<(&'a [V], usize)>,
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = &'a V;

    fn next(&mut self) -> Option<&'a V> {
        loop {
            if let Some((list, i)) = &mut self.collision {
                if let Some(v) = list.get(*i) {
                    *i += 1;
                    return Some(v);
                }
                self.collision = None;
            }
            let (slots, i) = self.stack.last_mut()?;
            let Some(slot) = slots.get(*i) else {
                self.stack.pop();
                continue;
            };
            *i += 1;
            match slot {
                Slot::Leaf(v) => return Some(v),
                Slot::Branch(_, next) => self.stack.push((&next[..], 0)),
                Slot::Collision(list) => self.collision = Some((&list[..], 0)),
                Slot::Moved => {}
            }
        }
    }
}

fn insert_at<V: Keyed + Clone>(
    bitmap: &mut u64,
    slots: &mut Arc<[Slot<V>]>,
    value: V,
    hash: u64,
    depth: u32,
    hasher: &ahash::RandomState,
) -> Option<V> {
    let bit = bit_at(hash, depth);
    let i = slot_index(*bitmap, bit);
    if *bitmap & bit == 0 {
        insert_slot(slots, i, Slot::Leaf(value));
        *bitmap |= bit;
        return None;
    }
    let slot = &mut unshare(slots)[i];
    match slot {
        Slot::Leaf(old) if old.key() == value.key() => Some(std::mem::replace(old, value)),
        Slot::Leaf(old) => {
            let old = old.clone();
            if depth + 1 >= MAX_DEPTH {
                *slot = Slot::Collision(vec![old, value].into());
                return None;
            }
            let old_hash = hasher.hash_one(old.key());
            let (mut b, mut next): (u64, Arc<[Slot<V>]>) = (0, Arc::new([]));
            insert_at(&mut b, &mut next, old, old_hash, depth + 1, hasher);
            insert_at(&mut b, &mut next, value, hash, depth + 1, hasher);
            *slot = Slot::Branch(b, next);
            None
        }
        Slot::Branch(b, next) => insert_at(b, next, value, hash, depth + 1, hasher),
        Slot::Collision(list) => match list.iter().position(|v| v.key() == value.key()) {
            Some(p) => Some(std::mem::replace(&mut unshare(list)[p], value)),
            None => {
                *list = inserted(list, list.len(), value);
                None
            }
        },
        Slot::Moved => {
            *slot = Slot::Leaf(value);
            None
        }
    }
}

/// Removes `key` below a branch (which must hold it), collapsing branches left with one leaf.
fn remove_at<V: Keyed + Clone>(
    bitmap: &mut u64,
    slots: &mut Arc<[Slot<V>]>,
    key: &[u8],
    hash: u64,
    depth: u32,
) -> Option<V> {
    let bit = bit_at(hash, depth);
    if *bitmap & bit == 0 {
        return None;
    }
    let i = slot_index(*bitmap, bit);
    let (found, replacement) = match &mut unshare(slots)[i] {
        Slot::Leaf(v) if v.key() == key => (Some(v.clone()), None),
        Slot::Leaf(_) | Slot::Moved => return None,
        Slot::Branch(b, next) => {
            let found = remove_at(b, next, key, hash, depth + 1);
            let replacement = match &**next {
                [] => None,
                [Slot::Leaf(only)] => Some(Slot::Leaf(only.clone())),
                _ => return found,
            };
            (found, replacement)
        }
        Slot::Collision(list) => {
            let pos = list.iter().position(|v| v.key() == key)?;
            let found = list[pos].clone();
            *list = removed(list, pos);
            match &**list {
                [only] => (Some(found), Some(Slot::Leaf(only.clone()))),
                _ => return Some(found),
            }
        }
    };
    match replacement {
        Some(s) => unshare(slots)[i] = s,
        None => {
            remove_slot(slots, i);
            *bitmap &= !bit;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Clone, Debug, PartialEq)]
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
                let old = t.insert(Item(key.clone(), step));
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
            // The iterator visits the same values, each once.
            let mut seen: HashMap<Vec<u8>, u32> = HashMap::new();
            for i in old.iter() {
                assert!(seen.insert(i.0.clone(), i.1).is_none(), "visited twice");
            }
            assert_eq!(&seen, m);
        }
    }

    #[test]
    fn removing_everything_leaves_an_empty_root() {
        let mut t: Trie<Item> = Trie::new();
        for i in 0..1000u32 {
            t.insert(Item(i.to_be_bytes().to_vec(), i));
        }
        for i in 0..1000u32 {
            assert!(t.remove(&i.to_be_bytes()).is_some());
        }
        assert!(t.is_empty());
        assert!(t.root.is_empty() && t.bitmap == 0);
    }

    #[test]
    fn collision_lists_hold_equal_hashes() {
        // Force every key onto one path by inserting at MAX_DEPTH directly.
        let hasher = ahash::RandomState::new();
        let (mut bitmap, mut root): (u64, Arc<[Slot<Item>]>) = (0, Arc::new([]));
        for k in [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()] {
            insert_at(
                &mut bitmap,
                &mut root,
                Item(k, 1),
                42,
                MAX_DEPTH - 1,
                &hasher,
            );
        }
        assert!(matches!(root[0], Slot::Collision(ref l) if l.len() == 3));
        let t = Trie {
            bitmap,
            root: root.clone(),
            len: 3,
            hasher: hasher.clone(),
        };
        let mut keys: Vec<&[u8]> = t.iter().map(|i| &i.0[..]).collect();
        keys.sort();
        assert_eq!(
            keys,
            vec![&b"a"[..], b"b", b"c"],
            "collision lists are iterated"
        );
        assert!(remove_at(&mut bitmap, &mut root, b"b", 42, MAX_DEPTH - 1).is_some());
        assert!(remove_at(&mut bitmap, &mut root, b"a", 42, MAX_DEPTH - 1).is_some());
        assert!(matches!(root[0], Slot::Leaf(ref v) if v.0 == b"c"));
    }
}
