//! End to end: litefs-sim (in-process) → the headless daemon (a real process) → files
//! in the publish folder, checked the way the POS app and a support person would.

mod common;

use std::time::Duration;

use common::*;
use litefs_sim::Misbehaviour;
use voripos_domain_sync::status::State;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_is_published_verified_and_labelled() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 2, None).await;
    let config = DaemonConfig::new(root.path(), &sim.url);
    let mut daemon = Daemon::start(root.path(), &config);

    let first = daemon.wait_synced_to(&sim.sim.position()).await;
    assert_eq!(published(&config.publish_dir).len(), 1);
    assert!(first.last_sync_at.is_some());

    let pos = sim.sim.commit(1).await.unwrap();
    let status = daemon.wait_synced_to(&pos).await;
    let files = published(&config.publish_dir);
    assert_eq!(files.len(), 2, "one new file for one transaction");
    let newest = files.last().unwrap();
    assert_eq!(status.published_path.as_ref(), Some(newest));
    // The file on disk is exactly LiteFS's database after that transaction.
    assert_eq!(checksum_of(newest), pos.checksum);
    let on_disk = sim.pos_file();
    assert_eq!((on_disk.txid, on_disk.checksum.0), (pos.txid, pos.checksum));
    assert_eq!(status.txid.map(|t| t.0), Some(pos.txid));
    integrity_check(newest).unwrap();
    // The status says what the database is.
    let meta = status.metadata.clone().expect("metadata read");
    assert_eq!(meta.schema_version.as_deref(), Some("7"));
    assert!(meta.generated_at.is_some());
    assert_eq!(status.row_counts.len(), 9);
    assert!(status.row_counts["products"].unwrap() > 100);
    assert!(status.error.is_none());
    assert!(
        hidden(&config.publish_dir).is_empty(),
        "no temp left behind"
    );

    // `status --json` and `verify` agree with the file.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_voripos-domain-sync"))
        .args(["status", "--json", "--config"])
        .arg(root.path().join("config.toml"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["state"], "up_to_date");
    assert_eq!(json["checksum"], format!("{:016x}", pos.checksum));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_voripos-domain-sync"))
        .arg("verify")
        .arg(newest)
        .args(["--expect", &format!("{:016x}", pos.checksum)])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_published_when_nothing_changed() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let config = DaemonConfig::new(root.path(), &sim.url);
    let mut daemon = Daemon::start(root.path(), &config);
    daemon.wait_synced_to(&sim.sim.position()).await;
    let before = published(&config.publish_dir);

    // A restart re-exports at start-up and compares; a safety check runs after the
    // event stream reconnects. Neither may add a file.
    daemon.stop();
    let mut daemon = Daemon::start(root.path(), &config);
    let status = daemon.wait_synced_to(&sim.sim.position()).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(published(&config.publish_dir), before);
    assert_eq!(status.published_path.as_ref(), before.last());
    daemon.stop();
}

/// Each fault: nothing published, the error named in the status; then recovery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_export_fault_publishes_nothing_and_recovers() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let config = DaemonConfig::new(root.path(), &sim.url);
    let mut daemon = Daemon::start(root.path(), &config);
    daemon.wait_synced_to(&sim.sim.position()).await;

    let faults = [
        (Misbehaviour::TruncatedExport, "bad_export"),
        (Misbehaviour::FlippedByte, "checksum_mismatch"),
        (Misbehaviour::BadEventChecksum, "checksum_mismatch"),
        (Misbehaviour::Http500, "litefs_http_error"),
        (Misbehaviour::StalledExport, "export_stalled"),
        // A byte every 100 ms never trips the stall timeout; the rate bound gives up.
        (Misbehaviour::DripExport, "export_too_slow"),
        (Misbehaviour::EndlessErrorBody, "litefs_http_error"),
        // Short waits between bytes, but the whole answer never comes: its deadline gives up.
        (Misbehaviour::DripErrorBody, "litefs_http_error"),
    ];
    for (fault, kind) in faults {
        let before = published(&config.publish_dir);
        let newest_checksum = checksum_of(before.last().unwrap());
        sim.misbehave(fault);
        sim.sim.commit(1).await.unwrap();
        let status = daemon
            .wait_for(&format!("error for {fault:?}"), WAIT, |s| {
                s.state == State::Error && s.error.as_ref().is_some_and(|e| e.kind.as_str() == kind)
            })
            .await;
        let message = &status.error.as_ref().unwrap().message;
        assert!(!message.is_empty());
        // The last good file is untouched and still what the status points at.
        assert_eq!(
            published(&config.publish_dir),
            before,
            "{fault:?} published something"
        );
        assert_eq!(checksum_of(before.last().unwrap()), newest_checksum);
        assert_eq!(status.published_path.as_ref(), before.last());
        sim.misbehave(Misbehaviour::None);
        if fault == Misbehaviour::BadEventChecksum {
            // LiteFS never announced this state correctly, so it can never be
            // confirmed; the next correctly announced transaction is published.
            sim.sim.commit(1).await.unwrap();
        }
        // Otherwise the retry (no new transaction needed) publishes the real state.
        let status = daemon.wait_synced_to(&sim.sim.position()).await;
        assert!(status.error.is_none());
        let files = published(&config.publish_dir);
        assert_eq!(
            checksum_of(files.last().unwrap()),
            sim.sim.position().checksum
        );
        assert!(
            hidden(&config.publish_dir).is_empty(),
            "{fault:?} left a temp file"
        );
    }
    daemon.stop();
}

/// Faults of the event stream never publish anything wrong, and syncing goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_stream_faults_are_survived() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let config = DaemonConfig::new(root.path(), &sim.url);
    let mut daemon = Daemon::start(root.path(), &config);
    daemon.wait_synced_to(&sim.sim.position()).await;

    for fault in [Misbehaviour::GarbageLines, Misbehaviour::CutStream] {
        sim.misbehave(fault);
        let pos = sim.sim.commit(1).await.unwrap();
        // Garbage is skipped and the real event still arrives; a cut line is dropped,
        // the stream reconnects and the catch-up sync finds the transaction.
        daemon.wait_synced_to(&pos).await;
        sim.misbehave(Misbehaviour::None);
        let pos = sim.sim.commit(1).await.unwrap();
        daemon.wait_synced_to(&pos).await;
    }
    for file in published(&config.publish_dir) {
        integrity_check(&file).unwrap();
    }
    let log = daemon.log_text();
    assert!(
        log.contains("skipped an event line"),
        "garbage lines are logged:\n{log}"
    );
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_litefs_is_an_error_that_recovers() {
    let root = tempfile::tempdir().unwrap();
    // Reserve a port, then start nothing on it.
    let port = free_port();
    let config = DaemonConfig::new(root.path(), &format!("http://127.0.0.1:{port}"));
    let mut daemon = Daemon::start(root.path(), &config);
    let status = daemon
        .wait_for("litefs_unreachable", WAIT, |s| {
            s.state == State::Error
                && s.error
                    .as_ref()
                    .is_some_and(|e| e.kind.as_str() == "litefs_unreachable")
        })
        .await;
    assert!(status.last_sync_at.is_none());
    assert!(published(&config.publish_dir).is_empty());

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let mut sim_config = litefs_sim::SimConfig::new(root.path().join("litefs"));
    sim_config.size_mb = 1;
    let sim = litefs_sim::Sim::create(sim_config).unwrap();
    let serving = sim.clone();
    let server = tokio::spawn(async move { serving.serve(listener).await });
    daemon.wait_synced_to(&sim.position()).await;
    daemon.stop();
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_file_deleted_behind_our_back_is_republished() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let config = DaemonConfig::new(root.path(), &sim.url);
    let mut daemon = Daemon::start(root.path(), &config);
    daemon.wait_synced_to(&sim.sim.position()).await;
    let first = published(&config.publish_dir);
    assert_eq!(first.len(), 1);

    std::fs::remove_file(&first[0]).unwrap();
    let status = daemon
        .wait_for("a republish", WAIT, |s| {
            s.state == State::UpToDate && s.published_path.as_ref().is_some_and(|p| p.exists())
        })
        .await;
    let again = published(&config.publish_dir);
    assert_eq!(again.len(), 1);
    assert_eq!(checksum_of(&again[0]), sim.sim.position().checksum);
    assert_eq!(status.state, State::UpToDate);
    daemon.stop();
}

/// *Resync now* through the core's command channel (what the menu and CLI send).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resync_checks_litefs_again_and_quit_stops_the_core() {
    use voripos_domain_sync::host::{environment::Environment, sync_core};
    use voripos_domain_sync::status::board::Board;
    use voripos_domain_sync::{config::Config, control::Request};
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let config_path = root.path().join("config.toml");
    DaemonConfig::new(root.path(), &sim.url).write(&config_path);
    let config = Config::load(&config_path, true).unwrap();
    let board = Board::waiting();
    let core = sync_core::start(&config, &Environment::isolated(root.path()), &board).unwrap();
    let mut status = core.status.clone();
    let synced = status
        .wait_for(|s| s.state == State::UpToDate)
        .await
        .unwrap()
        .clone();
    let checked = synced.last_check_at.unwrap();

    // The status in memory keeps the clock's full resolution: no need to let the
    // second turn.
    let exports = sim.sim.exports();
    core.commands.send(Request::Resync).await.unwrap();
    let after = status
        .wait_for(|s| s.state == State::UpToDate && s.last_check_at.is_some_and(|t| t > checked))
        .await
        .unwrap()
        .clone();
    assert_eq!(
        after.published_path, synced.published_path,
        "nothing new to publish"
    );
    assert_eq!(after.last_sync_at, synced.last_sync_at);
    assert!(sim.sim.exports() > exports, "LiteFS was checked again");

    core.commands.send(Request::Quit).await.unwrap();
    tokio::time::timeout(WAIT, core.stopped())
        .await
        .expect("the core stops on Quit");
}
