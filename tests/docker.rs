//! The container manager against the real Docker engine: litefs-sim's `FROM scratch`
//! image (built here, no registry), the supervisor, and the sync, end to end.
//!
//! Also: the container of voripos-domain-sync 0.4.x (a Compose project bind-mounting the
//! publish folder) is retired at start-up, and look-alikes are not.
//!
//! Needs Docker and the static litefs-sim binary (`.ci/setup` builds it). Outside CI a
//! missing engine prints SKIPPED; in CI (`CI=true`) it fails.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use bollard::Docker;
use common::*;
use litefs_sim::Position;
use voripos_domain_sync::config::{Config, Secret};
use voripos_domain_sync::control::Request;
use voripos_domain_sync::docker::spec::ContainerSpec;
use voripos_domain_sync::host::environment::Environment;
use voripos_domain_sync::host::sync_core::{self, Source};
use voripos_domain_sync::status::board::Board;
use voripos_domain_sync::status::State;

const IMAGE: &str = "voripos-domain-sync/litefs-sim:test";
const WAIT: Duration = Duration::from_secs(60);

/// The engine, with the test image built; `None` (skip) only outside CI.
async fn engine() -> Option<(Docker, String)> {
    sim_image::engine_with_sim_image(IMAGE).await
}

/// A unique container name and a free host port; removes the container and its volume
/// when dropped (whatever state the test left them in).
struct Names {
    name: String,
    port: u16,
}

impl Names {
    fn new() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Names {
            name: format!("vds-test-{}-{}", std::process::id(), fastrand::u32(..)),
            port,
        }
    }

    fn container_toml(&self) -> String {
        format!(
            "manage = true\nimage = \"{IMAGE}\"\nname = \"{}\"\nhost_port = {}\n",
            self.name, self.port
        )
    }

    fn sim_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Names {
    fn drop(&mut self) {
        let names = ["", "-old", "-legacy", "-other-mount", "-unlabelled"];
        sim_image::remove_containers_and_volume(
            &names.map(|suffix| format!("{}{suffix}", self.name)),
        );
    }
}

/// Calls litefs-sim's control API (POST for commits), retrying while the container is
/// (re)starting, until `accept` likes the answer.
async fn sim_until(url: String, accept: impl Fn(&Position) -> bool) -> Position {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let request = if url.contains("commit") {
            client.post(&url)
        } else {
            client.get(&url)
        };
        let answer = async {
            request
                .send()
                .await?
                .error_for_status()?
                .json::<Position>()
                .await
        };
        if let Ok(Ok(p)) = tokio::time::timeout(Duration::from_secs(5), answer).await {
            if accept(&p) {
                return p;
            }
        }
        assert!(
            Instant::now() < deadline,
            "litefs-sim at {url} did not answer as expected"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn sim(url: String) -> Position {
    sim_until(url, |_| true).await
}

fn daemon_config(root: &Path, names: &Names, token: &str) -> DaemonConfig {
    let mut config = DaemonConfig::new(root, "http://unused");
    config.container = names.container_toml();
    config.env = vec![("LITEFS_CLOUD_TOKEN".into(), token.into())];
    config
}

/// A daemon managing `names`' container with `token`, once it has synced.
async fn synced_daemon(root: &Path, names: &Names, token: &str) -> Daemon {
    let mut daemon = Daemon::start(root, &daemon_config(root, names, token));
    daemon
        .wait_for("up to date", WAIT, |s| s.state == State::UpToDate)
        .await;
    daemon
}

async fn container_id(docker: &Docker, name: &str) -> Option<String> {
    docker
        .inspect_container(name, None)
        .await
        .ok()
        .and_then(|c| c.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_container_is_created_watched_and_recovered() {
    let Some((docker, _)) = engine().await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let names = Names::new();
    let token = format!("tok-{}-never-print-me", fastrand::u64(..));
    let config = daemon_config(root.path(), &names, &token);
    let started = Instant::now();
    let mut daemon = Daemon::start(root.path(), &config);
    daemon
        .wait_for("the first publish", WAIT, |s| s.state == State::UpToDate)
        .await;
    eprintln!(
        "cold start (no container, no volume) → first publish: {:.2?}",
        started.elapsed()
    );

    // Inspect what was created: loopback-only port, not privileged, token in env.
    let info = docker.inspect_container(&names.name, None).await.unwrap();
    let host = info.host_config.unwrap();
    assert_eq!(host.privileged, Some(false));
    assert_eq!(host.cap_add, Some(vec!["SYS_ADMIN".to_string()]));
    for bindings in host.port_bindings.unwrap().values() {
        for b in bindings.clone().unwrap() {
            assert_eq!(
                b.host_ip.as_deref(),
                Some("127.0.0.1"),
                "published beyond loopback"
            );
        }
    }
    let env = info.config.unwrap().env.unwrap();
    assert!(env.contains(&format!("LITEFS_CLOUD_TOKEN={token}")));

    // A transaction in the container reaches the host folder, verified.
    let pos = sim(names.sim_url("/sim/commit?count=1")).await;
    let status = daemon.wait_synced_to(&pos).await;
    let file = status.published_path.clone().unwrap();
    assert_eq!(checksum_of(&file), pos.checksum);
    assert_eq!(status.container.as_ref().unwrap().state, "running");
    assert!(status.docker_endpoint.is_some());

    // Killed: Docker or the supervisor brings it back, and syncing resumes.
    docker.kill_container(&names.name, None).await.unwrap();
    let deadline = Instant::now() + WAIT;
    while !daemon
        .log_text()
        .contains("the LiteFS container stopped; recovering")
    {
        assert!(
            Instant::now() < deadline,
            "the kill went unnoticed:\n{}",
            daemon.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pos = sim(names.sim_url("/sim/commit?count=1")).await;
    daemon.wait_synced_to(&pos).await;

    // Removed behind our back: recreated (same volume, so the data survives).
    let old_id = container_id(&docker, &names.name).await;
    let remove = RemoveContainerOptionsBuilder::default().force(true).build();
    docker
        .remove_container(&names.name, Some(remove))
        .await
        .unwrap();
    // The status said "running" before the removal too: wait for Docker to show a
    // new container of that name, then for the status to catch up.
    let deadline = Instant::now() + WAIT;
    loop {
        let id = container_id(&docker, &names.name).await;
        if id.is_some() && id != old_id {
            break;
        }
        assert!(Instant::now() < deadline, "the container was not recreated");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let resumed = sim(names.sim_url("/sim/position")).await;
    assert!(
        resumed.txid >= pos.txid,
        "the volume kept the data: {resumed:?} vs {pos:?}"
    );
    let pos = sim(names.sim_url("/sim/commit?count=1")).await;
    daemon.wait_synced_to(&pos).await;

    // The token went to the container and nowhere else.
    daemon.stop();
    let log = daemon.log_text();
    let status = std::fs::read_to_string(&config.status_file).unwrap();
    assert!(!log.contains(&token), "the token is in the log");
    assert!(!status.contains(&token), "the token is in the status");
    assert!(log.contains("LiteFS Cloud token found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_removes_the_data_and_publishes_again() {
    let Some(_) = engine().await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let names = Names::new();
    let config_path = root.path().join("config.toml");
    daemon_config(root.path(), &names, "reset-token").write(&config_path);
    let config = Config::load(&config_path, true).unwrap();
    let spec = ContainerSpec::new(&config, Some(&Secret::new("reset-token".into())));
    // The real engine, and nothing else of this process's environment.
    let env = Environment {
        docker: Environment::from_process().docker,
        ..Environment::isolated(root.path())
    };
    let board = Board::waiting();
    let core = sync_core::start_with(&config, Source::Container(spec), &env, &board).unwrap();
    let mut status = core.status.clone();
    status
        .wait_for(|s| s.state == State::UpToDate)
        .await
        .unwrap();
    for _ in 0..3 {
        sim(names.sim_url("/sim/commit?count=1")).await;
    }
    let before = sim(names.sim_url("/sim/position")).await;
    assert!(before.txid >= 4);

    let clicked = Instant::now();
    core.commands.send(Request::Reset).await.unwrap();
    // A fresh replica starts again at TXID 1: the old data volume is gone.
    let after = sim_until(names.sim_url("/sim/position"), |p| p.txid == 1).await;
    let checksum = format!("{:016x}", after.checksum);
    let synced = tokio::time::timeout(
        WAIT,
        status.wait_for(|s| {
            s.state == State::UpToDate
                && s.checksum.map(|c| c.to_string()) == Some(checksum.clone())
        }),
    )
    .await
    .expect("a publish after the reset")
    .unwrap()
    .clone();
    eprintln!(
        "reset (command → first publish again): {:.2?}",
        clicked.elapsed()
    );
    assert_eq!(
        checksum_of(synced.published_path.as_ref().unwrap()),
        after.checksum
    );

    core.commands.send(Request::Quit).await.unwrap();
    tokio::time::timeout(WAIT, core.stopped()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_spec_recreates_the_container() {
    let Some((docker, _)) = engine().await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let names = Names::new();
    let mut daemon = synced_daemon(root.path(), &names, "first-token").await;
    let first = container_id(&docker, &names.name).await.unwrap();
    daemon.stop();

    // Same container, unchanged spec: kept.
    let mut daemon = synced_daemon(root.path(), &names, "first-token").await;
    assert_eq!(container_id(&docker, &names.name).await.unwrap(), first);
    daemon.stop();

    // A new token changes the spec hash: recreated with the new environment.
    let mut daemon = synced_daemon(root.path(), &names, "second-token").await;
    let info = docker.inspect_container(&names.name, None).await.unwrap();
    assert_ne!(info.id.unwrap(), first);
    assert!(info
        .config
        .unwrap()
        .env
        .unwrap()
        .contains(&"LITEFS_CLOUD_TOKEN=second-token".to_string()));
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_going_missing_is_shown_and_recovered_without_a_restart() {
    let Some((_, uri)) = engine().await else {
        return;
    };
    let real_socket = uri
        .strip_prefix("unix://")
        .expect("a unix socket engine")
        .to_string();
    let root = tempfile::tempdir().unwrap();
    let names = Names::new();
    let socket = root.path().join("docker.sock");
    let mut config = daemon_config(root.path(), &names, "t");
    config
        .env
        .push(("DOCKER_HOST".into(), format!("unix://{}", socket.display())));
    let mut daemon = Daemon::start(root.path(), &config);
    let status = daemon
        .wait_for("docker_unavailable", WAIT, |s| {
            s.state == State::DockerUnavailable
        })
        .await;
    let detail = status.detail.unwrap();
    assert!(
        detail.contains(&socket.display().to_string()),
        "names where it looked: {detail}"
    );

    std::os::unix::fs::symlink(&real_socket, &socket).unwrap();
    daemon
        .wait_for("recovery", WAIT, |s| s.state == State::UpToDate)
        .await;
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_without_our_label_are_never_touched() {
    let Some((docker, _)) = engine().await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let names = Names::new();
    let foreign = |name: &str| {
        let docker = docker.clone();
        let name = name.to_string();
        async move {
            let options = CreateContainerOptionsBuilder::default().name(&name).build();
            let body = bollard::models::ContainerCreateBody {
                image: Some(IMAGE.into()),
                labels: Some(HashMap::from([(
                    "owner".to_string(),
                    "someone else".to_string(),
                )])),
                ..Default::default()
            };
            docker
                .create_container(Some(options), body)
                .await
                .unwrap()
                .id
        }
    };
    let same_name = foreign(&names.name).await;
    let similar = foreign(&format!("{}-old", names.name)).await;

    let mut daemon = Daemon::start(root.path(), &daemon_config(root.path(), &names, "t"));
    let status = daemon
        .wait_for("a conflict", WAIT, |s| {
            s.error
                .as_ref()
                .is_some_and(|e| e.kind.as_str() == "container_conflict")
        })
        .await;
    assert!(status.error.unwrap().message.contains(&names.name));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        container_id(&docker, &names.name).await.as_ref(),
        Some(&same_name),
        "left alone"
    );

    // Once the owner removes theirs, ours is created; the look-alike stays as it was.
    let remove = RemoveContainerOptionsBuilder::default().force(true).build();
    docker
        .remove_container(&names.name, Some(remove))
        .await
        .unwrap();
    daemon
        .wait_for("up to date", WAIT, |s| s.state == State::UpToDate)
        .await;
    assert_eq!(
        container_id(&docker, &format!("{}-old", names.name))
            .await
            .as_ref(),
        Some(&similar)
    );
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_image_without_a_registry_is_a_clear_error() {
    let Some((docker, _)) = engine().await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let names = Names::new();
    // A registry address on loopback where nothing listens: the pull fails at once.
    let image = "127.0.0.1:1/vori/domain-data:missing";
    let mut config = daemon_config(root.path(), &names, "t");
    config.container = config.container.replace(IMAGE, image);
    let mut daemon = Daemon::start(root.path(), &config);
    let status = daemon
        .wait_for("image_unavailable", WAIT, |s| {
            s.error
                .as_ref()
                .is_some_and(|e| e.kind.as_str() == "image_unavailable")
        })
        .await;
    assert_eq!(status.state, State::Error);
    assert!(
        status.error.unwrap().message.contains(image),
        "names the image"
    );
    assert!(
        container_id(&docker, &names.name).await.is_none(),
        "nothing created"
    );
    daemon.stop();
}

/// Creates (and with `start`, starts) a container of the test image with `labels` and
/// `binds` (`host:container`), restarting always as 0.4.x's did; returns its id.
async fn compose_like(
    docker: &Docker,
    name: &str,
    labels: &[(&str, &str)],
    binds: Vec<String>,
    start: bool,
) -> String {
    let options = CreateContainerOptionsBuilder::default().name(name).build();
    let body = bollard::models::ContainerCreateBody {
        image: Some(IMAGE.into()),
        labels: Some(
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        host_config: Some(bollard::models::HostConfig {
            binds: Some(binds),
            restart_policy: Some(bollard::models::RestartPolicy {
                name: Some(bollard::models::RestartPolicyNameEnum::ALWAYS),
                maximum_retry_count: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let id = docker
        .create_container(Some(options), body)
        .await
        .unwrap()
        .id;
    if start {
        docker.start_container(name, None).await.unwrap();
    }
    id
}

/// A small SQLite database at `path`, as 0.4.x published them.
fn old_version(path: &Path) {
    let db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch(
        "CREATE TABLE products(id INTEGER PRIMARY KEY); INSERT INTO products VALUES (1);",
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_0_4_container_is_retired_and_look_alikes_are_left_alone() {
    let Some((docker, _)) = engine().await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let names = Names::new();
    let mut config = daemon_config(root.path(), &names, "t");
    config.keep = 3;
    let domain = config.publish_dir.clone();
    std::fs::create_dir_all(&domain).unwrap();
    let other = root.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let old: Vec<PathBuf> = [4000, 3000, 2000, 1000]
        .map(|ago| domain.join(format!("{}-Domain.sqlite3", now - ago)))
        .to_vec();
    old.iter().for_each(|path| old_version(path));

    let compose = [
        ("com.docker.compose.project", "voripos-domain-sync"),
        ("com.docker.compose.service", "litefs"),
    ];
    let mount = |dir: &Path| vec![format!("{}:/domain", dir.display())];
    let legacy = format!("{}-legacy", names.name);
    compose_like(&docker, &legacy, &compose, mount(&domain), true).await;
    let other_mount = format!("{}-other-mount", names.name);
    let other_mount_id = compose_like(&docker, &other_mount, &compose, mount(&other), false).await;
    let unlabelled = format!("{}-unlabelled", names.name);
    let unlabelled_id = compose_like(
        &docker,
        &unlabelled,
        &[("owner", "me")],
        mount(&domain),
        false,
    )
    .await;

    let mut daemon = Daemon::start(root.path(), &config);
    let status = daemon
        .wait_for("up to date", WAIT, |s| s.state == State::UpToDate)
        .await;
    assert_eq!(
        container_id(&docker, &legacy).await,
        None,
        "retired: {}",
        daemon.log_text()
    );
    assert_eq!(
        container_id(&docker, &other_mount).await,
        Some(other_mount_id),
        "another mount: left alone"
    );
    assert_eq!(
        container_id(&docker, &unlabelled).await,
        Some(unlabelled_id),
        "no Compose labels: left alone"
    );
    let log = daemon.log_text();
    assert!(
        log.contains("voripos-domain-sync 0.4.x") && log.contains(&legacy),
        "{log}"
    );

    // The old versions are under our retention: the newest 3 files remain (ours and
    // the 2 newest old ones) once retention has run after the publish.
    let expected = vec![
        old[2].clone(),
        old[3].clone(),
        status.published_path.unwrap(),
    ];
    let deadline = Instant::now() + WAIT;
    loop {
        let mut left: Vec<PathBuf> = std::fs::read_dir(&domain)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .collect();
        left.sort();
        if left == expected {
            break;
        }
        assert!(Instant::now() < deadline, "{left:?} vs {expected:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    daemon.stop();
}
