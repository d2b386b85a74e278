//! The publish folder is shared with the fleet's provisioning tool, which downloads
//! `<epoch>-Domain.sqlite3` there and renames a download that fails its hash check
//! `<epoch>-BAD-HASH-Domain.sqlite3`. Checked as the POS and a fleet admin would, with
//! litefs-sim (in-process) and the daemon (a real process): retention never deletes those
//! files, and a newer database someone else wrote is not hidden behind an older snapshot.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use voripos_domain_sync::status::State;

const WAIT: Duration = Duration::from_secs(30);

/// A small domain database generated at `generated_at`, as the provisioning tool
/// downloads one.
fn download(path: &Path, generated_at: &str) {
    let db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch(&format!(
        "CREATE TABLE metadata (generated_at TEXT, schema_version TEXT, linked_trace_id TEXT,
           linked_trace_state TEXT, linked_span_id TEXT);
         INSERT INTO metadata VALUES ('{generated_at}', '7', NULL, NULL, NULL);
         CREATE TABLE products (id INTEGER PRIMARY KEY);
         INSERT INTO products VALUES (1);"
    ))
    .unwrap();
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_leaves_the_provisioning_tool_s_files_alone() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let mut config = DaemonConfig::new(root.path(), &sim.url);
    config.keep = 2;
    std::fs::create_dir_all(&config.publish_dir).unwrap();
    let old = now_secs() - 86_400;
    let foreign: Vec<PathBuf> = [
        format!("{old}-Domain.sqlite3"),
        format!("{}-BAD-HASH-Domain.sqlite3", old + 1),
        format!("{}-Domain.sqlite3", old + 2),
    ]
    .iter()
    .map(|name| config.publish_dir.join(name))
    .collect();
    for path in &foreign {
        download(path, "2020-01-01T00:00:00Z");
    }
    let mut daemon = Daemon::start(root.path(), &config);
    let mut ours = Vec::new();
    daemon.wait_synced_to(&sim.sim.position()).await;
    for _ in 0..3 {
        let pos = sim.sim.commit(1).await.unwrap();
        let status = daemon.wait_synced_to(&pos).await;
        ours.push(status.published_path.unwrap());
    }
    // Retention runs after each publish: wait until only the newest 2 of ours remain.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let left: Vec<PathBuf> = published(&config.publish_dir)
            .into_iter()
            .filter(|p| !foreign.contains(p))
            .collect();
        if left == ours[1..] {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{left:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for path in &foreign {
        assert!(path.exists(), "{} was deleted", path.display());
        integrity_check(path).unwrap();
    }
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_database_someone_else_wrote_is_not_hidden_by_an_older_snapshot() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let config = DaemonConfig::new(root.path(), &sim.url);
    let mut daemon = Daemon::start(root.path(), &config);
    daemon.wait_synced_to(&sim.sim.position()).await;

    // The provisioning tool downloads a database generated after anything LiteFS has.
    let theirs = config
        .publish_dir
        .join(format!("{}-Domain.sqlite3", now_secs() + 3600));
    let temp = config.publish_dir.join(".download.tmp");
    download(&temp, "2099-01-01T00:00:00Z");
    std::fs::rename(&temp, &theirs).unwrap();
    // The new file is noticed (and LiteFS moves on meanwhile): the snapshot, older than
    // it, is not published after it; the status describes what the POS reads.
    sim.sim.commit(1).await.unwrap();
    let status = daemon
        .wait_for("the newer file kept as the newest", WAIT, |s| {
            s.state == State::UpToDate && s.published_path.as_ref() == Some(&theirs)
        })
        .await;
    assert_eq!(
        status.metadata.unwrap().generated_at.as_deref(),
        Some("2099-01-01T00:00:00Z")
    );
    assert_eq!(published(&config.publish_dir).last(), Some(&theirs));
    daemon.stop();
}
