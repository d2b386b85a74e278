//! The process's lifecycle around the container manager: requests while LiteFS starts,
//! stopping during a pull, and what the status names as LiteFS's address. Docker is a
//! stand-in engine here ([`common::fake_engine`]): the real one has no registry to pull
//! from and starts LiteFS too fast to catch it starting.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::fake_engine::{FakeEngine, Pull};
use common::*;
use voripos_domain_sync::status::State;

const WAIT: Duration = Duration::from_secs(30);

fn managed(root: &Path, engine: &FakeEngine, host_port: u16) -> DaemonConfig {
    let mut config = DaemonConfig::new(root, "http://127.0.0.1:1");
    config.container = format!(
        "manage = true\nimage = \"fake/litefs:test\"\nname = \"lifecycle-test\"\nhost_port = {host_port}\n"
    );
    config.env = vec![
        ("DOCKER_HOST".into(), engine.docker_host()),
        ("LITEFS_CLOUD_TOKEN".into(), "lifecycle-test-token".into()),
    ];
    config
}

/// Runs a CLI command against the daemon's config; returns (exit code, stdout).
fn cli(root: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_voripos-domain-sync"))
        .args(args)
        .arg("--config")
        .arg(root.join("config.toml"))
        .env("XDG_DATA_HOME", data_home(root))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Waits for the daemon to exit by itself; the time it took.
fn wait_exit(daemon: &mut Daemon, limit: Duration) -> Duration {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(Some(status)) = daemon.child.try_wait() {
            assert!(status.success(), "exit {status}\n{}", daemon.log_text());
            return start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!(
        "the daemon did not stop within {limit:?}\n{}",
        daemon.log_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_quit_during_an_image_pull_stop_the_app_at_once() {
    let root = tempfile::tempdir().unwrap();
    let engine = FakeEngine::start(root.path(), Pull::Endless).await;
    let config = managed(root.path(), &engine, free_port());
    let pulling = |s: &voripos_domain_sync::status::Status| {
        s.detail
            .as_deref()
            .is_some_and(|d| d.starts_with("pulling image"))
    };

    let mut daemon = Daemon::start(root.path(), &config);
    daemon.wait_for("an image pull", WAIT, pulling).await;
    let pid = daemon.child.id().to_string();
    let sent = Instant::now();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let took = wait_exit(&mut daemon, Duration::from_secs(10));
    eprintln!(
        "SIGTERM during a pull: exited in {:?}",
        sent.elapsed().max(took)
    );

    let mut daemon = Daemon::start(root.path(), &config);
    daemon.wait_for("an image pull", WAIT, pulling).await;
    let sent = Instant::now();
    let (code, out) = cli(root.path(), &["quit"]);
    assert_eq!(code, 0, "{out}");
    wait_exit(&mut daemon, Duration::from_secs(10));
    eprintln!("quit during a pull: exited in {:?}", sent.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_sent_while_litefs_starts_is_carried_out() {
    let root = tempfile::tempdir().unwrap();
    let engine = FakeEngine::start(root.path(), Pull::Present).await;
    // Nothing answers on the container's port: LiteFS is still starting.
    let config = managed(root.path(), &engine, free_port());
    let mut daemon = Daemon::start(root.path(), &config);
    daemon
        .wait_for("LiteFS starting", WAIT, |s| {
            s.detail.as_deref() == Some("waiting for LiteFS to answer")
        })
        .await;
    assert!(!engine
        .requests()
        .iter()
        .any(|r| r.starts_with("DELETE /volumes/")));

    let (code, out) = cli(root.path(), &["reset", "--yes"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Reset requested"), "{out}");
    assert!(
        engine
            .wait_for_request("DELETE /volumes/", Duration::from_secs(10))
            .await,
        "the reset removed the data volume: {:#?}\n{}",
        engine.requests(),
        daemon.log_text()
    );
    // And LiteFS is started again afterwards.
    let requests = engine.requests();
    let deleted = requests
        .iter()
        .position(|r| r.starts_with("DELETE /volumes/"))
        .unwrap();
    assert!(
        engine
            .wait_for_request("POST /volumes/create", Duration::from_secs(10))
            .await
    );
    assert!(requests.len() > deleted);
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_container_is_named_by_its_real_address() {
    let root = tempfile::tempdir().unwrap();
    let engine = FakeEngine::start(root.path(), Pull::Present).await;
    let port = free_port();
    let mut config = managed(root.path(), &engine, port);
    // No token: the app waits for one, and says where LiteFS will answer.
    config.env.retain(|(k, _)| k != "LITEFS_CLOUD_TOKEN");
    let mut daemon = Daemon::start(root.path(), &config);
    let status = daemon
        .wait_for("not configured", WAIT, |s| s.state == State::NotConfigured)
        .await;
    assert_eq!(status.litefs_url, format!("http://127.0.0.1:{port}"));
    assert!(
        !daemon.log_text().contains("127.0.0.1:1 "),
        "{}",
        daemon.log_text()
    );
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_asked_while_docker_is_down_is_carried_out_when_it_is_back() {
    let root = tempfile::tempdir().unwrap();
    let engine_dir = root.path().join("engine");
    std::fs::create_dir(&engine_dir).unwrap();
    let socket = engine_dir.join("docker.sock");
    let mut config = DaemonConfig::new(root.path(), "http://127.0.0.1:1");
    config.container = format!(
        "manage = true\nimage = \"fake/litefs:test\"\nname = \"lifecycle-test\"\nhost_port = {}\n",
        free_port()
    );
    config.env = vec![
        ("DOCKER_HOST".into(), format!("unix://{}", socket.display())),
        ("LITEFS_CLOUD_TOKEN".into(), "lifecycle-test-token".into()),
    ];
    let mut daemon = Daemon::start(root.path(), &config);
    daemon
        .wait_for("Docker down", WAIT, |s| s.state == State::DockerUnavailable)
        .await;
    let (code, out) = cli(root.path(), &["reset", "--yes"]);
    assert_eq!(code, 0, "{out}");

    // Docker Desktop starts: the reset asked for meanwhile happens then.
    let engine = FakeEngine::start(&engine_dir, Pull::Present)
        .await
        .with_volume();
    assert!(
        engine
            .wait_for_request("DELETE /volumes/", Duration::from_secs(20))
            .await,
        "the reset was forgotten: {:#?}\n{}",
        engine.requests(),
        daemon.log_text()
    );
    daemon.stop();
}
