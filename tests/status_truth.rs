//! What the status says after a restart, a stop and a crash: the truth about the data
//! the POS has, and about whether anybody is still keeping it current.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use voripos_domain_sync::error_kind::{ErrorKind, NextStep};
use voripos_domain_sync::status::{State, Status};

const WAIT: Duration = Duration::from_secs(30);

fn cli_status(root: &std::path::Path, home: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_voripos-domain-sync"))
        .args(["status", "--config"])
        .arg(root.join("config.toml"))
        .env("HOME", home)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_the_published_file_describes_itself_before_litefs_answers() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let mut config = DaemonConfig::new(root.path(), &sim.url);
    let mut daemon = Daemon::start(root.path(), &config);
    let synced = daemon.wait_synced_to(&sim.sim.position()).await;
    daemon.stop();
    let stopped = voripos_domain_sync::status::read_file(&config.status_file).unwrap();
    assert!(!stopped.running, "a clean stop says so");
    assert!(stopped.updated_at >= synced.last_sync_at.unwrap());

    // LiteFS does not answer after the restart (say, Docker is still starting).
    config.url = format!("http://127.0.0.1:{}", free_port());
    let mut daemon = Daemon::start(root.path(), &config);
    let shown = daemon
        .wait_for("the file described", WAIT, |s| s.published_path.is_some())
        .await;
    assert!(shown.running);
    assert_eq!(shown.published_path, synced.published_path);
    assert_eq!(shown.checksum, synced.checksum);
    assert_eq!(shown.metadata, synced.metadata);
    assert_eq!(shown.row_counts, synced.row_counts);
    assert_eq!(
        shown.last_check_at, stopped.last_check_at,
        "Checked: when LiteFS last confirmed this file, not never"
    );
    let was = synced.last_sync_at.unwrap();
    let now = shown
        .last_sync_at
        .expect("the last sync is the file's publish time");
    assert!(
        (now - was).num_seconds().abs() <= 2,
        "last sync {now} vs {was}"
    );
    daemon.kill9();

    // Killed: the status file does not pretend somebody keeps it current.
    let left = voripos_domain_sync::status::read_file(&config.status_file).unwrap();
    assert!(left.running, "nobody said it stopped");
    let home = root.path().join("home");
    std::fs::create_dir_all(home.join("Library/LaunchAgents")).unwrap();
    let (code, _, err) = cli_status(root.path(), &home);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("did not stop cleanly"), "{err}");
    assert!(err.contains("opening the app"), "{err}");

    // On a Mac where Homebrew starts it, that is how to start it again.
    std::fs::write(
        home.join("Library/LaunchAgents/homebrew.mxcl.voripos-domain-sync.plist"),
        b"<plist/>",
    )
    .unwrap();
    let (code, _, err) = cli_status(root.path(), &home);
    assert_eq!(code, 3);
    assert!(
        err.contains("brew services restart voripos-domain-sync"),
        "{err}"
    );
    assert!(
        err.contains("State:"),
        "the last known state is shown: {err}"
    );
}

/// A daemon that has synced `sim` once and stopped cleanly; its last status.
async fn synced_once(root: &std::path::Path) -> (SimServer, DaemonConfig, Status) {
    let sim = SimServer::start(&root.join("litefs"), 1, None).await;
    let config = DaemonConfig::new(root, &sim.url);
    let mut daemon = Daemon::start(root, &config);
    daemon.wait_synced_to(&sim.sim.position()).await;
    daemon.stop();
    let stopped = voripos_domain_sync::status::read_file(&config.status_file).unwrap();
    (sim, config, stopped)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_an_unchanged_database_keeps_the_last_sync_and_shows_it_checked() {
    let root = tempfile::tempdir().unwrap();
    let (sim, config, before) = synced_once(root.path()).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut daemon = Daemon::start(root.path(), &config);
    let after = daemon
        .wait_for("checked with LiteFS", WAIT, |s| {
            s.state == State::UpToDate && s.last_check_at > before.last_check_at
        })
        .await;
    assert_eq!(after.published_path, before.published_path, "nothing new");
    assert_eq!(
        after.last_sync_at, before.last_sync_at,
        "Last sync is the publish"
    );
    // LiteFS at a plain URL names a TXID only in its events: what was known about this
    // very file before the restart is neither lost nor made up.
    // (The first run may have published before LiteFS's event named the TXID, and the
    // second may learn it from an event: known before means known after.)
    if before.txid.is_some() {
        assert_eq!(after.txid, before.txid, "the TXID known before is not lost");
    }
    assert!(
        after.txid.is_none_or(|t| t.0 == sim.sim.position().txid),
        "no TXID is made up"
    );
    assert!(after.error.is_none() && after.metadata.is_some());
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_docker_down_at_start_the_published_file_still_describes_itself() {
    let root = tempfile::tempdir().unwrap();
    let (_sim, mut config, before) = synced_once(root.path()).await;
    // The managed container cannot start: Docker is not there.
    config.container = format!("manage = true\nhost_port = {}\n", free_port());
    config.env = vec![
        ("DOCKER_HOST".into(), "unix:///nonexistent.sock".into()),
        ("LITEFS_CLOUD_TOKEN".into(), "status-truth-token".into()),
    ];
    let mut daemon = Daemon::start(root.path(), &config);
    let shown = daemon
        .wait_for("Docker down, the file described", WAIT, |s| {
            s.state == State::DockerUnavailable && s.published_path.is_some()
        })
        .await;
    assert_eq!(shown.published_path, before.published_path);
    assert_eq!(shown.checksum, before.checksum);
    assert_eq!(shown.metadata, before.metadata);
    assert_eq!(shown.row_counts, before.row_counts);
    let (now, was) = (shown.last_sync_at.unwrap(), before.last_sync_at.unwrap());
    assert!((now - was).num_seconds().abs() <= 2, "{now} vs {was}");
    let error = shown.error.expect("the trouble is named");
    assert_eq!(error.kind, ErrorKind::DockerUnavailable);
    assert_eq!(error.kind.next_step(), NextStep::OpenDocker);
    assert!(shown.next_try_at.is_some(), "it says when it tries again");

    // `status` says it in the same plain words, with the step and when the next try is.
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let (code, out, err) = cli_status(root.path(), &home);
    assert_eq!(code, 0, "{err}");
    for expected in [
        "State:        Docker is not running (since ",
        "Problem:      Docker is not running [docker_unavailable]\n",
        "Next step:    Open Docker Desktop\n",
        "Next try:     ",
        "Last sync:    ",
        "schema 7 · ",
    ] {
        assert!(out.contains(expected), "{expected:?} not in\n{out}");
    }
    assert!(!out.contains("no file published yet"), "{out}");
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_configured_still_shows_the_data_the_pos_has() {
    let root = tempfile::tempdir().unwrap();
    let (_sim, mut config, before) = synced_once(root.path()).await;
    // The store is switched to the cloud source, but its URL and token are not there
    // yet: the app cannot sync, and the POS still reads the file published before.
    config.extra = "[source]\nkind = \"cloud\"\n".into();
    let mut daemon = Daemon::start(root.path(), &config);
    let after = daemon
        .wait_for("not configured, with the published file", WAIT, |s| {
            s.state == State::NotConfigured && s.published_path.is_some()
        })
        .await;
    assert_eq!(after.published_path, before.published_path);
    assert_eq!(
        after.last_sync_at, before.last_sync_at,
        "Last sync is when the file the POS reads was published"
    );
    assert_eq!(after.checksum, before.checksum);
    assert!(after.metadata.is_some() && !after.row_counts.is_empty());
    assert_eq!(after.error.map(|e| e.kind), Some(ErrorKind::NotConfigured));
    daemon.stop();
}
