//! Item keys: a hash of the item's bytes or its `--key` rendering.

use crate::item::Item;
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
        let Some(template) = &self.template else {
            return Ok(Keyer::hash(item));
        };
        use std::os::unix::ffi::OsStrExt;
        let spec = template.render(item, 0)?;
        let text = spec.args.first().map(|a| a.as_bytes()).unwrap_or_default();
        Ok(String::from_utf8_lossy(text).into_owned())
    }

    /// The byte hash of an item, whatever the template (the key of an item
    /// whose `--key` cannot render).
    pub fn hash(item: &Item) -> String {
        format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&item.raw))
    }
}
