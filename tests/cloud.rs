//! The cloud source end to end: the app (`run --headless`) syncing from the project's
//! LiteFS Cloud stand-in (`litefs_sim::cloud`, lfsb's dialect) through a fault-injecting
//! proxy, with Docker unreachable.

mod common;

use std::path::Path;
use std::time::Duration;

use common::cloud::{make_database, Fault, Proxy, Standin, TOKEN};
use common::{published, Daemon, DaemonConfig};
use voripos_domain_sync::config::SourceKind;
use voripos_domain_sync::status::{State, Status};

const WAIT: Duration = Duration::from_secs(30);

/// The stand-in, the proxy in front of it and the app pointed at the proxy.
struct Rig {
    standin: Standin,
    proxy: Proxy,
    daemon: Daemon,
    config: DaemonConfig,
    _dir: tempfile::TempDir,
}

impl Rig {
    async fn start() -> Rig {
        Rig::start_with(TOKEN).await
    }

    /// The rig with the app given `token`.
    async fn start_with(token: &str) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("cloud.sqlite3");
        make_database(&src, 300);
        let standin = Standin::start(&src).await;
        let proxy = Proxy::start(&standin.url).await;
        let mut config = DaemonConfig::new(dir.path(), "http://127.0.0.1:9");
        // A managed container is configured but must never be touched in cloud mode.
        config.container = "manage = true\n".into();
        config.extra = format!(
            "[source]\nkind = \"cloud\"\n[cloud]\nurl = \"{}\"\ncluster = \"store-7\"\npoll_interval = \"200ms\"\n",
            proxy.url
        );
        config.env = vec![
            ("LITEFS_CLOUD_TOKEN".into(), token.into()),
            ("DOCKER_HOST".into(), "unix:///nonexistent.sock".into()),
        ];
        let daemon = Daemon::start(dir.path(), &config);
        Rig {
            standin,
            proxy,
            daemon,
            config,
            _dir: dir,
        }
    }

    /// Waits until the app has published the cloud's `checksum` and says it is current.
    async fn wait_published(&mut self, checksum: &str) -> Status {
        let checksum = checksum.to_string();
        self.daemon
            .wait_for(&format!("publish of {checksum}"), WAIT, |s| {
                s.state == State::UpToDate
                    && s.checksum.map(|c| c.to_string()).as_deref() == Some(&checksum)
            })
            .await
    }

    /// Waits until the status shows an error of one of `kinds`.
    async fn wait_error(&mut self, kinds: &[&str]) -> Status {
        self.daemon
            .wait_for(&format!("an error of kind {kinds:?}"), WAIT, |s| {
                s.error
                    .as_ref()
                    .is_some_and(|e| kinds.contains(&e.kind.as_str()))
            })
            .await
    }

    fn newest(&self) -> std::path::PathBuf {
        published(&self.config.publish_dir)
            .pop()
            .expect("a published file")
    }
}

fn checksum_of(path: &Path) -> String {
    format!("{:016x}", common::checksum_of(path))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_versions_are_published_with_no_docker_at_all() {
    let mut rig = Rig::start().await;
    let (txid, checksum) = rig.standin.position().await.unwrap();
    let status = rig.wait_published(&checksum).await;
    assert_eq!(status.source, SourceKind::Cloud);
    assert_eq!(status.litefs_url, rig.proxy.url);
    assert_eq!(status.txid.map(|t| format!("{:016x}", t.0)), Some(txid));
    assert_eq!(status.container, None, "no container in cloud mode");
    assert_eq!(status.docker_endpoint, None, "Docker is never looked for");
    assert_eq!(
        status.metadata.unwrap().schema_version.as_deref(),
        Some("7")
    );
    assert_eq!(status.row_counts.get("products"), Some(&Some(300)));
    let first = rig.newest();
    assert_eq!(checksum_of(&first), checksum);
    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&rig.standin.src).unwrap()
    );

    // New cloud versions follow, each as a new file.
    for rows in [310, 320] {
        let (txid, checksum) = rig.standin.publish(rows).await;
        let status = rig.wait_published(&checksum).await;
        assert_eq!(status.txid.map(|t| format!("{:016x}", t.0)), Some(txid));
        assert_eq!(status.row_counts.get("products"), Some(&Some(rows as u64)));
    }
    assert_eq!(published(&rig.config.publish_dir).len(), 3);

    // Sent as LiteFS sends it: the token as given, the cluster as a query parameter.
    let seen = rig.proxy.seen.lock().unwrap().requests.clone();
    assert!(seen.iter().any(|(t, _)| t.starts_with("/db/snapshot")));
    for (target, auth) in &seen {
        assert_eq!(auth.as_deref(), Some(TOKEN), "{target}");
        assert!(target.contains("cluster=store-7"), "{target}");
    }
    // The token never reaches the status or the log.
    let status_text = std::fs::read_to_string(&rig.config.status_file).unwrap();
    assert!(!status_text.contains(TOKEN));
    let log = rig.daemon.log_text();
    assert!(!log.contains(TOKEN));
    assert!(!log.to_lowercase().contains("docker engine"), "{log}");
    rig.daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_snapshots_publish_nothing_and_the_app_recovers_by_itself() {
    let mut rig = Rig::start().await;
    let (_, checksum) = rig.standin.position().await.unwrap();
    rig.wait_published(&checksum).await;
    let mut rows = 300;
    let cases: [(Fault, &[&str]); 6] = [
        (Fault::Status(500), &["cloud_http_error"]),
        (Fault::CutShort, &["snapshot_truncated"]),
        (Fault::Corrupt, &["bad_snapshot", "snapshot_truncated"]),
        (Fault::WrongPostApply, &["checksum_mismatch"]),
        (Fault::Slow, &["snapshot_too_slow"]),
        (Fault::NoDatabase, &["cloud_no_database"]),
    ];
    for (fault, kinds) in cases {
        let good = rig.newest();
        let good_checksum = checksum_of(&good);
        let files = published(&rig.config.publish_dir);
        rig.proxy.set(fault.clone());
        rows += 7;
        let (_, next) = rig.standin.publish(rows).await;
        let status = rig.wait_error(kinds).await;
        let message = &status.error.as_ref().unwrap().message;
        assert!(!message.contains(TOKEN));
        // Nothing bad was published: the last good file is the newest, unchanged.
        assert_eq!(published(&rig.config.publish_dir), files, "{fault:?}");
        assert_eq!(checksum_of(&good), good_checksum, "{fault:?}");
        assert_eq!(
            status.checksum.map(|c| c.to_string()),
            Some(good_checksum),
            "{fault:?}"
        );
        rig.proxy.set(Fault::None);
        let status = rig.wait_published(&next).await;
        assert_eq!(status.error, None, "{fault:?}");
        assert_eq!(checksum_of(&rig.newest()), next);
    }
    rig.daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_is_shown_as_not_configured_in_plain_words() {
    let mut rig = Rig::start().await;
    let (_, checksum) = rig.standin.position().await.unwrap();
    rig.wait_published(&checksum).await;
    for code in [401, 403] {
        let current = checksum_of(&rig.newest());
        rig.proxy.set(Fault::Status(code));
        let (_, next) = rig.standin.publish(280 + code as usize).await;
        let status = rig
            .daemon
            .wait_for("not_configured", WAIT, |s| s.state == State::NotConfigured)
            .await;
        let detail = status.detail.unwrap_or_default();
        assert!(detail.contains("refused the token"), "{detail}");
        assert!(detail.contains("LITEFS_CLOUD_TOKEN"), "{detail}");
        assert!(!detail.contains(TOKEN));
        assert_eq!(status.error.unwrap().kind.as_str(), "cloud_token_rejected");
        assert_eq!(
            checksum_of(&rig.newest()),
            current,
            "the last good file stays"
        );
        rig.proxy.set(Fault::None);
        rig.wait_published(&next).await;
    }
    rig.daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_on_the_cloud_side_publishes_the_older_content_as_current() {
    let mut rig = Rig::start().await;
    let (old_txid, old) = rig.standin.position().await.unwrap();
    rig.wait_published(&old).await;
    let old_content = std::fs::read(&rig.standin.src).unwrap();
    let (new_txid, new) = rig.standin.publish(333).await;
    rig.wait_published(&new).await;
    let before = published(&rig.config.publish_dir).len();

    // lfsb restores by moving forward: a new, higher TXID holding the old content.
    let (restored_txid, restored) = rig.standin.restore(&old_content).await;
    assert_eq!(restored, old);
    assert!(restored_txid > new_txid && new_txid > old_txid);
    let status = rig.wait_published(&old).await;
    assert_eq!(
        status.txid.map(|t| format!("{:016x}", t.0)),
        Some(restored_txid)
    );
    let files = published(&rig.config.publish_dir);
    assert_eq!(
        files.len(),
        before + 1,
        "published as a new current version"
    );
    assert_eq!(checksum_of(files.last().unwrap()), old);
    assert_eq!(std::fs::read(files.last().unwrap()).unwrap(), old_content);

    rig.daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_whose_position_goes_backwards_is_followed() {
    let mut rig = Rig::start().await;
    let (old_txid, old) = rig.standin.position().await.unwrap();
    rig.wait_published(&old).await;
    let backwards = rig.proxy.record().await;
    let (_, new) = rig.standin.publish(333).await;
    rig.wait_published(&new).await;
    let before = published(&rig.config.publish_dir).len();

    // Another service (a rebuilt one) answers an older position and its snapshot.
    rig.proxy.set(backwards);
    let status = rig.wait_published(&old).await;
    assert_eq!(status.txid.map(|t| format!("{:016x}", t.0)), Some(old_txid));
    let files = published(&rig.config.publish_dir);
    assert_eq!(
        files.len(),
        before + 1,
        "published as a new current version"
    );
    assert_eq!(checksum_of(files.last().unwrap()), old);
    rig.daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_not_in_the_cloud_yet_is_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("cloud.sqlite3");
    make_database(&src, 50);
    let standin = Standin::start(&src).await;
    let proxy = Proxy::start(&standin.url).await;
    proxy.set(Fault::NoDatabase);
    let mut config = DaemonConfig::new(dir.path(), "http://127.0.0.1:9");
    config.extra = format!(
        "[source]\nkind = \"cloud\"\n[cloud]\nurl = \"{}\"\npoll_interval = \"200ms\"\n",
        proxy.url
    );
    config.env = vec![
        ("LITEFS_CLOUD_TOKEN".into(), TOKEN.into()),
        ("DOCKER_HOST".into(), "unix:///nonexistent.sock".into()),
    ];
    let mut daemon = Daemon::start(dir.path(), &config);
    let status = daemon
        .wait_for("no database yet", WAIT, |s| {
            s.error
                .as_ref()
                .is_some_and(|e| e.kind.as_str() == "cloud_no_database")
        })
        .await;
    assert!(published(&config.publish_dir).is_empty());
    assert_ne!(status.state, State::UpToDate);
    proxy.set(Fault::None);
    let (_, checksum) = standin.position().await.unwrap();
    daemon
        .wait_for("the first publish", WAIT, |s| {
            s.state == State::UpToDate
                && s.checksum.map(|c| c.to_string()).as_deref() == Some(checksum.as_str())
        })
        .await;
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_for_another_cluster_names_that_cluster() {
    // lfsb takes the cluster from the token alone: [cloud] cluster = "store-7" is ignored.
    let mut rig = Rig::start_with("cluster store-8").await;
    let status = rig.wait_error(&["cloud_no_database"]).await;
    let message = status.error.unwrap().message;
    assert!(message.contains("in cluster \"store-8\""), "{message}");
    assert!(message.contains("fix the token"), "{message}");
    assert!(published(&rig.config.publish_dir).is_empty());
    assert_ne!(status.state, State::UpToDate);
    let seen = rig.proxy.seen.lock().unwrap().requests.clone();
    assert!(
        seen.iter().all(|(t, _)| t.contains("cluster=store-7")),
        "sent, and ignored"
    );
    rig.daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lfsb_refusing_the_token_is_a_refused_token() {
    for (token, why) in [
        (
            "FlyV1 fm2_lJPECAAAAAAAAA",
            "expects the token as `cluster <name>`",
        ),
        ("cluster bad/name", "cluster name in the token is not valid"),
    ] {
        let mut rig = Rig::start_with(token).await;
        let status = rig
            .daemon
            .wait_for("not_configured", WAIT, |s| s.state == State::NotConfigured)
            .await;
        let detail = status.detail.unwrap_or_default();
        assert!(detail.contains("refused the token"), "{detail}");
        assert!(detail.contains(why), "{detail}");
        assert!(!detail.contains(token), "{detail}");
        assert_eq!(status.error.unwrap().kind.as_str(), "cloud_token_rejected");
        assert!(published(&rig.config.publish_dir).is_empty());
        rig.daemon.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_that_fails_midway_with_200_is_not_published() {
    let mut rig = Rig::start().await;
    let (_, checksum) = rig.standin.position().await.unwrap();
    rig.wait_published(&checksum).await;
    let files = published(&rig.config.publish_dir);

    // lfsb appends its JSON error to a snapshot whose storage fails midway, still 200.
    rig.standin.sim().fail_snapshots_midway(Some(2048));
    let (_, next) = rig.standin.publish(350).await;
    let status = rig
        .wait_error(&["bad_snapshot", "snapshot_truncated"])
        .await;
    assert_eq!(
        published(&rig.config.publish_dir),
        files,
        "nothing new published"
    );
    assert_eq!(status.checksum.map(|c| c.to_string()), Some(checksum));

    rig.standin.sim().fail_snapshots_midway(None);
    let status = rig.wait_published(&next).await;
    assert_eq!(status.error, None);
    rig.daemon.stop();
}

/// The CLI against the rig's running app.
fn cli(rig: &Rig, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_voripos-domain-sync"))
        .args(args)
        .arg("--config")
        .arg(rig._dir.path().join("config.toml"))
        .env("XDG_DATA_HOME", common::data_home(rig._dir.path()))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_fetches_the_snapshot_again_and_the_cli_names_the_cloud() {
    let mut rig = Rig::start().await;
    let (_, checksum) = rig.standin.position().await.unwrap();
    rig.wait_published(&checksum).await;
    let snapshots = |rig: &Rig| {
        let seen = rig.proxy.seen.lock().unwrap();
        seen.requests
            .iter()
            .filter(|(t, _)| t.starts_with("/db/snapshot"))
            .count()
    };
    let before = snapshots(&rig);
    let files = published(&rig.config.publish_dir);

    let out = cli(&rig, &["reset", "--yes"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = std::time::Instant::now() + WAIT;
    while snapshots(&rig) == before {
        assert!(
            std::time::Instant::now() < deadline,
            "reset fetched nothing"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let status = rig.wait_published(&checksum).await;
    assert_eq!(status.error, None);
    assert_eq!(
        published(&rig.config.publish_dir),
        files,
        "the same content is not published twice"
    );

    let out = cli(&rig, &["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("LiteFS Cloud:"), "{text}");
    assert!(text.contains(&rig.proxy.url), "{text}");
    let out = cli(&rig, &["status", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["source"], "cloud");
    assert_eq!(json["litefs_url"], rig.proxy.url);
    rig.daemon.stop();
}
