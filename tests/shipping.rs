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

/// Runs the CLI with `args` and `--config config_path`, as the daemons of `root` see
/// their environment: exit code, stdout, stderr.
fn cli(
    root: &std::path::Path,
    config_path: &std::path::Path,
    args: &[&str],
) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_voripos-domain-sync"))
        .args(args)
        .arg("--config")
        .arg(config_path)
        .env("XDG_DATA_HOME", data_home(root))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Waits for the daemon to exit (it was asked to), and says how it exited.
fn exited(daemon: &mut Daemon) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Some(status) = daemon.child.try_wait().unwrap() {
            return status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the daemon did not stop\n{}",
            daemon.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typo_keeps_the_configured_status_file_and_the_cli_can_still_stop_the_app() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let config = DaemonConfig::new(root.path(), &sim.url);
    let config_path = root.path().join("config.toml");
    let mut daemon = Daemon::start(root.path(), &config);
    daemon.wait_synced_to(&sim.sim.position()).await;

    // A typo in another key while `[status] file` is set.
    let good = std::fs::read_to_string(&config_path).unwrap();
    std::fs::write(&config_path, good.replace("keep = 5", "keep = \"many\"")).unwrap();
    let broken = daemon
        .wait_for("config_invalid in the configured status file", WAIT, |s| {
            s.error
                .as_ref()
                .is_some_and(|e| e.kind.as_str() == "config_invalid")
        })
        .await;
    assert_eq!(broken.state, State::Error);
    assert!(broken.running);

    let (code, out, err) = cli(root.path(), &config_path, &["status", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("config_invalid"), "{out}");
    assert!(err.contains("keep"), "the CLI names the typo too: {err}");
    let (code, out, err) = cli(root.path(), &config_path, &["quit"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(exited(&mut daemon).success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_or_an_endless_device_as_the_config_is_refused_without_blocking() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let config = DaemonConfig::new(root.path(), &sim.url);
    let config_path = root.path().join("config.toml");
    let mut daemon = Daemon::start(root.path(), &config);
    daemon.wait_synced_to(&sim.sim.position()).await;

    // Replaced by a FIFO while running: the app answers and shows why.
    std::fs::remove_file(&config_path).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&config_path)
        .status()
        .unwrap();
    assert!(made.success());
    let broken = daemon
        .wait_for("config_invalid", WAIT, |s| s.state == State::Error)
        .await;
    let message = broken.error.unwrap().message;
    assert!(
        message.contains("FIFO") && message.contains("config.toml"),
        "{message}"
    );
    let (code, out, err) = cli(root.path(), &config_path, &["status"]);
    assert_eq!(code, 0, "the socket answers: {out}{err}");
    // A symlink to /dev/zero: refused at once, memory untouched.
    std::fs::remove_file(&config_path).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &config_path).unwrap();
    daemon
        .wait_for("the device refused", WAIT, |s| {
            s.error
                .as_ref()
                .is_some_and(|e| e.message.contains("a device"))
        })
        .await;
    daemon.stop();

    // At start, a FIFO in its place: the app starts, answers and says why.
    std::fs::remove_file(&config_path).unwrap();
    std::process::Command::new("mkfifo")
        .arg(&config_path)
        .status()
        .unwrap();
    let mut daemon = Daemon::spawn(root.path(), &config_path, &config);
    daemon.status_file = data_home(root.path()).join("voripos-domain-sync/status.json");
    let broken = daemon
        .wait_for("config_invalid at start", WAIT, |s| s.state == State::Error)
        .await;
    assert!(broken.error.unwrap().message.contains("FIFO"));
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_file_too_deep_for_the_control_socket_is_a_config_error_not_an_exit() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let mut config = DaemonConfig::new(root.path(), &sim.url);
    let mut deep = root.path().join("state");
    while deep.join("control.sock").as_os_str().len() <= 110 {
        deep.push("deeper");
    }
    config.status_file = deep.join("status.json");
    let mut daemon = Daemon::start(root.path(), &config);
    daemon.status_file = data_home(root.path()).join("voripos-domain-sync/status.json");
    let broken = daemon
        .wait_for("config_invalid", WAIT, |s| s.state == State::Error)
        .await;
    let error = broken.error.unwrap();
    assert_eq!(error.kind.as_str(), "config_invalid");
    assert!(error.message.contains("status.file"), "{}", error.message);
    // It answers at the default socket, where the CLI looks with this config.
    let config_path = root.path().join("config.toml");
    let (code, out, err) = cli(root.path(), &config_path, &["status"]);
    assert_eq!(code, 0, "{out}{err}");
    daemon.stop();
}
