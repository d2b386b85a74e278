//! `uninstall` against the real Docker engine, as support staff run it on a store Mac:
//! `--dry-run` lists exactly what a real run then removes, a real run leaves no running
//! app, container, volume, agent, socket, logs, support or config folder behind, and the
//! POS's published files stay where they are.
//!
//! Needs Docker and the static litefs-sim binary (`.ci/setup` builds it). Outside CI a
//! missing engine prints SKIPPED; in CI (`CI=true`) it fails.

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use bollard::Docker;
use common::*;
use voripos_domain_sync::status::State;

const IMAGE: &str = "voripos-domain-sync/litefs-sim:uninstall-test";
const WAIT: Duration = Duration::from_secs(60);

/// The engine, with the test image built; `None` (skip) only outside CI.
async fn engine() -> Option<Docker> {
    Some(sim_image::engine_with_sim_image(IMAGE).await?.0)
}

/// The lines of `text` that start with `prefix`, without it.
fn listed(text: &str, prefix: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .map(String::from)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_lists_what_a_real_run_removes_and_nothing_is_left_behind() {
    let Some(docker) = engine().await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let name = format!("vds-uninstall-{}-{}", std::process::id(), fastrand::u32(..));
    let _cleanup = sim_image::Cleanup(name.clone());
    let home = root.join("home");
    let agent = home.join("Library/LaunchAgents/com.vori.VoriPOS.DomainSync.plist");
    std::fs::create_dir_all(agent.parent().unwrap()).unwrap();
    std::fs::write(&agent, "<plist/>").unwrap();

    // The app's own folders, as the platform gives them: the config file in the default
    // config folder, the status file (and with it the control socket) in the data folder.
    let config_dir = root.join("xdg-config/voripos-domain-sync");
    let support = data_home(root).join("voripos-domain-sync");
    let config_path = config_dir.join("config.toml");
    std::fs::create_dir_all(&config_dir).unwrap();
    let mut config = DaemonConfig::new(root, "http://unused");
    config.status_file = support.join("status.json");
    config.container = format!(
        "manage = true\nimage = \"{IMAGE}\"\nname = \"{name}\"\nhost_port = {}\n",
        free_port()
    );
    config.env = vec![
        ("LITEFS_CLOUD_TOKEN".into(), "uninstall-test-token".into()),
        ("HOME".into(), home.display().to_string()),
        (
            "XDG_CONFIG_HOME".into(),
            root.join("xdg-config").display().to_string(),
        ),
        ("USER".into(), "pos".into()),
        (
            "VORIPOS_DOMAIN_SYNC_SYSTEM_ROOT".into(),
            root.join("managed").display().to_string(),
        ),
    ];
    config.write(&config_path);
    let mut daemon = Daemon::spawn(root, &config_path, &config);
    daemon
        .wait_for("up to date", WAIT, |s| s.state == State::UpToDate)
        .await;
    let published = published(&config.publish_dir);
    assert!(!published.is_empty());

    let uninstall = |dry_run: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_voripos-domain-sync"));
        cmd.arg("uninstall")
            .arg("--config")
            .arg(&config_path)
            .env("XDG_DATA_HOME", data_home(root))
            .envs(config.env.iter().map(|(k, v)| (k, v)));
        if dry_run {
            cmd.arg("--dry-run");
        }
        cmd.output().unwrap()
    };
    let dry = uninstall(true);
    let dry_text = String::from_utf8(dry.stdout).unwrap();
    assert!(
        dry.status.success(),
        "{dry_text}{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let would = listed(&dry_text, "  ");
    let socket = support.join("control.sock");
    let expected: BTreeSet<String> = [
        format!("the LaunchAgent {}", agent.display()),
        format!(
            "the running app (stopped; it answers at {})",
            socket.display()
        ),
        format!("the Docker container {name}"),
        format!("the Docker volume {name}-data"),
        format!("the support folder {}", support.display()),
        format!("the config folder {}", config_dir.display()),
    ]
    .into();
    assert_eq!(would, expected, "{dry_text}");
    // A dry run touches nothing.
    assert!(agent.exists() && socket.exists() && config_path.exists());
    assert!(docker.inspect_container(&name, None).await.is_ok());
    assert!(
        daemon.child.try_wait().unwrap().is_none(),
        "the app still runs"
    );

    let real = uninstall(false);
    let real_text = String::from_utf8(real.stdout).unwrap();
    assert!(
        real.status.success(),
        "{real_text}{}",
        String::from_utf8_lossy(&real.stderr)
    );
    assert_eq!(listed(&real_text, "Removed: "), expected, "{real_text}");
    let kept = format!(
        "Kept: the POS's published databases stay in {}",
        config.publish_dir.display()
    );
    assert!(
        dry_text.contains(&kept) && real_text.contains(&kept),
        "{real_text}"
    );

    let deadline = Instant::now() + WAIT;
    while daemon.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the app did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        docker.inspect_container(&name, None).await.is_err(),
        "container left"
    );
    assert!(
        docker
            .inspect_volume(&format!("{name}-data"))
            .await
            .is_err(),
        "volume left"
    );
    for gone in [&agent, &socket, &support, &config_dir] {
        assert!(!gone.exists(), "{} left behind", gone.display());
    }
    for file in &published {
        assert!(file.exists(), "{} was removed", file.display());
    }
    // Nothing left to do: a second run says so.
    let again = uninstall(true);
    assert!(String::from_utf8_lossy(&again.stdout).starts_with("Nothing to remove."));
}
