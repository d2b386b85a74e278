//! The real LiteFS (v0.5.14) as the judge, Docker tier, the fleet's path: a `FROM
//! scratch` image of the real LiteFS built here through the Engine API, run by the app's
//! own container manager (`manage = true`), restoring the domain database from the
//! LiteFS Cloud stand-in as a store's node does.
//!
//! Needs Docker, `/dev/fuse` and the real LiteFS; in CI their absence is a failure.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use bollard::Docker;
use common::real_litefs::{self, cloud_database, CloudStandin};
use common::*;
use voripos_domain_sync::docker::endpoint;
use voripos_domain_sync::host::environment::Environment;
use voripos_domain_sync::litefs::Checksum;
use voripos_domain_sync::status::{State, Status};

const IMAGE: &str = "voripos-domain-sync/litefs-real:test";
/// LiteFS polls its cloud every 10 s; a restore takes a few more.
const WAIT: Duration = Duration::from_secs(90);

static BUILT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

/// The engine with the image built; `None` (skip, printed) only outside CI.
async fn engine() -> Option<Docker> {
    if !real_litefs::available("real LiteFS in Docker") {
        return None;
    }
    let candidates = endpoint::candidates(&Environment::from_process().docker, |p| {
        std::fs::read_to_string(p).ok()
    });
    let docker = match endpoint::connect(&candidates).await {
        Ok(c) => c.docker,
        Err(e) => {
            skip(&format!("no Docker engine: {e}"));
            return None;
        }
    };
    BUILT
        .get_or_init(|| real_litefs::build_image(&docker, IMAGE))
        .await;
    Some(docker)
}

/// Our container and its volume, removed when dropped.
struct Names {
    name: String,
    port: u16,
}

impl Drop for Names {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.name])
            .output();
        let _ = Command::new("docker")
            .args(["volume", "rm", "-f", &format!("{}-data", self.name)])
            .output();
    }
}

async fn wait_published(daemon: &mut Daemon, what: &str, checksum: u64) -> Status {
    daemon
        .wait_for(what, WAIT, |s| {
            s.state == State::UpToDate && s.checksum == Some(Checksum(checksum))
        })
        .await
}

/// Time until LiteFS's API answers on the host port; `None` when it did not within `within`.
async fn litefs_answers(port: u16, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let client = reqwest::Client::new();
    loop {
        let info = client
            .get(format!("http://127.0.0.1:{port}/info"))
            .timeout(Duration::from_secs(1))
            .send()
            .await;
        if info.is_ok_and(|r| r.status().is_success()) {
            return Some(started.elapsed());
        }
        if started.elapsed() > within {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_restores_from_the_cloud_publishes_new_versions_and_survives_kills() {
    let Some(docker) = engine().await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let cloud_file = root.path().join("cloud.sqlite3");
    let v1 = cloud_database(&cloud_file, 1);
    let cloud = CloudStandin::start(&cloud_file, &real_litefs::docker0());
    let names = Names {
        name: format!("vds-real-{}-{}", std::process::id(), fastrand::u32(..)),
        port: free_port(),
    };
    let mut config = DaemonConfig::new(root.path(), "http://unused");
    config.container = format!(
        "manage = true\nimage = \"{IMAGE}\"\nname = \"{}\"\nhost_port = {}\n",
        names.name, names.port
    );
    config.litefs = format!("cloud_endpoint = \"{}\"\n", cloud.url);
    config.env = vec![("LITEFS_CLOUD_TOKEN".into(), real_litefs::CLOUD_TOKEN.into())];
    let mut daemon = Daemon::start(root.path(), &config);

    // The store's node restores the cloud's database; the app publishes it.
    let status = wait_published(&mut daemon, "the cloud's first version", v1).await;
    let first = status.published_path.clone().unwrap();
    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&cloud_file).unwrap()
    );
    assert_eq!(status.container.as_ref().unwrap().state, "running");
    assert!(
        status.txid.is_some(),
        "the TXID is read from LiteFS's position"
    );

    // A new cloud version reaches the POS folder.
    let appeared = Instant::now();
    let v2 = cloud.publish(3);
    wait_published(&mut daemon, "the cloud's second version", v2).await;
    eprintln!(
        "cloud version appeared → published: {:.1?}",
        appeared.elapsed()
    );

    // Killed five times in a row: LiteFS answers again within seconds each time, and
    // the status shows the container as it really is.
    for round in 1..=5 {
        docker
            .kill_container(
                &names.name,
                None::<bollard::query_parameters::KillContainerOptions>,
            )
            .await
            .unwrap();
        let Some(back) = litefs_answers(names.port, Duration::from_secs(20)).await else {
            panic!(
                "kill {round}: LiteFS did not answer within 20 s\n{}",
                daemon.log_text()
            );
        };
        eprintln!("kill {round}: LiteFS answered again after {back:.1?}");
        daemon
            .wait_for(
                &format!("the container running after kill {round}"),
                WAIT,
                |s| {
                    s.container.as_ref().is_some_and(|c| c.state == "running")
                        && s.state == State::UpToDate
                },
            )
            .await;
    }
    let v3 = cloud.publish(1);
    wait_published(&mut daemon, "a version after the kills", v3).await;

    // Reset removes the container and its volume; LiteFS restores, the data is back.
    let out = Command::new(env!("CARGO_BIN_EXE_voripos-domain-sync"))
        .args(["reset", "--yes", "--config"])
        .arg(root.path().join("config.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    daemon
        .wait_for("the reset to begin", WAIT, |s| s.state != State::UpToDate)
        .await;
    // Until LiteFS restored from the cloud (0–10 s) it has no database: the last good
    // file is kept meanwhile; then it is current again, with no error.
    let status = daemon
        .wait_for("the data back after reset", WAIT, |s| {
            s.state == State::UpToDate && s.checksum == Some(Checksum(v3)) && s.error.is_none()
        })
        .await;
    assert!(status.txid.is_some());
    for file in published(&config.publish_dir) {
        integrity_check(&file).unwrap();
    }
    assert!(Path::new(&status.published_path.unwrap()).exists());
    daemon.stop();
}
