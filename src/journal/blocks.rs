//! The blocks an earlier `--pipe` run finished, as byte ranges (their keys
//! are `OFFSET+LENGTH`), so that a resume whose blocks are cut elsewhere
//! (another `--block`, `-N`, `-L`, record strings, header, or `-j` where
//! the size depends on it) is noticed: a new block that overlaps a
//! finished one without being it would run some of its bytes again.

/// Finished blocks, sorted by offset.
#[derive(Debug, Default)]
pub(crate) struct FinishedBlocks {
    ranges: Vec<(u64, u64)>,
}

impl FinishedBlocks {
    /// The ranges of the keys that are block keys.
    pub(crate) fn from_keys<'a>(keys: impl Iterator<Item = &'a str>) -> FinishedBlocks {
        let mut ranges: Vec<(u64, u64)> = keys
            .filter_map(|key| {
                let (offset, len) = key.split_once('+')?;
                let offset: u64 = offset.parse().ok()?;
                let len: u64 = len.parse().ok()?;
                Some((offset, offset.checked_add(len)?))
            })
            .collect();
        ranges.sort_unstable();
        FinishedBlocks { ranges }
    }

    /// A finished block that shares bytes with `offset..end` (none for
    /// the very same block, which the journal skips or reruns by its key).
    pub(crate) fn overlapping(&self, offset: u64, end: u64) -> Option<(u64, u64)> {
        // The ranges starting before `end`; of those, the last ones may
        // reach past `offset`. Earlier runs' blocks do not overlap each
        // other, but a resume with other options may have added some that
        // do: look back over every range that starts before `end`.
        let before = self.ranges.partition_point(|&(start, _)| start < end);
        self.ranges[..before]
            .iter()
            .rev()
            .find(|&&(start, stop)| stop > offset && (start, stop) != (offset, end))
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlaps_are_found_and_the_same_block_is_not_one() {
        let blocks = FinishedBlocks::from_keys(["0+10", "10+10", "x", "3a+1", "30+5"].into_iter());
        assert_eq!(blocks.overlapping(0, 10), None);
        assert_eq!(blocks.overlapping(20, 30), None);
        assert_eq!(blocks.overlapping(5, 15), Some((10, 20)));
        assert_eq!(blocks.overlapping(0, 5), Some((0, 10)));
        assert_eq!(blocks.overlapping(34, 40), Some((30, 35)));
        assert_eq!(blocks.overlapping(35, 40), None);
    }
}
