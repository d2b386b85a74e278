//! What the menu says right after a click, so that no click goes unanswered: *Copy
//! diagnostics* reads "Copied ✓" for a moment, *Resync now* reads "Checking…" and then
//! what the check found, and a confirmed *Reset…* reads "Reset started".
//!
//! Pure: the tray reports clicks and statuses with the clock; the resync's result is
//! read from the status alone (a newer `last_sync_at` or TXID is a new version, a newer
//! `last_check_at` alone is "nothing new", a new error is a failure), never from the
//! core's reply. [`Feedback::next_change`] says when a label changes by itself, so the
//! event loop wakes exactly then.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::status::{ErrorInfo, State, Status, Txid};

/// How long "Copied ✓" stays.
pub const COPIED_FOR: Duration = Duration::from_secs(4);
/// How long the result of a resync stays.
pub const RESULT_FOR: Duration = Duration::from_secs(6);
/// How long "Reset started" stays.
pub const RESET_FOR: Duration = Duration::from_secs(10);
/// How long "Checking…" waits for a sign of the check before it gives up quietly.
pub const CHECK_FOR: Duration = Duration::from_secs(60);

/// The labels the last clicks left, and until when.
#[derive(Clone, Debug, Default)]
pub struct Feedback {
    copied_at: Option<DateTime<Utc>>,
    resync: Option<Resync>,
    reset_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug)]
enum Resync {
    /// Sent at `at`; the status looked like `before` then.
    Checking { at: DateTime<Utc>, before: Seen },
    /// The result, first seen at `at`.
    Done { at: DateTime<Utc>, result: Found },
}

/// What a resync found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Found {
    NothingNew,
    NewVersion(Option<Txid>),
    Failed,
}

/// The facts of a status a resync changes.
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    last_check_at: Option<DateTime<Utc>>,
    last_sync_at: Option<DateTime<Utc>>,
    txid: Option<Txid>,
    error: Option<ErrorInfo>,
    detail: Option<String>,
    state: State,
    since: DateTime<Utc>,
}

impl Seen {
    fn of(s: &Status) -> Seen {
        Seen {
            last_check_at: s.last_check_at,
            last_sync_at: s.last_sync_at,
            txid: s.txid,
            error: s.error.clone(),
            detail: s.detail.clone(),
            state: s.state,
            since: s.since,
        }
    }

    /// What `now` says about a resync sent when the status was `self`.
    fn found(&self, now: &Seen) -> Option<Found> {
        if now.last_sync_at > self.last_sync_at || (now.txid.is_some() && now.txid != self.txid) {
            return Some(Found::NewVersion(now.txid));
        }
        if now.last_check_at > self.last_check_at && now.error.is_none() {
            return Some(Found::NothingNew);
        }
        let failed_again = now.error.is_some()
            && (now.error != self.error
                || now.detail != self.detail
                || now.state != self.state
                || now.since != self.since);
        let off = matches!(now.state, State::NotConfigured | State::DockerUnavailable);
        (failed_again || (off && now != self)).then_some(Found::Failed)
    }
}

fn until(at: DateTime<Utc>, for_: Duration) -> DateTime<Utc> {
    at + chrono::Duration::from_std(for_).unwrap_or(chrono::Duration::MAX)
}

/// How long from `now` until `t` (zero when past).
fn left(t: DateTime<Utc>, now: DateTime<Utc>) -> Option<Duration> {
    (t > now).then(|| (t - now).to_std().unwrap_or(Duration::ZERO))
}

impl Feedback {
    /// The diagnostics were copied at `now`.
    pub fn copied(&mut self, now: DateTime<Utc>) {
        self.copied_at = Some(now);
    }

    /// *Resync now* was sent at `now`, with `status` showing.
    pub fn resync_sent(&mut self, status: &Status, now: DateTime<Utc>) {
        self.resync = Some(Resync::Checking {
            at: now,
            before: Seen::of(status),
        });
    }

    /// A confirmed reset was sent at `now`.
    pub fn reset_sent(&mut self, now: DateTime<Utc>) {
        self.reset_at = Some(now);
    }

    /// Takes in the status at `now` (the result of a pending resync shows in it).
    pub fn observe(&mut self, status: &Status, now: DateTime<Utc>) {
        if let Some(Resync::Checking { at, before }) = &self.resync {
            if let Some(result) = before.found(&Seen::of(status)) {
                self.resync = Some(Resync::Done { at: now, result });
            } else if now >= until(*at, CHECK_FOR) {
                self.resync = None;
            }
        }
    }

    /// The *Copy diagnostics* item's label at `now`, when a click changed it.
    pub fn copy_label(&self, now: DateTime<Utc>) -> Option<String> {
        let at = self.copied_at?;
        (now < until(at, COPIED_FOR)).then(|| "Copied ✓ — paste it into the ticket".into())
    }

    /// The *Resync now* item's label at `now`, when a click changed it.
    pub fn resync_label(&self, now: DateTime<Utc>) -> Option<String> {
        match self.resync.as_ref()? {
            Resync::Checking { at, .. } => {
                (now < until(*at, CHECK_FOR)).then(|| "Checking…".into())
            }
            Resync::Done { at, result } => (now < until(*at, RESULT_FOR)).then(|| match result {
                Found::NothingNew => "Checked — nothing new".into(),
                Found::NewVersion(Some(txid)) => format!("Synced — new version {:x}", txid.0),
                Found::NewVersion(None) => "Synced — new version".into(),
                Found::Failed => "Check failed — see the top of the menu".into(),
            }),
        }
    }

    /// The *Reset…* item's label at `now`, when a click changed it.
    pub fn reset_label(&self, now: DateTime<Utc>) -> Option<String> {
        let at = self.reset_at?;
        (now < until(at, RESET_FOR)).then(|| "Reset started".into())
    }

    /// How long from `now` until a label changes by itself; `None` when none will.
    pub fn next_change(&self, now: DateTime<Utc>) -> Option<Duration> {
        let resync = self.resync.as_ref().map(|r| match r {
            Resync::Checking { at, .. } => until(*at, CHECK_FOR),
            Resync::Done { at, .. } => until(*at, RESULT_FOR),
        });
        [
            self.copied_at.map(|t| until(t, COPIED_FOR)),
            resync,
            self.reset_at.map(|t| until(t, RESET_FOR)),
        ]
        .into_iter()
        .flatten()
        .filter_map(|t| left(t, now))
        .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_764_079_392 + secs, 0).unwrap()
    }

    fn synced() -> Status {
        let mut s = Status::starting("http://127.0.0.1:20202", t(-100));
        s.set_state(State::UpToDate, t(-90));
        s.detail = None;
        s.last_sync_at = Some(t(-90));
        s.last_check_at = Some(t(-60));
        s.txid = Some(Txid(0x2f));
        s
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn nothing_was_clicked_so_nothing_changes() {
        let mut f = Feedback::default();
        f.observe(&synced(), t(0));
        assert_eq!(f.copy_label(t(0)), None);
        assert_eq!(f.resync_label(t(0)), None);
        assert_eq!(f.reset_label(t(0)), None);
        assert_eq!(f.next_change(t(0)), None);
    }

    #[test]
    fn copied_shows_for_a_few_seconds() {
        let mut f = Feedback::default();
        f.copied(t(0));
        assert_eq!(
            f.copy_label(t(0)).as_deref(),
            Some("Copied ✓ — paste it into the ticket")
        );
        assert_eq!(f.next_change(t(1)), Some(COPIED_FOR - secs(1)));
        assert!(f.copy_label(t(3)).is_some());
        assert_eq!(f.copy_label(t(4)), None);
        assert_eq!(f.next_change(t(4)), None);
    }

    #[test]
    fn a_resync_that_finds_nothing_new_says_so() {
        let mut f = Feedback::default();
        let mut s = synced();
        f.resync_sent(&s, t(0));
        f.observe(&s, t(0));
        assert_eq!(f.resync_label(t(0)).as_deref(), Some("Checking…"));
        // Unrelated changes are no answer.
        s.events_connected = true;
        f.observe(&s, t(1));
        assert_eq!(f.resync_label(t(1)).as_deref(), Some("Checking…"));
        s.last_check_at = Some(t(2));
        f.observe(&s, t(2));
        assert_eq!(
            f.resync_label(t(2)).as_deref(),
            Some("Checked — nothing new")
        );
        assert_eq!(f.next_change(t(2)), Some(RESULT_FOR));
        f.observe(&s, t(5));
        assert!(f.resync_label(t(7)).is_some());
        assert_eq!(f.resync_label(t(8)), None);
    }

    #[test]
    fn a_resync_that_publishes_names_the_new_version() {
        let mut f = Feedback::default();
        let mut s = synced();
        f.resync_sent(&s, t(0));
        s.set_state(State::Syncing, t(1));
        f.observe(&s, t(1));
        assert_eq!(f.resync_label(t(1)).as_deref(), Some("Checking…"));
        s.set_state(State::UpToDate, t(3));
        s.last_sync_at = Some(t(3));
        s.last_check_at = Some(t(3));
        s.txid = Some(Txid(0x30));
        f.observe(&s, t(3));
        assert_eq!(
            f.resync_label(t(3)).as_deref(),
            Some("Synced — new version 30")
        );
    }

    #[test]
    fn a_resync_that_fails_says_where_to_look() {
        let mut f = Feedback::default();
        let mut s = synced();
        f.resync_sent(&s, t(0));
        s.error = Some(ErrorInfo {
            kind: crate::error_kind::ErrorKind::LiteFsUnreachable,
            message: "LiteFS did not answer".into(),
        });
        s.detail = Some("LiteFS unreachable; retrying in 2s".into());
        f.observe(&s, t(1));
        assert_eq!(
            f.resync_label(t(1)).as_deref(),
            Some("Check failed — see the top of the menu")
        );
        // The same failure again, with a longer retry, is an answer too.
        f.resync_sent(&s, t(10));
        s.detail = Some("LiteFS unreachable; retrying in 4s".into());
        f.observe(&s, t(11));
        assert_eq!(
            f.resync_label(t(11)).as_deref(),
            Some("Check failed — see the top of the menu")
        );
    }

    #[test]
    fn a_resync_with_no_sign_gives_up_quietly() {
        let mut f = Feedback::default();
        let s = synced();
        f.resync_sent(&s, t(0));
        assert_eq!(f.next_change(t(0)), Some(CHECK_FOR));
        f.observe(&s, t(59));
        assert_eq!(f.resync_label(t(59)).as_deref(), Some("Checking…"));
        f.observe(&s, t(60));
        assert_eq!(f.resync_label(t(60)), None);
        assert_eq!(f.next_change(t(60)), None);
    }

    #[test]
    fn reset_started_shows_for_a_while() {
        let mut f = Feedback::default();
        f.reset_sent(t(0));
        assert_eq!(f.reset_label(t(9)).as_deref(), Some("Reset started"));
        assert_eq!(f.reset_label(t(10)), None);
    }

    #[test]
    fn the_next_change_is_the_soonest_of_all() {
        let mut f = Feedback::default();
        f.reset_sent(t(0));
        f.copied(t(3));
        assert_eq!(f.next_change(t(3)), Some(COPIED_FOR));
        assert_eq!(f.next_change(t(8)), Some(secs(2)));
    }
}
