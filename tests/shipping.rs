//! What the installed app relies on: log files in the platform's folder without the
//! token (and, as a launchd job, not a second copy in launchd's never-rotated stderr
//! file), and a config file that is broken and then fixed while the app runs.

mod common;

use std::time::Duration;

use common::*;
use voripos_domain_sync::status::State;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_logs_to_daily_files_without_the_token() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let mut config = DaemonConfig::new(root.path(), &sim.url);
    config
        .env
        .push(("LITEFS_CLOUD_TOKEN".into(), "log-secret-31337".into()));
    config.extra = "[telemetry]\nenabled = false\n".into();
    let mut daemon = Daemon::start(root.path(), &config);
    daemon.wait_synced_to(&sim.sim.position()).await;
    daemon.stop();

    let logs = data_home(root.path()).join("voripos-domain-sync/logs");
    let files: Vec<_> = std::fs::read_dir(&logs)
        .unwrap_or_else(|e| panic!("no log folder {}: {e}", logs.display()))
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().to_string();
    assert!(
        name.starts_with("voripos-domain-sync.") && name.ends_with(".log"),
        "{name}"
    );
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(text.contains("sync core started"), "{text}");
    assert!(!text.contains('\u{1b}'), "no colour codes in the file");
    assert!(!text.contains("log-secret"), "{text}");
    assert!(!daemon.log_text().contains("log-secret"));
    assert!(
        !daemon
            .log_text()
            .contains("Error reading the log directory"),
        "a first start writes no complaint about the new log folder"
    );
}

/// The one log file of the day in `root`'s log folder.
fn daily_log(root: &std::path::Path) -> String {
    let logs = data_home(root).join("voripos-domain-sync/logs");
    let files: Vec<_> = std::fs::read_dir(&logs)
        .unwrap_or_else(|e| panic!("no log folder {}: {e}", logs.display()))
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    std::fs::read_to_string(&files[0]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_a_launchd_job_the_lines_are_written_once() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let mut config = DaemonConfig::new(root.path(), &sim.url);
    // What launchd sets for `brew services`; stderr is a file, as launchd's
    // StandardErrorPath makes it.
    config.env.push((
        "XPC_SERVICE_NAME".into(),
        "homebrew.mxcl.voripos-domain-sync".into(),
    ));
    config.extra = "[telemetry]\nenabled = false\n".into();
    let mut daemon = Daemon::start(root.path(), &config);
    daemon.wait_synced_to(&sim.sim.position()).await;
    daemon.stop();

    assert!(daily_log(root.path()).contains("sync core started"));
    let stderr = daemon.log_text();
    assert!(!stderr.contains("sync core started"), "{stderr}");
    assert!(!stderr.contains(" INFO "), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_config_keeps_the_app_up_and_a_fix_starts_it() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let config = DaemonConfig::new(root.path(), &sim.url);
    let config_path = root.path().join("config.toml");
    std::fs::write(&config_path, "[publish]\nkeep = \"many\"\n").unwrap();
    let mut daemon = Daemon::spawn(root.path(), &config_path, &config);

    // The status goes to the default location, since the file cannot say where.
    daemon.status_file = data_home(root.path()).join("voripos-domain-sync/status.json");
    let broken = daemon
        .wait_for("config_invalid", WAIT, |s| s.state == State::Error)
        .await;
    let error = broken.error.expect("an error in the status");
    assert_eq!(error.kind.as_str(), "config_invalid");
    let path = config_path.display().to_string();
    assert!(
        error.message.contains(&path)
            && error.message.contains("line 2")
            && error.message.contains("keep"),
        "{}",
        error.message
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(daemon.child.try_wait().unwrap().is_none(), "still running");

    // Fixed: it starts and syncs, without a restart.
    config.write(&config_path);
    daemon.status_file = config.status_file.clone();
    daemon.wait_synced_to(&sim.sim.position()).await;

    // Another change (a new publish folder) is applied live too.
    let mut moved = DaemonConfig::new(root.path(), &sim.url);
    moved.publish_dir = root.path().join("elsewhere");
    moved.write(&config_path);
    let status = daemon
        .wait_for("a publish into the new folder", WAIT, |s| {
            s.state == State::UpToDate
                && s.published_path
                    .as_ref()
                    .is_some_and(|p| p.starts_with(&moved.publish_dir))
        })
        .await;
    assert_eq!(
        status.checksum.map(|c| c.to_string()),
        Some(format!("{:016x}", sim.sim.position().checksum))
    );
    daemon.stop();
}
