//! Launch at login for a bare binary (and on macOS 12): the user's LaunchAgent for the
//! app, and whether Homebrew's service already starts it (then the menu item is disabled,
//! so the app never runs twice). The `.app` on macOS 13+ is a login item instead
//! ([`super::login_item`]).
//!
//! `~/Library/LaunchAgents/com.vori.VoriPOS.DomainSync.plist` is written or removed;
//! launchd reads it at the next login. Everything takes the home folder as a parameter.

use std::path::{Path, PathBuf};

use plist::{Dictionary, Value};

/// The LaunchAgent's label (also the app's bundle identifier).
pub const LABEL: &str = "com.vori.VoriPOS.DomainSync";
/// The plist `brew services start voripos-domain-sync` writes.
pub const HOMEBREW_PLIST: &str = "homebrew.mxcl.voripos-domain-sync.plist";
/// Where launchd's own output for the agent goes, under the home folder.
pub const LOG_DIR: &str = "Library/Logs/VoriPOS Domain Sync";

/// Whether the app starts at login, and by whom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Off,
    On,
    /// Homebrew's service starts it: launch at login cannot be changed here.
    ByHomebrew,
    /// Not a Mac (no launchd), or no home folder: nothing to change.
    Unavailable,
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            State::Off => "off",
            State::On => "on",
            State::ByHomebrew => "started by Homebrew services (brew services)",
            State::Unavailable => "not available (macOS only)",
        })
    }
}

/// Launch at login could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum LaunchAgentError {
    #[error("Homebrew services already starts the app at login ({0}); use `brew services stop voripos-domain-sync` to change that")]
    ByHomebrew(PathBuf),
    #[error("cannot write {path}: {message}")]
    Write { path: PathBuf, message: String },
    #[error("cannot remove {path}: {source}")]
    Remove {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn agents_dir(home: &Path) -> PathBuf {
    home.join("Library/LaunchAgents")
}

/// The app's LaunchAgent plist.
pub fn plist_path(home: &Path) -> PathBuf {
    agents_dir(home).join(format!("{LABEL}.plist"))
}

/// The state on this system: [`state`] on macOS, [`State::Unavailable`] elsewhere or
/// without a home folder.
pub fn state_here(home: Option<&Path>) -> State {
    match home {
        Some(home) if cfg!(target_os = "macos") => state(home),
        _ => State::Unavailable,
    }
}

/// The current state, from the files present.
pub fn state(home: &Path) -> State {
    if agents_dir(home).join(HOMEBREW_PLIST).exists() {
        State::ByHomebrew
    } else if plist_path(home).exists() {
        State::On
    } else {
        State::Off
    }
}

/// The LaunchAgent that starts `exe` at login, restarting it only after a crash.
pub fn agent(exe: &Path, home: &Path) -> Value {
    let log = home.join(LOG_DIR).join("launchd.log");
    let log = Value::from(log.display().to_string());
    let mut crash = Dictionary::new();
    crash.insert("SuccessfulExit".into(), Value::from(false));
    let mut d = Dictionary::new();
    d.insert("Label".into(), Value::from(LABEL));
    d.insert(
        "ProgramArguments".into(),
        Value::Array(vec![Value::from(exe.display().to_string())]),
    );
    d.insert("RunAtLoad".into(), Value::from(true));
    d.insert("KeepAlive".into(), Value::Dictionary(crash));
    d.insert("ProcessType".into(), Value::from("Interactive"));
    d.insert("StandardOutPath".into(), log.clone());
    d.insert("StandardErrorPath".into(), log);
    Value::Dictionary(d)
}

/// Writes the LaunchAgent for `exe` (atomically); refused when Homebrew starts the app.
pub fn enable(home: &Path, exe: &Path) -> Result<PathBuf, LaunchAgentError> {
    if state(home) == State::ByHomebrew {
        return Err(LaunchAgentError::ByHomebrew(
            agents_dir(home).join(HOMEBREW_PLIST),
        ));
    }
    let path = plist_path(home);
    let error = |message: String| LaunchAgentError::Write {
        path: path.clone(),
        message,
    };
    std::fs::create_dir_all(agents_dir(home)).map_err(|e| error(e.to_string()))?;
    let temp = agents_dir(home).join(format!(".{LABEL}.plist.tmp"));
    agent(exe, home)
        .to_file_xml(&temp)
        .map_err(|e| error(e.to_string()))?;
    std::fs::rename(&temp, &path).map_err(|e| error(e.to_string()))?;
    Ok(path)
}

/// Removes the LaunchAgent; already absent is fine.
pub fn disable(home: &Path) -> Result<(), LaunchAgentError> {
    let path = plist_path(home);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(LaunchAgentError::Remove { path, source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_mac_with_a_home_folder_can_launch_at_login() {
        let home = tempfile::tempdir().unwrap();
        assert_eq!(state_here(None), State::Unavailable);
        let expected = if cfg!(target_os = "macos") {
            State::Off
        } else {
            State::Unavailable
        };
        assert_eq!(state_here(Some(home.path())), expected);
    }

    #[test]
    fn enable_and_disable_write_and_remove_the_agent() {
        let home = tempfile::tempdir().unwrap();
        assert_eq!(state(home.path()), State::Off);
        let exe =
            Path::new("/Applications/VoriPOS Domain Sync.app/Contents/MacOS/voripos-domain-sync");
        let path = enable(home.path(), exe).unwrap();
        assert_eq!(state(home.path()), State::On);
        assert!(path.ends_with("Library/LaunchAgents/com.vori.VoriPOS.DomainSync.plist"));
        let value = Value::from_file(&path).unwrap();
        let d = value.as_dictionary().unwrap();
        assert_eq!(d["Label"].as_string(), Some(LABEL));
        let args = d["ProgramArguments"].as_array().unwrap();
        assert_eq!(args[0].as_string(), Some(exe.to_str().unwrap()));
        assert_eq!(d["RunAtLoad"].as_boolean(), Some(true));
        assert_eq!(d["ProcessType"].as_string(), Some("Interactive"));
        let keep_alive = d["KeepAlive"].as_dictionary().unwrap();
        assert_eq!(keep_alive["SuccessfulExit"].as_boolean(), Some(false));
        // Enabling again replaces it.
        enable(home.path(), exe).unwrap();
        disable(home.path()).unwrap();
        assert_eq!(state(home.path()), State::Off);
        disable(home.path()).unwrap();
    }

    #[test]
    fn homebrew_services_win_and_enable_is_refused() {
        let home = tempfile::tempdir().unwrap();
        let agents = home.path().join("Library/LaunchAgents");
        std::fs::create_dir_all(&agents).unwrap();
        std::fs::write(agents.join(HOMEBREW_PLIST), "<plist/>").unwrap();
        assert_eq!(state(home.path()), State::ByHomebrew);
        let err = enable(home.path(), Path::new("/x")).unwrap_err();
        assert!(err.to_string().contains("brew services"), "{err}");
        assert!(!plist_path(home.path()).exists());
    }
}
