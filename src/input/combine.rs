//! Several input sources (`::: a b ::: c d`, `:::: f g`, `-a f -a g`): their
//! values combined into items, in GNU parallel's order.
//!
//! The first source streams: it is read one record at a time, as a single
//! source would be, so an endless stdin works. Every other source is read
//! whole into memory before the first item is made ([`Held`]); they are
//! usually short lists. Without linking, the items are every combination,
//! the last source varying fastest; sources linked to the one before them
//! (`:::+`, `::::+`) form a group that advances together, position by
//! position, and is as long as its shortest member (GNU: "values do not
//! wrap"). With `--link` every source is linked and the item count is the
//! longest source's, the shorter ones wrapping around; when the first
//! source is the shorter one, only as many of its values are kept as the
//! longest held source needs to wrap it. A source with no values gives no
//! items (GNU runs them with an empty value instead).

use std::io;
use std::sync::Arc;

use super::{Record, RecordSource};
use crate::item::{Combination, ItemData, SourceValue};

/// How the sources' values are matched up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Linking {
    /// Every combination, except that `linked[i]` (for source `i`, the
    /// first one having none) ties a source to the one before it.
    Nested { linked: Vec<bool> },
    /// `--link`: all sources position by position, the shorter wrapping.
    All,
}

/// A source read whole into memory.
#[derive(Debug)]
pub(crate) struct Held {
    pub(crate) records: Vec<Record>,
}

/// The first source streamed and combined with the held ones.
pub(crate) struct CombinedSource {
    first: Box<dyn RecordSource>,
    held: Vec<Held>,
    names: Arc<[String]>,
    state: State,
}

enum State {
    Nested(Nested),
    Linked(Linked),
    Done,
}

/// Every combination: for each value of the first group, every
/// combination of the other groups, the last varying fastest.
struct Nested {
    /// Held sources (by index into `held`) that advance with the first.
    first_group: Vec<usize>,
    /// How many values of the first source the first group can use.
    first_limit: Option<usize>,
    /// The other groups: held sources that advance together.
    groups: Vec<Vec<usize>>,
    /// Each group's length (its shortest member's).
    lengths: Vec<usize>,
    /// The first source's current value and its 0-based index.
    current: Option<(Record, usize)>,
    /// The next combination of the other groups, `None` once they are all used.
    odometer: Option<Vec<usize>>,
}

/// `--link`: the i-th item takes each source's value i, wrapping.
struct Linked {
    /// The longest held source's length.
    longest: usize,
    /// The first source's values, kept (up to `longest`) to wrap them.
    kept: Vec<Record>,
    /// The next item's index.
    index: usize,
    /// The first source has ended.
    first_done: bool,
}

impl CombinedSource {
    /// `first` streams; `held` are the other sources, in order; `names`
    /// every source's name, first included.
    pub(crate) fn new(
        first: Box<dyn RecordSource>,
        held: Vec<Held>,
        names: Arc<[String]>,
        linking: &Linking,
    ) -> CombinedSource {
        let lengths: Vec<usize> = held.iter().map(|h| h.records.len()).collect();
        let state = if lengths.contains(&0) {
            State::Done
        } else {
            match linking {
                Linking::All => State::Linked(Linked {
                    longest: lengths.iter().copied().max().unwrap_or(0),
                    kept: Vec::new(),
                    index: 0,
                    first_done: false,
                }),
                Linking::Nested { linked } => State::Nested(nested(linked, &lengths)),
            }
        };
        CombinedSource {
            first,
            held,
            names,
            state,
        }
    }

    /// The item made of the first source's `first` and held source `j`'s
    /// value `at[j]`.
    fn item(&self, first: &Record, at: &[usize]) -> Record {
        let mut values = Vec::with_capacity(self.held.len() + 1);
        values.push(source_value(first, 0));
        for (j, held) in self.held.iter().enumerate() {
            values.push(source_value(&held.records[at[j]], j + 1));
        }
        let combination = Combination {
            values,
            sources: Arc::clone(&self.names),
        };
        let raw = join_positions(&combination);
        let data = match &first.data {
            ItemData::Bad(reason) => ItemData::Bad(reason.clone()),
            _ => ItemData::Combined(Box::new(combination)),
        };
        Record {
            line: first.line,
            raw,
            data,
        }
    }
}

/// The groups of a nested combination: runs of sources each linked to the
/// one before it.
fn nested(linked: &[bool], lengths: &[usize]) -> Nested {
    let mut first_group = Vec::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for j in 0..lengths.len() {
        // Held source j is source j + 1.
        let tied = linked.get(j + 1).copied().unwrap_or(false);
        match (tied, groups.last_mut()) {
            (true, Some(group)) => group.push(j),
            (true, None) => first_group.push(j),
            (false, _) => groups.push(vec![j]),
        }
    }
    let shortest = |group: &[usize]| group.iter().map(|&j| lengths[j]).min().unwrap_or(0);
    let group_lengths: Vec<usize> = groups.iter().map(|g| shortest(g)).collect();
    Nested {
        first_limit: (!first_group.is_empty()).then(|| shortest(&first_group)),
        first_group,
        groups,
        lengths: group_lengths,
        current: None,
        odometer: None,
    }
}

fn source_value(record: &Record, source: usize) -> SourceValue {
    SourceValue {
        raw: record.raw.clone(),
        columns: match &record.data {
            ItemData::Columns(columns) => Some(columns.clone()),
            _ => None,
        },
        source,
        line: record.line,
    }
}

/// GNU parallel's `{}` of several sources: the positions joined by spaces.
fn join_positions(combination: &Combination) -> Vec<u8> {
    let mut raw = Vec::new();
    for (n, position) in combination.positions().enumerate() {
        if n > 0 {
            raw.push(b' ');
        }
        raw.extend_from_slice(position);
    }
    raw
}

impl RecordSource for CombinedSource {
    /// `name` is the first source's: the combined reader is named after it.
    fn next_record(&mut self, name: &str) -> Option<io::Result<Record>> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Done => None,
            State::Nested(mut nested) => {
                let next = self.next_nested(&mut nested, name);
                if !matches!(next, None | Some(Err(_))) {
                    self.state = State::Nested(nested);
                }
                next
            }
            State::Linked(mut linked) => {
                let next = self.next_linked(&mut linked, name);
                if !matches!(next, None | Some(Err(_))) {
                    self.state = State::Linked(linked);
                }
                next
            }
        }
    }
}

impl CombinedSource {
    fn next_nested(&mut self, nested: &mut Nested, name: &str) -> Option<io::Result<Record>> {
        if nested.odometer.is_none() {
            // The other groups are used up for this value: take the next.
            let index = nested.current.as_ref().map_or(0, |(_, i)| i + 1);
            if nested.first_limit.is_some_and(|limit| index >= limit) {
                return None;
            }
            let record = match self.first.next_record(name)? {
                Ok(record) => record,
                Err(err) => return Some(Err(err)),
            };
            nested.current = Some((record, index));
            nested.odometer = Some(vec![0; nested.groups.len()]);
        }
        let (first, index) = nested.current.as_ref()?;
        let odometer = nested.odometer.as_mut()?;
        let mut at = vec![0; self.held.len()];
        for &j in &nested.first_group {
            at[j] = *index;
        }
        for (group, &step) in nested.groups.iter().zip(odometer.iter()) {
            for &j in group {
                at[j] = step;
            }
        }
        let record = self.item(first, &at);
        // Advance: the last group fastest.
        let mut carry = true;
        for (step, &length) in odometer.iter_mut().zip(&nested.lengths).rev() {
            *step += 1;
            if *step < length {
                carry = false;
                break;
            }
            *step = 0;
        }
        if carry {
            nested.odometer = None;
        }
        Some(Ok(record))
    }

    fn next_linked(&mut self, linked: &mut Linked, name: &str) -> Option<io::Result<Record>> {
        let index = linked.index;
        let first = if linked.first_done {
            None
        } else {
            match self.first.next_record(name) {
                Some(Ok(record)) => Some(record),
                Some(Err(err)) => return Some(Err(err)),
                None => {
                    linked.first_done = true;
                    None
                }
            }
        };
        let first = match first {
            Some(record) => {
                // Kept only while a held source is longer, to wrap it.
                if linked.kept.len() < linked.longest {
                    linked.kept.push(record.clone());
                }
                record
            }
            None if linked.kept.is_empty() || index >= linked.longest => return None,
            None => linked.kept[index % linked.kept.len()].clone(),
        };
        let at: Vec<usize> = self
            .held
            .iter()
            .map(|held| index % held.records.len())
            .collect();
        linked.index += 1;
        Some(Ok(self.item(&first, &at)))
    }
}

/// The held sources' lengths and how they combine: enough to tell how
/// many items a number of first-source values gives.
#[derive(Debug, Clone)]
pub(crate) struct Shape {
    pub(crate) held: Vec<usize>,
    pub(crate) linking: Linking,
}

impl Shape {
    /// How many items `first` values of the first source give.
    pub(crate) fn items(&self, first: u64) -> u64 {
        item_count(first, &self.held, &self.linking)
    }
}

/// How many items the sources give, when the first source has `first`
/// values and the held ones `held` (for a progress total).
pub(crate) fn item_count(first: u64, held: &[usize], linking: &Linking) -> u64 {
    if first == 0 || held.contains(&0) {
        return 0;
    }
    let held: Vec<u64> = held.iter().map(|&n| n as u64).collect();
    match linking {
        Linking::All => held.iter().copied().fold(first, u64::max),
        Linking::Nested { linked } => {
            let lengths: Vec<usize> = held.iter().map(|&n| n as usize).collect();
            let nested = nested(linked, &lengths);
            let first = nested
                .first_limit
                .map_or(first, |limit| first.min(limit as u64));
            nested
                .lengths
                .iter()
                .fold(first, |total, &n| total.saturating_mul(n as u64))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;
    use crate::input::Reader;

    fn args(values: &str) -> Vec<OsString> {
        values.split_whitespace().map(OsString::from).collect()
    }

    /// The items of `sources` (each a space-separated list), as `{}` shows them.
    fn combine(sources: &[&str], linking: Linking) -> Vec<String> {
        let first = Reader::from_args(args(sources[0]), None);
        let held: Vec<Reader> = sources[1..]
            .iter()
            .map(|s| Reader::from_args(args(s), None))
            .collect();
        let reader = Reader::combined(first, held, &linking).unwrap();
        reader
            .map(|item| String::from_utf8(item.unwrap().raw).unwrap())
            .collect()
    }

    fn nested_with(linked: &[bool]) -> Linking {
        Linking::Nested {
            linked: linked.to_vec(),
        }
    }

    fn counted(sources: &[&str], linking: &Linking) -> u64 {
        let held: Vec<usize> = sources[1..].iter().map(|s| args(s).len()).collect();
        item_count(args(sources[0]).len() as u64, &held, linking)
    }

    /// Each row: the sources, whether each is linked to the one before it
    /// (`:::+`), and what GNU parallel 20221122 runs for the same line.
    #[test]
    fn combination_order_matches_gnu() {
        let cases: &[(&[&str], &[bool], &[&str])] = &[
            (
                &["A B", "C D"],
                &[false, false],
                &["A C", "A D", "B C", "B D"],
            ),
            (
                &["a b", "c d", "e f"],
                &[false, false, false],
                &[
                    "a c e", "a c f", "a d e", "a d f", "b c e", "b c f", "b d e", "b d f",
                ],
            ),
            // `::: A B C :::+ D E ::: x y`: a linked pair is as long as its
            // shorter member.
            (
                &["A B C", "D E", "x y"],
                &[false, true, false],
                &["A D x", "A D y", "B E x", "B E y"],
            ),
            // `::: a b c :::+ 1 2 3 ::: X Y :::+ 11 22` (GNU's man page).
            (
                &["a b c", "1 2 3", "X Y", "11 22"],
                &[false, true, false, true],
                &[
                    "a 1 X 11", "a 1 Y 22", "b 2 X 11", "b 2 Y 22", "c 3 X 11", "c 3 Y 22",
                ],
            ),
            // `::: a b ::: c d :::+ 1 2 3`
            (
                &["a b", "c d", "1 2 3"],
                &[false, false, true],
                &["a c 1", "a d 2", "b c 1", "b d 2"],
            ),
            // `::: a b :::+ 1 2 3 :::+ x`
            (&["a b", "1 2 3", "x"], &[false, true, true], &["a 1 x"]),
            // `:::+` on the first source links it to nothing.
            (&["a b", "c"], &[true, false], &["a c", "b c"]),
            // An empty source gives no combinations.
            (&["a b", ""], &[false, false], &[]),
            (&["", "a b"], &[false, false], &[]),
        ];
        for (sources, linked, want) in cases {
            let linking = nested_with(linked);
            let got = combine(sources, linking.clone());
            assert_eq!(got, *want, "{sources:?} linked {linked:?}");
            assert_eq!(
                counted(sources, &linking),
                want.len() as u64,
                "count of {sources:?}"
            );
        }
    }

    /// `--link`, compared with GNU parallel 20221122: the shorter sources
    /// wrap around, whichever source is shorter.
    #[test]
    fn link_wraps_around_like_gnu() {
        let cases: &[(&[&str], &[&str])] = &[
            (&["A B C", "D E"], &["A D", "B E", "C D"]),
            (
                &["1 2", "I II III", "a b c d e f g"],
                &[
                    "1 I a", "2 II b", "1 III c", "2 I d", "1 II e", "2 III f", "1 I g",
                ],
            ),
            // The first source is the shorter one: its values wrap.
            (&["a", "1 2 3"], &["a 1", "a 2", "a 3"]),
            (&["x y", "1 2 3 4 5"], &["x 1", "y 2", "x 3", "y 4", "x 5"]),
            (&["a b", "1 2"], &["a 1", "b 2"]),
            (&["a b", ""], &[]),
            (&["", "a b"], &[]),
        ];
        for (sources, want) in cases {
            assert_eq!(combine(sources, Linking::All), *want, "{sources:?}");
            assert_eq!(counted(sources, &Linking::All), want.len() as u64);
        }
    }

    #[test]
    fn positions_and_places() {
        let first = Reader::from_args(
            args("a,b"),
            Some(crate::input::ColumnSplitter::new(b",").unwrap()),
        );
        let held = vec![Reader::from_args(args("x y"), None)];
        let linking = nested_with(&[false, false]);
        let items: Vec<_> = Reader::combined(first, held, &linking)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].raw, b"a b y");
        assert_eq!(items[1].positions(), [&b"a"[..], b"b", b"y"]);
        assert_eq!(items[1].seq, 2);
        assert_eq!(
            items[1].place(":::"),
            "`:::` item 1, `:::` item 2",
            "each value's source and position"
        );
    }

    /// `-E`, `-r` and `--trim` apply to each source's values before they
    /// are combined (GNU parallel 20221122: `parallel -k -E b -r --trim lr
    /// echo ::: ' a ' '' b c ::: x ' ' b y` runs `a x`), and a first
    /// source read ahead gives the combined reader its total.
    #[test]
    fn rules_apply_to_each_source() {
        use crate::input::trim::Trim;
        use crate::input::{Blanks, Order, RecordRules};
        let rules = RecordRules {
            end_marker: Some(b"b".to_vec()),
            blanks: Blanks::Skip,
            trim: Trim::Both,
        };
        let source = |values: &[&str]| {
            let values = values.iter().map(OsString::from).collect();
            Reader::from_args(values, None).with_rules(rules.clone())
        };
        let first = source(&[" a ", "", "b", "c"]);
        let held = vec![source(&["x", " ", "b", "y"])];
        let reader = Reader::combined(first, held, &nested_with(&[false, false])).unwrap();
        assert_eq!(
            reader.total(),
            None,
            "a streamed first source is not counted"
        );
        let items: Vec<_> = reader.map(|item| item.unwrap().raw).collect();
        assert_eq!(items, [b"a x".to_vec()]);
        let first = source(&["p", "q", "", "b", "r"]).read_ahead(Order::Input);
        let held = vec![source(&["1", "2", "3"])];
        let reader = Reader::combined(first, held, &nested_with(&[false, false])).unwrap();
        assert_eq!(reader.total(), Some(6));
        assert_eq!(reader.count(), 6);
    }

    /// The first source streams: an endless one still yields items, and
    /// with `--link` only as many of its values are kept as wrapping needs.
    #[test]
    fn first_source_streams() {
        struct Endless(u64);
        impl RecordSource for Endless {
            fn next_record(&mut self, _name: &str) -> Option<io::Result<Record>> {
                self.0 += 1;
                Some(Ok(Record {
                    line: self.0,
                    raw: self.0.to_string().into_bytes(),
                    data: ItemData::Plain,
                }))
            }
        }
        let held = || {
            vec![Held {
                records: ["x", "y"]
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Record {
                        line: i as u64 + 1,
                        raw: v.as_bytes().to_vec(),
                        data: ItemData::Plain,
                    })
                    .collect(),
            }]
        };
        let names: Arc<[String]> = vec!["<stdin>".to_owned(), ":::".to_owned()].into();
        let mut source = CombinedSource::new(
            Box::new(Endless(0)),
            held(),
            Arc::clone(&names),
            &nested_with(&[false, false]),
        );
        let got: Vec<_> = (0..5)
            .map(|_| source.next_record("<stdin>").unwrap().unwrap().raw)
            .collect();
        assert_eq!(got, [&b"1 x"[..], b"1 y", b"2 x", b"2 y", b"3 x"]);
        let mut source = CombinedSource::new(Box::new(Endless(0)), held(), names, &Linking::All);
        for _ in 0..100 {
            source.next_record("<stdin>").unwrap().unwrap();
        }
        let State::Linked(linked) = &source.state else {
            panic!("linked");
        };
        assert_eq!(
            linked.kept.len(),
            2,
            "kept no more than the held source's length"
        );
    }
}
