//! The token never reaches what a user or support sees, whatever shape the config file
//! that holds it has: the `config` command's output, the daemon's status file (whose
//! `error.message` *Copy diagnostics* puts into tickets) and its logs.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{data_home, Daemon, DaemonConfig};
use voripos_domain_sync::status::State;

const TOKEN: &str = "it-secret-token-5150";

/// Config files that are refused, each holding the token where a parser error could
/// quote it: an inline table, a multi-line string, a quoted key with escapes, and the
/// token (properly set) pasted into another key.
fn files() -> [(&'static str, String); 4] {
    [
        (
            "inline table",
            format!("litefs = {{ cloud_token = \"{TOKEN}\", url = 5 }}\n"),
        ),
        (
            "multi-line string",
            format!("[litefs]\ncloud_token = \"\"\"\n{TOKEN} \\q\n\"\"\"\n"),
        ),
        (
            "escaped key",
            format!("[litefs]\n\"cloud_\\u0074oken\" = \"{TOKEN}\" x\n"),
        ),
        (
            "token in another key",
            format!("[litefs]\ncloud_token = \"{TOKEN}\"\n[container]\nhost_port = \"{TOKEN}\"\n"),
        ),
    ]
}

/// Everything in the files under `dir` (recursively).
fn all_text(dir: &Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            text += &all_text(&path);
        } else {
            text += &String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default());
        }
    }
    text
}

#[test]
fn the_config_command_names_the_line_but_never_the_token() {
    for (shape, text) in files() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("c.toml");
        std::fs::write(&config, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_voripos-domain-sync"))
            .arg("config")
            .arg("--config")
            .arg(&config)
            .env_remove("LITEFS_CLOUD_TOKEN")
            .env("XDG_DATA_HOME", data_home(dir.path()))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{shape}");
        let shown = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            shown.contains("c.toml is not valid: line "),
            "{shape}: {shown}"
        );
        assert!(!shown.contains(TOKEN), "{shape}: {shown}");
    }
}

#[tokio::test]
async fn the_daemon_shows_config_invalid_without_the_token_in_status_or_logs() {
    for (shape, text) in files() {
        let root = tempfile::tempdir().unwrap();
        let config_path = root.path().join("config.toml");
        std::fs::write(&config_path, text).unwrap();
        // An unusable config file leaves the app on its default status file.
        let app_data = data_home(root.path()).join("voripos-domain-sync");
        let mut config = DaemonConfig::new(root.path(), "http://127.0.0.1:9");
        config.status_file = app_data.join("status.json");
        config.env = vec![("RUST_LOG".into(), "trace".into())];
        let mut daemon = Daemon::spawn(root.path(), &config_path, &config);
        let status = daemon
            .wait_for("config_invalid", Duration::from_secs(30), |s| {
                s.state == State::Error
            })
            .await;
        let error = status.error.expect("an error");
        assert_eq!(error.kind.as_str(), "config_invalid", "{shape}");
        assert!(
            error.message.contains("line "),
            "{shape}: {}",
            error.message
        );
        daemon.stop();
        let (files, stderr) = (all_text(&app_data.join("logs")), daemon.log_text());
        for log in [&files, &stderr] {
            assert!(
                log.contains("waiting for the file to be fixed"),
                "{shape}: {log}"
            );
        }
        let seen = all_text(&app_data) + &stderr;
        assert!(seen.contains("config_invalid"), "{shape}: {seen}");
        assert!(!seen.contains(TOKEN), "{shape}: {seen}");
    }
}
