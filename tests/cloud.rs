//! The cloud source end to end: the app (`run --headless`) syncing from the LiteFS Cloud
//! stand-in through a fault-injecting proxy, with Docker unreachable.

mod common;

use std::path::Path;
use std::time::Duration;

use common::cloud::{make_database, Proxy, Standin};
use common::{published, Daemon, DaemonConfig};
use voripos_domain_sync::config::SourceKind;
use voripos_domain_sync::status::{State, Status};

const TOKEN: &str = "cloud-test-token-5f1e9a";
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
            ("LITEFS_CLOUD_TOKEN".into(), TOKEN.into()),
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
