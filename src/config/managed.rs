//! Settings an organization pushes with a configuration profile (an MDM such as Jamf,
//! Kandji or Intune): macOS's *managed preferences* of the domain
//! `com.vori.VoriPOS.DomainSync`.
//!
//! A profile installs them as a plist at `/Library/Managed Preferences/<user>/<domain>.plist`
//! (for one user) or `/Library/Managed Preferences/<domain>.plist` (for the Mac); a key is
//! looked up in that order, first found wins. The keys are the config file's dotted keys
//! (`publish.keep`, `litefs.cloud_token`, `source.kind`, …) with the config's types and
//! the same checks; a managed value wins over every other source. `ui.managed_by` names
//! the organization in the menu ("Managed by Vori IT"). Keys named `Payload…` (a
//! profile's own bookkeeping) are ignored.
//!
//! The plists are read directly with the `plist` crate, as the user defaults are, so the
//! code is portable and tested on Linux with the folder under a test root. This module
//! is pure apart from reading the files: [`read`] reads them, [`apply`] lays their values
//! over the config file's text.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plist::{Dictionary, Value};

use crate::config::{user_defaults, Config, ConfigError};
use crate::secrets;

/// The managed preferences domain of this app.
pub const DOMAIN: &str = "com.vori.VoriPOS.DomainSync";
/// The folder macOS installs managed preferences in, under the root.
pub const FOLDER: &str = "Library/Managed Preferences";
/// The managed-only key naming the organization in the menu and About.
pub const MANAGED_BY_KEY: &str = "ui.managed_by";
/// The words a managed value's source is shown with.
pub const MANAGED_BY_YOUR_ORGANIZATION: &str = "managed by your organization";

/// What is managed, for the views: each managed dotted key with the profile it came from,
/// and the organization's name when the profile gives one. Holds no value (a managed
/// token stays in the configuration, as a [`crate::config::Secret`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ManagedInfo {
    /// Dotted key → the plist it came from.
    pub keys: BTreeMap<String, PathBuf>,
    /// `ui.managed_by`.
    pub by: Option<String>,
}

impl ManagedInfo {
    /// Whether any setting is managed.
    pub fn is_managed(&self) -> bool {
        !self.keys.is_empty() || self.by.is_some()
    }

    /// "Managed by Vori IT", or "Managed by your organization"; `None` when nothing is.
    pub fn label(&self) -> Option<String> {
        self.is_managed().then(|| match &self.by {
            Some(by) => format!("Managed by {by}"),
            None => "Managed by your organization".to_string(),
        })
    }

    /// How `config` names the source of a managed key.
    pub fn source_of(&self, key: &str) -> Option<String> {
        self.keys
            .get(key)
            .map(|profile| format!("{MANAGED_BY_YOUR_ORGANIZATION} ({})", profile.display()))
    }
}

/// Where the managed preferences are looked for under `root` (`/` on a Mac), in lookup
/// order: the user's, then the Mac's.
pub fn candidates(root: &Path, user: Option<&str>) -> Vec<PathBuf> {
    let folder = root.join(FOLDER);
    let file = format!("{DOMAIN}.plist");
    let mut files = Vec::new();
    if let Some(user) = user.filter(|u| !u.is_empty() && !u.contains(['/', '\0'])) {
        files.push(folder.join(user).join(&file));
    }
    files.push(folder.join(file));
    files
}

/// One managed preferences file that exists.
#[derive(Clone, Debug)]
pub struct Profile {
    pub path: PathBuf,
    entries: Dictionary,
}

/// Reads the files of `candidates` that exist (bounded: only regular files of a settings
/// file's size, as the user defaults); a file that exists but is not a plist dictionary
/// is an error naming it.
pub fn read(candidates: &[PathBuf]) -> Result<Vec<Profile>, ConfigError> {
    let mut profiles = Vec::new();
    for path in candidates {
        match user_defaults::read_dictionary(path) {
            Ok(Some(entries)) => profiles.push(Profile {
                path: path.clone(),
                entries,
            }),
            Ok(None) => continue,
            Err(e) => {
                return Err(ConfigError::ManagedUnreadable {
                    path: e.path,
                    message: e.message,
                })
            }
        }
    }
    Ok(profiles)
}

/// The config file's `text` (already known to be valid) with the managed values of
/// `profiles` laid over it, checked by the same rules; the result records what is
/// managed. A bad managed value is [`ConfigError::Managed`], naming the profile and key.
pub fn apply(text: &str, path: &Path, profiles: &[Profile]) -> Result<Config, ConfigError> {
    let mut info = ManagedInfo::default();
    let mut managed = toml::Table::new();
    for profile in profiles {
        for (key, value) in &profile.entries {
            if key.starts_with("Payload") || info.keys.contains_key(key) {
                continue;
            }
            let invalid = |message: String| ConfigError::Managed {
                profile: profile.path.clone(),
                key: key.clone(),
                message,
            };
            if key == MANAGED_BY_KEY {
                if info.by.is_none() {
                    match value {
                        Value::String(s) if !s.trim().is_empty() => {
                            info.by = Some(s.trim().to_string())
                        }
                        _ => return Err(invalid("must be a string that is not empty".into())),
                    }
                }
                continue;
            }
            if key == "litefs.cloud_token" {
                if let Value::String(token) = value {
                    secrets::register(token);
                }
            }
            let value = to_toml(value).map_err(invalid)?;
            insert(&mut managed, key, value).map_err(invalid)?;
            info.keys.insert(key.clone(), profile.path.clone());
        }
    }
    // The managed values alone, so that an error names the key and its profile.
    serde_path_to_error::deserialize::<_, Config>(toml::Value::Table(managed.clone())).map_err(
        |e| {
            let key = e.path().to_string();
            let (profile, key) = info
                .keys
                .iter()
                .find(|(k, _)| **k == key || k.starts_with(&format!("{key}.")))
                .map(|(k, p)| (p.clone(), k.clone()))
                .unwrap_or_else(|| (profiles[0].path.clone(), key));
            ConfigError::Managed {
                profile,
                key,
                message: secrets::scrub(e.inner().to_string().trim()).into_owned(),
            }
        },
    )?;
    let mut merged: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Invalid {
        path: path.to_path_buf(),
        message: secrets::scrub(e.message()).into_owned(),
    })?;
    overlay(&mut merged, managed);
    let mut config: Config =
        serde_path_to_error::deserialize(toml::Value::Table(merged)).map_err(|e| {
            ConfigError::Managed {
                profile: profiles[0].path.clone(),
                key: e.path().to_string(),
                message: secrets::scrub(e.inner().to_string().trim()).into_owned(),
            }
        })?;
    config.managed = info;
    Ok(config)
}

/// A plist value as the TOML value the config file would hold.
fn to_toml(value: &Value) -> Result<toml::Value, String> {
    Ok(match value {
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Boolean(b) => toml::Value::Boolean(*b),
        Value::Integer(i) => toml::Value::Integer(
            i.as_signed()
                .ok_or_else(|| "the number is too large".to_string())?,
        ),
        Value::Real(r) => toml::Value::Float(*r),
        Value::Array(items) => {
            toml::Value::Array(items.iter().map(to_toml).collect::<Result<_, _>>()?)
        }
        _ => return Err("must be a string, number, boolean or array".into()),
    })
}

/// Puts `value` at the dotted `key` (`publish.keep`) in `table`.
fn insert(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<(), String> {
    let parts: Vec<&str> = key.split('.').collect();
    if parts.len() < 2 || parts.iter().any(|p| p.is_empty()) {
        return Err("is not a setting: use the config file's dotted keys, \
                    e.g. publish.keep or litefs.cloud_token"
            .into());
    }
    let (last, sections) = parts.split_last().expect("at least two parts");
    let mut at = table;
    for section in sections {
        let entry = at
            .entry(section.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        at = match entry {
            toml::Value::Table(t) => t,
            _ => return Err(format!("{section} is not a section")),
        };
    }
    at.insert(last.to_string(), value);
    Ok(())
}

/// Lays `over` over `base`, table by table.
fn overlay(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => overlay(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn profile(path: &str, entries: &[(&str, Value)]) -> Profile {
        Profile {
            path: PathBuf::from(path),
            entries: entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        }
    }

    const MAC: &str = "/Library/Managed Preferences/com.vori.VoriPOS.DomainSync.plist";
    const USER: &str = "/Library/Managed Preferences/pos/com.vori.VoriPOS.DomainSync.plist";

    #[test]
    fn the_user_s_profile_comes_before_the_mac_s() {
        let files = candidates(Path::new("/"), Some("pos"));
        assert_eq!(files, vec![PathBuf::from(USER), PathBuf::from(MAC)]);
        assert_eq!(candidates(Path::new("/"), None), vec![PathBuf::from(MAC)]);
        assert_eq!(
            candidates(Path::new("/"), Some("../x")),
            vec![PathBuf::from(MAC)]
        );
    }

    #[test]
    fn managed_values_win_over_the_file_and_keep_their_types() {
        let text = "[publish]\nkeep = 3\nmode = \"single\"\n[cloud]\npoll_interval = \"20s\"\n";
        let profiles = [
            profile(
                USER,
                &[
                    ("publish.keep", Value::from(7i64)),
                    ("PayloadUUID", Value::from("ignored")),
                ],
            ),
            profile(
                MAC,
                &[
                    ("publish.keep", Value::from(9i64)),
                    ("source.kind", Value::from("cloud")),
                    ("cloud.url", Value::from("https://lfsb.vori.example")),
                    ("telemetry.enabled", Value::from(false)),
                    ("ui.managed_by", Value::from("Vori IT")),
                ],
            ),
        ];
        let c = apply(text, Path::new("c.toml"), &profiles).unwrap();
        assert_eq!(c.publish.keep, 7, "the user's profile wins");
        assert_eq!(c.publish.mode, crate::config::PublishMode::Single);
        assert_eq!(c.source.kind, crate::config::SourceKind::Cloud);
        assert_eq!(c.cloud.url.as_deref(), Some("https://lfsb.vori.example"));
        assert_eq!(c.cloud.poll_interval, Duration::from_secs(20));
        assert!(!c.telemetry.enabled);
        assert_eq!(c.managed.label().as_deref(), Some("Managed by Vori IT"));
        assert_eq!(c.managed.keys["publish.keep"], PathBuf::from(USER));
        assert_eq!(c.managed.keys["source.kind"], PathBuf::from(MAC));
        assert!(!c.managed.keys.contains_key("PayloadUUID"));
        assert_eq!(
            c.managed.source_of("cloud.url").unwrap(),
            format!("managed by your organization ({MAC})")
        );
    }

    #[test]
    fn bad_values_name_the_profile_and_key_never_the_token() {
        let bad: [(&str, Value, &str); 6] = [
            ("publish.keep", Value::from(1i64), "at least 2"),
            ("publish.keep", Value::from("many"), "invalid type"),
            ("cloud.url", Value::from("ftp://x"), "http or https"),
            ("publish.kepp", Value::from(3i64), "kepp"),
            ("keep", Value::from(3i64), "dotted keys"),
            ("publish.dir", Value::from(true), "invalid type"),
        ];
        for (key, value, why) in bad {
            let err = apply("", Path::new("c.toml"), &[profile(MAC, &[(key, value)])])
                .unwrap_err()
                .to_string();
            for part in [MAC, key, why, "managed by your organization"] {
                assert!(err.contains(part), "{key}: {part:?} not in {err}");
            }
        }
        let err = apply(
            "",
            Path::new("c.toml"),
            &[profile(
                MAC,
                &[
                    ("litefs.cloud_token", Value::from("tok-managed-9911")),
                    ("container.host_port", Value::from("tok-managed-9911")),
                ],
            )],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("container.host_port"), "{err}");
        assert!(!err.contains("9911"), "{err}");
    }

    #[test]
    fn no_profile_manages_nothing() {
        let c = apply("[publish]\nkeep = 4\n", Path::new("c.toml"), &[]).unwrap();
        assert_eq!(c.publish.keep, 4);
        assert!(!c.managed.is_managed());
        assert_eq!(c.managed.label(), None);
        let c = apply(
            "",
            Path::new("c.toml"),
            &[profile(MAC, &[("PayloadIdentifier", Value::from("x"))])],
        )
        .unwrap();
        assert!(!c.managed.is_managed());
    }

    #[test]
    fn files_are_read_binary_or_xml_and_a_corrupt_one_is_named() {
        let root = tempfile::tempdir().unwrap();
        let files = candidates(root.path(), Some("pos"));
        assert!(read(&files).unwrap().is_empty());
        std::fs::create_dir_all(files[0].parent().unwrap()).unwrap();
        let dict: Dictionary = [("publish.keep".to_string(), Value::from(6i64))]
            .into_iter()
            .collect();
        Value::Dictionary(dict.clone())
            .to_file_binary(&files[0])
            .unwrap();
        Value::Dictionary(dict).to_file_xml(&files[1]).unwrap();
        let profiles = read(&files).unwrap();
        assert_eq!(profiles.len(), 2);
        assert_eq!(profiles[0].path, files[0]);
        std::fs::write(&files[1], b"bplist00 broken").unwrap();
        let err = read(&files).unwrap_err().to_string();
        assert!(err.contains(&files[1].display().to_string()), "{err}");
    }

    #[test]
    fn a_profile_that_is_a_fifo_is_refused_without_blocking() {
        let root = tempfile::tempdir().unwrap();
        let files = candidates(root.path(), None);
        std::fs::create_dir_all(files[0].parent().unwrap()).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(&files[0])
            .status()
            .unwrap();
        assert!(made.success(), "mkfifo");
        // Nobody writes to it: an unbounded read would wait here for ever.
        let err = read(&files).unwrap_err().to_string();
        assert!(err.contains(&files[0].display().to_string()), "{err}");
        assert!(err.contains("FIFO"), "{err}");
    }
}
