//! The menu's tests: the model, its words, icons and dialog texts, as a user sees them.

use std::path::PathBuf;

use chrono::FixedOffset;

use super::*;
use crate::inspect::Metadata;
use crate::status::{ContainerInfo, ErrorInfo, Txid};
use crate::tray::recent_errors::RecentErrors;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Times are shown an hour ahead of UTC in these tests.
fn tz() -> FixedOffset {
    FixedOffset::east_opt(3600).unwrap()
}

fn synced() -> Status {
    let mut s = Status::starting("http://127.0.0.1:20202", t("2026-11-25T13:00:00Z"));
    s.set_state(State::UpToDate, t("2026-11-25T13:03:12Z"));
    s.detail = None;
    s.last_sync_at = Some(t("2026-11-25T13:03:12Z"));
    s.last_check_at = Some(t("2026-11-25T13:04:00Z"));
    s.txid = Some(Txid(0x2f));
    s.published_path = Some(PathBuf::from("/pos/1764079392-Domain.sqlite3"));
    s.metadata = Some(Metadata {
        schema_version: Some("7".into()),
        generated_at: Some("2026-11-25T12:58:00Z".into()),
        ..Default::default()
    });
    s.row_counts.insert("products".into(), Some(51234));
    s.row_counts.insert("offers".into(), None);
    s
}

fn in_state(state: State) -> Status {
    let mut s = synced();
    s.set_state(state, t("2026-11-25T13:05:00Z"));
    s
}

/// Two minutes after the sync.
fn now() -> DateTime<Utc> {
    t("2026-11-25T13:05:12Z")
}

fn menu(s: &Status) -> MenuModel {
    MenuModel::from_status(s, now(), &tz(), LaunchAtLogin::Off)
}

fn action(m: &MenuModel, wanted: ActionId) -> (String, bool) {
    m.items
        .iter()
        .find_map(|i| match i {
            Item::Action { id, label, enabled } if *id == wanted => Some((label.clone(), *enabled)),
            _ => None,
        })
        .unwrap()
}

fn rows(m: &MenuModel) -> Vec<String> {
    m.items
        .iter()
        .find_map(|i| match i {
            Item::Submenu { label, items } if label == "Rows" => Some(
                items
                    .iter()
                    .map(|i| match i {
                        Item::Label(l) => l.clone(),
                        other => panic!("not a label: {other:?}"),
                    })
                    .collect(),
            ),
            _ => None,
        })
        .unwrap()
}

fn label(text: &str) -> Item {
    Item::Label(text.into())
}

fn act(id: ActionId, label: &str, enabled: bool) -> Item {
    Item::Action {
        id,
        label: label.into(),
        enabled,
    }
}

#[test]
fn the_synced_menu_item_by_item() {
    let m = menu(&synced());
    assert_eq!(m.headline, "Up to date");
    assert_eq!(m.icon, IconKind::Ok);
    assert_eq!(m.tooltip, "VoriPOS Domain Sync: Up to date");
    let expected = vec![
        act(ActionId::Details, "Up to date", true),
        Item::Separator,
        label("Last sync: 14:03:12 (2 min ago)"),
        label("Checked with LiteFS: 14:04:00 (1 min ago)"),
        label("Database: schema 7 · generated 25 Nov 13:58 · TXID 2f"),
        Item::Submenu {
            label: "Rows".into(),
            items: vec![label("offers: missing"), label("products: 51,234")],
        },
        act(ActionId::RevealFile, "1764079392-Domain.sqlite3", true),
        Item::Separator,
        act(ActionId::Resync, "Resync now", true),
        act(ActionId::Reset, "Reset…", true),
        Item::Separator,
        act(ActionId::OpenLogs, "Open logs", true),
        act(ActionId::CopyDiagnostics, "Copy diagnostics", true),
        Item::Check {
            id: ActionId::LaunchAtLogin,
            label: "Launch at login".into(),
            checked: false,
            enabled: true,
        },
        Item::Separator,
        act(ActionId::About, "About voripos-domain-sync 0.5.0", true),
        act(ActionId::Quit, "Quit (stops syncing)", true),
    ];
    assert_eq!(m.items, expected);
    assert_eq!(
        m.text(),
        "Up to date | Last sync: 14:03:12 (2 min ago) | Checked with LiteFS: 14:04:00 \
         (1 min ago) | Database: schema 7 · generated 25 Nov 13:58 · TXID 2f | [Rows: \
         offers: missing, products: 51,234] | 1764079392-Domain.sqlite3 | Resync now | \
         Reset… | Open logs | Copy diagnostics | Launch at login | About \
         voripos-domain-sync 0.5.0 | Quit (stops syncing)"
    );
}

#[test]
fn every_state_has_its_headline_icon_and_tooltip() {
    let cases = [
        (State::UpToDate, "Up to date", IconKind::Ok),
        (State::Syncing, "Syncing…", IconKind::Syncing),
        (State::Starting, "Starting…", IconKind::Syncing),
        (
            State::Stale,
            "Stale — the POS has data from 2 min ago",
            IconKind::Stale,
        ),
        (
            State::Error,
            "Sync stopped — click for details",
            IconKind::Error,
        ),
        (
            State::DockerUnavailable,
            "Docker is not running",
            IconKind::Off,
        ),
        (
            State::NotConfigured,
            "Sync is not set up on this Mac",
            IconKind::Off,
        ),
    ];
    for (state, headline, icon) in cases {
        let m = menu(&in_state(state));
        assert_eq!(m.headline, headline, "{state:?}");
        assert_eq!(m.icon, icon, "{state:?}");
        assert_eq!(icon_kind(state), icon, "{state:?}");
        assert_eq!(m.tooltip, format!("VoriPOS Domain Sync: {headline}"));
        // Readable, not greyed: a click shows the details.
        assert_eq!(
            m.items[0],
            act(ActionId::Details, headline, true),
            "{state:?}"
        );
    }
}

#[test]
fn clicks_are_answered_in_the_menu() {
    let mut s = synced();
    let mut feedback = Feedback::default();
    let shown = |s: &Status, f: &Feedback, now| {
        MenuModel::from_status(s, now, &tz(), LaunchAtLogin::Off).with_feedback(f, now)
    };
    assert_eq!(shown(&s, &feedback, now()), menu(&s));

    feedback.copied(now());
    feedback.resync_sent(&s, now());
    let m = shown(&s, &feedback, now());
    assert_eq!(
        action(&m, ActionId::CopyDiagnostics),
        ("Copied ✓ — paste it into the ticket".into(), true)
    );
    assert_eq!(action(&m, ActionId::Resync), ("Checking…".into(), true));

    // The core confirms the file is current: nothing new.
    let later = now() + chrono::Duration::seconds(2);
    s.last_check_at = Some(later);
    feedback.observe(&s, later);
    let m = shown(&s, &feedback, later);
    assert_eq!(
        action(&m, ActionId::Resync),
        ("Checked — nothing new".into(), true)
    );

    feedback.reset_sent(later);
    let m = shown(&s, &feedback, later);
    assert_eq!(action(&m, ActionId::Reset), ("Reset started".into(), false));

    // A while later everything reads as before.
    let much_later = later + chrono::Duration::seconds(60);
    feedback.observe(&s, much_later);
    assert_eq!(
        shown(&s, &feedback, much_later),
        MenuModel::from_status(&s, much_later, &tz(), LaunchAtLogin::Off)
    );
}

#[test]
fn the_source_is_named_as_support_knows_it() {
    let mut s = synced();
    assert_eq!(source_name(&s), "LiteFS");
    s.docker_endpoint = Some("unix:///var/run/docker.sock (default)".into());
    assert_eq!(source_name(&s), "LiteFS in Docker");
    s.docker_endpoint = None;
    s.state = State::DockerUnavailable;
    assert_eq!(source_name(&s), "LiteFS in Docker");
    s.source = crate::config::SourceKind::Cloud;
    assert_eq!(source_name(&s), "LiteFS Cloud");
}

#[test]
fn stale_headline_counts_hours_since_the_last_sync() {
    let s = in_state(State::Stale);
    let later = t("2026-11-25T15:20:00Z");
    assert_eq!(headline(&s, later), "Stale — the POS has data from 2 h ago");
    let mut never = s.clone();
    never.last_sync_at = None;
    assert_eq!(
        headline(&never, later),
        "Stale — the POS has no data from this app yet"
    );
}

#[test]
fn starting_shows_the_pull_percentage_and_other_details() {
    let mut s = Status::starting("http://127.0.0.1:20202", now());
    s.detail = Some("pulling image 45 %".into());
    let m = menu(&s);
    assert_eq!(m.headline, "Starting — pulling image 45 %");
    assert_eq!(m.icon, IconKind::Syncing);
    s.detail = Some("creating the LiteFS container".into());
    assert_eq!(
        headline(&s, now()),
        "Starting — creating the LiteFS container"
    );
    s.detail = Some("  ".into());
    assert_eq!(headline(&s, now()), "Starting…");
    // No URL in the headline: that is for the details.
    s.detail = Some("waiting for LiteFS at http://127.0.0.1:20202".into());
    assert_eq!(headline(&s, now()), "Starting…");
}

#[test]
fn docker_unavailable_disables_resync_and_reset() {
    let mut s = in_state(State::DockerUnavailable);
    s.detail = Some("no Docker engine answered".into());
    let m = menu(&s);
    assert_eq!(m.headline, "Docker is not running");
    assert_eq!(m.icon, IconKind::Off);
    // The next step, right under the headline: on a Mac, a click opens Docker.
    assert_eq!(
        step_items(&s, NextStep::OpenDocker, true, now()),
        [act(
            ActionId::NextStep(NextStep::OpenDocker),
            "Open Docker Desktop",
            true
        )]
    );
    assert_eq!(
        step_items(&s, NextStep::OpenDocker, false, now()),
        [label("Start the Docker engine")]
    );
    assert_eq!(
        m.items[1],
        step_items(&s, NextStep::OpenDocker, cfg!(target_os = "macos"), now())[0]
    );
    assert_eq!(action(&m, ActionId::Resync), ("Resync now".into(), false));
    assert_eq!(action(&m, ActionId::Reset), ("Reset…".into(), false));
    assert!(action(&m, ActionId::CopyDiagnostics).1);
}

#[test]
fn not_configured_disables_resync_and_reset() {
    let s = Status {
        state: State::NotConfigured,
        ..Status::starting("http://127.0.0.1:20202", now())
    };
    let m = menu(&s);
    assert_eq!(m.headline, "Sync is not set up on this Mac");
    assert_eq!(m.icon, IconKind::Off);
    // What to do and whom to call; a click shows the details to read out.
    assert_eq!(
        m.items[1],
        act(
            ActionId::NextStep(NextStep::ShowDetails),
            "Ask Vori support to install the sync token…",
            true
        )
    );
    assert!(!action(&m, ActionId::Resync).1);
    assert!(!action(&m, ActionId::Reset).1);
    for id in [ActionId::OpenLogs, ActionId::About, ActionId::Quit] {
        assert!(action(&m, id).1, "{id:?}");
    }
}

#[test]
fn before_the_first_sync_nothing_is_invented() {
    let m = menu(&Status::starting("http://127.0.0.1:20202", now()));
    assert_eq!(m.items[2], label("Last sync: never"));
    assert_eq!(m.items[3], label("Checked with LiteFS: never"));
    let cloud = Status {
        source: crate::config::SourceKind::Cloud,
        ..Status::starting("https://backup.example", now())
    };
    assert_eq!(
        menu(&cloud).items[3],
        label("Checked with LiteFS Cloud: never")
    );
    assert!(about(&cloud)
        .1
        .ends_with("LiteFS Cloud: https://backup.example"));
    assert_eq!(
        m.items[4],
        label("Database: schema unknown · generated unknown · TXID unknown")
    );
    assert_eq!(rows(&m), ["not counted yet"]);
    assert_eq!(
        action(&m, ActionId::RevealFile),
        ("No file published yet".into(), false)
    );
}

#[test]
fn row_counts_get_thousands_separators_and_missing_tables_say_so() {
    let mut s = synced();
    s.row_counts.insert("prices".into(), Some(12_345_678));
    s.row_counts.insert("stores".into(), Some(0));
    s.row_counts.insert("taxes".into(), Some(999));
    assert_eq!(
        rows(&menu(&s)),
        [
            "offers: missing",
            "prices: 12,345,678",
            "products: 51,234",
            "stores: 0",
            "taxes: 999"
        ]
    );
    assert_eq!(thousands(1_000), "1,000");
    assert_eq!(thousands(100_000), "100,000");
    assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
}

#[test]
fn errors_read_in_plain_words_with_one_step_and_the_details_in_full() {
    let mut s = in_state(State::Error);
    let message = "the LiteFS container started but its API did not answer at \
                   http://127.0.0.1:20202 within 120s";
    s.error = Some(ErrorInfo {
        kind: ErrorKind::LiteFsUnreachable,
        message: message.into(),
    });
    let m = menu(&s);
    assert_eq!(m.headline, "Can't reach the sync service");
    assert_eq!(
        m.items[..3],
        [
            act(ActionId::Details, "Can't reach the sync service", true),
            label("Retrying by itself meanwhile"),
            act(
                ActionId::NextStep(NextStep::ShowDetails),
                "Show details…",
                true
            ),
        ]
    );
    // The details: the full error, never cut, the step and the log.
    let (title, text) = details(&s, now(), &tz(), std::path::Path::new("/logs"));
    assert_eq!(title, "VoriPOS Domain Sync: details");
    for expected in [
        "Can't reach the sync service\nSince: 14:05:00 (12 s ago)",
        &format!("What went wrong: {message}\n(litefs_unreachable)"),
        "What to do: Show details…",
        "Syncing from LiteFS at http://127.0.0.1:20202",
        "The log is in /logs",
    ] {
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }

    // When the next try is known, it counts down.
    s.next_try_at = Some(now() + chrono::Duration::milliseconds(11_500));
    assert_eq!(menu(&s).items[1], label("Retrying by itself in 12 s"));
    assert_eq!(next_refresh(&s, now()), Duration::from_millis(501));
    s.next_try_at = Some(now());
    assert_eq!(menu(&s).items[1], label("Retrying by itself now"));
    s.next_try_at = None;

    // A trouble that passes by itself says so, and offers nothing to click.
    s.error.as_mut().unwrap().kind = ErrorKind::ExportStalled;
    let m = menu(&s);
    assert_eq!(m.headline, "The download stopped halfway");
    assert_eq!(m.items[1], label("Nothing to do: it retries by itself"));
    assert_eq!(m.items[2], Item::Separator);

    // A damaged database: its step is the reset, which asks first.
    s.error.as_mut().unwrap().kind = ErrorKind::QuickCheckFailed;
    let m = menu(&s);
    assert_eq!(
        m.items[2],
        act(ActionId::NextStep(NextStep::Reset), "Reset…", true)
    );
}

#[test]
fn long_details_are_cut_at_a_word_boundary() {
    let long = "the LiteFS container started but its API did not answer at \
                http://127.0.0.1:20202 within 120s";
    assert_eq!(
        shorten(long, 60),
        "the LiteFS container started but its API did not answer at…"
    );
    assert_eq!(shorten("disk full", 60), "disk full");
    // Only the first line, and its trailing punctuation goes before the "…".
    assert_eq!(
        shorten("cannot verify the download:\nchecksum mismatch", 60),
        "cannot verify the download…"
    );
    // One word longer than the room is cut inside it.
    assert_eq!(
        shorten(&"x".repeat(100), 60),
        format!("{}…", "x".repeat(59))
    );
}

#[test]
fn a_stale_menu_says_since_when_and_what_to_do() {
    let mut s = in_state(State::Stale);
    let m = menu(&s);
    assert_eq!(m.headline, "Stale — the POS has data from 2 min ago");
    assert_eq!(
        m.items[1],
        act(
            ActionId::NextStep(NextStep::ShowDetails),
            "Show details…",
            true
        )
    );
    s.error = Some(ErrorInfo {
        kind: ErrorKind::DiskFull,
        message: "no space left on device".into(),
    });
    assert_eq!(
        menu(&s).items[1],
        act(
            ActionId::NextStep(NextStep::ShowDetails),
            "Free up disk space on this Mac…",
            true
        )
    );
}

#[test]
fn missing_metadata_fields_and_odd_times() {
    let mut s = synced();
    s.metadata = Some(Metadata::default());
    s.txid = None;
    assert_eq!(
        menu(&s).items[4],
        label("Database: schema missing · generated missing · TXID unknown")
    );
    // SQLite's own format, and text that is no time at all (shown as is).
    s.metadata.as_mut().unwrap().generated_at = Some("2026-11-25 12:58:00".into());
    assert!(database(&s).contains("generated 25 Nov 13:58"));
    s.metadata.as_mut().unwrap().generated_at = Some("yesterday".into());
    assert!(database(&s).contains("generated yesterday"));
    // Another year (in the local time zone) is named.
    s.metadata.as_mut().unwrap().generated_at = Some("2025-12-31T23:30:00Z".into());
    assert!(
        database(&s).contains("generated 1 Jan 00:30"),
        "{}",
        database(&s)
    );
    s.metadata.as_mut().unwrap().generated_at = Some("2025-12-31T22:30:00Z".into());
    assert!(
        database(&s).contains("generated 31 Dec 2025 23:30"),
        "{}",
        database(&s)
    );
}

fn database(s: &Status) -> String {
    match &menu(s).items[4] {
        Item::Label(l) => l.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_old_last_sync_names_its_day() {
    let s = synced();
    let m = MenuModel::from_status(&s, t("2026-11-26T13:03:00Z"), &tz(), LaunchAtLogin::Off);
    assert_eq!(m.items[2], label("Last sync: 14:03:12 (23 h ago)"));
    let m = MenuModel::from_status(
        &s,
        t("2026-11-26T13:03:00Z") + chrono::Duration::minutes(1),
        &tz(),
        LaunchAtLogin::Off,
    );
    assert_eq!(m.items[2], label("Last sync: 25 Nov 14:03:12 (1 day ago)"));
    let m = MenuModel::from_status(&s, t("2027-01-02T10:00:00Z"), &tz(), LaunchAtLogin::Off);
    assert_eq!(
        m.items[2],
        label("Last sync: 25 Nov 2026 14:03:12 (37 days ago)")
    );
}

#[test]
fn launch_at_login_follows_its_state() {
    let check = |state| {
        MenuModel::from_status(&synced(), now(), &tz(), state)
            .items
            .into_iter()
            .find(|i| matches!(i, Item::Check { .. }))
            .unwrap()
    };
    let item = |label: &str, checked, enabled| Item::Check {
        id: ActionId::LaunchAtLogin,
        label: label.into(),
        checked,
        enabled,
    };
    assert_eq!(
        check(LaunchAtLogin::Off),
        item("Launch at login", false, true)
    );
    assert_eq!(
        check(LaunchAtLogin::On),
        item("Launch at login", true, true)
    );
    assert_eq!(
        check(LaunchAtLogin::ByHomebrew),
        item("Launch at login (by Homebrew services)", true, false)
    );
    assert_eq!(
        check(LaunchAtLogin::Unavailable),
        item("Launch at login (macOS only)", false, false)
    );
}

#[test]
fn quit_says_what_it_does() {
    let quit = |state| {
        let m = MenuModel::from_status(&synced(), now(), &tz(), state);
        m.items
            .into_iter()
            .find_map(|i| match i {
                Item::Action {
                    id: ActionId::Quit,
                    label,
                    ..
                } => Some(label),
                _ => None,
            })
            .unwrap()
    };
    assert_eq!(
        quit(LaunchAtLogin::On),
        "Quit (stops syncing until next login)"
    );
    assert_eq!(
        quit(LaunchAtLogin::ByHomebrew),
        "Quit (stops syncing until next login)"
    );
    assert_eq!(quit(LaunchAtLogin::Off), "Quit (stops syncing)");
    assert_eq!(quit(LaunchAtLogin::Unavailable), "Quit (stops syncing)");
}

#[test]
fn refresh_waits_for_the_next_change_of_the_relative_time() {
    let mut s = synced();
    s.last_check_at = None;
    let last = s.last_sync_at.unwrap();
    let at = |ms: i64| last + chrono::Duration::milliseconds(ms);
    assert_eq!(next_refresh(&s, at(12_250)), Duration::from_millis(750));
    assert_eq!(next_refresh(&s, at(59_000)), Duration::from_secs(1));
    assert_eq!(next_refresh(&s, at(120_000)), Duration::from_secs(60));
    assert_eq!(next_refresh(&s, at(150_500)), Duration::from_millis(29_500));
    assert_eq!(
        next_refresh(&s, at(7_200_000 + 60_000)),
        Duration::from_secs(3_540)
    );
    // Days would wait longer than the cap.
    assert_eq!(next_refresh(&s, at(90_000_000)), MAX_REFRESH);
    // A sync in the future (clock moved back) shows 0 s until it is reached.
    assert_eq!(next_refresh(&s, at(-2_000)), Duration::from_secs(2));
    s.last_sync_at = None;
    assert_eq!(next_refresh(&s, now()), MAX_REFRESH);
    // The check's age counts too: whichever changes first.
    s.last_sync_at = Some(last);
    s.last_check_at = Some(last + chrono::Duration::milliseconds(300));
    assert_eq!(next_refresh(&s, at(120_000)), Duration::from_millis(300));
}

#[test]
fn after_the_wait_the_menu_changes_and_not_before() {
    let s = in_state(State::Stale);
    let last = s.last_sync_at.unwrap();
    let mut changes = 0;
    for ms in (0..200_000_000_i64)
        .step_by(7_777_777)
        .chain([59_999, 3_599_999, 86_399_999])
    {
        let now = last + chrono::Duration::milliseconds(ms);
        let shown = MenuModel::from_status(&s, now, &tz(), LaunchAtLogin::Off);
        let wait = chrono::Duration::from_std(next_refresh(&s, now)).unwrap();
        let before = now + wait - chrono::Duration::milliseconds(1);
        let same = MenuModel::from_status(&s, before, &tz(), LaunchAtLogin::Off);
        assert_eq!(shown, same, "changed before the wait at {ms} ms");
        if wait < chrono::Duration::from_std(MAX_REFRESH).unwrap() {
            let after = MenuModel::from_status(&s, now + wait, &tz(), LaunchAtLogin::Off);
            assert_ne!(shown, after, "no change after the wait at {ms} ms");
            changes += 1;
        }
    }
    assert!(changes > 3);
}

#[test]
fn diagnostics_show_status_versions_endpoint_and_error() {
    let mut s = in_state(State::Error);
    s.error = Some(ErrorInfo {
        kind: crate::error_kind::ErrorKind::ChecksumMismatch,
        message: "checksum mismatch: expected 83b05248774ce767".into(),
    });
    s.docker_endpoint = Some("unix:///Users/pos/.colima/default/docker.sock (colima)".into());
    s.container = Some(ContainerInfo {
        name: "voripos-litefs".into(),
        image: "flyio/litefs:0.5".into(),
        state: "running".into(),
    });
    let mut recent = RecentErrors::default();
    recent.observe(&s);
    let text = diagnostics(&s, &recent, now());
    assert!(text.starts_with("voripos-domain-sync 0.5.0 diagnostics at 2026-11-25T13:05:12Z\n"));
    assert!(text.contains(&s.render(now())), "{text}");
    for expected in [
        "App version:      0.5.0 (core 0.5.0, pid ",
        "Docker endpoint:  unix:///Users/pos/.colima/default/docker.sock (colima)\n",
        "Container:        voripos-litefs (running, image flyio/litefs:0.5)\n",
        "LiteFS:           http://127.0.0.1:20202\n",
        "Recent errors:    2026-11-25T13:05:00Z (12 s ago) checksum mismatch: expected 83b05248774ce767 [checksum_mismatch]\n",
    ] {
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }
    s.error = None;
    s.docker_endpoint = None;
    let text = diagnostics(&s, &RecentErrors::default(), now());
    assert!(text.contains("Recent errors:    none\n"), "{text}");
    assert!(text.contains("Docker endpoint:  none\n"), "{text}");
}

#[test]
fn diagnostics_contain_nothing_token_like() {
    // A status as full as it gets, none of its fields holding a token: what is shown
    // must not hold one either (nothing read from the environment, config or .env).
    let mut s = in_state(State::Error);
    s.error = Some(ErrorInfo {
        kind: crate::error_kind::ErrorKind::CloudTokenRejected,
        message: "LiteFS Cloud rejected the token (401); check LITEFS_CLOUD_TOKEN".into(),
    });
    s.docker_endpoint = Some("unix:///var/run/docker.sock (default)".into());
    s.container = Some(ContainerInfo {
        name: "voripos-litefs".into(),
        image: "flyio/litefs:0.5".into(),
        state: "running".into(),
    });
    s.checksum = Some(crate::litefs::Checksum(0x83b0_5248_774c_e767));
    let mut recent = RecentErrors::default();
    recent.observe(&s);
    let text = diagnostics(&s, &recent, now());
    let token_like = |w: &str| {
        w.len() >= 24
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-+=,".contains(c))
    };
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || "/.:()[]\"'".contains(c))
        .filter(|w| token_like(w))
        .collect();
    assert!(words.is_empty(), "token-like {words:?} in\n{text}");
    for marker in ["FlyV1", "fm2_", "Bearer", "token="] {
        assert!(!text.contains(marker), "{marker} in\n{text}");
    }
}

#[test]
fn about_names_the_version_and_a_core_of_another_version() {
    let mut s = synced();
    let (title, text) = about(&s);
    assert_eq!(title, "About VoriPOS Domain Sync");
    assert!(text.starts_with("voripos-domain-sync 0.5.0\n\n"), "{text}");
    assert!(text.ends_with("LiteFS: http://127.0.0.1:20202"), "{text}");
    s.app_version = "0.0.9".into();
    assert!(about(&s)
        .1
        .starts_with("voripos-domain-sync 0.5.0 (core 0.0.9)\n"));
}

#[test]
fn managed_settings_are_named_in_the_menu_and_about() {
    let mut s = synced();
    let plain = MenuModel::from_status(&s, now(), &Utc, LaunchAtLogin::On);
    assert!(!plain.text().contains("Managed by"), "{}", plain.text());
    s.managed_by = Some("Vori IT".into());
    let model = MenuModel::from_status(&s, now(), &Utc, LaunchAtLogin::On);
    let at = model
        .items
        .iter()
        .position(|i| *i == Item::Label("Managed by Vori IT".into()))
        .expect("the managed line");
    assert!(matches!(
        model.items[at + 1],
        Item::Action {
            id: ActionId::About,
            ..
        }
    ));
    assert!(about(&s)
        .1
        .ends_with("Managed by Vori IT: settings come from a configuration profile."));
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes(b.try_into().unwrap());
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

#[test]
fn every_icon_exists_is_embedded_and_has_its_size() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/icons");
    for kind in IconKind::ALL {
        for (retina, size) in [(false, 18), (true, 36)] {
            let name = icon_file(kind, retina);
            let on_disk = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(icon_png(kind, retina), on_disk.as_slice(), "{name}");
            assert_eq!(png_size(&on_disk), (size, size), "{name}");
            // RGBA, 8 bits per channel: a template image needs its alpha.
            assert_eq!((on_disk[24], on_disk[25]), (8, 6), "{name}");
        }
    }
}
