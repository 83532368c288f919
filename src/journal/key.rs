//! Item keys: a hash of the item's bytes or its `--key` rendering.

use crate::item::{Item, ItemData};
use crate::template::Template;

/// Assigns keys: a 128-bit hash of the item's bytes, or its `--key`
/// rendering. Duplicate items share a key and the journal counts their
/// occurrences, so keys cost no memory per item (no table of items seen).
#[derive(Debug)]
pub struct Keyer {
    template: Option<Template>,
}

impl Keyer {
    /// A keyer hashing item bytes, or rendering `template` (`--key`).
    pub fn new(template: Option<Template>) -> Keyer {
        Keyer { template }
    }

    /// The key of an item: the hash of its bytes, or its `--key`
    /// rendering. `Err` says why the `--key` template cannot render for it
    /// (a missing field): such an item is bad input, never keyed by its bytes
    /// behind the user's back.
    pub fn key(&self, item: &Item) -> Result<String, String> {
        let Some(template) = self.template.as_ref().filter(|_| !item.is_block()) else {
            return Ok(Keyer::hash(item));
        };
        use std::os::unix::ffi::OsStrExt;
        let spec = template.render(item, 0)?;
        let text = spec.args.first().map(|a| a.as_bytes()).unwrap_or_default();
        Ok(String::from_utf8_lossy(text).into_owned())
    }

    /// The hash that places the item in a `--shard hash:K/N`
    /// ([`crate::shard::hash`]) over its key bytes: its `--key` rendering,
    /// else its own bytes (for several sources, each value with its length
    /// before it; for a block, its `OFFSET+LENGTH` key).
    pub fn shard_hash(&self, item: &Item) -> u64 {
        use std::os::unix::ffi::OsStrExt;
        if let Some(template) = self.template.as_ref().filter(|_| !item.is_block())
            && let Ok(spec) = template.render(item, 0)
        {
            let text = spec.args.first().map(|a| a.as_bytes()).unwrap_or_default();
            return crate::shard::hash(text);
        }
        Keyer::bytes_hash(item)
    }

    /// [`Keyer::shard_hash`] without a `--key` template.
    pub fn bytes_hash(item: &Item) -> u64 {
        match &item.data {
            ItemData::Block(block) => crate::shard::hash(block.key().as_bytes()),
            ItemData::Combined(combination) => {
                let mut hasher = xxhash_rust::xxh64::Xxh64::new(0);
                hasher.update(&(combination.values.len() as u64).to_le_bytes());
                for value in &combination.values {
                    hasher.update(&(value.raw.len() as u64).to_le_bytes());
                    hasher.update(&value.raw);
                }
                hasher.digest()
            }
            _ => crate::shard::hash(&item.raw),
        }
    }

    /// The byte hash of an item, whatever the template (the key of an item
    /// whose `--key` cannot render). An item of several sources hashes
    /// each source's value with its length before it, so that ("a b", "c")
    /// and ("a", "b c") differ; a single source's item hashes its bytes, as
    /// it always has (journals of earlier versions stay valid).
    pub fn hash(item: &Item) -> String {
        let hash = match &item.data {
            // A block (`--pipe`) is known by its place: offset and length.
            ItemData::Block(block) => return block.key(),
            ItemData::Combined(combination) => {
                let mut hasher = xxhash_rust::xxh3::Xxh3::new();
                hasher.update(b"fanout-sources");
                hasher.update(&(combination.values.len() as u64).to_le_bytes());
                for value in &combination.values {
                    hasher.update(&(value.raw.len() as u64).to_le_bytes());
                    hasher.update(&value.raw);
                }
                hasher.digest128()
            }
            _ => xxhash_rust::xxh3::xxh3_128(&item.raw),
        };
        format!("{hash:032x}")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::item::{Combination, SourceValue};

    fn combined(values: &[&str]) -> Item {
        let values = values
            .iter()
            .enumerate()
            .map(|(source, v)| SourceValue {
                raw: v.as_bytes().to_vec(),
                columns: None,
                source,
                line: 1,
            })
            .collect();
        let mut item = Item::plain(1, "");
        item.data = ItemData::Combined(Box::new(Combination {
            values,
            sources: Arc::from(Vec::new()),
        }));
        item
    }

    #[test]
    fn a_single_sources_key_is_unchanged() {
        // The key journals of earlier versions hold for `a b`.
        assert_eq!(
            Keyer::hash(&Item::plain(1, "a b")),
            format!("{:032x}", xxhash_rust::xxh3::xxh3_128(b"a b"))
        );
    }

    #[test]
    fn combination_keys_cover_every_value_unambiguously() {
        let keys = [
            Keyer::hash(&combined(&["a b", "c"])),
            Keyer::hash(&combined(&["a", "b c"])),
            Keyer::hash(&combined(&["a", "b", "c"])),
            Keyer::hash(&combined(&["a b c"])),
            Keyer::hash(&Item::plain(1, "a b c")),
        ];
        for (i, key) in keys.iter().enumerate() {
            for other in &keys[i + 1..] {
                assert_ne!(key, other);
            }
        }
        assert_eq!(
            Keyer::hash(&combined(&["a", "b c"])),
            Keyer::hash(&combined(&["a", "b c"]))
        );
    }
}
