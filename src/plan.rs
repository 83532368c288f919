//! The run plan: how output is captured, ordered, tagged and routed, and
//! what the workers must send with each event, decided once from the
//! [`Config`] (ripgrep's low-level flags becoming high-level settings).
//! Nothing downstream re-derives these from the flags.

use crate::config::{Config, ProgressMode};
use crate::halt::Threshold;
use crate::job::Capture;
use crate::sink::output::OutputMode;

/// Where job stdout goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStdout {
    /// fanout's stdout.
    Stdout,
    /// fanout's stderr: `--events -` owns stdout.
    Stderr,
}

/// What the run does with output, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunPlan {
    /// The effective output mode. Ungroup cannot tag raw output, so tagged
    /// ungroup streams lines; line mode cannot keep order without holding
    /// lines in memory, so `-k` groups (capture files hold the output,
    /// whatever its size).
    pub output: OutputMode,
    /// How jobs' output is taken: files, lines through a pipe, or not at all.
    pub capture: Capture,
    /// `-k`, where it applies (not to ungrouped output).
    pub keep_order: bool,
    /// `--tag`.
    pub tag: bool,
    /// Workers send each item's bytes when it starts: for `--tag` on
    /// streamed lines and for the event stream.
    pub item_bytes: bool,
    /// Workers send a display label when an item starts: for the progress
    /// display and the event stream.
    pub labels: bool,
    /// Workers send every command as text: reports and the joblog record it.
    pub commands: bool,
    pub job_stdout: JobStdout,
    /// The total is worth counting: for the progress display and for a
    /// percentage `--halt`.
    pub count_total: bool,
    /// A display changes between events (elapsed times): the collector
    /// ticks.
    pub ticks: bool,
}

impl Config {
    /// The run plan for this configuration.
    pub fn plan(&self) -> RunPlan {
        let output = match (self.output, self.tag, self.keep_order) {
            // --results DIR saves each job's whole stdout and stderr.
            _ if self.results_dir.is_some() => OutputMode::Group,
            (OutputMode::Ungroup, true, true) => OutputMode::Group,
            (OutputMode::Ungroup, true, false) => OutputMode::Line,
            (OutputMode::Line, _, true) => OutputMode::Group,
            (mode, _, _) => mode,
        };
        let capture = match output {
            OutputMode::Group => Capture::Files,
            OutputMode::Line => Capture::Lines,
            OutputMode::Ungroup => Capture::Inherit,
        };
        let events_to_stdout = self.events.as_deref().is_some_and(|p| p.as_os_str() == "-");
        let progress = self.progress != ProgressMode::Off;
        RunPlan {
            output,
            capture,
            keep_order: self.keep_order && output != OutputMode::Ungroup,
            tag: self.tag,
            item_bytes: (self.tag && output == OutputMode::Line) || self.events.is_some(),
            labels: progress || self.events.is_some(),
            commands: !self.reports.is_empty() || self.joblog.is_some(),
            job_stdout: if events_to_stdout {
                JobStdout::Stderr
            } else {
                JobStdout::Stdout
            },
            count_total: progress
                || self
                    .halt
                    .is_some_and(|h| matches!(h.threshold, Threshold::Percent(_))),
            ticks: progress,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Args;

    fn plan(flags: &str) -> RunPlan {
        let mut argv = vec!["fanout"];
        if !flags.contains("--progress") {
            argv.push("--no-progress");
        }
        argv.extend(flags.split_whitespace());
        argv.extend(["echo", ":::", "a"]);
        let args = Args::try_parse_words(argv).expect("flags parse");
        Config::from_args(args).expect("flags are valid").plan()
    }

    #[test]
    fn output_mode_capture_and_order_follow_the_flags() {
        use Capture::{Files, Inherit, Lines};
        use OutputMode::{Group, Line, Ungroup};
        // flags, effective mode, capture, keep order, item bytes
        let table = [
            ("", Group, Files, false, false),
            ("-k", Group, Files, true, false),
            ("--tag", Group, Files, false, false),
            ("--output line", Line, Lines, false, false),
            ("--output line --tag", Line, Lines, false, true),
            ("--output line -k", Group, Files, true, false),
            ("--output ungroup", Ungroup, Inherit, false, false),
            ("--output ungroup -k", Ungroup, Inherit, false, false),
            ("--output ungroup --tag", Line, Lines, false, true),
            ("--output ungroup --tag -k", Group, Files, true, false),
            ("--events ev.jsonl", Group, Files, false, true),
            ("--output line --events ev.jsonl", Line, Lines, false, true),
        ];
        for (flags, mode, capture, keep_order, item_bytes) in table {
            let plan = plan(flags);
            assert_eq!(
                (plan.output, plan.capture, plan.keep_order, plan.item_bytes),
                (mode, capture, keep_order, item_bytes),
                "{flags}"
            );
        }
    }

    #[test]
    fn routing_labels_commands_and_counting() {
        let plain = plan("");
        assert_eq!(plain.job_stdout, JobStdout::Stdout);
        assert!(!plain.labels && !plain.commands && !plain.count_total && !plain.ticks);
        assert_eq!(plan("--events -").job_stdout, JobStdout::Stderr);
        assert_eq!(plan("--events e.jsonl").job_stdout, JobStdout::Stdout);
        assert!(plan("--events e.jsonl").labels);
        assert!(plan("--report r.csv").commands);
        assert!(plan("--halt soon,fail=10%").count_total);
        assert!(!plan("--halt soon,fail=3").count_total);
        let shown = plan("--progress always");
        assert!(shown.labels && shown.count_total && shown.ticks);
    }
}
