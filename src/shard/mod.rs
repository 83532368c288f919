//! `--shard`: which items of the input this run takes, so N runs (a Slurm
//! array, a CI matrix, a Kubernetes Indexed Job) split one input between
//! them without talking to each other.
//!
//! Two rules. `slice:K/N` (or bare `K/N`) takes input positions K, K+N...:
//! balanced, but every run must read the same input in the same order.
//! `hash:K/N` takes the items whose key bytes (the `--key` rendering, else
//! the item's own bytes) hash to K-1 modulo N, by xxh64 with seed 0: an
//! item's shard depends on its bytes only, so shards stay right when the
//! input is reordered, grows, or is produced in another order on each node.
//! That hash is part of the contract and never changes.
//!
//! Where K and N come from the environment of a scheduler, [`env`] reads
//! them, only when asked.

pub mod env;

/// The rule that assigns items to shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// By input position.
    Slice,
    /// By xxh64 of the item's key bytes.
    Hash,
}

/// `--shard`: this run takes shard `index` of `count` by `rule`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// How items are assigned.
    pub rule: Rule,
    /// K, from 1.
    pub index: u64,
    /// N.
    pub count: u64,
}

impl Shard {
    /// Parses `K/N`, `slice:K/N` or `hash:K/N` with 1 <= K <= N.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (rule, numbers) = match text.split_once(':') {
            Some(("hash", rest)) => (Rule::Hash, rest),
            Some(("slice", rest)) => (Rule::Slice, rest),
            Some(_) => return Err(bad_spec(text)),
            None => (Rule::Slice, text),
        };
        let (index, count) = parse_fraction(numbers).ok_or_else(|| bad_spec(text))?;
        Shard::new(rule, index, count).ok_or_else(|| bad_spec(text))
    }

    /// Shard `index` of `count`, if 1 <= index <= count.
    pub fn new(rule: Rule, index: u64, count: u64) -> Option<Shard> {
        (index >= 1 && index <= count).then_some(Shard { rule, index, count })
    }

    /// How the journal names it: `K/N` for a slice (as fanout always
    /// wrote), `hash:K/N` for a hash shard.
    pub fn label(&self) -> String {
        match self.rule {
            Rule::Slice => format!("{}/{}", self.index, self.count),
            Rule::Hash => format!("hash:{}/{}", self.index, self.count),
        }
    }

    /// Whether the item at input position `seq` (from 1), whose key bytes
    /// hash to `key_hash()` ([`hash`]; asked only for a hash shard), is in
    /// this shard.
    pub fn takes(&self, seq: u64, key_hash: impl FnOnce() -> u64) -> bool {
        match self.rule {
            Rule::Slice => (seq.saturating_sub(1)) % self.count == self.index - 1,
            Rule::Hash => key_hash() % self.count == self.index - 1,
        }
    }

    /// How many of the items at positions 1..=`total` are in this shard:
    /// known for a slice; for a hash shard only by reading every item.
    pub fn size_of(&self, total: u64) -> Option<u64> {
        match self.rule {
            Rule::Hash => None,
            Rule::Slice if total < self.index => Some(0),
            Rule::Slice => Some((total - self.index) / self.count + 1),
        }
    }
}

/// The hash of key bytes that places an item: xxh64 with seed 0. Its shard
/// (from 1) of N is `hash % N + 1`. Never changes.
pub fn hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh64::xxh64(bytes, 0)
}

fn parse_fraction(text: &str) -> Option<(u64, u64)> {
    let (k, n) = text.split_once('/')?;
    Some((k.trim().parse().ok()?, n.trim().parse().ok()?))
}

fn bad_spec(text: &str) -> String {
    format!(
        "`{text}` is not a shard: give K/N or slice:K/N (input positions), hash:K/N (by the \
         item's key), with 1 <= K <= N (e.g. hash:2/8), or a scheduler ({})",
        env::Provider::NAMES.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(index: u64, count: u64) -> Shard {
        Shard::new(Rule::Slice, index, count).unwrap()
    }

    #[test]
    fn slices() {
        let s = Shard::parse("2/3").unwrap();
        assert_eq!(s, Shard::parse("slice:2/3").unwrap());
        let taken: Vec<u64> = (1..=10).filter(|&seq| s.takes(seq, || 0)).collect();
        assert_eq!(taken, vec![2, 5, 8]);
        assert_eq!(s.size_of(10), Some(3));
        assert_eq!(s.size_of(1), Some(0));
        assert_eq!(slice(3, 3).size_of(9), Some(3));
        assert_eq!(s.label(), "2/3");
        for bad in [
            "0/3", "4/3", "1", "a/b", "1/0", "hash:0/2", "crc:1/2", "hash:",
        ] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        // Every item is in exactly one shard.
        for seq in 1..=20 {
            let n = (1..=4).filter(|k| slice(*k, 4).takes(seq, || 0)).count();
            assert_eq!(n, 1);
        }
    }

    #[test]
    fn hash_shards_are_xxh64_seed_0_and_never_change() {
        // Golden values: xxh64("", 0) = ef46db3751d8e999, xxh64("a", 0) =
        // d24ec4f1a98c6e5b (the reference implementation's test vectors).
        assert_eq!(xxhash_rust::xxh64::xxh64(b"", 0), 0xef46_db37_51d8_e999);
        assert_eq!(xxhash_rust::xxh64::xxh64(b"a", 0), 0xd24e_c4f1_a98c_6e5b);
        assert_eq!(hash(b"a"), 0xd24e_c4f1_a98c_6e5b);
        let a_in = 0xd24e_c4f1_a98c_6e5b_u64 % 7 + 1;
        for k in 1..=7 {
            let taken = Shard::new(Rule::Hash, k, 7)
                .unwrap()
                .takes(1, || hash(b"a"));
            assert_eq!(taken, k == a_in);
        }
        let h = Shard::parse("hash:2/5").unwrap();
        assert_eq!(h.label(), "hash:2/5");
        assert_eq!(h.size_of(100), None);
        // Every item in exactly one shard, whatever its position.
        for word in ["x", "y", "photo 1.jpg", "", "ünï"] {
            let shards: Vec<u64> = (1..=5)
                .filter(|k| {
                    Shard::new(Rule::Hash, *k, 5)
                        .unwrap()
                        .takes(99, || hash(word.as_bytes()))
                })
                .collect();
            assert_eq!(shards.len(), 1, "{word}");
        }
    }
}
