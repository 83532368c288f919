//! `--shard K/N`: which items of the input this run takes, so N runs (a
//! Slurm array, a CI matrix) split one input between them without talking
//! to each other. Positions count every record of the input, so all shards
//! agree on them.

/// `--shard K/N`: this run takes the items at input positions K, K+N, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// K, from 1.
    pub index: u64,
    /// N.
    pub count: u64,
}

impl Shard {
    /// Parses `K/N` with 1 <= K <= N.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("`{text}` is not K/N with 1 <= K <= N (e.g. 2/8)");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (k.trim().parse::<u64>(), n.trim().parse::<u64>());
        match (index, count) {
            (Ok(index), Ok(count)) if index >= 1 && index <= count => Ok(Shard { index, count }),
            _ => Err(bad()),
        }
    }

    /// Whether the item at input position `seq` (from 1) is in this shard.
    pub fn contains(&self, seq: u64) -> bool {
        (seq.saturating_sub(1)) % self.count == self.index - 1
    }

    /// How many of the items at positions 1..=`total` are in this shard.
    pub fn size_of(&self, total: u64) -> u64 {
        if total < self.index {
            0
        } else {
            (total - self.index) / self.count + 1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards() {
        let s = Shard::parse("2/3").unwrap();
        let taken: Vec<u64> = (1..=10).filter(|&seq| s.contains(seq)).collect();
        assert_eq!(taken, vec![2, 5, 8]);
        assert_eq!(s.size_of(10), 3);
        assert_eq!(s.size_of(1), 0);
        assert_eq!(Shard::parse("3/3").unwrap().size_of(9), 3);
        for bad in ["0/3", "4/3", "1", "a/b", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        // Every item is in exactly one shard.
        for seq in 1..=20 {
            let n = (1..=4)
                .filter(|k| {
                    Shard {
                        index: *k,
                        count: 4,
                    }
                    .contains(seq)
                })
                .count();
            assert_eq!(n, 1);
        }
    }
}
