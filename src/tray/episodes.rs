//! When the tray sends a desktop notification: once when trouble has lasted too long, and
//! once when it is over.
//!
//! An *episode* begins when the state first becomes `error`, `stale` or
//! `docker_unavailable`, and ends only when the state is `up_to_date` again: retries
//! (`error` → `syncing` → `error`) or a core restart (`starting`) do not end it, so a
//! flapping failure is still one episode. One notice is due once the episode has lasted
//! [`Notifications::after`](crate::config::Notifications); a recovery notice follows only
//! an episode that was notified. Both name the source ([`menu::source_name`]: LiteFS in
//! Docker, or LiteFS Cloud), the first thing support asks. Pure: the tray feeds statuses
//! and the clock.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::status::{self, State, Status};
use crate::tray::menu;

/// A notification to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub title: String,
    pub body: String,
}

/// Tracks the current episode.
#[derive(Clone, Debug)]
pub struct Episodes {
    after: Duration,
    open: Option<Open>,
}

#[derive(Clone, Debug)]
struct Open {
    began: DateTime<Utc>,
    notified: bool,
}

/// Whether `state` is trouble that starts an episode.
fn is_trouble(state: State) -> bool {
    matches!(
        state,
        State::Error | State::Stale | State::DockerUnavailable
    )
}

impl Episodes {
    /// No episode yet; notify after `after`.
    pub fn new(after: Duration) -> Self {
        Episodes { after, open: None }
    }

    /// Changes the delay (settings reloaded); an open episode keeps its start.
    pub fn set_after(&mut self, after: Duration) {
        self.after = after;
    }

    /// Takes in the status at `now`; returns the notice to send, if one is due.
    pub fn observe(&mut self, status: &Status, now: DateTime<Utc>) -> Option<Notice> {
        if status.state == State::UpToDate {
            let notified = self.open.take().is_some_and(|o| o.notified);
            let source = menu::source_name(status);
            return notified.then(|| Notice {
                title: "Domain data is up to date again".into(),
                body: match status.last_sync_at {
                    Some(t) => format!(
                        "Synced from {source} again: the POS has current prices and products \
                         (last sync {}).",
                        status::ago(t, now)
                    ),
                    None => format!(
                        "Synced from {source} again: the POS has current prices and products."
                    ),
                },
            });
        }
        if self.open.is_none() && is_trouble(status.state) {
            self.open = Some(Open {
                began: status.since.min(now),
                notified: false,
            });
        }
        let after = self.after_chrono();
        let open = self.open.as_mut()?;
        if open.notified || !is_trouble(status.state) || now - open.began < after {
            return None;
        }
        open.notified = true;
        Some(Notice {
            title: trouble_title(status.state).into(),
            body: format!(
                "{} (for {}), syncing from {}. The POS keeps using its current database file.",
                menu::headline(status, now),
                status::ago(open.began, now).trim_end_matches(" ago"),
                menu::source_name(status),
            ),
        })
    }

    /// How long until [`observe`](Self::observe) may have a notice without a new status:
    /// `None` when nothing is pending.
    pub fn next_due(&self, now: DateTime<Utc>) -> Option<Duration> {
        let open = self.open.as_ref().filter(|o| !o.notified)?;
        let due = open.began + self.after_chrono();
        Some((due - now).to_std().unwrap_or(Duration::ZERO))
    }

    fn after_chrono(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.after).unwrap_or(chrono::Duration::MAX)
    }
}

fn trouble_title(state: State) -> &'static str {
    match state {
        State::Stale => "Domain data is stale",
        State::DockerUnavailable => "Domain sync: Docker is not running",
        _ => "Domain sync is failing",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::ErrorInfo;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_764_079_392 + secs, 0).unwrap()
    }

    fn status(state: State, since: i64) -> Status {
        let mut s = Status::starting("http://127.0.0.1:20202", t(since));
        s.set_state(state, t(since));
        s.since = t(since);
        if state == State::Error {
            s.error = Some(ErrorInfo {
                kind: crate::error_kind::ErrorKind::ExportInterrupted,
                message: "LiteFS answered 500".into(),
            });
        }
        s
    }

    const AFTER: Duration = Duration::from_secs(300);

    #[test]
    fn one_notice_after_the_delay_and_one_on_recovery() {
        let mut e = Episodes::new(AFTER);
        assert_eq!(e.observe(&status(State::UpToDate, 0), t(0)), None);
        assert_eq!(e.next_due(t(0)), None);
        let error = status(State::Error, 10);
        assert_eq!(e.observe(&error, t(10)), None);
        assert_eq!(e.next_due(t(10)), Some(AFTER));
        assert_eq!(e.observe(&error, t(309)), None);
        assert_eq!(e.next_due(t(309)), Some(Duration::from_secs(1)));
        let notice = e.observe(&error, t(310)).expect("due after 5 min");
        assert_eq!(notice.title, "Domain sync is failing");
        assert!(
            notice
                .body
                .starts_with("The download was cut off (for 5 min), syncing from LiteFS."),
            "{}",
            notice.body
        );
        assert!(notice.body.contains("keeps using its current database"));
        // Once per episode.
        assert_eq!(e.observe(&error, t(900)), None);
        assert_eq!(e.next_due(t(900)), None);
        let mut ok = status(State::UpToDate, 950);
        ok.last_sync_at = Some(t(950));
        let back = e.observe(&ok, t(951)).expect("recovery notice");
        assert_eq!(back.title, "Domain data is up to date again");
        assert!(back.body.contains("last sync 1 s ago"), "{}", back.body);
        assert!(
            back.body.starts_with("Synced from LiteFS again"),
            "{}",
            back.body
        );
        assert_eq!(e.observe(&ok, t(952)), None);
    }

    #[test]
    fn a_short_blip_sends_nothing_at_all() {
        let mut e = Episodes::new(AFTER);
        assert_eq!(e.observe(&status(State::Error, 0), t(0)), None);
        assert_eq!(e.observe(&status(State::UpToDate, 60), t(60)), None);
        assert_eq!(e.next_due(t(60)), None);
        // A new episode starts from scratch.
        assert_eq!(e.observe(&status(State::Stale, 100), t(100)), None);
        assert_eq!(e.next_due(t(100)), Some(AFTER));
    }

    #[test]
    fn retries_and_restarts_do_not_end_an_episode() {
        let mut e = Episodes::new(AFTER);
        assert_eq!(e.observe(&status(State::Error, 0), t(0)), None);
        assert_eq!(e.observe(&status(State::Syncing, 100), t(100)), None);
        assert_eq!(e.observe(&status(State::Starting, 200), t(200)), None);
        // Not notified while a retry is in progress, even past the delay...
        assert_eq!(e.observe(&status(State::Syncing, 290), t(400)), None);
        // ...but at the next failure, which began long after the episode did.
        let notice = e.observe(&status(State::Error, 401), t(401)).unwrap();
        assert!(notice.body.contains("(for 6 min)"), "{}", notice.body);
    }

    #[test]
    fn stale_and_docker_have_their_own_titles_and_the_delay_can_change() {
        let mut e = Episodes::new(AFTER);
        let mut stale = status(State::Stale, 0);
        stale.last_sync_at = Some(t(-7200));
        assert_eq!(e.observe(&stale, t(0)), None);
        e.set_after(Duration::from_secs(60));
        let notice = e.observe(&stale, t(60)).unwrap();
        assert_eq!(notice.title, "Domain data is stale");
        assert!(notice
            .body
            .starts_with("Stale — the POS has data from 2 h ago (for 1 min)"));
        let mut e = Episodes::new(Duration::ZERO);
        let docker = e
            .observe(&status(State::DockerUnavailable, 0), t(0))
            .unwrap();
        assert_eq!(docker.title, "Domain sync: Docker is not running");
    }

    #[test]
    fn notices_name_the_source_docker_or_cloud() {
        let mut e = Episodes::new(Duration::ZERO);
        let mut docker = status(State::Error, 0);
        docker.docker_endpoint = Some("unix:///var/run/docker.sock (default)".into());
        let notice = e.observe(&docker, t(0)).unwrap();
        assert!(
            notice.body.contains("syncing from LiteFS in Docker."),
            "{}",
            notice.body
        );
        let mut ok = status(State::UpToDate, 5);
        ok.docker_endpoint = docker.docker_endpoint.clone();
        let back = e.observe(&ok, t(5)).unwrap();
        assert!(
            back.body.starts_with("Synced from LiteFS in Docker again"),
            "{}",
            back.body
        );

        let mut e = Episodes::new(Duration::ZERO);
        let mut cloud = status(State::Stale, 0);
        cloud.source = crate::config::SourceKind::Cloud;
        let notice = e.observe(&cloud, t(0)).unwrap();
        assert!(
            notice.body.contains("syncing from LiteFS Cloud."),
            "{}",
            notice.body
        );
        let mut ok = status(State::UpToDate, 5);
        ok.source = crate::config::SourceKind::Cloud;
        let back = e.observe(&ok, t(5)).unwrap();
        assert!(
            back.body.starts_with("Synced from LiteFS Cloud again"),
            "{}",
            back.body
        );
    }

    #[test]
    fn starting_and_not_configured_alone_are_no_trouble() {
        let mut e = Episodes::new(Duration::ZERO);
        assert_eq!(e.observe(&status(State::Starting, 0), t(1000)), None);
        assert_eq!(e.observe(&status(State::NotConfigured, 0), t(1000)), None);
        assert_eq!(e.next_due(t(1000)), None);
    }
}
