//! Grouping items into jobs of several (`-n`, `-N`, `-X`, `-m`, `-s`, `-L`,
//! `--xargs`): the dispatcher (and `--dry-run`) push items in input order,
//! and a batch goes out as soon as it is full: it holds the most items
//! asked for, or one more would pass the command-length limit. When the
//! input ends, the last batch goes out; with `-X` and `-m` it is first
//! spread evenly over the job slots, as GNU parallel does, so that a short
//! input still uses every slot.
//!
//! An item that cannot join a batch runs alone: a bad record, one whose
//! value cannot render (a missing field, a NUL byte), and one too long
//! for any batch (its job then fails to start, as xargs' would).

use crate::batch::{BatchSpec, Cost, Limits, MAX_ARG_STRLEN, POINTER};
use crate::item::{Item, ItemData};
use crate::template::Template;

/// A job's items and its number (`{#}`), in input order.
#[derive(Debug)]
pub struct Batch {
    pub seq: u64,
    pub items: Vec<Item>,
}

/// Collects items into batches.
pub struct Batcher<'t> {
    template: &'t Template,
    spec: BatchSpec,
    limits: Limits,
    /// What the command takes before any item.
    base: Cost,
    jobs: usize,
    pending: Vec<Item>,
    /// What the pending items add, with the job's environment.
    used: Cost,
    environment: usize,
    scratch: Vec<u8>,
    /// The number of the next batch.
    next_seq: u64,
}

impl<'t> Batcher<'t> {
    pub fn new(template: &'t Template, spec: BatchSpec, jobs: usize) -> Batcher<'t> {
        Batcher {
            template,
            spec,
            limits: template.batch_limits(spec.max_chars),
            base: template.base_cost(),
            jobs,
            pending: Vec::new(),
            used: Cost::default(),
            environment: 0,
            scratch: Vec::new(),
            next_seq: 1,
        }
    }

    /// Adds an item; every batch it completes goes to `emit` (which says
    /// whether to go on). Returns `false` once `emit` did.
    pub fn push(&mut self, item: Item, emit: &mut impl FnMut(Batch) -> bool) -> bool {
        let cost = match &item.data {
            ItemData::Bad(_) => None,
            _ => self.template.item_cost(&item, &mut self.scratch).ok(),
        };
        let Some(cost) = cost else {
            return self.flush(emit) && self.emit(vec![item], emit);
        };
        // The first item of a job is also in its environment (`FANOUT_ITEM`).
        let environment = |item: &Item| {
            if item.raw.len() + 12 < MAX_ARG_STRLEN {
                item.raw.len() + 13 + POINTER
            } else {
                0
            }
        };
        // `exec` also refuses any one argument of 128 KiB or more: such an
        // item fails alone, not with the batch it would join.
        if !self.fits(self.base + cost, environment(&item)) || cost.chars >= MAX_ARG_STRLEN {
            return self.flush(emit) && self.emit(vec![item], emit);
        }
        let full = self
            .spec
            .max_items
            .is_some_and(|max| self.pending.len() >= max);
        if !self.pending.is_empty()
            && (full || !self.fits(self.used + cost, self.environment))
            && !self.flush(emit)
        {
            return false;
        }
        if self.pending.is_empty() {
            self.used = self.base;
            self.environment = environment(&item);
        }
        self.used = self.used + cost;
        self.pending.push(item);
        if self
            .spec
            .max_items
            .is_some_and(|max| self.pending.len() >= max)
        {
            return self.flush(emit);
        }
        true
    }

    fn fits(&self, cost: Cost, environment: usize) -> bool {
        cost.chars <= self.limits.chars && cost.bytes() + environment <= self.limits.bytes
    }

    /// The input ended: the last batch goes out, spread over the job
    /// slots with `-X` and `-m`.
    pub fn finish(&mut self, emit: &mut impl FnMut(Batch) -> bool) -> bool {
        let n = self.pending.len();
        if self.spec.spread && self.jobs > 1 && n > 1 {
            let size = n.div_ceil(self.jobs);
            let mut items = std::mem::take(&mut self.pending).into_iter();
            loop {
                let chunk: Vec<Item> = items.by_ref().take(size).collect();
                if chunk.is_empty() {
                    return true;
                }
                if !self.emit(chunk, emit) {
                    return false;
                }
            }
        }
        self.flush(emit)
    }

    /// Sends the pending items as one batch (the run is stopping, or the
    /// batch is full).
    pub fn flush(&mut self, emit: &mut impl FnMut(Batch) -> bool) -> bool {
        if self.pending.is_empty() {
            return true;
        }
        let items = std::mem::take(&mut self.pending);
        self.used = Cost::default();
        self.emit(items, emit)
    }

    fn emit(&mut self, items: Vec<Item>, emit: &mut impl FnMut(Batch) -> bool) -> bool {
        let seq = self.next_seq;
        self.next_seq += 1;
        emit(Batch { seq, items })
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;
    use crate::batch::{BatchOptions, BatchStyle};
    use crate::item::Format;
    use crate::template::{Schema, ShellMode};

    fn template(words: &[&str], style: BatchStyle) -> Template {
        let spec = BatchSpec {
            style,
            max_items: None,
            max_chars: None,
            spread: false,
            insert_none: false,
        };
        let words: Vec<OsString> = words.iter().map(OsString::from).collect();
        let schema = Schema {
            format: Format::Lines,
            headers: None,
            colsep: false,
            batch: true,
            sources: 1,
        };
        Template::parse(&words, ShellMode::Auto, &schema)
            .unwrap()
            .for_batches(&spec)
            .unwrap()
    }

    fn batches(
        template: &Template,
        spec: BatchSpec,
        jobs: usize,
        items: &[&str],
    ) -> Vec<Vec<String>> {
        let mut batcher = Batcher::new(template, spec, jobs);
        let mut out = Vec::new();
        let mut seqs = Vec::new();
        let mut emit = |batch: Batch| {
            seqs.push(batch.seq);
            out.push(
                batch
                    .items
                    .iter()
                    .map(|i| String::from_utf8_lossy(&i.raw).into_owned())
                    .collect::<Vec<_>>(),
            );
            true
        };
        for (n, text) in items.iter().enumerate() {
            assert!(batcher.push(Item::plain(n as u64 + 1, *text), &mut emit));
        }
        assert!(batcher.finish(&mut emit));
        assert_eq!(
            seqs,
            (1..=seqs.len() as u64).collect::<Vec<_>>(),
            "job numbers"
        );
        out
    }

    fn spec(options: BatchOptions) -> BatchSpec {
        BatchSpec::from_options(&options).unwrap()
    }

    #[test]
    fn a_count_fills_each_batch_and_the_last_takes_the_rest() {
        let t = template(&["echo"], BatchStyle::Joined);
        let n3 = spec(BatchOptions {
            max_args: Some(3),
            ..BatchOptions::default()
        });
        let got = batches(&t, n3, 4, &["a", "b", "c", "d", "e", "f", "g"]);
        assert_eq!(got, [vec!["a", "b", "c"], vec!["d", "e", "f"], vec!["g"]]);
    }

    #[test]
    fn the_command_length_limit_is_never_passed() {
        let t = template(&["echo", "x{}y"], BatchStyle::Context);
        let limit = 200;
        let s = spec(BatchOptions {
            max_chars: Some(limit),
            ..BatchOptions::default()
        });
        let items: Vec<String> = (0..200).map(|n| format!("item-{n}")).collect();
        let refs: Vec<&str> = items.iter().map(String::as_str).collect();
        let got = batches(&t, s, 1, &refs);
        assert!(got.len() > 5, "{} batches", got.len());
        assert_eq!(got.concat(), items, "every item once, in order");
        for (n, batch) in got.iter().enumerate() {
            let owned: Vec<Item> = batch.iter().map(|t| Item::plain(1, t.as_str())).collect();
            let refs: Vec<&Item> = owned.iter().collect();
            let spec = t.render_batch(&refs, 1, 1).unwrap();
            let chars: usize = std::iter::once(&spec.program)
                .chain(&spec.args)
                .map(|a| a.len() + 1)
                .sum();
            assert!(chars <= limit, "{chars} chars > {limit}: {batch:?}");
            if n + 1 < got.len() {
                let next = got[n + 1][0].len() + 3;
                assert!(
                    chars + next > limit,
                    "the next item would have fit: {chars}"
                );
            }
        }
    }

    #[test]
    fn spreading_divides_the_last_batch_over_the_slots() {
        let t = template(&["echo"], BatchStyle::Context);
        let x = spec(BatchOptions {
            context: true,
            ..BatchOptions::default()
        });
        let got = batches(&t, x, 2, &["a", "b", "c"]);
        assert_eq!(got, [vec!["a", "b"], vec!["c"]], "GNU: -X -j2 ::: a b c");
        let xargs = spec(BatchOptions {
            xargs: true,
            ..BatchOptions::default()
        });
        assert_eq!(
            batches(&t, xargs, 2, &["a", "b", "c"]),
            [vec!["a", "b", "c"]]
        );
    }

    #[test]
    fn bad_items_and_items_too_long_run_alone() {
        let t = template(&["echo"], BatchStyle::Joined);
        let s = spec(BatchOptions {
            max_args: Some(10),
            max_chars: Some(100),
            ..BatchOptions::default()
        });
        let long = "x".repeat(200);
        let got = batches(&t, s, 1, &["a", &long, "b"]);
        assert_eq!(
            got,
            [vec!["a".to_owned()], vec![long], vec!["b".to_owned()]]
        );
        let mut batcher = Batcher::new(&t, s, 1);
        let mut sizes = Vec::new();
        let mut emit = |b: Batch| {
            sizes.push(b.items.len());
            true
        };
        batcher.push(Item::plain(1, "a"), &mut emit);
        let mut bad = Item::plain(2, "b");
        bad.data = ItemData::Bad("no".into());
        batcher.push(bad, &mut emit);
        batcher.push(Item::plain(3, "c"), &mut emit);
        batcher.finish(&mut emit);
        assert_eq!(sizes, [1, 1, 1]);
    }
}
