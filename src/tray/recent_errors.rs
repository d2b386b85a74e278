//! The last few distinct errors the app went through, newest first, for *Copy
//! diagnostics*: support sees what failed earlier even when the app has recovered since.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use crate::status::{ago, ErrorInfo, Status};

/// How many errors are kept.
pub const KEEP: usize = 5;

/// The errors seen, newest first.
#[derive(Clone, Debug, Default)]
pub struct RecentErrors {
    entries: VecDeque<(DateTime<Utc>, ErrorInfo)>,
}

impl RecentErrors {
    /// Takes in a status: its error is kept unless it is the newest one already.
    pub fn observe(&mut self, status: &Status) {
        let Some(error) = &status.error else {
            return;
        };
        if self.entries.front().is_some_and(|(_, e)| e == error) {
            return;
        }
        self.entries.push_front((status.since, error.clone()));
        self.entries.truncate(KEEP);
    }

    /// One line per error, newest first ("none" when there was none).
    pub fn render(&self, now: DateTime<Utc>) -> Vec<String> {
        if self.entries.is_empty() {
            return vec!["none".into()];
        }
        self.entries
            .iter()
            .map(|(at, e)| {
                format!(
                    "{} ({}) {} [{}]",
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    ago(*at, now),
                    e.message,
                    e.kind
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::State;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_764_079_392 + secs, 0).unwrap()
    }

    fn failing(kind: &str, since: i64) -> Status {
        let mut s = Status::starting("http://127.0.0.1:20202", t(since));
        s.set_state(State::Error, t(since));
        s.error = Some(ErrorInfo {
            kind: crate::error_kind::ErrorKind::from_name(kind).expect("a known kind"),
            message: format!("{kind} happened"),
        });
        s
    }

    #[test]
    fn distinct_errors_are_kept_newest_first_and_bounded() {
        let mut recent = RecentErrors::default();
        assert_eq!(recent.render(t(0)), ["none"]);
        recent.observe(&failing("disk_full", 0));
        recent.observe(&failing("disk_full", 0));
        recent.observe(&Status::starting("x", t(5)));
        recent.observe(&failing("litefs_http_error", 60));
        assert_eq!(
            recent.render(t(120)),
            [
                "2025-11-25T14:04:12Z (1 min ago) litefs_http_error happened [litefs_http_error]",
                "2025-11-25T14:03:12Z (2 min ago) disk_full happened [disk_full]",
            ]
        );
        let kinds = crate::error_kind::ErrorKind::ALL;
        for (i, kind) in (0..10).zip(kinds) {
            recent.observe(&failing(kind.as_str(), 100 + i));
        }
        let lines = recent.render(t(200));
        assert_eq!(lines.len(), KEEP);
        assert!(lines[0].ends_with(&format!("[{}]", kinds[9])));
        assert!(lines[4].ends_with(&format!("[{}]", kinds[5])));
    }
}
