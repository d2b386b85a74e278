//! Launch at login for a bare binary (and on macOS 12): the user's LaunchAgent for the
//! app, and whether Homebrew's service already starts it (then the menu item is disabled,
//! so the app never runs twice). The `.app` on macOS 13+ is a login item instead
//! ([`super::login_item`]).
//!
//! `~/Library/LaunchAgents/com.vori.VoriPOS.DomainSync.plist` is written or removed;
//! launchd reads it at the next login. Everything takes the home folder as a parameter.
//!
//! Homebrew's plist counts only when it still starts something: 0.4.2's service ran
//! `opt/voripos-domain-sync/bin/voripos-domain-sync.sh` (which this version's formula
//! installs again, running the new app), and a plist whose program is gone is stale.
//! An app inside a Homebrew keg (`Cellar/<name>/<version>/`) is written into the agent by
//! its `opt` path, which every upgrade moves on, never by the keg path that the upgrade's
//! cleanup deletes.

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

/// The LaunchAgent plist Homebrew's service left, as far as it matters here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HomebrewService {
    /// No `homebrew.mxcl.voripos-domain-sync.plist`.
    Absent,
    /// This version's service (or a plist that cannot be read: Homebrew's all the same).
    Current,
    /// 0.4.x's service: it runs `bin/voripos-domain-sync.sh` with `KeepAlive` true.
    Legacy,
    /// Its program does not exist: it starts nothing (the formula is gone).
    Stale(PathBuf),
}

/// The program a LaunchAgent plist runs (`Program`, else `ProgramArguments[0]`).
pub fn program(plist: &Value) -> Option<PathBuf> {
    let d = plist.as_dictionary()?;
    d.get("Program")
        .and_then(Value::as_string)
        .or_else(|| d.get("ProgramArguments")?.as_array()?.first()?.as_string())
        .map(PathBuf::from)
}

/// Which Homebrew service plist is in `home`'s LaunchAgents.
pub fn homebrew_service(home: &Path) -> HomebrewService {
    let path = agents_dir(home).join(HOMEBREW_PLIST);
    if !path.exists() {
        return HomebrewService::Absent;
    }
    let Some(program) = Value::from_file(&path).ok().as_ref().and_then(program) else {
        return HomebrewService::Current;
    };
    if !program.exists() {
        HomebrewService::Stale(program)
    } else if program.ends_with("bin/voripos-domain-sync.sh") {
        HomebrewService::Legacy
    } else {
        HomebrewService::Current
    }
}

/// The current state, from the files present.
pub fn state(home: &Path) -> State {
    let by_homebrew = matches!(
        homebrew_service(home),
        HomebrewService::Current | HomebrewService::Legacy
    );
    if by_homebrew {
        State::ByHomebrew
    } else if plist_path(home).exists() {
        State::On
    } else {
        State::Off
    }
}

/// The LaunchAgent that starts `exe` at login, restarting it after any exit that is not
/// clean (a panic exits 101, an error 1); Quit exits 0 and stays quit. Homebrew's
/// service does the same (`keep_alive successful_exit: false`).
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

/// Where `exe` is inside a Homebrew keg: the prefix, the formula's name and the path
/// inside the keg (`<prefix>/Cellar/<name>/<version>/<inside>`).
fn keg(exe: &Path) -> Option<(PathBuf, PathBuf, PathBuf)> {
    let parts: Vec<_> = exe.components().collect();
    let at = parts.iter().rposition(|c| c.as_os_str() == "Cellar")?;
    if parts.len() < at + 4 {
        return None;
    }
    let prefix: PathBuf = parts[..at].iter().collect();
    let name = PathBuf::from(parts[at + 1].as_os_str());
    let inside: PathBuf = parts[at + 3..].iter().collect();
    Some((prefix, name, inside))
}

/// Whether `exe` is inside a Homebrew keg, which an upgrade replaces.
pub fn in_homebrew_keg(exe: &Path) -> bool {
    keg(exe).is_some()
}

/// The path that still names the app after an upgrade: `<prefix>/opt/<name>/<inside>` for
/// an app in a keg (the `opt` link follows upgrades; the keg is deleted by cleanup), `exe`
/// itself otherwise.
pub fn lasting_path(exe: &Path) -> PathBuf {
    match keg(exe) {
        Some((prefix, name, inside)) => prefix.join("opt").join(name).join(inside),
        None => exe.to_path_buf(),
    }
}

/// Writes the LaunchAgent for `exe` (atomically; a keg path is written as its
/// [`lasting_path`]); refused when Homebrew starts the app.
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
    agent(&lasting_path(exe), home)
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

    /// Writes Homebrew's service plist running `program`, as `brew services` does.
    fn homebrew_plist(home: &Path, program: &Path) {
        let agents = home.join("Library/LaunchAgents");
        std::fs::create_dir_all(&agents).unwrap();
        let mut d = Dictionary::new();
        d.insert("Label".into(), "homebrew.mxcl.voripos-domain-sync".into());
        d.insert(
            "ProgramArguments".into(),
            Value::Array(vec![program.display().to_string().into()]),
        );
        d.insert("KeepAlive".into(), true.into());
        Value::Dictionary(d)
            .to_file_xml(agents.join(HOMEBREW_PLIST))
            .unwrap();
    }

    #[test]
    fn homebrew_services_win_and_enable_is_refused() {
        let home = tempfile::tempdir().unwrap();
        let exe = home
            .path()
            .join("opt/voripos-domain-sync/VoriPOS Domain Sync.app");
        std::fs::create_dir_all(&exe).unwrap();
        homebrew_plist(home.path(), &exe);
        assert_eq!(homebrew_service(home.path()), HomebrewService::Current);
        assert_eq!(state(home.path()), State::ByHomebrew);
        let err = enable(home.path(), Path::new("/x")).unwrap_err();
        assert!(err.to_string().contains("brew services"), "{err}");
        assert!(!plist_path(home.path()).exists());
        // One Homebrew cannot be read: it is Homebrew's all the same.
        std::fs::write(
            home.path()
                .join("Library/LaunchAgents")
                .join(HOMEBREW_PLIST),
            "<plist/>",
        )
        .unwrap();
        assert_eq!(state(home.path()), State::ByHomebrew);
    }

    #[test]
    fn a_0_4_2_service_counts_while_its_entry_point_exists_and_a_stale_one_does_not() {
        let home = tempfile::tempdir().unwrap();
        let script = home
            .path()
            .join("opt/voripos-domain-sync/bin/voripos-domain-sync.sh");
        homebrew_plist(home.path(), &script);
        // The formula was removed (or the Mac was set up another way): it starts nothing.
        assert_eq!(
            homebrew_service(home.path()),
            HomebrewService::Stale(script.clone())
        );
        assert_eq!(state(home.path()), State::Off);
        let exe =
            Path::new("/Applications/VoriPOS Domain Sync.app/Contents/MacOS/voripos-domain-sync");
        enable(home.path(), exe).unwrap();
        assert_eq!(state(home.path()), State::On);
        disable(home.path()).unwrap();

        // This version's formula installs the entry point again: the old service runs it.
        std::fs::create_dir_all(script.parent().unwrap()).unwrap();
        std::fs::write(&script, "#!/bin/bash\n").unwrap();
        assert_eq!(homebrew_service(home.path()), HomebrewService::Legacy);
        assert_eq!(state(home.path()), State::ByHomebrew);
    }

    #[test]
    fn an_app_in_a_homebrew_keg_is_named_by_its_opt_path() {
        let keg = Path::new(
            "/opt/homebrew/Cellar/voripos-domain-sync/0.5.0/VoriPOS Domain Sync.app/Contents/MacOS/voripos-domain-sync",
        );
        assert!(in_homebrew_keg(keg));
        assert_eq!(
            lasting_path(keg),
            Path::new("/opt/homebrew/opt/voripos-domain-sync/VoriPOS Domain Sync.app/Contents/MacOS/voripos-domain-sync")
        );
        for elsewhere in [
            "/Applications/VoriPOS Domain Sync.app/Contents/MacOS/voripos-domain-sync",
            "/opt/homebrew/opt/voripos-domain-sync/VoriPOS Domain Sync.app/Contents/MacOS/voripos-domain-sync",
            "/usr/local/Cellar/voripos-domain-sync",
        ] {
            assert!(!in_homebrew_keg(Path::new(elsewhere)), "{elsewhere}");
            assert_eq!(lasting_path(Path::new(elsewhere)), Path::new(elsewhere));
        }

        let home = tempfile::tempdir().unwrap();
        let path = enable(home.path(), keg).unwrap();
        let value = Value::from_file(path).unwrap();
        assert_eq!(
            program(&value).unwrap(),
            Path::new("/opt/homebrew/opt/voripos-domain-sync/VoriPOS Domain Sync.app/Contents/MacOS/voripos-domain-sync")
        );
    }
}
