// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Name tables read from the system (disk names by device number, and the like) that stay right
//! when something appears after the tool started: a lookup that misses re-reads the table, at
//! most once per round of lookups (one interval's output), so a key that never resolves costs one
//! read per interval, not one per lookup. A name once known is kept when its entry leaves the
//! system (a loop device detached before the interval that counted its I/O prints); a later
//! read or [`NameTable::learn`] replaces it.

use std::collections::HashMap;
use std::hash::Hash;

/// A table from keys to names, with the function that reads it afresh.
pub struct NameTable<K, V> {
    names: HashMap<K, V>,
    load: Box<dyn Fn() -> HashMap<K, V>>,
}

impl<K: Eq + Hash, V> NameTable<K, V> {
    /// Read the table now with `load`; later misses call it again.
    pub fn new(load: impl Fn() -> HashMap<K, V> + 'static) -> Self {
        let names = load();
        Self {
            names,
            load: Box::new(load),
        }
    }

    /// Start a round of lookups of `keys`: if any is missing, re-read the table once. Returns
    /// the table to look them up in.
    pub fn resolve<'k>(&mut self, keys: impl IntoIterator<Item = &'k K>) -> &HashMap<K, V>
    where
        K: 'k,
    {
        if keys.into_iter().any(|k| !self.names.contains_key(k)) {
            let fresh = (self.load)();
            self.names.extend(fresh);
        }
        &self.names
    }

    /// Names from another source that saw them when they were current (the kernel, at the
    /// event): they replace what the table had for those keys.
    pub fn learn(&mut self, names: impl IntoIterator<Item = (K, V)>) {
        self.names.extend(names);
    }

    /// The table as last read.
    pub fn names(&self) -> &HashMap<K, V> {
        &self.names
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    #[test]
    fn a_miss_rereads_once_per_round() {
        let reads = Rc::new(Cell::new(0u32));
        let r = Rc::clone(&reads);
        let mut t = NameTable::new(move || {
            r.set(r.get() + 1);
            // The second read finds a disk attached after the first.
            let mut m = HashMap::from([(1u32, "vda")]);
            if r.get() > 1 {
                m.insert(7, "loop0");
            }
            m
        });
        assert_eq!(reads.get(), 1);
        assert_eq!(t.resolve(&[1]).get(&1), Some(&"vda"));
        assert_eq!(reads.get(), 1, "a hit reads nothing");
        assert_eq!(t.resolve(&[1, 7, 9]).get(&7), Some(&"loop0"));
        assert_eq!(
            reads.get(),
            2,
            "one read for the round, though two keys missed"
        );
        assert_eq!(t.names().get(&9), None);
    }

    #[test]
    fn names_outlive_their_entries_until_replaced() {
        let reads = Rc::new(Cell::new(0u32));
        let r = Rc::clone(&reads);
        // loop0 (7) is there at the first read only.
        let mut t = NameTable::new(move || {
            r.set(r.get() + 1);
            if r.get() == 1 {
                HashMap::from([(1u32, "vda"), (7, "loop0")])
            } else {
                HashMap::from([(1u32, "vda2")])
            }
        });
        let names = t.resolve(&[7, 8]);
        assert_eq!(reads.get(), 2, "8 missed");
        assert_eq!(names.get(&7), Some(&"loop0"), "kept after it left");
        assert_eq!(names.get(&1), Some(&"vda2"), "a read replaces");
        t.learn([(8, "sdb"), (1, "vda")]);
        assert_eq!(t.resolve(&[8]).get(&8), Some(&"sdb"));
        assert_eq!(t.names().get(&1), Some(&"vda"), "learned replaces");
        assert_eq!(reads.get(), 2);
    }
}
