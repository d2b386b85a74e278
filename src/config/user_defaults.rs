//! Reads the macOS user defaults ("preferences") of another app from its plist file.
//!
//! The fleet's provisioning writes settings for the VoriPOS app into its user defaults
//! (domain `com.vori.VoriPOS`): the OpenTelemetry collector's host and port, the LiteFS
//! token. The POS app is sandboxed, so its defaults live in its container
//! (`~/Library/Containers/com.vori.VoriPOS/Data/Library/Preferences/com.vori.VoriPOS.plist`);
//! the plain `~/Library/Preferences/com.vori.VoriPOS.plist` is read too, after it. A key
//! is looked up in that order, first found wins.
//!
//! The files are read directly (binary or XML plists, with the `plist` crate) rather than
//! through `CFPreferences`, so the code is portable and tested on Linux. A missing file
//! or key is `None`; a file that exists but cannot be parsed is an error naming it.

use std::path::{Path, PathBuf};

use plist::{Dictionary, Value};

use crate::small_file;

/// The defaults domain of the VoriPOS app.
pub const POS_DOMAIN: &str = "com.vori.VoriPOS";

/// A preferences file that exists but could not be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the user defaults file {path}: {message}")]
pub struct UserDefaultsError {
    pub path: PathBuf,
    pub message: String,
}

/// The user defaults of one domain, from every preferences file that exists.
#[derive(Debug, Default)]
pub struct UserDefaults {
    /// The dictionaries of the files that exist, in lookup order.
    files: Vec<Dictionary>,
}

/// Where the defaults of `domain` may be stored under `home`, in lookup order.
pub fn candidates(home: &Path, domain: &str) -> [PathBuf; 2] {
    let file = format!("{domain}.plist");
    [
        home.join("Library/Containers")
            .join(domain)
            .join("Data/Library/Preferences")
            .join(&file),
        home.join("Library/Preferences").join(&file),
    ]
}

impl UserDefaults {
    /// Reads the defaults of `domain` for the user whose home folder is `home`.
    pub fn load(home: &Path, domain: &str) -> Result<UserDefaults, UserDefaultsError> {
        let mut files = Vec::new();
        for path in candidates(home, domain) {
            if let Some(dict) = read_dictionary(&path)? {
                files.push(dict);
            }
        }
        Ok(UserDefaults { files })
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.files.iter().find_map(|d| d.get(key))
    }

    /// A string value; `None` when missing, empty or not a string.
    pub fn get_string(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            _ => None,
        }
    }

    /// An integer value, stored as an integer or as a string of digits.
    pub fn get_integer(&self, key: &str) -> Option<i64> {
        match self.get(key)? {
            Value::Integer(i) => i.as_signed(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

/// The top-level dictionary of a plist file (read only when it is a regular file of at
/// most [`small_file::MAX_SETTINGS_BYTES`]); `None` when the file does not exist. Used
/// for the managed preferences too.
pub(crate) fn read_dictionary(path: &Path) -> Result<Option<Dictionary>, UserDefaultsError> {
    let error = |message: String| UserDefaultsError {
        path: path.to_path_buf(),
        message,
    };
    let bytes = match small_file::read(path, small_file::MAX_SETTINGS_BYTES) {
        Ok(bytes) => bytes,
        Err(e) if e.not_found() => return Ok(None),
        Err(e) => return Err(error(e.to_string())),
    };
    let value =
        Value::from_reader(std::io::Cursor::new(bytes)).map_err(|e| error(e.to_string()))?;
    match value {
        Value::Dictionary(d) => Ok(Some(d)),
        _ => Err(error("the top level is not a dictionary".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, entries: &[(&str, Value)], binary: bool) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let dict: Dictionary = entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let value = Value::Dictionary(dict);
        if binary {
            value.to_file_binary(path).unwrap();
        } else {
            value.to_file_xml(path).unwrap();
        }
    }

    #[test]
    fn no_files_means_no_values() {
        let home = tempfile::tempdir().unwrap();
        let d = UserDefaults::load(home.path(), POS_DOMAIN).unwrap();
        assert_eq!(d.get_string("provisioned_otlpHostname"), None);
        assert_eq!(d.get_integer("provisioned_otlpPort"), None);
    }

    #[test]
    fn binary_container_plist_is_read() {
        let home = tempfile::tempdir().unwrap();
        let [container, _] = candidates(home.path(), POS_DOMAIN);
        write(
            &container,
            &[
                ("provisioned_otlpHostname", Value::from("10.0.0.7")),
                ("provisioned_otlpPort", Value::from(4318i64)),
            ],
            true,
        );
        assert!(std::fs::read(&container).unwrap().starts_with(b"bplist00"));
        let d = UserDefaults::load(home.path(), POS_DOMAIN).unwrap();
        assert_eq!(
            d.get_string("provisioned_otlpHostname").as_deref(),
            Some("10.0.0.7")
        );
        assert_eq!(d.get_integer("provisioned_otlpPort"), Some(4318));
        assert_eq!(d.get_string("missing"), None);
    }

    #[test]
    fn xml_plist_outside_the_container_is_read_and_ports_may_be_strings() {
        let home = tempfile::tempdir().unwrap();
        let [_, plain] = candidates(home.path(), POS_DOMAIN);
        write(
            &plain,
            &[
                ("provisioned_otlpHostname", Value::from("collector.local")),
                ("provisioned_otlpPort", Value::from("4319")),
            ],
            false,
        );
        assert!(std::fs::read(&plain).unwrap().starts_with(b"<?xml"));
        let d = UserDefaults::load(home.path(), POS_DOMAIN).unwrap();
        assert_eq!(
            d.get_string("provisioned_otlpHostname").as_deref(),
            Some("collector.local")
        );
        assert_eq!(d.get_integer("provisioned_otlpPort"), Some(4319));
    }

    #[test]
    fn the_container_wins_and_the_other_file_fills_gaps() {
        let home = tempfile::tempdir().unwrap();
        let [container, plain] = candidates(home.path(), POS_DOMAIN);
        write(
            &container,
            &[("provisioned_otlpHostname", Value::from("sandboxed"))],
            false,
        );
        write(
            &plain,
            &[
                ("provisioned_otlpHostname", Value::from("plain")),
                ("provisioned_otlpPort", Value::from(9999i64)),
            ],
            true,
        );
        let d = UserDefaults::load(home.path(), POS_DOMAIN).unwrap();
        assert_eq!(
            d.get_string("provisioned_otlpHostname").as_deref(),
            Some("sandboxed")
        );
        assert_eq!(d.get_integer("provisioned_otlpPort"), Some(9999));
    }

    #[test]
    fn wrong_types_and_empty_strings_are_missing() {
        let home = tempfile::tempdir().unwrap();
        let [container, _] = candidates(home.path(), POS_DOMAIN);
        write(
            &container,
            &[
                ("empty", Value::from("  ")),
                ("flag", Value::from(true)),
                ("port", Value::from("not a number")),
            ],
            true,
        );
        let d = UserDefaults::load(home.path(), POS_DOMAIN).unwrap();
        assert_eq!(d.get_string("empty"), None);
        assert_eq!(d.get_string("flag"), None);
        assert_eq!(d.get_integer("flag"), None);
        assert_eq!(d.get_integer("port"), None);
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_it() {
        let home = tempfile::tempdir().unwrap();
        let [container, _] = candidates(home.path(), POS_DOMAIN);
        std::fs::create_dir_all(container.parent().unwrap()).unwrap();
        std::fs::write(&container, b"bplist00 this is not a plist").unwrap();
        let err = UserDefaults::load(home.path(), POS_DOMAIN).unwrap_err();
        assert!(err.to_string().contains("com.vori.VoriPOS.plist"), "{err}");
    }
}
