//! Whether a database someone else put in the publish folder holds newer data than the
//! snapshot about to be published.
//!
//! The POS app reads the newest file by name, and the fleet's provisioning tool also
//! downloads `<epoch>-Domain.sqlite3` into the folder. Publishing our snapshot under the
//! next name would hide a download that is newer than it (the LiteFS side may lag, or
//! its backup service be gone), so the worker compares the two databases' `metadata`
//! `generated_at` first: when the other file's data is at least as new, ours is not
//! published. When either time is missing or cannot be read, nothing can be told and
//! ours is published as before. Pure.

use chrono::{DateTime, NaiveDateTime, Utc};

/// Whether a file generated at `theirs` is at least as new as our snapshot generated at
/// `ours` (both the `metadata` table's `generated_at`).
pub fn is_at_least_as_new(theirs: Option<&str>, ours: Option<&str>) -> bool {
    match (theirs.and_then(parse), ours.and_then(parse)) {
        (Some(theirs), Some(ours)) => theirs >= ours,
        _ => false,
    }
}

/// A `generated_at` as a time: RFC 3339, SQLite's `YYYY-MM-DD HH:MM:SS[.fff]` (UTC), or
/// Unix seconds.
fn parse(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc());
        }
    }
    text.parse::<i64>()
        .ok()
        .and_then(|s| DateTime::from_timestamp(s, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_or_equal_file_wins_an_older_one_does_not() {
        let older = Some("2026-11-25T14:00:00Z");
        let newer = Some("2026-11-25T15:00:00+01:00");
        let later = Some("2026-11-25 14:30:00");
        assert!(!is_at_least_as_new(older, later));
        assert!(is_at_least_as_new(later, older));
        assert!(is_at_least_as_new(newer, newer));
        // 15:00+01:00 is 14:00Z: the same time.
        assert!(is_at_least_as_new(newer, older));
        assert!(is_at_least_as_new(Some("1795615200"), older));
        assert!(!is_at_least_as_new(Some("1795615199"), older));
    }

    #[test]
    fn nothing_can_be_told_without_both_times() {
        assert!(!is_at_least_as_new(None, Some("2026-11-25T14:00:00Z")));
        assert!(!is_at_least_as_new(Some("2026-11-25T14:00:00Z"), None));
        assert!(!is_at_least_as_new(
            Some("yesterday"),
            Some("2026-11-25T14:00:00Z")
        ));
    }
}
