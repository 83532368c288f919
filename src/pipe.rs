//! `--pipe` and `--pipe-part` as one spec: how the input is cut into
//! blocks of whole records, each one job's stdin. The options come from
//! GNU parallel: `--block SIZE` (about SIZE bytes a block), `-N N` (N records
//! a block instead), `-L N` (a record is N lines), `--recend` and
//! `--recstart` (what ends and starts a record), `--header N` (lines
//! repeated at the top of every block) and `--round-robin` (a few
//! long-running jobs that blocks are dealt to). The cutting itself is
//! `input/blocks`; feeding a block to a job's stdin is `job/stdin.rs`.

use anyhow::bail;

/// GNU's default block: 1 MiB.
pub const DEFAULT_BLOCK: u64 = 1 << 20;

/// How the input is cut into blocks and fed to jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipeSpec {
    /// About this many bytes a block (`--block`): a block ends at its last
    /// record end within this size, or, for a longer record, at its end.
    /// For a share of a file (`--block -N`) it is set once the file's size
    /// is known ([`PipeSpec::for_file`]).
    pub block_size: u64,
    /// `--block -N` (GNU's): the file's size over `-j` times N. GNU's
    /// default for `--pipe-part` is `-10`, ten blocks a job slot.
    pub per_slot: Option<u64>,
    /// `-N`: this many records a block, whatever their size.
    pub records: Option<u64>,
    /// `-L`: a record is this many record ends (lines) long.
    pub lines: u64,
    /// Where records end and start.
    pub boundary: Boundary,
    /// `--header N`: the input's first N lines go before every block.
    pub header_lines: usize,
    /// `--pipe-part`: the input must be a regular file, whose blocks are
    /// spliced to the jobs. (`--pipe` does the same on a regular file.)
    pub part: bool,
    /// `--round-robin`: `-j` jobs in all, blocks dealt to the ready one.
    pub round_robin: bool,
}

/// What ends a record and what starts one: a block is cut only between an
/// end and a start (GNU's `--recend` and `--recstart`; with `--recstart`
/// alone, the end is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boundary {
    pub end: Vec<u8>,
    pub start: Vec<u8>,
}

impl Boundary {
    /// The bytes a cut sits in the middle of: the end, then the start.
    pub fn pattern(&self) -> Vec<u8> {
        let mut pattern = self.end.clone();
        pattern.extend_from_slice(&self.start);
        pattern
    }
}

/// The `--pipe` options as given, before they are checked.
#[derive(Debug, Default)]
pub struct PipeOptions<'a> {
    pub pipe: bool,
    pub part: bool,
    pub round_robin: bool,
    pub block: Option<&'a str>,
    /// `-N`, parsed.
    pub records: Option<u64>,
    /// `-L`, parsed.
    pub lines: Option<u64>,
    pub recend: Option<&'a [u8]>,
    pub recstart: Option<&'a [u8]>,
    /// `-0`.
    pub null: bool,
    pub header: Option<&'a str>,
}

impl PipeSpec {
    /// The spec the options ask for, `None` without `--pipe`,
    /// `--pipe-part` or `--round-robin` (which imply `--pipe`, as in GNU).
    pub fn from_options(options: &PipeOptions<'_>) -> anyhow::Result<Option<PipeSpec>> {
        if !(options.pipe || options.part || options.round_robin) {
            for (given, name) in [
                (options.block.is_some(), "--block"),
                (options.recend.is_some(), "--recend"),
                (options.recstart.is_some(), "--recstart"),
            ] {
                if given {
                    bail!("{name} cuts the input into blocks: it needs --pipe or --pipe-part");
                }
            }
            return Ok(None);
        }
        let (block_size, per_slot) = match options.block {
            Some(text) if text.starts_with('-') => {
                let n: u64 = text[1..].parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                    anyhow::anyhow!(
                        "--block `{text}`: a negative size is -N, N blocks for each job slot"
                    )
                })?;
                (DEFAULT_BLOCK, Some(n))
            }
            Some(text) => (block_size(text)?, None),
            // GNU: --pipe-part splits a file into ten blocks a job slot,
            // one with --round-robin.
            None if options.part && options.round_robin => (DEFAULT_BLOCK, Some(1)),
            None if options.part => (DEFAULT_BLOCK, Some(10)),
            None => (DEFAULT_BLOCK, None),
        };
        let records = options.records;
        if records == Some(0) {
            bail!("-N 0: a block holds at least one record");
        }
        // GNU: `-L 0` is `-L 1`.
        let lines = options.lines.unwrap_or(1).max(1);
        let end = match (options.recend, options.null) {
            (Some(_), true) => bail!("-0 and --recend both say what ends a record: give one"),
            (Some(end), false) => end.to_vec(),
            (None, true) => b"\0".to_vec(),
            // GNU: `--recstart` alone leaves the end empty.
            (None, false) if options.recstart.is_some() => Vec::new(),
            (None, false) => b"\n".to_vec(),
        };
        // Both empty (GNU's `--recend ''`): fixed-length records, a block
        // is exactly --block bytes.
        let start = options.recstart.map(<[u8]>::to_vec).unwrap_or_default();
        let header_lines = match options.header {
            None => 0,
            Some(":") => 1,
            Some(text) => text.parse::<usize>().map_err(|_| {
                anyhow::anyhow!(
                    "--header `{text}`: with --pipe, give the number of lines to repeat at the \
                     top of every block (or `:` for one)"
                )
            })?,
        };
        Ok(Some(PipeSpec {
            block_size,
            per_slot,
            records,
            lines,
            boundary: Boundary { end, start },
            header_lines,
            part: options.part,
            round_robin: options.round_robin,
        }))
    }

    /// The spec for a regular file of `size` bytes run by `jobs` slots:
    /// `--block -N` becomes a size (GNU's `1 + size / jobs / N`).
    pub fn for_file(&self, size: u64, jobs: usize) -> PipeSpec {
        let mut spec = self.clone();
        if let Some(n) = self.per_slot {
            spec.block_size = 1 + size / (jobs.max(1) as u64) / n;
        }
        spec
    }

    /// Whether blocks are cut by counting records (`-N`, `-L`), which
    /// reads all of the input, rather than by size, which looks only near
    /// each cut.
    pub fn counts_records(&self) -> bool {
        self.records.is_some() || self.lines > 1
    }
}

/// `--block SIZE`: bytes, with GNU's suffixes: `k` `m` `g` `t` powers of
/// 1000, `K` `M` `G` `T` (and `Ki` `Mi` `Gi` `Ti`, either case) powers of
/// 1024. At least one byte.
pub fn block_size(text: &str) -> anyhow::Result<u64> {
    let bad = || {
        anyhow::anyhow!(
            "--block `{text}`: not a size (a whole number of bytes, optionally with k, M, G or T: 1M, 512k)"
        )
    };
    let (digits, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => text.split_at(at),
        None => (text, ""),
    };
    let factor: u64 = match unit {
        "" => 1,
        "k" => 1_000,
        "m" => 1_000_000,
        "g" => 1_000_000_000,
        "t" => 1_000_000_000_000,
        "K" | "Ki" | "ki" | "KI" | "kI" => 1 << 10,
        "M" | "Mi" | "mi" | "MI" | "mI" => 1 << 20,
        "G" | "Gi" | "gi" | "GI" | "gI" => 1 << 30,
        "T" | "Ti" | "ti" | "TI" | "tI" => 1 << 40,
        _ => return Err(bad()),
    };
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let size = n
        .checked_mul(factor)
        .ok_or_else(|| anyhow::anyhow!("--block `{text}`: too large"))?;
    if size == 0 {
        bail!("--block `{text}`: a block holds at least one byte");
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(options: PipeOptions<'_>) -> PipeSpec {
        PipeSpec::from_options(&PipeOptions {
            pipe: true,
            ..options
        })
        .unwrap()
        .unwrap()
    }

    #[test]
    fn block_sizes_are_gnus() {
        assert_eq!(block_size("1").unwrap(), 1);
        assert_eq!(block_size("10k").unwrap(), 10_000);
        assert_eq!(block_size("10K").unwrap(), 10 * 1024);
        assert_eq!(block_size("2M").unwrap(), 2 << 20);
        assert_eq!(block_size("3m").unwrap(), 3_000_000);
        assert_eq!(block_size("1g").unwrap(), 1_000_000_000);
        assert_eq!(block_size("1Gi").unwrap(), 1 << 30);
        assert_eq!(block_size("1mi").unwrap(), 1 << 20);
        assert_eq!(block_size("1T").unwrap(), 1 << 40);
        for bad in [
            "",
            "0",
            "M",
            "1.5M",
            "-1",
            "1x",
            "1Mx",
            "99999999999999999999T",
        ] {
            assert!(block_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_are_a_mebibyte_of_lines() {
        let spec = spec(PipeOptions::default());
        assert_eq!((spec.block_size, spec.per_slot), (DEFAULT_BLOCK, None));
        assert_eq!(spec.boundary.pattern(), b"\n");
        assert_eq!((spec.records, spec.lines, spec.header_lines), (None, 1, 0));
        assert!(!spec.counts_records());
    }

    #[test]
    fn record_ends_and_starts() {
        let null = spec(PipeOptions {
            null: true,
            ..Default::default()
        });
        assert_eq!(null.boundary.end, b"\0");
        let start = spec(PipeOptions {
            recstart: Some(b">"),
            ..Default::default()
        });
        assert_eq!(
            (
                start.boundary.end.as_slice(),
                start.boundary.start.as_slice()
            ),
            (&b""[..], &b">"[..])
        );
        let both = spec(PipeOptions {
            recstart: Some(b">"),
            recend: Some(b"\n"),
            ..Default::default()
        });
        assert_eq!(both.boundary.pattern(), b"\n>");
        let fixed = spec(PipeOptions {
            recend: Some(b""),
            ..Default::default()
        });
        assert!(fixed.boundary.pattern().is_empty());
    }

    #[test]
    fn counts_and_headers() {
        let s = spec(PipeOptions {
            records: Some(3),
            lines: Some(4),
            header: Some(":"),
            ..Default::default()
        });
        assert_eq!((s.records, s.lines, s.header_lines), (Some(3), 4, 1));
        assert!(s.counts_records());
        assert_eq!(
            spec(PipeOptions {
                header: Some("2"),
                ..Default::default()
            })
            .header_lines,
            2
        );
        assert_eq!(
            spec(PipeOptions {
                lines: Some(0),
                ..Default::default()
            })
            .lines,
            1
        );
        for bad in [
            PipeOptions {
                pipe: true,
                records: Some(0),
                ..Default::default()
            },
            PipeOptions {
                pipe: true,
                header: Some("x"),
                ..Default::default()
            },
            PipeOptions {
                pipe: true,
                null: true,
                recend: Some(b";"),
                ..Default::default()
            },
        ] {
            assert!(PipeSpec::from_options(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn negative_blocks_share_a_file_per_slot() {
        let part = PipeSpec::from_options(&PipeOptions {
            part: true,
            ..Default::default()
        })
        .unwrap()
        .unwrap();
        assert_eq!(part.per_slot, Some(10));
        let round = PipeSpec::from_options(&PipeOptions {
            part: true,
            round_robin: true,
            ..Default::default()
        })
        .unwrap()
        .unwrap();
        assert_eq!(round.per_slot, Some(1));
        assert_eq!(part.for_file(1000, 2).block_size, 51);
        let minus_one = spec(PipeOptions {
            block: Some("-1"),
            ..Default::default()
        });
        assert_eq!(minus_one.for_file(1000, 4).block_size, 251);
        assert_eq!(
            spec(PipeOptions::default()).for_file(1000, 4).block_size,
            DEFAULT_BLOCK
        );
        for bad in ["-0", "-x", "--1"] {
            let options = PipeOptions {
                pipe: true,
                block: Some(bad),
                ..Default::default()
            };
            assert!(PipeSpec::from_options(&options).is_err(), "{bad}");
        }
    }

    #[test]
    fn block_options_need_pipe() {
        let err = PipeSpec::from_options(&PipeOptions {
            block: Some("1M"),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("needs --pipe"), "{err}");
        assert!(
            PipeSpec::from_options(&PipeOptions::default())
                .unwrap()
                .is_none()
        );
        let rr = PipeSpec::from_options(&PipeOptions {
            round_robin: true,
            ..Default::default()
        })
        .unwrap()
        .unwrap();
        assert!(rr.round_robin);
    }
}
