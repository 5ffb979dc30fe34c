//! Sets of keys filed under a name (a node's, a namespace's, an owner's
//! uid), so a lookup by that name reads only its own keys.

use std::borrow::Borrow;
use std::collections::BTreeSet;

use rustc_hash::FxHashMap;

/// Keys by the name they are filed under, each set in key order.
pub type KeysByName<K> = FxHashMap<String, BTreeSet<K>>;

/// Files `key` under `name`, copying the name only for a new entry.
pub fn file_under<K: Ord>(index: &mut KeysByName<K>, name: &str, key: K) {
    match index.get_mut(name) {
        Some(set) => {
            set.insert(key);
        }
        None => {
            index.insert(name.to_string(), BTreeSet::from([key]));
        }
    }
}

/// Takes `key` from under `name`; a name left with no keys goes.
pub fn remove_from<K: Ord + Borrow<Q>, Q: Ord + ?Sized>(index: &mut KeysByName<K>, name: &str, key: &Q) {
    if let Some(set) = index.get_mut(name) {
        set.remove(key);
        if set.is_empty() {
            index.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_holds_its_keys_until_the_last_goes() {
        let mut index: KeysByName<String> = KeysByName::default();
        file_under(&mut index, "node-1", "b".to_string());
        file_under(&mut index, "node-1", "a".to_string());
        file_under(&mut index, "node-2", "c".to_string());
        assert_eq!(index["node-1"].iter().collect::<Vec<_>>(), ["a", "b"]);
        remove_from(&mut index, "node-1", "a");
        remove_from(&mut index, "node-3", "a");
        assert_eq!(index["node-1"].len(), 1);
        remove_from(&mut index, "node-1", "b");
        assert!(!index.contains_key("node-1"));
        assert_eq!(index.len(), 1);
    }
}
