//! `.xml` reports: JUnit XML with one test suite named after the command
//! template and one test case per item, so CI shows a run like a test run.
//! Rows wait in the spool until the end, when the run's figures are known.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter};
use std::time::Duration;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestRerun, TestSuite};

use crate::record::{ItemRecord, Status};
use crate::sink::report::spool::{Document, for_each_line};
use crate::sink::report::{FormatError, RunInfo};

/// JUnit test case names longer than this are cut, so one huge item does not
/// make a CI test list unreadable.
const MAX_CASE_NAME_CHARS: usize = 200;

pub(crate) struct Junit;

impl Document for Junit {
    fn write(
        rows: BufReader<File>,
        info: &RunInfo,
        out: &mut BufWriter<File>,
    ) -> Result<(), FormatError> {
        let report = junit_report(rows, info).map_err(FormatError::Spool)?;
        report.serialize(out).map_err(FormatError::Junit)
    }
}

/// Builds the JUnit report from the spooled rows: one suite named after the
/// command template, one test case per item.
fn junit_report(spool: impl BufRead, info: &RunInfo) -> io::Result<quick_junit::Report> {
    let elapsed = seconds(info.elapsed);
    let mut suite = TestSuite::new(info.command.as_str());
    suite.set_time(elapsed);
    // quick-junit wants a chrono timestamp; fanout has none, so the start
    // time and the outcome of the run travel as properties.
    suite.add_property(("started", info.started.as_str()));
    suite.add_property(("exit_code", info.exit_code.to_string().as_str()));
    if let Some(stopped) = &info.stopped {
        suite.add_property(("stopped", stopped.as_str()));
    }
    for_each_line(spool, |line| {
        let row: ItemRecord = serde_json::from_slice(line)?;
        suite.add_test_case(test_case(&row));
        Ok(())
    })?;
    let mut report = quick_junit::Report::new("fanout");
    report.set_time(elapsed);
    report.add_test_suite(suite);
    Ok(report)
}

/// Maps one row to a JUnit test case.
fn test_case(row: &ItemRecord) -> TestCase {
    let mut status = match row.status {
        Status::Ok => TestCaseStatus::success(),
        Status::NotStarted | Status::Interrupted => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(row.status.as_str().replace('-', " "));
            status
        }
        failure => {
            // Errors are fanout's or the system's fault, failures the command's.
            let kind = if failure.is_error() {
                NonSuccessKind::Error
            } else {
                NonSuccessKind::Failure
            };
            let mut status = TestCaseStatus::non_success(kind);
            let message = if row.error.is_empty() {
                failure.as_str()
            } else {
                &row.error
            };
            status.set_message(message).set_type(failure.as_str());
            status
        }
    };
    if !row.stderr_tail.is_empty() {
        // No-op on success, which has no description.
        status.set_description(row.stderr_tail.as_str());
    }
    // Earlier attempts failed (that is why there was another), but only the
    // last one's details survive; record each as a bare rerun.
    for attempt in 1..row.attempts {
        let mut rerun = TestRerun::new(NonSuccessKind::Failure);
        rerun.set_message(format!("attempt {attempt} of {} failed", row.attempts));
        status.add_rerun(rerun);
    }

    let mut case = TestCase::new(case_name(row), status);
    case.set_classname("fanout");
    case.set_time(seconds(row.duration));
    case.add_property(("key", row.key.as_str()));
    if !row.command.is_empty() {
        case.add_property(("command", row.command.as_str()));
    }
    if row.attempts > 1 {
        case.add_property(("attempts", row.attempts.to_string().as_str()));
    }
    if row.from_earlier_run {
        case.add_property(("from_earlier_run", "true"));
    }
    case
}

/// `#{seq} {item}` on one line, cut to [`MAX_CASE_NAME_CHARS`].
fn case_name(row: &ItemRecord) -> String {
    let full = format!("#{} {}", row.seq, row.item);
    let mut chars = full.chars().map(|c| {
        if matches!(c, '\n' | '\r' | '\t') {
            ' '
        } else {
            c
        }
    });
    let mut name: String = chars.by_ref().take(MAX_CASE_NAME_CHARS).collect();
    if chars.next().is_some() {
        name.pop();
        name.push('…');
    }
    name
}

/// Seconds as a `Duration`; a negative or non-finite value (never expected)
/// becomes zero rather than a panic.
fn seconds(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::report::tests::{fixture_rows, info, row, write_report};

    #[test]
    fn junit_xml_snapshot_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.XML");
        write_report(&path, &fixture_rows(), &info(6));
        let xml = std::fs::read_to_string(&path).unwrap();

        assert_eq!(xml.matches("<testcase ").count(), 6);
        assert_eq!(xml.matches("<failure ").count(), 2);
        assert_eq!(xml.matches("<skipped ").count(), 2);
        assert_eq!(xml.matches("<flakyFailure ").count(), 2);
        insta::assert_snapshot!(xml, @r##"
        <?xml version="1.0" encoding="UTF-8"?>
        <testsuites name="fanout" tests="6" skipped="2" failures="2" errors="0" time="12.500">
            <testsuite name="echo {}" tests="6" skipped="2" errors="0" failures="2" time="12.500">
                <properties>
                    <property name="started" value="2024-05-01T12:00:00.000Z"/>
                    <property name="exit_code" value="130"/>
                    <property name="stopped" value="interrupted by SIGINT"/>
                </properties>
                <testcase name="#1 alpha" classname="fanout" time="0.250">
                    <properties>
                        <property name="key" value="k1"/>
                        <property name="command" value="echo alpha"/>
                    </properties>
                </testcase>
                <testcase name="#2 beta" classname="fanout" time="1.500">
                    <properties>
                        <property name="key" value="k2"/>
                        <property name="command" value="echo beta"/>
                    </properties>
                    <failure message="exit code 3" type="failed">warning: x
        error: y</failure>
                </testcase>
                <testcase name="#3 gamma" classname="fanout" time="10.000">
                    <properties>
                        <property name="key" value="k3"/>
                        <property name="command" value="echo gamma"/>
                    </properties>
                    <failure message="timed out after 10s" type="timeout"/>
                </testcase>
                <testcase name="#4 delta" classname="fanout" time="0.000">
                    <properties>
                        <property name="key" value="k4"/>
                    </properties>
                    <skipped message="not started"/>
                </testcase>
                <testcase name="#5 epsilon" classname="fanout" time="0.250">
                    <properties>
                        <property name="key" value="k5"/>
                        <property name="command" value="echo epsilon"/>
                    </properties>
                    <skipped message="interrupted"/>
                </testcase>
                <testcase name="#6 zeta" classname="fanout" time="0.250">
                    <properties>
                        <property name="key" value="k6"/>
                        <property name="command" value="echo zeta"/>
                        <property name="attempts" value="3"/>
                    </properties>
                    <flakyFailure message="attempt 1 of 3 failed">
                    </flakyFailure>
                    <flakyFailure message="attempt 2 of 3 failed">
                    </flakyFailure>
                </testcase>
            </testsuite>
        </testsuites>
        "##);
    }

    #[test]
    fn junit_maps_errors_and_long_names() {
        let spawn = ItemRecord {
            exit_code: None,
            error: "command not found: `x`".to_owned(),
            ..row(1, "a", "spawn-error")
        };
        let internal = ItemRecord {
            error: String::new(),
            ..row(2, "b", "internal-error")
        };
        let retried = ItemRecord {
            attempts: 2,
            error: "exit code 1".to_owned(),
            ..row(3, &"x".repeat(500), "failed")
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.xml");
        write_report(&path, &[spawn, internal, retried], &RunInfo::default());
        let xml = std::fs::read_to_string(&path).unwrap();

        assert_eq!(xml.matches("<error ").count(), 2);
        assert!(xml.contains(r#"message="command not found: `x`" type="spawn-error""#));
        // An empty error falls back to the status, so the message is never blank.
        assert!(xml.contains(r#"message="internal-error" type="internal-error""#));
        assert_eq!(xml.matches("<rerunFailure ").count(), 1);
        let long = format!("#3 {}…", "x".repeat(MAX_CASE_NAME_CHARS - 4));
        assert_eq!(long.chars().count(), MAX_CASE_NAME_CHARS);
        assert!(xml.contains(&format!(r#"name="{long}""#)));
    }

    #[test]
    fn case_name_keeps_one_line() {
        let r = row(12, "a\nb\tc", "ok");
        assert_eq!(case_name(&r), "#12 a b c");
    }
}
