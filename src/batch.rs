//! Several items per job (`-n`, `-N`, `-X`, `-m`, `-s`, `-L`, `--xargs`):
//! what the options ask for, as one [`BatchSpec`], and the command-length
//! limit a batch must fit. The grouping itself is `dispatch::batcher`; the
//! rendering of a batch's command is `template::batch`. Each item of a
//! batch keeps its own journal line, report row and outcome.

/// How a word that holds `{}` (or another per-item placeholder) is
/// rendered for a batch of items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BatchStyle {
    /// `-X`, `-N`, `-L`, `-s` (GNU's context replace): the word is repeated
    /// once per item, so `x{}y` gives `xay xby`.
    Context,
    /// `-m`, `-n`, `--xargs`: the placeholder stands for all the items, one
    /// argument each, so `x{}y` gives `xa by` (GNU's rule).
    Joined,
}

/// What the batching options ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchSpec {
    pub style: BatchStyle,
    /// At most this many items per job (`-n`, `-N`, `-L`); `None`: as many
    /// as fit the command-length limit.
    pub max_items: Option<usize>,
    /// `-s`: at most this many bytes of command line (arguments with their
    /// terminating NULs); `None`: the system's limit.
    pub max_chars: Option<usize>,
    /// `-X`, `-m`: when the input ends, the last batch is spread evenly
    /// over the job slots, as GNU parallel does, so a short input still
    /// uses every slot.
    pub spread: bool,
    /// `-n 0`, `-N 0`, `-L 0`: one item per job, and no argument inserted.
    pub insert_none: bool,
}

impl BatchSpec {
    /// The spec the options give, or `None` for one item per job.
    pub(crate) fn from_options(options: &BatchOptions) -> Option<BatchSpec> {
        let max_items = options.exact.or(options.lines).or(options.max_args);
        let insert_none = max_items == Some(0);
        let many = options.context || options.multiple || options.xargs;
        if !many && options.max_chars.is_none() && max_items.is_none_or(|n| n == 1) {
            // `-n 1` is the usual one item per job.
            return None;
        }
        // GNU: -N, -L, -s and -X replace in context unless -m or --xargs.
        let joined = options.multiple
            || options.xargs
            || (options.max_args.is_some()
                && options.exact.is_none()
                && options.lines.is_none()
                && !options.context
                && options.max_chars.is_none());
        Some(BatchSpec {
            style: if joined {
                BatchStyle::Joined
            } else {
                BatchStyle::Context
            },
            max_items: if insert_none { Some(1) } else { max_items },
            max_chars: options.max_chars,
            spread: (options.context || options.multiple) && !options.xargs,
            insert_none,
        })
    }

    /// Whether a job can hold more than one item.
    #[cfg(test)]
    pub(crate) fn groups(&self) -> bool {
        self.max_items != Some(1)
    }
}

/// The batching options as given.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BatchOptions {
    /// `-n N`
    pub max_args: Option<usize>,
    /// `-N N`
    pub exact: Option<usize>,
    /// `-L N`
    pub lines: Option<usize>,
    /// `-X`
    pub context: bool,
    /// `-m`
    pub multiple: bool,
    /// `--xargs`
    pub xargs: bool,
    /// `-s N`
    pub max_chars: Option<usize>,
}

/// Linux's limit on one argument (or one environment string), NUL
/// included: a shell-mode batch is one `sh -c` argument, so its whole
/// line must fit.
pub(crate) const MAX_ARG_STRLEN: usize = 128 * 1024;

/// Room kept free under the system's limit (the dynamic loader's auxiliary
/// vector, the program path, fanout's own `FANOUT_*` variables).
const HEADROOM: usize = 4096;

/// The bytes a command line may take: `exec`'s argument limit
/// (`sysconf(_SC_ARG_MAX)`) less the environment a job inherits and some
/// headroom, as xargs computes it; each argument and environment string
/// costs its bytes, its NUL and its pointer.
pub(crate) fn system_limit() -> usize {
    // SAFETY: sysconf only reads a system constant.
    let arg_max = unsafe { libc::sysconf(libc::_SC_ARG_MAX) };
    let arg_max = usize::try_from(arg_max).unwrap_or(MAX_ARG_STRLEN);
    let environment: usize = std::env::vars_os()
        .map(|(k, v)| k.len() + v.len() + 2 + POINTER)
        .sum();
    arg_max.saturating_sub(environment + HEADROOM).max(4096)
}

/// What one more argument costs in `exec`'s limit beyond its characters:
/// its pointer.
pub(crate) const POINTER: usize = std::mem::size_of::<usize>();

/// What part of a command line takes: characters (each argument's bytes
/// and its NUL, as `-s` counts them, with xargs and GNU) and arguments
/// (each also costs a pointer in `exec`'s limit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Cost {
    pub chars: usize,
    pub args: usize,
}

impl Cost {
    /// What `exec`'s limit counts: characters and pointers.
    pub(crate) fn bytes(self) -> usize {
        self.chars + self.args * POINTER
    }
}

impl std::ops::Add for Cost {
    type Output = Cost;
    fn add(self, other: Cost) -> Cost {
        Cost {
            chars: self.chars + other.chars,
            args: self.args + other.args,
        }
    }
}

/// How long a batch's command may be.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Characters (`-s`, and in shell mode what one `sh -c` argument holds).
    pub chars: usize,
    /// `exec`'s limit less the environment: characters, pointers and the
    /// job's own `FANOUT_*` variables.
    pub bytes: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(options: BatchOptions) -> Option<BatchSpec> {
        BatchSpec::from_options(&options)
    }

    #[test]
    fn gnu_picks_the_style_by_option() {
        let n = |n| BatchOptions {
            max_args: Some(n),
            ..BatchOptions::default()
        };
        assert_eq!(spec(n(2)).map(|s| s.style), Some(BatchStyle::Joined));
        assert_eq!(spec(n(1)), None, "-n 1 is one item per job");
        assert_eq!(spec(BatchOptions::default()), None);
        let x = spec(BatchOptions {
            context: true,
            ..BatchOptions::default()
        })
        .unwrap();
        assert_eq!(
            (x.style, x.max_items, x.spread),
            (BatchStyle::Context, None, true)
        );
        let big_n = spec(BatchOptions {
            exact: Some(3),
            ..BatchOptions::default()
        })
        .unwrap();
        assert_eq!(
            (big_n.style, big_n.max_items, big_n.spread),
            (BatchStyle::Context, Some(3), false)
        );
        let xargs = spec(BatchOptions {
            xargs: true,
            ..BatchOptions::default()
        })
        .unwrap();
        assert_eq!((xargs.style, xargs.spread), (BatchStyle::Joined, false));
        let m_with_n = spec(BatchOptions {
            multiple: true,
            max_args: Some(5),
            ..BatchOptions::default()
        })
        .unwrap();
        assert_eq!(
            (m_with_n.style, m_with_n.max_items),
            (BatchStyle::Joined, Some(5))
        );
        let s = spec(BatchOptions {
            max_chars: Some(100),
            ..BatchOptions::default()
        })
        .unwrap();
        assert_eq!(s.style, BatchStyle::Context, "-s implies -X");
        let zero = spec(BatchOptions {
            exact: Some(0),
            ..BatchOptions::default()
        })
        .unwrap();
        assert!(zero.insert_none && !zero.groups());
    }

    #[test]
    fn the_system_limit_leaves_room_for_the_environment() {
        let limit = system_limit();
        assert!(limit >= 4096);
        // SAFETY: as above.
        let arg_max = unsafe { libc::sysconf(libc::_SC_ARG_MAX) } as usize;
        assert!(limit < arg_max);
    }
}
