//! Wall-clock timestamps as fanout writes them everywhere (journal, reports,
//! the event stream): RFC 3339 with milliseconds, in UTC. A module of its
//! own so every writer reaches it without importing another's.

use std::time::SystemTime;

/// RFC 3339 with milliseconds, UTC.
pub fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}
