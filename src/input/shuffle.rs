//! Reading the whole input before the first job: for `--shuf` (GNU
//! parallel's: the items run in a random order) and for `{##}`/`{0#}` when
//! the total cannot be counted ahead (stdin, a pipe). The items are held in
//! memory, as GNU parallel holds them. After a shuffle the items are
//! numbered in their new order, so `{#}` counts the jobs as they run and
//! `-k` keeps that order, as in GNU parallel. A failed read is reported
//! before any item, so nothing runs on half an input.

use std::io;

use super::{InputError, Reader, Record, RecordSource};
use crate::item::Item;

/// The order of a read-ahead input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// As read.
    Input,
    /// Shuffled (`--shuf`).
    Shuffled,
}

/// Records read ahead, handed out in order; a read error comes first.
struct HeldSource {
    error: Option<io::Error>,
    records: std::vec::IntoIter<Record>,
}

impl RecordSource for HeldSource {
    fn next_record(&mut self, _name: &str) -> Option<io::Result<Record>> {
        if let Some(error) = self.error.take() {
            return Some(Err(error));
        }
        self.records.next().map(Ok)
    }
}

impl Reader {
    /// Reads every item now and yields them in `order`, numbered afresh.
    /// The rules (`-E`, `-r`, `--trim`) were applied while reading.
    pub(crate) fn read_ahead(mut self, order: Order) -> Reader {
        let mut items: Vec<Item> = Vec::new();
        let mut error = None;
        for next in self.by_ref() {
            match next {
                Ok(item) => items.push(item),
                Err(InputError::Io { source, .. }) => {
                    error = Some(source);
                    break;
                }
                Err(other) => {
                    error = Some(io::Error::other(other.to_string()));
                    break;
                }
            }
        }
        if order == Order::Shuffled {
            fastrand::shuffle(&mut items);
        }
        let records: Vec<Record> = items
            .into_iter()
            .map(|item| Record {
                line: item.line,
                raw: item.raw,
                data: item.data,
            })
            .collect();
        self.total = Some(records.len() as u64);
        self.seq = 0;
        self.rules = Default::default();
        self.source = Some(Box::new(HeldSource {
            error,
            records: records.into_iter(),
        }));
        self
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;
    use crate::input::test_support::{FailAfter, reader};
    use crate::item::Format;

    #[test]
    fn read_ahead_keeps_order_and_knows_the_total() {
        let reader = reader(b"a\nb\nc\n", Format::Lines).read_ahead(Order::Input);
        assert_eq!(reader.total(), Some(3));
        let items: Vec<_> = reader.map(Result::unwrap).collect();
        let seqs: Vec<_> = items.iter().map(|i| (i.seq, i.raw.clone())).collect();
        assert_eq!(
            seqs,
            [(1, b"a".to_vec()), (2, b"b".to_vec()), (3, b"c".to_vec())]
        );
    }

    #[test]
    fn shuffle_renumbers_in_the_new_order() {
        let args: Vec<OsString> = (0..200).map(|n| OsString::from(n.to_string())).collect();
        let items: Vec<_> = Reader::from_args(args, None)
            .read_ahead(Order::Shuffled)
            .map(Result::unwrap)
            .collect();
        assert_eq!(items.len(), 200);
        // {#} counts in run order; each item keeps its input position.
        assert!(
            items
                .iter()
                .enumerate()
                .all(|(i, item)| item.seq == i as u64 + 1)
        );
        let mut raws: Vec<u64> = items
            .iter()
            .map(|i| String::from_utf8_lossy(&i.raw).parse().unwrap())
            .collect();
        assert!(
            items
                .iter()
                .all(|i| i.line == String::from_utf8_lossy(&i.raw).parse::<u64>().unwrap() + 1)
        );
        // 200 items in input order by chance: about 1 in 10^375.
        assert!(raws.windows(2).any(|w| w[0] > w[1]));
        raws.sort_unstable();
        assert_eq!(raws, (0..200).collect::<Vec<_>>());
    }

    #[test]
    fn a_failed_read_comes_before_any_item() {
        let read = FailAfter {
            data: io::Cursor::new(b"1\n2\n".to_vec()),
        };
        let mut reader = Reader::new(Box::new(read), "f", Format::Lines, None)
            .unwrap()
            .read_ahead(Order::Input);
        assert!(matches!(reader.next(), Some(Err(InputError::Io { .. }))));
        assert!(reader.next().is_none());
    }
}
