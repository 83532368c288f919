//! Durations for people: parsing the ones the command line takes (`500ms`,
//! `30s`, `5m`, `1h`, a bare number of seconds (`2`, `0.5`), and compound
//! durations such as `1m30s` or `1h 15m`, through humantime, which also
//! reads `2days`), and the short form progress lines and the summary show
//! ([`format_duration`]).

use std::time::Duration;

/// Parses a duration such as `500ms`, `30s`, `1.5m`, `1h`, `10` (seconds)
/// or `1m30s`.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.starts_with('-') {
        return Err(format!(
            "`{text}` is negative: a duration is 0 or more (500ms, 30s, 1m30s, 1h)"
        ));
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let not_a_duration = || format!("`{text}` is not a duration (try 500ms, 30s, 1m30s, 1h)");
    let Ok(value) = number.parse::<f64>() else {
        return Err(not_a_duration());
    };
    let scale = match unit.trim() {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        other => {
            // Compound (`1m30s`, `1h 15m`) or spelled out (`2min`, `3days`).
            return humantime::parse_duration(text).map_err(|_| {
                if other.starts_with(|c: char| c.is_ascii_alphabetic()) {
                    format!(
                        "unknown unit `{other}` in `{text}` (use ms, s, m or h, or combine them: 1m30s)"
                    )
                } else {
                    not_a_duration()
                }
            });
        }
    };
    Duration::try_from_secs_f64(value * scale).map_err(|_| format!("`{text}` is out of range"))
}

/// `0.42s`, `12.3s`, `2m05s`, `1h02m`.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 10.0 {
        format!("{secs:.2}s")
    } else if secs < 60.0 {
        format!("{secs:.1}s")
    } else if secs < 3600.0 {
        let s = d.as_secs();
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        let s = d.as_secs();
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse("5x").is_err());
        assert!(parse("").is_err());
        assert!(parse("-1s").is_err());
    }

    #[test]
    fn compound() {
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1h 15m"), Ok(Duration::from_secs(4500)));
        assert_eq!(parse("2s500ms"), Ok(Duration::from_millis(2500)));
        assert!(parse("1m30x").unwrap_err().contains("unknown unit"));
        assert!(parse("-1").unwrap_err().contains("negative"));
        assert!(parse("1..5s").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(Duration::from_secs(125)), "2m05s");
        assert_eq!(format_duration(Duration::from_secs(3720)), "1h02m");
        assert_eq!(format_duration(Duration::from_millis(12_340)), "12.3s");
    }
}
