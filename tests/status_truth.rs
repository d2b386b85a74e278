//! What the status says after a restart, a stop and a crash: the truth about the data
//! the POS has, and about whether anybody is still keeping it current.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

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
