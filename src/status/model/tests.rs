//! Every transition of the status model, and the sequences of issue 12: a restart with
//! an unchanged database, an outage with many retries, recovery, Vori not publishing
//! for hours, and staleness.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::*;
use crate::config::SourceKind;
use crate::inspect::{Inspection, Metadata};

const STALE_AFTER: Duration = Duration::from_secs(30 * 60);
const RETRY: Duration = Duration::from_secs(5);

/// `secs` after a fixed start.
fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_764_079_392 + secs, 0).unwrap()
}

fn file(checksum: u64, published_at: i64) -> FileFacts {
    let mut row_counts = BTreeMap::new();
    row_counts.insert("products".to_string(), Some(51_234));
    row_counts.insert("offers".to_string(), None);
    FileFacts {
        path: PathBuf::from(format!("/d/{}-Domain.sqlite3", t(published_at).timestamp())),
        checksum: Checksum(checksum),
        published_at: Some(t(published_at)),
        inspection: Some(Inspection {
            metadata: Metadata {
                schema_version: Some("7".into()),
                generated_at: Some("2026-11-25T13:58:00Z".into()),
                ..Default::default()
            },
            row_counts,
            unread: Vec::new(),
        }),
    }
}

fn started() -> Status {
    let mut s = Status::starting("http://127.0.0.1:20202", t(0));
    s.stale_after = STALE_AFTER;
    s
}

/// A status that published `file(0xa, 0)` with TXID 0x2f at t(0).
fn synced() -> Status {
    let mut s = started();
    apply(
        &mut s,
        Event::Published {
            file: file(0xa, 0),
            txid: Some(0x2f),
        },
        t(0),
    );
    s
}

fn unreachable(failures: u32) -> Event {
    Event::Failed {
        kind: ErrorKind::LiteFsUnreachable,
        message: "LiteFS at http://127.0.0.1:20202 is unreachable: connection refused".into(),
        failures,
        retry_in: RETRY,
    }
}

fn tick() -> Event {
    Event::Tick
}

#[test]
fn a_restart_with_an_unchanged_database_tells_the_truth_from_the_start() {
    // The app was stopped 5 h after Vori last published; it starts again.
    let mut s = started();
    s.since = t(5 * 3600);
    apply(
        &mut s,
        Event::Described {
            file: file(0xa, 0),
            earlier: None,
        },
        t(5 * 3600),
    );
    assert_eq!(s.state, State::Starting, "nothing is confirmed yet");
    assert_eq!(
        s.last_sync_at,
        Some(t(0)),
        "the file's publish time, not never"
    );
    assert_eq!(s.checksum, Some(Checksum(0xa)));
    assert_eq!(
        s.metadata.as_ref().unwrap().schema_version.as_deref(),
        Some("7")
    );
    assert_eq!(s.row_counts["products"], Some(51_234));
    assert_eq!(s.txid, None, "LiteFS has not said which transaction yet");
    assert_eq!(s.last_check_at, None);

    // LiteFS answers: it has exactly that file, at TXID 2f.
    let now = t(5 * 3600 + 40);
    apply(
        &mut s,
        Event::Unchanged {
            file: file(0xa, 0),
            txid: Some(0x2f),
        },
        now,
    );
    assert_eq!(s.state, State::UpToDate);
    assert_eq!(s.since, now);
    assert_eq!(s.last_sync_at, Some(t(0)), "still when it was published");
    assert_eq!(s.last_check_at, Some(now), "Checked: just now");
    assert_eq!(s.txid, Some(Txid(0x2f)));
    assert!(s.error.is_none() && s.next_try_at.is_none());
}

#[test]
fn a_described_file_does_not_replace_a_newer_last_sync() {
    let mut s = synced();
    apply(
        &mut s,
        Event::Described {
            file: file(0xa, -600),
            earlier: None,
        },
        t(10),
    );
    assert_eq!(s.last_sync_at, Some(t(0)));
    assert_eq!(s.txid, Some(Txid(0x2f)), "the same file keeps its TXID");
}

#[test]
fn a_restart_keeps_what_the_last_instance_confirmed_about_the_same_file() {
    let before = synced();
    let mut s = started();
    let earlier = Earlier::from_status(&before);
    apply(
        &mut s,
        Event::Described {
            file: file(0xa, 0),
            earlier: earlier.clone(),
        },
        t(3600),
    );
    assert_eq!(s.txid, Some(Txid(0x2f)));
    assert_eq!(s.last_check_at, Some(t(0)));

    // LiteFS does not answer after the restart: the last confirmation was an hour ago.
    apply(&mut s, unreachable(0), t(3601));
    assert_eq!(
        s.state,
        State::Stale,
        "not confirmed for longer than stale_after"
    );

    // Another file is not described by the old status.
    let mut s = started();
    apply(
        &mut s,
        Event::Described {
            file: file(0xb, 10),
            earlier,
        },
        t(3600),
    );
    assert_eq!((s.txid, s.last_check_at), (None, None));
}

#[test]
fn an_outage_with_many_retries_keeps_one_state_and_says_when_the_next_try_is() {
    let mut s = synced();
    let mut seen = vec![(s.state, s.since)];
    // LiteFS goes away at t(60); retries every 5 s, ticks every 15 s, for 2 h.
    let mut now = 60;
    let mut failures = 0;
    while now < 2 * 3600 {
        apply(&mut s, unreachable(failures), t(now));
        failures += 1;
        assert_eq!(s.next_try_at, Some(t(now + 5)), "when the next try is");
        assert_eq!(s.error.as_ref().unwrap().kind, ErrorKind::LiteFsUnreachable);
        apply(&mut s, tick(), t(now + 1));
        if seen.last() != Some(&(s.state, s.since)) {
            seen.push((s.state, s.since));
        }
        now += 5;
    }
    // Up to date (the POS's file is good) until stale_after without a confirmation,
    // then stale, once; never back and forth.
    assert_eq!(
        seen,
        vec![(State::UpToDate, t(0)), (State::Stale, t(30 * 60 + 1))],
        "the state blinked"
    );
    assert_eq!(
        s.last_sync_at,
        Some(t(0)),
        "stale says since when the data is"
    );
    assert_eq!(s.last_check_at, Some(t(0)));
}

#[test]
fn an_outage_before_the_first_sync_waits_then_errors_and_stays_there() {
    let mut s = started();
    let mut states = Vec::new();
    for failures in 0..20 {
        apply(&mut s, unreachable(failures), t(i64::from(failures) * 5));
        states.push(s.state);
    }
    assert_eq!(&states[..3], &[State::Starting; 3]);
    assert!(states[3..].iter().all(|s| *s == State::Error), "{states:?}");
    assert_eq!(s.since, t(15), "the error began once");
    assert_eq!(s.detail, None);
}

#[test]
fn an_error_with_good_data_is_not_flipped_back_to_up_to_date_by_the_next_retry() {
    let mut s = synced();
    let interrupted = Event::Failed {
        kind: ErrorKind::ExportInterrupted,
        message: "the export was cut off".into(),
        failures: 0,
        retry_in: RETRY,
    };
    apply(&mut s, interrupted.clone(), t(10));
    assert_eq!((s.state, s.since), (State::Error, t(10)));
    apply(&mut s, unreachable(1), t(15));
    apply(&mut s, interrupted, t(20));
    apply(&mut s, unreachable(3), t(25));
    assert_eq!((s.state, s.since), (State::Error, t(10)));
}

#[test]
fn retries_do_not_blink_through_syncing() {
    for trouble in [
        State::Error,
        State::Stale,
        State::DockerUnavailable,
        State::Starting,
    ] {
        let mut s = synced();
        s.set_state(trouble, t(5));
        apply(
            &mut s,
            Event::SyncStarted {
                activity: "exporting from LiteFS".into(),
            },
            t(10),
        );
        assert_eq!((s.state, s.since), (trouble, t(5)));
    }
    let mut s = synced();
    apply(
        &mut s,
        Event::SyncStarted {
            activity: "exporting from LiteFS".into(),
        },
        t(10),
    );
    assert_eq!((s.state, s.since), (State::Syncing, t(10)));
    assert_eq!(s.detail.as_deref(), Some("exporting from LiteFS"));
}

#[test]
fn recovery_clears_the_trouble_and_confirms_the_file() {
    let mut s = synced();
    for failures in 0..500 {
        apply(
            &mut s,
            unreachable(failures),
            t(60 + i64::from(failures) * 5),
        );
        apply(&mut s, tick(), t(61 + i64::from(failures) * 5));
    }
    assert_eq!(s.state, State::Stale);
    apply(
        &mut s,
        Event::Unchanged {
            file: file(0xa, 0),
            txid: Some(0x30),
        },
        t(3000),
    );
    assert_eq!((s.state, s.since), (State::UpToDate, t(3000)));
    assert!(s.error.is_none() && s.detail.is_none() && s.next_try_at.is_none());
    assert_eq!(s.last_check_at, Some(t(3000)));
    assert_eq!(s.last_sync_at, Some(t(0)));
    assert_eq!(s.txid, Some(Txid(0x30)));
}

#[test]
fn vori_not_publishing_for_hours_while_litefs_answers_is_up_to_date_and_checked_recently() {
    let mut s = synced();
    apply(&mut s, Event::EventsConnected(true), t(1));
    let mut now = 0;
    while now < 5 * 3600 {
        now += 15;
        apply(&mut s, tick(), t(now));
        assert_eq!(s.state, State::UpToDate, "at {now}s");
        let checked = s.last_check_at.unwrap();
        assert!((t(now) - checked).num_seconds() <= 60, "checked {checked}");
    }
    assert_eq!(s.last_sync_at, Some(t(0)), "Last sync: 5 h ago");
    assert_eq!(s.since, t(0));
}

#[test]
fn a_live_stream_does_not_confirm_a_file_while_a_sync_fails() {
    let mut s = synced();
    apply(&mut s, Event::EventsConnected(true), t(1));
    let stalled = Event::Failed {
        kind: ErrorKind::ExportStalled,
        message: "stalled".into(),
        failures: 0,
        retry_in: RETRY,
    };
    apply(&mut s, stalled, t(100));
    apply(&mut s, tick(), t(400));
    assert_eq!(s.last_check_at, Some(t(0)));
    assert_eq!(s.state, State::Error);
}

#[test]
fn stale_needs_the_stream_down_and_a_confirmation_older_than_stale_after() {
    let mut s = synced();
    apply(&mut s, tick(), t(30 * 60));
    assert_eq!(
        s.state,
        State::UpToDate,
        "exactly stale_after is not yet stale"
    );
    apply(&mut s, tick(), t(30 * 60 + 1));
    assert_eq!((s.state, s.since), (State::Stale, t(30 * 60 + 1)));

    // The source confirms the file again.
    apply(
        &mut s,
        Event::Confirmed {
            txid: 0x2f,
            checksum: Checksum(0xa),
        },
        t(2000),
    );
    assert_eq!((s.state, s.last_check_at), (State::UpToDate, Some(t(2000))));
}

#[test]
fn a_new_publish_moves_last_sync_and_forgets_the_old_txid() {
    let mut s = synced();
    apply(
        &mut s,
        Event::Published {
            file: file(0xb, 100),
            txid: None,
        },
        t(100),
    );
    assert_eq!(s.last_sync_at, Some(t(100)));
    assert_eq!(s.checksum, Some(Checksum(0xb)));
    assert_eq!(s.txid, None, "TXID 2f was the old file's");
    assert!(s
        .published_path
        .unwrap()
        .ends_with("1764079492-Domain.sqlite3"));
}

#[test]
fn a_file_replaced_behind_our_back_shows_its_own_publish_time() {
    let mut s = synced();
    apply(
        &mut s,
        Event::Unchanged {
            file: file(0xc, 50),
            txid: Some(0x31),
        },
        t(100),
    );
    assert_eq!(s.last_sync_at, Some(t(50)));
    assert_eq!(s.txid, Some(Txid(0x31)));
}

#[test]
fn not_configured_and_a_refused_token_say_so_with_a_kind() {
    let mut s = started();
    apply(
        &mut s,
        Event::NotConfigured {
            message: "no LiteFS Cloud token".into(),
        },
        t(1),
    );
    assert_eq!(s.state, State::NotConfigured);
    assert_eq!(s.error.as_ref().unwrap().kind, ErrorKind::NotConfigured);
    assert_eq!(s.detail.as_deref(), Some("no LiteFS Cloud token"));

    let mut s = synced();
    s.source = SourceKind::Cloud;
    apply(
        &mut s,
        Event::Failed {
            kind: ErrorKind::CloudTokenRejected,
            message: "401".into(),
            failures: 0,
            retry_in: RETRY,
        },
        t(5),
    );
    assert_eq!((s.state, s.since), (State::NotConfigured, t(5)));
    assert_eq!(s.error.unwrap().kind, ErrorKind::CloudTokenRejected);
}

#[test]
fn an_unusable_config_and_a_failed_start_are_errors_with_their_kinds() {
    let mut s = started();
    apply(
        &mut s,
        Event::ConfigInvalid {
            message: "line 3, key sync.min_interval: bad".into(),
        },
        t(1),
    );
    assert_eq!(s.state, State::Error);
    assert_eq!(s.error.as_ref().unwrap().kind, ErrorKind::ConfigInvalid);
    assert_eq!(s.next_try_at, None, "it waits for the file to be fixed");

    let mut s = started();
    apply(
        &mut s,
        Event::StartFailed {
            message: "cannot use the publish folder".into(),
            retry_in: Duration::from_secs(4),
        },
        t(1),
    );
    assert_eq!(s.state, State::Error);
    assert_eq!(s.error.as_ref().unwrap().kind, ErrorKind::StartFailed);
    assert_eq!(s.next_try_at, Some(t(5)));
}

#[test]
fn docker_down_and_back() {
    let mut s = synced();
    s.docker_endpoint = Some("unix:///var/run/docker.sock (default)".into());
    for i in 0..10 {
        apply(
            &mut s,
            Event::DockerDown {
                message: "no Docker engine answers".into(),
            },
            t(10 + i * 7),
        );
        apply(
            &mut s,
            Event::RetryIn(Duration::from_secs(7)),
            t(10 + i * 7),
        );
    }
    assert_eq!((s.state, s.since), (State::DockerUnavailable, t(10)));
    assert_eq!(s.error.as_ref().unwrap().kind, ErrorKind::DockerUnavailable);
    assert_eq!(s.next_try_at, Some(t(10 + 9 * 7 + 7)));
    assert_eq!(
        (s.docker_endpoint.as_ref(), s.container.as_ref()),
        (None, None)
    );
    assert_eq!(
        s.last_sync_at,
        Some(t(0)),
        "the POS's file is still described"
    );

    apply(
        &mut s,
        Event::DockerUp {
            endpoint: "unix:///var/run/docker.sock (default)".into(),
        },
        t(100),
    );
    assert_eq!((s.state, s.since), (State::Starting, t(100)));
    assert!(s.error.is_none() && s.next_try_at.is_none());
    assert_eq!(s.detail.as_deref(), Some("Docker is back"));
}

#[test]
fn container_progress_is_the_state_only_before_the_first_sync_or_in_a_reset() {
    let progress = || Event::ContainerStarting {
        detail: "pulling image 45 %".into(),
    };
    let mut s = started();
    s.set_state(State::Error, t(1));
    apply(&mut s, progress(), t(2));
    assert_eq!(
        (s.state, s.detail.as_deref()),
        (State::Starting, Some("pulling image 45 %"))
    );

    let mut s = synced();
    apply(&mut s, progress(), t(2));
    assert_eq!(s.state, State::UpToDate);
    apply(
        &mut s,
        Event::Resetting {
            detail: "resetting: removing the LiteFS container and its data".into(),
        },
        t(3),
    );
    assert_eq!((s.state, s.since), (State::Starting, t(3)));
}

#[test]
fn a_container_failure_is_an_error_only_without_good_data() {
    let failure = || Event::ContainerFailed {
        kind: ErrorKind::ContainerStopped,
        message: "the LiteFS container stopped".into(),
    };
    let mut s = started();
    apply(&mut s, failure(), t(1));
    assert_eq!(s.state, State::Error);
    let mut s = synced();
    apply(&mut s, failure(), t(1));
    assert_eq!(s.state, State::UpToDate);
    assert_eq!(s.error.unwrap().kind, ErrorKind::ContainerStopped);
}

#[test]
fn a_crashed_worker_is_an_internal_error_restarted_later() {
    let mut s = synced();
    apply(
        &mut s,
        Event::WorkerCrashed {
            message: "boom".into(),
            restart_in: Duration::from_secs(2),
        },
        t(10),
    );
    assert_eq!(s.state, State::Error);
    let e = s.error.unwrap();
    assert_eq!(e.kind, ErrorKind::Internal);
    assert!(e.message.contains("boom") && e.message.contains("restarted"));
    assert_eq!(s.next_try_at, Some(t(12)));
}

#[test]
fn plain_facts_are_taken_as_they_come() {
    let mut s = started();
    apply(&mut s, Event::EventsConnected(true), t(1));
    assert!(s.events_connected);
    apply(&mut s, Event::TelemetryDropped(7), t(1));
    assert_eq!(s.telemetry_dropped_spans, 7);
    let info = ContainerInfo {
        name: "c".into(),
        image: "i".into(),
        state: "running".into(),
    };
    apply(&mut s, Event::Container(info.clone()), t(1));
    assert_eq!(s.container, Some(info));
    assert_eq!((s.state, s.since), (State::Starting, t(0)));
}

#[test]
fn a_check_stamped_by_a_clock_that_ran_ahead_is_dropped_once_it_is_corrected() {
    // The clock ran 20 h ahead while the app confirmed the file, then was corrected.
    let ahead = 20 * 3600;
    let mut s = synced();
    apply(&mut s, Event::EventsConnected(true), t(ahead));
    apply(&mut s, tick(), t(ahead + 120));
    assert_eq!(s.last_check_at, Some(t(ahead + 120)));
    // LiteFS goes away and the clock is set right: the future check counts for nothing.
    apply(&mut s, Event::EventsConnected(false), t(ahead + 130));
    apply(&mut s, tick(), t(200));
    assert_eq!(s.last_check_at, None);
    assert_eq!(
        s.state,
        State::UpToDate,
        "the state began at the right time: {s:?}"
    );
    apply(&mut s, tick(), t(200 + STALE_AFTER.as_secs() as i64 + 1));
    assert_eq!(s.state, State::Stale);

    // A state that itself began in the future is stale at once with the source away.
    let mut s = synced();
    s.since = t(ahead);
    s.last_check_at = Some(t(ahead));
    apply(&mut s, tick(), t(300));
    assert_eq!(s.state, State::Stale);

    // With LiteFS's stream live, the check is stamped again by the corrected clock.
    let mut s = synced();
    apply(&mut s, Event::EventsConnected(true), t(1));
    s.last_check_at = Some(t(ahead));
    apply(&mut s, tick(), t(400));
    assert_eq!(s.last_check_at, Some(t(400)));
    assert_eq!(s.state, State::UpToDate);
}

#[test]
fn a_restart_does_not_keep_a_check_from_the_future() {
    let ahead = 20 * 3600;
    let mut s = started();
    apply(
        &mut s,
        Event::Described {
            file: file(0xa, 0),
            earlier: Some(Earlier {
                checksum: Checksum(0xa),
                txid: Some(Txid(0x2f)),
                last_check_at: Some(t(ahead)),
            }),
        },
        t(100),
    );
    assert_eq!(s.last_check_at, None, "not kept with max()");
    assert_eq!(s.txid, Some(Txid(0x2f)));
    // A believable earlier check is kept.
    let mut s = started();
    apply(
        &mut s,
        Event::Described {
            file: file(0xa, 0),
            earlier: Some(Earlier {
                checksum: Checksum(0xa),
                txid: None,
                last_check_at: Some(t(50)),
            }),
        },
        t(100),
    );
    assert_eq!(s.last_check_at, Some(t(50)));
}

#[test]
fn an_announcement_labels_the_file_it_names_only() {
    // Published before its announcement was heard: no TXID yet.
    let mut s = started();
    apply(
        &mut s,
        Event::Published {
            file: file(0xb, 10),
            txid: None,
        },
        t(10),
    );
    assert_eq!(s.txid, None);
    apply(
        &mut s,
        Event::Confirmed {
            txid: 0x30,
            checksum: Checksum(0xc),
        },
        t(11),
    );
    assert_eq!(s.txid, None, "another file's announcement");
    apply(
        &mut s,
        Event::Confirmed {
            txid: 0x31,
            checksum: Checksum(0xb),
        },
        t(12),
    );
    assert_eq!(s.txid, Some(Txid(0x31)));
    assert_eq!(s.last_check_at, Some(t(12)));
}
