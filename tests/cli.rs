//! The command line as scripts and support staff use it: output, exit codes, secrets.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{data_home, Daemon, DaemonConfig};
use voripos_domain_sync::status::State;

fn app() -> Command {
    Command::new(env!("CARGO_BIN_EXE_voripos-domain-sync"))
}

const VECTOR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/testdata/litefs-checksum/database"
);

#[test]
fn verify_prints_the_litefs_checksum_and_checks_expect() {
    let out = app().args(["verify", VECTOR]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text,
        "checksum fe3831a381c602b9\npage_size 4096\npages 10\n"
    );

    let ok = app()
        .args(["verify", VECTOR, "--expect", "fe3831a381c602b9"])
        .status()
        .unwrap();
    assert_eq!(ok.code(), Some(0));
    let out = app()
        .args(["verify", VECTOR, "--expect", "fe3831a381c602b8"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("mismatch"));
}

#[test]
fn verify_refuses_a_truncated_file_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.sqlite3");
    std::fs::write(&cut, &std::fs::read(VECTOR).unwrap()[..10_000]).unwrap();
    let out = app().arg("verify").arg(&cut).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cut.sqlite3") && err.contains("truncated"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_2_and_status_without_instance_exits_3() {
    assert_eq!(app().arg("frobnicate").status().unwrap().code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!("[status]\nfile = {:?}\n", dir.path().join("none.json")),
    )
    .unwrap();
    let out = app()
        .arg("status")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("No running instance"));
}

#[test]
fn config_shows_values_but_never_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        "[litefs]\ncloud_token = \"file-secret-42\"\n[publish]\nkeep = 3\n",
    )
    .unwrap();
    let out = app()
        .arg("config")
        .arg("--config")
        .arg(&config)
        .env("LITEFS_CLOUD_TOKEN", "env-secret-17")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap();
    assert!(text.contains("keep = 3"), "{text}");
    let token = text
        .lines()
        .find(|l| l.starts_with("# cloud_token = [redacted]"))
        .unwrap_or_else(|| panic!("no token line in\n{text}"));
    assert!(
        token.ends_with("# environment LITEFS_CLOUD_TOKEN"),
        "{token}"
    );
    assert!(
        !text.contains("secret-42") && !text.contains("secret-17"),
        "{text}"
    );
}

#[test]
fn config_names_a_dotenv_token_without_showing_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "# dev cluster\nLITEFS_CLOUD_TOKEN='dotenv-secret-99'\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("c.toml"), "").unwrap();
    let out = app()
        .arg("config")
        .arg("--config")
        .arg(dir.path().join("c.toml"))
        .current_dir(dir.path())
        .env_remove("LITEFS_CLOUD_TOKEN")
        .env("HOME", dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap();
    assert!(
        text.contains("[redacted]") && text.contains(".env"),
        "{text}"
    );
    assert!(!text.contains("dotenv-secret"), "{text}");
}

#[test]
fn a_malformed_config_names_the_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("broken.toml");
    std::fs::write(&config, "[publish]\nkeep = \"many\"\n").unwrap();
    let out = app()
        .arg("config")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken.toml") && err.contains("line 2") && err.contains("keep"),
        "{err}"
    );
}

#[tokio::test]
async fn a_config_value_that_would_crash_the_worker_shows_config_invalid() {
    let root = tempfile::tempdir().unwrap();
    let config_path = root.path().join("config.toml");
    std::fs::write(
        &config_path,
        "[container]\nmanage = false\n[sync]\nmin_interval = \"1s\"\nsafety_check = \"0s\"\n",
    )
    .unwrap();
    let mut config = DaemonConfig::new(root.path(), "http://127.0.0.1:9");
    config.status_file = data_home(root.path()).join("voripos-domain-sync/status.json");
    let mut daemon = Daemon::spawn(root.path(), &config_path, &config);
    let status = daemon
        .wait_for("state error", Duration::from_secs(30), |s| {
            s.state == State::Error
        })
        .await;
    let error = status.error.expect("an error");
    assert_eq!(error.kind.as_str(), "config_invalid");
    assert!(
        error.message.contains("config.toml")
            && error.message.contains("line 5")
            && error.message.contains("key sync.safety_check")
            && error.message.contains("more than 0s"),
        "{}",
        error.message
    );
    daemon.stop();
}
