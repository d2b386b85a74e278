//! Controlling the running instance from the command line, over its private socket.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::*;
use voripos_domain_sync::status::State;

const WAIT: Duration = Duration::from_secs(30);

fn cli(root: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_voripos-domain-sync"))
        .args(args)
        .arg("--config")
        .arg(root.join("config.toml"))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_asks_the_running_instance() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let config = DaemonConfig::new(root.path(), &sim.url);
    let mut daemon = Daemon::start(root.path(), &config);
    let synced = daemon.wait_synced_to(&sim.sim.position()).await;

    let out = cli(root.path(), &["status", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["state"], "up_to_date");
    assert_eq!(json["pid"], daemon.child.id());

    // Resync: LiteFS is checked again (one more export), nothing new is published.
    let exports = sim.sim.exports();
    let out = cli(root.path(), &["resync"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = after_next_export(&sim.sim, exports, WAIT, || {
        let out = cli(root.path(), &["status", "--json"]);
        serde_json::from_slice(&out.stdout).ok()
    })
    .await;
    assert!(after.last_check_at >= synced.last_check_at);
    assert_eq!(after.published_path, synced.published_path);
    assert_eq!(
        after.last_sync_at, synced.last_sync_at,
        "nothing new to publish"
    );

    // Reset needs a managed container; without one the instance resyncs and says so.
    let out = cli(root.path(), &["reset", "--yes"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(root.path(), &["reset"]);
    assert_eq!(out.status.code(), Some(1), "no terminal to confirm on");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));

    let out = cli(root.path(), &["quit"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exit = tokio::task::spawn_blocking(move || {
        let status = daemon.child.wait().unwrap();
        (status, daemon)
    })
    .await
    .unwrap();
    assert!(exit.0.success(), "the instance stopped cleanly");
    assert!(exit
        .1
        .log_text()
        .contains("reset needs a managed container"));
    assert_eq!(cli(root.path(), &["status"]).status.code(), Some(3));
    assert_eq!(cli(root.path(), &["resync"]).status.code(), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_launch_does_not_start_a_second_manager() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let config = DaemonConfig::new(root.path(), &sim.url);
    let mut first = Daemon::start(root.path(), &config);
    first
        .wait_for("up to date", WAIT, |s| s.state == State::UpToDate)
        .await;

    let second = Command::new(env!("CARGO_BIN_EXE_voripos-domain-sync"))
        .args(["run", "--headless", "--config"])
        .arg(root.path().join("config.toml"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("already running"));
    // The first one is untouched and still answers.
    let out = cli(root.path(), &["status", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["pid"], first.child.id());

    // Its socket is private to the user.
    let socket = config.status_file.with_file_name("control.sock");
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "socket mode {mode:o}");
    let folder = std::fs::metadata(socket.parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(folder & 0o777, 0o700, "folder mode {folder:o}");

    // A killed instance leaves its socket behind; the next start replaces it.
    first.kill9();
    assert!(socket.exists());
    let mut next = Daemon::start(root.path(), &config);
    next.wait_for("up to date", WAIT, |s| s.state == State::UpToDate)
        .await;
    assert!(cli(root.path(), &["status"]).status.success());
    next.stop();
}
