//! What the app reads from a database file is information, bounded in time: a published
//! file whose `metadata` is a view over an endless query neither keeps the app in
//! "starting" nor makes it deaf to SIGTERM, and the status names what it could not read.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use voripos_domain_sync::status::State;

const WAIT: Duration = Duration::from_secs(30);

/// A view that never ends when read.
const ENDLESS: &str =
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n";

/// Puts a versioned file (named a minute ago) in `dir` whose `metadata` and `offers` are
/// views over an endless query; quick_check passes it.
fn hostile_published_file(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let path = dir.join(format!("{}-Domain.sqlite3", now.as_secs() - 60));
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(&format!(
        "CREATE TABLE products (id INTEGER PRIMARY KEY);
         INSERT INTO products DEFAULT VALUES;
         CREATE VIEW offers AS {ENDLESS};
         CREATE VIEW metadata AS
           SELECT i AS schema_version, i AS generated_at FROM ({ENDLESS}) ORDER BY i DESC;"
    ))
    .unwrap();
    drop(conn);
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_file_whose_metadata_never_ends_holds_neither_the_start_nor_sigterm() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("sim"), 1, None).await;
    let config = DaemonConfig::new(root.path(), &sim.url);
    let hostile = hostile_published_file(&config.publish_dir);

    let mut daemon = Daemon::start(root.path(), &config);
    let status = daemon.wait_synced_to(&sim.sim.position()).await;

    assert_ne!(status.published_path.as_deref(), Some(hostile.as_path()));
    assert!(status.unread.is_empty(), "{:?}", status.unread);
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_core_that_cannot_sync_names_what_it_could_not_read_and_still_stops() {
    let root = tempfile::tempdir().unwrap();
    let mut config = DaemonConfig::new(root.path(), "http://127.0.0.1:9");
    config.extra = "[source]\nkind = \"cloud\"\n[cloud]\nurl = \"http://127.0.0.1:9\"\n".into();
    let hostile = hostile_published_file(&config.publish_dir);

    let mut daemon = Daemon::start(root.path(), &config);
    let status = daemon
        .wait_for("the hostile file described", WAIT, |s| {
            s.published_path.as_deref() == Some(hostile.as_path())
        })
        .await;

    assert_eq!(status.state, State::NotConfigured);
    assert_eq!(status.row_counts.get("products"), Some(&Some(1)));
    assert!(!status.row_counts.contains_key("offers"));
    assert!(
        status.unread.iter().any(|u| u.starts_with("metadata:"))
            && status.unread.iter().any(|u| u.contains("\"offers\"")),
        "{:?}",
        status.unread
    );
    daemon.stop();
}
