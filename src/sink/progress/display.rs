//! Progress display, driven only by the collector. [`Progress::Bars`] is an
//! indicatif overall bar (done/total, rate, ETA, failures) plus one line per
//! worker slot with its item and elapsed time; [`Progress::Plain`] prints a
//! status line every few seconds for logs and CI; [`Progress::Off`] does
//! nothing. Anything else written to the terminal goes through
//! [`Progress::suspend`] so it lands above the bars, never through them.

use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::duration::format_duration;

/// Most per-worker lines drawn under the overall bar.
pub const MAX_SLOT_LINES: usize = 16;

/// How often the plain status line is printed.
pub const PLAIN_INTERVAL: Duration = Duration::from_secs(10);

/// What the display counts: items, or the bytes of `--pipe` blocks (with
/// a throughput, and an ETA when the input's size is known).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Units {
    #[default]
    Items,
    Bytes,
}

/// What the status line reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    /// What `done` and `total` count.
    pub units: Units,
    /// Items (or bytes) finished.
    pub done: u64,
    /// Total items, when known.
    pub total: Option<u64>,
    /// Failures so far.
    pub failed: u64,
    /// Time since the run started.
    pub elapsed: Duration,
    /// The longest-running job: its label and how long it has run.
    pub longest: Option<(String, Duration)>,
}

/// The bars as the signal thread sees them: on Ctrl-Z it erases them
/// before fanout stops, so the shell's prompt and what the user types while
/// fanout is stopped are not taken for bar lines and overwritten after `fg`;
/// the collector's next tick draws them afresh below.
#[derive(Debug, Default)]
pub struct Screen(std::sync::OnceLock<MultiProgress>);

impl Screen {
    /// The bars of this run, once drawn.
    pub fn set(&self, bars: MultiProgress) {
        let _ = self.0.set(bars);
    }

    /// Erases the bars (they are drawn again on the next tick).
    pub fn hide(&self) {
        if let Some(bars) = self.0.get() {
            let _ = bars.clear();
        }
    }
}

/// The plain status line (no terminal control), for logs and CI.
pub fn status_line(status: &Status) -> String {
    let secs = status.elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        status.done as f64 / secs
    } else {
        0.0
    };
    let mut line = match (status.units, status.total) {
        (Units::Items, Some(total)) => format!("fanout: {}/{} done", status.done, total),
        (Units::Items, None) => format!("fanout: {} done", status.done),
        (Units::Bytes, Some(total)) => format!(
            "fanout: {}/{} done",
            indicatif::BinaryBytes(status.done),
            indicatif::BinaryBytes(total)
        ),
        (Units::Bytes, None) => format!("fanout: {} done", indicatif::BinaryBytes(status.done)),
    };
    match status.units {
        Units::Items => line.push_str(&format!(", {rate:.1}/s, {} failed", status.failed)),
        Units::Bytes => line.push_str(&format!(
            ", {}/s, {} failed",
            indicatif::BinaryBytes(rate as u64),
            status.failed
        )),
    }
    if let Some((label, running)) = &status.longest {
        line.push_str(&format!(
            ", longest: `{label}` {}",
            format_duration(*running)
        ));
    }
    line
}

/// The progress display of one run.
pub enum Progress {
    /// Nothing shown.
    Off,
    /// Periodic plain lines on stderr.
    Plain {
        /// When the last line was printed.
        last: Instant,
        /// How often a line is printed.
        every: Duration,
        /// The stopping message last printed.
        stopping: Option<String>,
    },
    /// indicatif bars on stderr.
    Bars(Box<Bars>),
}

/// The indicatif state.
pub struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    slots: Vec<ProgressBar>,
    /// Which slots run a job (their elapsed time ticks).
    busy: Vec<bool>,
    running_style: ProgressStyle,
    idle_style: ProgressStyle,
    units: Units,
    failed: u64,
    /// What the run waits for while it stops.
    stopping: Option<String>,
}

fn style(template: &str) -> ProgressStyle {
    // The templates are constants, checked by the unit test below.
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.1}/s", state.per_sec());
            },
        )
}

fn colored() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

const BAR_TEMPLATE: &str =
    "{spinner} [{elapsed_precise}] {wide_bar:.cyan/blue} {pos}/{len} {rate} ETA {eta} {msg}";
const BAR_TEMPLATE_PLAIN: &str =
    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {rate} ETA {eta} {msg}";
const SPINNER_TEMPLATE: &str = "{spinner} [{elapsed_precise}] {pos} done {rate} {wide_msg}";
const BYTES_TEMPLATE: &str = "{spinner} [{elapsed_precise}] {wide_bar:.cyan/blue} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}";
const BYTES_TEMPLATE_PLAIN: &str = "{spinner} [{elapsed_precise}] {wide_bar} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}";
const BYTES_SPINNER_TEMPLATE: &str =
    "{spinner} [{elapsed_precise}] {binary_bytes} done {binary_bytes_per_sec} {wide_msg}";
const SLOT_TEMPLATE: &str = "  {prefix:>3} {elapsed:>4} {wide_msg}";
const IDLE_TEMPLATE: &str = "  {prefix:>3}    - idle";

impl Progress {
    /// Bars for `slots` workers counting `units`, with the total if
    /// already known.
    pub fn bars(slots: usize, total: Option<u64>, units: Units) -> Progress {
        // indicatif's own stderr target, but through `StderrTerm`.
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::term_like_with_hz(
            Box::new(StderrTerm::default()),
            20,
        ));
        let overall = multi.add(ProgressBar::no_length());
        let mut bars = Bars {
            multi,
            overall,
            slots: Vec::new(),
            busy: Vec::new(),
            running_style: style(SLOT_TEMPLATE),
            idle_style: style(IDLE_TEMPLATE),
            units,
            failed: 0,
            stopping: None,
        };
        bars.set_total(total);
        // One line per worker, up to a screenful: with -j100 the lines of the
        // first MAX_SLOT_LINES workers show, the overall bar counts the rest.
        for slot in 1..=slots.min(MAX_SLOT_LINES) {
            let bar = bars.multi.add(ProgressBar::new_spinner());
            bar.set_style(bars.idle_style.clone());
            bar.set_prefix(slot.to_string());
            bars.slots.push(bar);
            bars.busy.push(false);
        }
        bars.overall.enable_steady_tick(Duration::from_millis(100));
        Progress::Bars(Box::new(bars))
    }

    /// The plain status-line display, every [`PLAIN_INTERVAL`] (or every
    /// `FANOUT_STATUS_INTERVAL_MS` milliseconds: a testing aid).
    pub fn plain() -> Progress {
        let every = std::env::var("FANOUT_STATUS_INTERVAL_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map_or(PLAIN_INTERVAL, Duration::from_millis);
        Progress::Plain {
            last: Instant::now(),
            every,
            stopping: None,
        }
    }

    /// The total became known.
    pub fn set_total(&mut self, total: u64) {
        if let Progress::Bars(bars) = self {
            bars.set_total(Some(total));
        }
    }

    /// A job started on `slot`.
    pub fn started(&mut self, slot: usize, label: &str) {
        if let Progress::Bars(bars) = self {
            bars.set_busy(slot, true);
            if let Some(bar) = slot.checked_sub(1).and_then(|i| bars.slots.get(i)) {
                bar.set_style(bars.running_style.clone());
                bar.set_message(label.to_owned());
                bar.reset_elapsed();
            }
        }
    }

    /// An attempt ended and the item waits for a retry: the slot is free.
    pub fn retrying(&mut self, slot: usize) {
        if let Progress::Bars(bars) = self {
            bars.set_busy(slot, false);
        }
        if let Progress::Bars(bars) = self
            && let Some(bar) = slot.checked_sub(1).and_then(|i| bars.slots.get(i))
        {
            bar.set_style(bars.idle_style.clone());
            bar.set_message("");
        }
    }

    /// An item reached its outcome (slot 0: it never ran); `amount`: what
    /// it counts for (1, or a block's bytes).
    pub fn finished(&mut self, slot: usize, failed: bool, amount: u64) {
        if let Progress::Bars(bars) = self {
            bars.set_busy(slot, false);
            if let Some(bar) = slot.checked_sub(1).and_then(|i| bars.slots.get(i)) {
                bar.set_style(bars.idle_style.clone());
                bar.set_message("");
            }
            if failed {
                bars.failed += 1;
                bars.show_message();
            }
            bars.overall.inc(amount);
        }
    }

    /// Prints a line above the bars (or nothing when progress is off).
    pub fn println(&self, line: &str) {
        if let Progress::Bars(bars) = self {
            bars.multi.suspend(|| crate::errln!("{line}"));
        }
    }

    /// The bars' handle, for writers that must move them out of the way.
    pub fn bars_handle(&self) -> Option<MultiProgress> {
        match self {
            Progress::Bars(bars) => Some(bars.multi.clone()),
            _ => None,
        }
    }

    /// Whether bars are on screen (so terminal writes must be suspended).
    pub fn is_bars(&self) -> bool {
        matches!(self, Progress::Bars(_))
    }

    /// Refreshes what changes with time: the bars' elapsed times and the
    /// stopping message (`stopping`: what a stopping run waits for), or in
    /// plain mode the status line when it is due and the stopping message
    /// when it changes.
    pub fn tick(&mut self, status: impl FnOnce() -> Status, stopping: Option<String>) {
        match self {
            Progress::Off => {}
            Progress::Plain {
                last,
                every,
                stopping: shown,
            } => {
                if stopping.is_some() && stopping != *shown {
                    if let Some(message) = &stopping {
                        crate::errln!("fanout: {message}");
                    }
                    *shown = stopping;
                }
                if last.elapsed() >= *every {
                    *last = Instant::now();
                    crate::errln!("{}", status_line(&status()));
                }
            }
            Progress::Bars(bars) => {
                if stopping != bars.stopping {
                    bars.stopping = stopping;
                    bars.show_message();
                }
                for (bar, busy) in bars.slots.iter().zip(&bars.busy) {
                    if *busy {
                        bar.tick();
                    }
                }
            }
        }
    }

    /// Removes the bars before the summary is printed.
    pub fn finish(&mut self) {
        if let Progress::Bars(bars) = self {
            for bar in &bars.slots {
                bar.finish_and_clear();
            }
            bars.overall.finish_and_clear();
            let _ = bars.multi.clear();
        }
    }
}

/// Columns the bars leave free at the right edge. indicatif pads every line
/// to the full width and relies on the terminal wrapping it, which parks the
/// cursor at the edge: the terminal's echo of `^C` or `^Z` then wraps onto a
/// line indicatif does not know about, and its next redraw (or the final
/// clear) misses a line and leaves a stale copy of the bars on screen.
const RIGHT_MARGIN: u16 = 3;

/// fanout's stderr as indicatif's terminal: [`RIGHT_MARGIN`] columns
/// narrower than it is, each line ended explicitly (erase to its end, then
/// a new line) instead of by wrapping, each frame written in one go.
#[derive(Debug, Default)]
struct StderrTerm {
    state: std::sync::Mutex<TermState>,
}

#[derive(Debug, Default)]
struct TermState {
    /// The frame being built.
    frame: Vec<u8>,
    /// Inside a line: its text was written, its padding comes next.
    in_line: bool,
    /// A line was finished: a line break is due before the next one.
    line_done: bool,
}

impl StderrTerm {
    fn size() -> (u16, u16) {
        rustix::termios::tcgetwinsize(std::io::stderr())
            .ok()
            .filter(|w| w.ws_col > 0 && w.ws_row > 0)
            .map_or((80, 24), |w| (w.ws_col, w.ws_row))
    }

    fn with<R>(&self, f: impl FnOnce(&mut TermState) -> R) -> R {
        f(&mut self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Cursor movement and clearing: not part of a line.
    fn control(&self, bytes: &[u8]) -> std::io::Result<()> {
        self.with(|st| {
            st.in_line = false;
            st.line_done = false;
            st.frame.extend_from_slice(bytes);
        });
        Ok(())
    }

    fn cursor(&self, n: usize, code: char) -> std::io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.control(format!("\x1b[{n}{code}").as_bytes())
    }
}

impl indicatif::TermLike for StderrTerm {
    fn width(&self) -> u16 {
        Self::size().0.saturating_sub(RIGHT_MARGIN).max(10)
    }

    fn height(&self) -> u16 {
        Self::size().1
    }

    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.cursor(n, 'A')
    }

    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.cursor(n, 'B')
    }

    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.cursor(n, 'C')
    }

    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.cursor(n, 'D')
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.control(s.as_bytes())?;
        self.control(b"\r\n")
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        // indicatif draws a frame as, per line, its text then the spaces
        // that pad it to the width: end the line there instead.
        self.with(|st| {
            if st.in_line {
                st.frame.extend_from_slice(b"\x1b[K");
                st.in_line = false;
                st.line_done = true;
            } else {
                if st.line_done {
                    st.frame.extend_from_slice(b"\r\n");
                    st.line_done = false;
                }
                st.frame.extend_from_slice(s.as_bytes());
                st.in_line = true;
            }
        });
        Ok(())
    }

    fn clear_line(&self) -> std::io::Result<()> {
        self.control(b"\r\x1b[2K")
    }

    fn flush(&self) -> std::io::Result<()> {
        use std::io::Write;
        let frame = self.with(|st| {
            st.in_line = false;
            st.line_done = false;
            std::mem::take(&mut st.frame)
        });
        let mut err = std::io::stderr().lock();
        err.write_all(&frame)?;
        err.flush()
    }
}

impl Bars {
    fn set_busy(&mut self, slot: usize, busy: bool) {
        if let Some(flag) = slot.checked_sub(1).and_then(|i| self.busy.get_mut(i)) {
            *flag = busy;
        }
    }

    /// The overall bar's message: failures so far, and while the run stops,
    /// what it waits for.
    fn show_message(&self) {
        let mut message = String::new();
        if self.failed > 0 {
            message = format!("{} failed", self.failed);
        }
        if let Some(stopping) = &self.stopping {
            if !message.is_empty() {
                message.push_str(", ");
            }
            message.push_str(stopping);
        }
        self.overall.set_message(message);
    }

    fn set_total(&mut self, total: Option<u64>) {
        let (bar, plain, spinner) = match self.units {
            Units::Items => (BAR_TEMPLATE, BAR_TEMPLATE_PLAIN, SPINNER_TEMPLATE),
            Units::Bytes => (BYTES_TEMPLATE, BYTES_TEMPLATE_PLAIN, BYTES_SPINNER_TEMPLATE),
        };
        match total {
            Some(total) => {
                self.overall.set_length(total);
                self.overall
                    .set_style(style(if colored() { bar } else { plain }).progress_chars("=> "));
            }
            None => self.overall.set_style(style(spinner)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse() {
        for t in [
            BYTES_TEMPLATE,
            BYTES_TEMPLATE_PLAIN,
            BYTES_SPINNER_TEMPLATE,
            BAR_TEMPLATE,
            BAR_TEMPLATE_PLAIN,
            SPINNER_TEMPLATE,
            SLOT_TEMPLATE,
            IDLE_TEMPLATE,
        ] {
            assert!(ProgressStyle::with_template(t).is_ok(), "{t}");
        }
    }

    #[test]
    fn bar_lines_end_explicitly() {
        use indicatif::TermLike;
        let term = StderrTerm::default();
        // What indicatif writes for two lines: text, padding, text, padding.
        for s in ["⠁ bar", "   ", "  1   0s a", ""] {
            term.write_str(s).unwrap();
        }
        let frame = term.with(|st| std::mem::take(&mut st.frame));
        assert_eq!(
            String::from_utf8(frame).unwrap(),
            "⠁ bar\x1b[K\r\n  1   0s a\x1b[K"
        );
        term.move_cursor_up(1).unwrap();
        term.clear_line().unwrap();
        let frame = term.with(|st| std::mem::take(&mut st.frame));
        assert_eq!(frame, b"\x1b[1A\r\x1b[2K");
    }

    #[test]
    fn plain_line() {
        let status = Status {
            units: Units::Items,
            done: 50,
            total: Some(200),
            failed: 2,
            elapsed: Duration::from_secs(10),
            longest: Some(("big.png".into(), Duration::from_millis(4200))),
        };
        insta::assert_snapshot!(status_line(&status), @"fanout: 50/200 done, 5.0/s, 2 failed, longest: `big.png` 4.20s");
        let status = Status {
            total: None,
            longest: None,
            ..status
        };
        assert_eq!(status_line(&status), "fanout: 50 done, 5.0/s, 2 failed");
        let bytes = Status {
            units: Units::Bytes,
            done: 3 << 20,
            total: Some(10 << 20),
            ..status
        };
        assert_eq!(
            status_line(&bytes),
            "fanout: 3.00 MiB/10.00 MiB done, 307.20 KiB/s, 2 failed"
        );
    }
}
