//! Where the LiteFS Cloud token comes from, first found wins: a configuration profile
//! (managed by the organization), the environment, the config file, a `.env` file in the
//! working folder, the VoriPOS app's user defaults (`provisioned_litefsCloudToken`, what
//! the fleet's provisioning tool wrote up to its 0.4), and the provisioning tool's
//! credentials file `~/voripos/.credentials.json` (`litefs_cloud_token`: later versions
//! keep the whole credentials answer there instead of writing the token to the defaults).
//!
//! The token is only handed to the container's environment; everything else sees
//! where it came from, never its value.

use std::path::Path;

use crate::config::user_defaults::{self, UserDefaults, POS_DOMAIN};
use crate::config::{Config, Secret};
use crate::secrets;
use crate::small_file;

/// Environment variable holding the token (also the key looked up in `.env`).
pub const TOKEN_ENV: &str = "LITEFS_CLOUD_TOKEN";
/// The user defaults key the fleet's provisioning writes the token under.
pub const DEFAULTS_KEY: &str = "provisioned_litefsCloudToken";
/// The development file read from the working folder.
pub const DOTENV_FILE: &str = ".env";
/// The provisioning tool's credentials file, under the home folder.
pub const CREDENTIALS_FILE: &str = "voripos/.credentials.json";
/// The token's key in the credentials file.
pub const CREDENTIALS_KEY: &str = "litefs_cloud_token";

/// The token found, and where.
#[derive(Clone, Debug, Default)]
pub struct Found {
    pub token: Option<Secret>,
    /// Where the token came from (e.g. "environment LITEFS_CLOUD_TOKEN"), `None` when not found.
    pub source: Option<String>,
    /// Every place looked in, for the not-configured message.
    pub looked_in: Vec<String>,
    /// Sources that exist but could not be read; the messages never contain a value.
    pub warnings: Vec<String>,
}

/// What the token is looked up in, so the lookup is testable without the process's state.
/// Its `Debug` does not show the environment's value.
#[derive(Clone)]
pub struct Places<'a> {
    /// The value of `LITEFS_CLOUD_TOKEN` in the environment.
    pub env: Option<String>,
    /// The folder holding the `.env` file (the working folder).
    pub work_dir: &'a Path,
    /// The user's home folder, for the user defaults; `None` when there is none.
    pub home: Option<&'a Path>,
}

impl std::fmt::Debug for Places<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Places")
            .field("env", &self.env.as_ref().map(|_| secrets::REDACTED))
            .field("work_dir", &self.work_dir)
            .field("home", &self.home)
            .finish()
    }
}

/// One place to look in; it may add a warning.
type Lookup<'a> = &'a dyn Fn(&mut Vec<String>) -> Option<String>;

/// Looks for the token, first found wins; empty values count as absent. Later places are
/// only read when the earlier ones had nothing.
pub fn resolve(config: &Config, places: &Places<'_>) -> Found {
    let mut found = Found::default();
    // A token a configuration profile manages wins over every other place.
    let managed = config.managed.source_of("litefs.cloud_token");
    if let (Some(source), Some(token)) = (managed, &config.litefs.cloud_token) {
        let source = format!("litefs.cloud_token {source}");
        found.looked_in = vec![source.clone()];
        found.token = Some(token.clone());
        found.source = Some(source);
        return found;
    }
    let dotenv = places.work_dir.join(DOTENV_FILE);
    let defaults_files = places
        .home
        .map(|h| user_defaults::candidates(h, POS_DOMAIN));
    found.looked_in = vec![
        format!("environment {TOKEN_ENV}"),
        "config file [litefs] cloud_token".to_string(),
        format!("{}", dotenv.display()),
        match &defaults_files {
            Some([container, plain]) => format!(
                "user defaults {POS_DOMAIN} {DEFAULTS_KEY} ({}, {})",
                container.display(),
                plain.display()
            ),
            None => format!("user defaults {POS_DOMAIN} {DEFAULTS_KEY} (no home folder)"),
        },
        match places.home {
            Some(home) => format!(
                "{} {CREDENTIALS_KEY}",
                home.join(CREDENTIALS_FILE).display()
            ),
            None => format!("~/{CREDENTIALS_FILE} {CREDENTIALS_KEY} (no home folder)"),
        },
    ];
    let lookups: [Lookup<'_>; 5] = [
        &|_| places.env.clone(),
        &|_| {
            config
                .litefs
                .cloud_token
                .as_ref()
                .map(|t| t.expose().to_string())
        },
        &|warnings| read_dotenv(&dotenv, warnings),
        &|warnings| places.home.and_then(|h| read_defaults(h, warnings)),
        &|warnings| places.home.and_then(|h| read_credentials(h, warnings)),
    ];
    for (i, lookup) in lookups.iter().enumerate() {
        if let Some(token) = lookup(&mut found.warnings).filter(|t| !t.trim().is_empty()) {
            found.token = Some(Secret::new(token.trim().to_string()));
            found.source = Some(found.looked_in[i].clone());
            break;
        }
    }
    found
}

/// `LITEFS_CLOUD_TOKEN` from a `.env` file, parsed without touching the environment. A
/// line that cannot be parsed is reported without its content (it may hold the token).
fn read_dotenv(path: &Path, warnings: &mut Vec<String>) -> Option<String> {
    let entries = match small_file::read(path, small_file::MAX_SETTINGS_BYTES) {
        Ok(bytes) => dotenvy::from_read_iter(std::io::Cursor::new(bytes)),
        Err(e) if e.not_found() => return None,
        Err(e) => {
            warnings.push(e.to_string());
            return None;
        }
    };
    for (n, entry) in entries.enumerate() {
        match entry {
            Ok((key, value)) if key == TOKEN_ENV => return Some(value),
            Ok(_) => {}
            Err(_) => {
                warnings.push(format!(
                    "{}: entry {} cannot be parsed; the rest of the file is ignored",
                    path.display(),
                    n + 1
                ));
                return None;
            }
        }
    }
    None
}

/// The token the fleet's provisioning stored in the VoriPOS app's user defaults.
fn read_defaults(home: &Path, warnings: &mut Vec<String>) -> Option<String> {
    match UserDefaults::load(home, POS_DOMAIN) {
        Ok(defaults) => defaults.get_string(DEFAULTS_KEY),
        Err(e) => {
            warnings.push(e.to_string());
            None
        }
    }
}

/// `litefs_cloud_token` from the provisioning tool's credentials file (JSON). A file that
/// cannot be parsed is reported without its content (it holds secrets).
fn read_credentials(home: &Path, warnings: &mut Vec<String>) -> Option<String> {
    let path = home.join(CREDENTIALS_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            warnings.push(format!("cannot read {}: {e}", path.display()));
            return None;
        }
    };
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(json) => json[CREDENTIALS_KEY].as_str().map(String::from),
        Err(_) => {
            warnings.push(format!("{} is not valid JSON", path.display()));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plist::Value;
    use std::path::PathBuf;

    fn config(text: &str) -> Config {
        Config::parse(text, Path::new("c.toml")).unwrap()
    }

    struct Dirs {
        work: tempfile::TempDir,
        home: tempfile::TempDir,
    }

    impl Dirs {
        fn new() -> Dirs {
            Dirs {
                work: tempfile::tempdir().unwrap(),
                home: tempfile::tempdir().unwrap(),
            }
        }

        fn resolve(&self, config: &Config, env: Option<&str>) -> Found {
            resolve(
                config,
                &Places {
                    env: env.map(String::from),
                    work_dir: self.work.path(),
                    home: Some(self.home.path()),
                },
            )
        }

        fn write_dotenv(&self, text: &str) {
            std::fs::write(self.work.path().join(".env"), text).unwrap();
        }

        /// Writes the token into the container or the plain preferences plist.
        fn write_defaults(&self, token: &str, binary: bool, container: bool) -> PathBuf {
            let [c, p] = user_defaults::candidates(self.home.path(), POS_DOMAIN);
            let path = if container { c } else { p };
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let mut dict = plist::Dictionary::new();
            dict.insert(DEFAULTS_KEY.into(), Value::from(token));
            dict.insert("provisioned_otlpPort".into(), Value::from(4318i64));
            let value = Value::Dictionary(dict);
            if binary {
                value.to_file_binary(&path).unwrap();
            } else {
                value.to_file_xml(&path).unwrap();
            }
            path
        }
    }

    #[test]
    fn environment_wins_over_the_config_file() {
        let dirs = Dirs::new();
        dirs.write_dotenv("LITEFS_CLOUD_TOKEN=from-dotenv\n");
        let c = config("[litefs]\ncloud_token = \"from-file\"\n");
        let found = dirs.resolve(&c, Some("from-env"));
        assert_eq!(found.token.unwrap().expose(), "from-env");
        assert_eq!(
            found.source.as_deref(),
            Some("environment LITEFS_CLOUD_TOKEN")
        );
        let found = dirs.resolve(&c, Some("  "));
        assert_eq!(found.token.unwrap().expose(), "from-file");
        assert_eq!(
            found.source.as_deref(),
            Some("config file [litefs] cloud_token")
        );
    }

    #[test]
    fn dotenv_comes_after_the_config_file_and_allows_quotes_and_comments() {
        let dirs = Dirs::new();
        dirs.write_defaults("from-defaults", true, true);
        dirs.write_dotenv(
            "# local development\nOTHER=1\nLITEFS_CLOUD_TOKEN=\"quoted value\" # the dev cluster\n",
        );
        let found = dirs.resolve(&config(""), None);
        assert_eq!(found.token.unwrap().expose(), "quoted value");
        assert!(found.source.unwrap().ends_with(".env"));
        assert!(found.warnings.is_empty(), "{:?}", found.warnings);
    }

    #[test]
    fn user_defaults_come_last_in_binary_and_xml() {
        for (binary, container) in [(true, true), (false, false), (false, true), (true, false)] {
            let dirs = Dirs::new();
            dirs.write_dotenv("OTHER=1\n");
            let path = dirs.write_defaults("provisioned-abc", binary, container);
            let found = dirs.resolve(&config(""), None);
            assert_eq!(found.token.unwrap().expose(), "provisioned-abc");
            let source = found.source.unwrap();
            assert!(
                source.starts_with("user defaults com.vori.VoriPOS"),
                "{source}"
            );
            assert!(source.contains(&path.display().to_string()), "{source}");
        }
    }

    #[test]
    fn missing_everywhere_says_where_it_looked() {
        let dirs = Dirs::new();
        let found = dirs.resolve(&config(""), None);
        assert!(found.token.is_none() && found.source.is_none());
        assert_eq!(found.looked_in.len(), 5);
        assert_eq!(found.looked_in[0], "environment LITEFS_CLOUD_TOKEN");
        assert_eq!(found.looked_in[1], "config file [litefs] cloud_token");
        assert!(found.looked_in[2].ends_with(".env"));
        assert!(found.looked_in[3].contains("provisioned_litefsCloudToken"));
        assert!(found.looked_in[3].contains("Library/Preferences/com.vori.VoriPOS.plist"));
        assert!(found.looked_in[4].ends_with("voripos/.credentials.json litefs_cloud_token"));
    }

    #[test]
    fn the_provisioning_credentials_file_comes_last_and_says_where_it_was_found() {
        let dirs = Dirs::new();
        let path = dirs.home.path().join(CREDENTIALS_FILE);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            r#"{"metadata": {"store": {"id": "7"}}, "litefs_cloud_token": "from-credentials"}"#,
        )
        .unwrap();
        let found = dirs.resolve(&config(""), None);
        assert_eq!(found.token.unwrap().expose(), "from-credentials");
        assert_eq!(
            found.source.unwrap(),
            format!("{} litefs_cloud_token", path.display())
        );
        // The user defaults come first.
        dirs.write_defaults("from-defaults", true, false);
        let found = dirs.resolve(&config(""), None);
        assert_eq!(found.token.unwrap().expose(), "from-defaults");
        // A broken file is a warning that does not quote it.
        let dirs2 = Dirs::new();
        let path2 = dirs2.home.path().join(CREDENTIALS_FILE);
        std::fs::create_dir_all(path2.parent().unwrap()).unwrap();
        std::fs::write(&path2, "{\"litefs_cloud_token\": \"sekrit-cred").unwrap();
        let found = dirs2.resolve(&config(""), None);
        assert!(found.token.is_none());
        assert_eq!(found.warnings.len(), 1, "{:?}", found.warnings);
        assert!(found.warnings[0].contains(".credentials.json"));
        assert!(!format!("{found:?}").contains("sekrit"));
    }

    #[test]
    fn unreadable_sources_warn_without_the_value() {
        let dirs = Dirs::new();
        dirs.write_dotenv("LITEFS_CLOUD_TOKEN='never-closed-secret\n");
        let [container, _] = user_defaults::candidates(dirs.home.path(), POS_DOMAIN);
        std::fs::create_dir_all(container.parent().unwrap()).unwrap();
        std::fs::write(&container, b"bplist00 broken").unwrap();
        let found = dirs.resolve(&config(""), None);
        assert!(found.token.is_none());
        assert_eq!(found.warnings.len(), 2, "{:?}", found.warnings);
        assert!(found.warnings[0].contains(".env"));
        assert!(found.warnings[1].contains("com.vori.VoriPOS.plist"));
        assert!(!format!("{found:?}").contains("never-closed"));
    }

    #[test]
    fn the_places_and_the_found_token_never_print_the_value() {
        let dirs = Dirs::new();
        let places = Places {
            env: Some("env-token-value-77".into()),
            work_dir: dirs.work.path(),
            home: None,
        };
        let found = resolve(&config(""), &places);
        let printed = format!("{places:?} {found:?}");
        assert!(!printed.contains("value-77"), "{printed}");
        assert!(printed.contains("[redacted]"), "{printed}");
        // The token found is registered for scrubbing.
        assert_eq!(secrets::scrub("x env-token-value-77"), "x [redacted]");
    }
}
