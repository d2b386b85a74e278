//! Launch at login as System Settings shows it. The `.app` on macOS 13+ registers itself
//! as a login item (`SMAppService.mainApp`): System Settings → General → Login Items lists
//! it and can switch it off, and the menu's checkmark follows that. A bare binary (run
//! from a path outside an `.app`) and macOS 12 keep the LaunchAgent ([`launch_agent`]).
//! Homebrew's service wins over both, so the app never runs twice.
//!
//! The decisions ([`uses_login_item`], [`combine`]) are pure; only `mac` calls the
//! framework.

use std::path::Path;

use super::launch_agent::{self, State};

/// `SMAppServiceStatusEnabled`: registered and allowed to launch.
pub const ENABLED: isize = 1;

/// Whether `exe` is the executable of an `.app` bundle (`X.app/Contents/MacOS/exe`), the
/// only kind of program a login item can be, outside a Homebrew keg (a login item names
/// the bundle's own folder, which the next upgrade's cleanup deletes; the LaunchAgent
/// names the keg's `opt` path instead).
pub fn uses_login_item(exe: &Path) -> bool {
    if launch_agent::in_homebrew_keg(exe) {
        return false;
    }
    let mut up = exe.ancestors().skip(1);
    let named =
        |dir: Option<&Path>, name: &str| dir.and_then(Path::file_name) == Some(name.as_ref());
    named(up.next(), "MacOS")
        && named(up.next(), "Contents")
        && up
            .next()
            .and_then(Path::extension)
            .is_some_and(|e| e == "app")
}

/// The menu's state from what is there: Homebrew's service plist, the LaunchAgent, and the
/// login item's status (`None` when there is no login item to ask about). A login item
/// that is registered but switched off in System Settings (`RequiresApproval`) does not
/// launch, so it shows unchecked.
pub fn combine(by_homebrew: bool, agent: bool, login_item: Option<isize>) -> State {
    if by_homebrew {
        State::ByHomebrew
    } else if agent || login_item == Some(ENABLED) {
        State::On
    } else {
        State::Off
    }
}

/// The state on this system for the app at `exe`.
pub fn state_here(home: Option<&Path>, exe: Option<&Path>) -> State {
    let agent_state = launch_agent::state_here(home);
    let (Some(status), Some(home)) = (login_item_status(exe), home) else {
        return agent_state;
    };
    let by_homebrew = agent_state == State::ByHomebrew;
    combine(
        by_homebrew,
        launch_agent::plist_path(home).exists(),
        Some(status),
    )
}

/// Turns launch at login on or off; says what it did.
pub fn set(home: &Path, exe: &Path, on: bool) -> Result<String, String> {
    if login_item_status(Some(exe)).is_none() {
        return if on {
            launch_agent::enable(home, exe)
                .map(|path| format!("on ({})", path.display()))
                .map_err(|e| e.to_string())
        } else {
            launch_agent::disable(home)
                .map(|()| "off".into())
                .map_err(|e| e.to_string())
        };
    }
    // One mechanism at a time: an agent left from a bare binary would start it twice.
    launch_agent::disable(home).map_err(|e| e.to_string())?;
    set_login_item(on)?;
    Ok(if on { "on (login item)" } else { "off" }.into())
}

/// The login item's status for `exe`, when it is an `.app` on macOS 13+
/// (`SMAppServiceStatus`: 0 not registered, 1 enabled, 2 requires approval, 3 not found).
pub fn login_item_status(exe: Option<&Path>) -> Option<isize> {
    // Through `opt`, the app is still the one in the keg.
    let exe = exe.map(|e| e.canonicalize().unwrap_or_else(|_| e.to_path_buf()));
    exe.is_some_and(|e| uses_login_item(&e))
        .then(mac::status)
        .flatten()
}

fn set_login_item(on: bool) -> Result<(), String> {
    mac::set(on)
}

#[cfg(target_os = "macos")]
mod mac {
    use objc2::runtime::AnyClass;
    use objc2_service_management::SMAppService;

    /// The main app's login-item status; `None` before macOS 13 (no `SMAppService`).
    pub fn status() -> Option<isize> {
        AnyClass::get(c"SMAppService")?;
        // SAFETY: the class exists (macOS 13+); neither call takes arguments.
        Some(unsafe { SMAppService::mainAppService().status() }.0)
    }

    /// Registers or unregisters the main app; only called after [`status`] found the class.
    pub fn set(on: bool) -> Result<(), String> {
        // SAFETY: the class exists (see above); the calls take no arguments.
        let result = unsafe {
            let service = SMAppService::mainAppService();
            if on {
                service.registerAndReturnError()
            } else {
                service.unregisterAndReturnError()
            }
        };
        result.map_err(|e| e.localizedDescription().to_string())
    }
}

/// Not a Mac: there are no login items.
#[cfg(not(target_os = "macos"))]
mod mac {
    pub fn status() -> Option<isize> {
        None
    }

    pub fn set(_on: bool) -> Result<(), String> {
        Err("login items are macOS only".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_app_bundle_executable_is_a_login_item() {
        let app = "/Applications/VoriPOS Domain Sync.app/Contents/MacOS/voripos-domain-sync";
        assert!(uses_login_item(Path::new(app)));
        // In a Homebrew keg the LaunchAgent names the app by its opt path instead.
        let brew = "/opt/homebrew/Cellar/voripos-domain-sync/0.5.0/VoriPOS Domain Sync.app/Contents/MacOS/voripos-domain-sync";
        assert!(!uses_login_item(Path::new(brew)));
        for bare in [
            "/usr/local/bin/voripos-domain-sync",
            "/work/target/release/voripos-domain-sync",
            "/x/Contents/MacOS/voripos-domain-sync",
            "/x.app/MacOS/voripos-domain-sync",
            "voripos-domain-sync",
        ] {
            assert!(!uses_login_item(Path::new(bare)), "{bare}");
        }
    }

    #[test]
    fn the_checkmark_follows_system_settings() {
        // NotRegistered, Enabled, RequiresApproval (switched off in System Settings), NotFound.
        assert_eq!(combine(false, false, Some(0)), State::Off);
        assert_eq!(combine(false, false, Some(ENABLED)), State::On);
        assert_eq!(combine(false, false, Some(2)), State::Off);
        assert_eq!(combine(false, false, Some(3)), State::Off);
        // A LaunchAgent left from a bare binary still starts it.
        assert_eq!(combine(false, true, Some(0)), State::On);
        assert_eq!(combine(false, true, None), State::On);
        assert_eq!(combine(false, false, None), State::Off);
        // Homebrew's service wins.
        assert_eq!(combine(true, true, Some(ENABLED)), State::ByHomebrew);
    }

    #[test]
    fn a_bare_binary_keeps_the_launch_agent() {
        let home = tempfile::tempdir().unwrap();
        let exe = Path::new("/usr/local/bin/voripos-domain-sync");
        assert_eq!(
            state_here(Some(home.path()), Some(exe)),
            launch_agent::state_here(Some(home.path()))
        );
        set(home.path(), exe, true).unwrap();
        assert!(launch_agent::plist_path(home.path()).exists());
        set(home.path(), exe, false).unwrap();
        assert!(!launch_agent::plist_path(home.path()).exists());
    }
}
