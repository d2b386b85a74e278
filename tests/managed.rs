//! Settings an organization manages with a configuration profile (MDM), as a fleet admin
//! checks them: `config` names them as managed and they win over the file and the
//! environment; a bad one is `config_invalid` naming the profile and the key, fixed live;
//! the sample profiles in `bundle/` are valid plists whose settings the app accepts.
//!
//! The managed-preferences folder is under a test root (`VORIPOS_DOMAIN_SYNC_SYSTEM_ROOT`,
//! honoured by debug builds only), as `/Library/Managed Preferences` is on a Mac.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{data_home, Daemon, DaemonConfig};
use plist::{Dictionary, Value};
use voripos_domain_sync::error_kind::ErrorKind;
use voripos_domain_sync::status::State;

const USER: &str = "pos";
const PLIST: &str = "com.vori.VoriPOS.DomainSync.plist";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The Mac's and the user's managed preferences files under `root`.
fn mac_profile(root: &Path) -> PathBuf {
    root.join("Library/Managed Preferences").join(PLIST)
}

fn user_profile(root: &Path) -> PathBuf {
    root.join("Library/Managed Preferences")
        .join(USER)
        .join(PLIST)
}

/// Writes `entries` as a binary plist at `path` (what macOS writes), atomically.
fn write_profile(path: &Path, entries: &[(&str, Value)]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let dict: Dictionary = entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let temp = path.with_extension("tmp");
    Value::Dictionary(dict).to_file_binary(&temp).unwrap();
    std::fs::rename(&temp, path).unwrap();
}

/// The app with the managed-preferences root, the user and the home under `root`.
fn app(root: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_voripos-domain-sync"));
    cmd.env("VORIPOS_DOMAIN_SYNC_SYSTEM_ROOT", root.join("managed"))
        .env("USER", USER)
        .env("HOME", root.join("home"))
        .env("XDG_CONFIG_HOME", root.join("xdg-config"))
        .env("XDG_DATA_HOME", data_home(root))
        .env_remove("LITEFS_CLOUD_TOKEN")
        .env_remove("VORIPOS_DOMAIN_SYNC_CONFIG")
        .current_dir(root);
    cmd
}

fn line_of<'a>(text: &'a str, start: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting with {start:?} in\n{text}"))
}

#[test]
fn managed_values_win_over_the_file_and_the_environment_and_config_names_them() {
    let root = tempfile::tempdir().unwrap();
    let managed = root.path().join("managed");
    let config = root.path().join("config.toml");
    std::fs::write(
        &config,
        "[publish]\nkeep = 3\nquick_check = false\n[litefs]\ncloud_token = \"file-token-1\"\n",
    )
    .unwrap();
    write_profile(
        &user_profile(&managed),
        &[("publish.keep", Value::from(9i64))],
    );
    write_profile(
        &mac_profile(&managed),
        &[
            ("publish.keep", Value::from(4i64)),
            ("litefs.cloud_token", Value::from("managed-token-7788")),
            ("source.kind", Value::from("cloud")),
            ("cloud.url", Value::from("https://lfsb.vori.example")),
            ("ui.managed_by", Value::from("Vori IT")),
            (
                "PayloadUUID",
                Value::from("EC76D8DD-E9C4-42A7-8A38-8518E30A7F11"),
            ),
        ],
    );
    let out = app(root.path())
        .arg("config")
        .arg("--config")
        .arg(&config)
        .env("LITEFS_CLOUD_TOKEN", "env-token-1")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let user = user_profile(&managed).display().to_string();
    let mac = mac_profile(&managed).display().to_string();
    assert!(
        line_of(&text, "keep = 9").ends_with(&format!("# managed by your organization ({user})")),
        "the user's profile wins over the Mac's and the file:\n{text}"
    );
    assert!(line_of(&text, "kind = \"cloud\"").ends_with(&format!("({mac})")));
    assert!(line_of(&text, "url = \"https://lfsb.vori.example\"")
        .contains("managed by your organization"));
    assert!(line_of(&text, "quick_check = false").ends_with(&config.display().to_string()));
    let token = line_of(&text, "# cloud_token = [redacted]");
    assert!(
        token.ends_with(&format!(
            "litefs.cloud_token managed by your organization ({mac})"
        )),
        "the managed token wins over LITEFS_CLOUD_TOKEN: {token}"
    );
    assert!(line_of(&text, "# Managed by Vori IT: ").contains("cannot be changed"));
    for secret in ["managed-token-7788", "env-token-1", "file-token-1"] {
        assert!(!text.contains(secret), "{secret} in\n{text}");
    }
}

#[test]
fn a_bad_managed_value_names_the_profile_and_key_and_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let managed = root.path().join("managed");
    write_profile(
        &mac_profile(&managed),
        &[("publish.keep", Value::from(1i64))],
    );
    let out = app(root.path()).arg("config").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for part in [
        mac_profile(&managed).display().to_string().as_str(),
        "publish.keep",
        "at least 2",
        "managed by your organization",
    ] {
        assert!(err.contains(part), "{part:?} not in {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_is_picked_up_live_a_bad_value_is_config_invalid_and_the_menu_says_managed() {
    let root = tempfile::tempdir().unwrap();
    let managed = root.path().join("managed");
    // The folders exist, as on a managed Mac; the profile arrives while the app runs.
    std::fs::create_dir_all(user_profile(&managed).parent().unwrap()).unwrap();
    let mut config = DaemonConfig::new(root.path(), "http://127.0.0.1:9");
    // The default status file, where an unusable configuration is reported.
    config.status_file = data_home(root.path()).join("voripos-domain-sync/status.json");
    config.env = vec![
        (
            "VORIPOS_DOMAIN_SYNC_SYSTEM_ROOT".into(),
            managed.display().to_string(),
        ),
        ("USER".into(), USER.into()),
        (
            "HOME".into(),
            root.path().join("home").display().to_string(),
        ),
    ];
    let mut daemon = Daemon::start(root.path(), &config);
    let first = daemon
        .wait_for("the core started", Duration::from_secs(30), |s| {
            s.publish_dir.is_some()
        })
        .await;
    assert_eq!(first.managed_by, None);

    write_profile(
        &user_profile(&managed),
        &[("publish.keep", Value::from("many"))],
    );
    let invalid = daemon
        .wait_for("config_invalid", Duration::from_secs(30), |s| {
            s.error
                .as_ref()
                .is_some_and(|e| e.kind == ErrorKind::ConfigInvalid)
        })
        .await;
    let message = &invalid.error.unwrap().message;
    assert!(
        message.contains(&user_profile(&managed).display().to_string()),
        "{message}"
    );
    assert!(message.contains("publish.keep"), "{message}");

    write_profile(
        &user_profile(&managed),
        &[
            ("publish.keep", Value::from(4i64)),
            ("ui.managed_by", Value::from("Vori IT")),
        ],
    );
    let fixed = daemon
        .wait_for("managed by Vori IT", Duration::from_secs(30), |s| {
            s.managed_by.as_deref() == Some("Vori IT") && s.state != State::Error
        })
        .await;
    assert_eq!(
        fixed.publish_dir.as_deref(),
        Some(config.publish_dir.as_path())
    );
    daemon.stop();
}

/// The payload of a sample profile whose type is `payload_type`.
fn payload(profile: &str, payload_type: &str) -> Dictionary {
    let value = Value::from_file(repo(profile)).unwrap_or_else(|e| panic!("{profile}: {e}"));
    let top = value.into_dictionary().unwrap();
    assert_eq!(top["PayloadType"].as_string(), Some("Configuration"));
    let content = top["PayloadContent"].as_array().unwrap();
    let found = content
        .iter()
        .filter_map(Value::as_dictionary)
        .find(|p| p["PayloadType"].as_string() == Some(payload_type))
        .unwrap_or_else(|| panic!("{profile} has no {payload_type} payload"));
    found.clone()
}

#[test]
fn the_sample_profiles_are_plists_with_unique_uuids_and_the_app_accepts_their_settings() {
    let mut uuids = Vec::new();
    for entry in std::fs::read_dir(repo("bundle")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "mobileconfig") {
            continue;
        }
        let top = Value::from_file(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .into_dictionary()
            .unwrap();
        uuids.push(top["PayloadUUID"].as_string().unwrap().to_string());
        for p in top["PayloadContent"].as_array().unwrap() {
            uuids.push(
                p.as_dictionary().unwrap()["PayloadUUID"]
                    .as_string()
                    .unwrap()
                    .to_string(),
            );
        }
    }
    assert!(uuids.len() >= 6, "{uuids:?}");
    let mut unique = uuids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), uuids.len(), "{uuids:?}");

    // The login items profile allows the app's login item and the .pkg's agent.
    let login = payload(
        "bundle/VoriPOS-Domain-Sync-Login-Items.mobileconfig",
        "com.apple.servicemanagement",
    );
    let rules: Vec<(String, String)> = login["Rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let r = r.as_dictionary().unwrap();
            (
                r["RuleType"].as_string().unwrap().into(),
                r["RuleValue"].as_string().unwrap().into(),
            )
        })
        .collect();
    for rule_type in ["BundleIdentifier", "Label"] {
        assert!(
            rules.contains(&(rule_type.into(), "com.vori.VoriPOS.DomainSync".into())),
            "{rules:?}"
        );
    }

    // The settings profile's payload, installed as macOS would, is accepted by the app.
    let settings = payload(
        "bundle/VoriPOS-Domain-Sync-Settings.mobileconfig",
        "com.vori.VoriPOS.DomainSync",
    );
    let root = tempfile::tempdir().unwrap();
    let entries: Vec<(&str, Value)> = settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    write_profile(&mac_profile(&root.path().join("managed")), &entries);
    let out = app(root.path()).arg("config").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(line_of(&text, "kind = \"cloud\"").contains("managed by your organization"));
    assert!(line_of(&text, "# cloud_token = [redacted]").contains("managed by your organization"));
    assert!(text.contains("# Managed by Vori IT: "), "{text}");
}
