//! Whether the app can show a tray: decided before the event loop is created, because
//! creating it without a display aborts the process on Linux.

use std::ffi::OsString;

/// How the app runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Tray,
    /// The core alone; the reason is logged.
    Headless(&'static str),
}

/// The display variables as the process had them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Displays {
    /// `DISPLAY`.
    pub x11: Option<OsString>,
    /// `WAYLAND_DISPLAY`.
    pub wayland: Option<OsString>,
}

/// The mode for a `--headless` flag and the display variables. macOS always has a menu
/// bar in the user's session (the LaunchAgent runs there); on other systems a tray needs
/// `DISPLAY` or `WAYLAND_DISPLAY`.
pub fn decide(headless_flag: bool, displays: &Displays) -> Mode {
    if headless_flag {
        return Mode::Headless("run --headless");
    }
    if cfg!(target_os = "macos") {
        return Mode::Tray;
    }
    let set = |v: &Option<OsString>| v.as_ref().is_some_and(|v| !v.is_empty());
    if set(&displays.x11) || set(&displays.wayland) {
        Mode::Tray
    } else {
        Mode::Headless("no display (neither DISPLAY nor WAYLAND_DISPLAY is set)")
    }
}

/// Connects the UI toolkit to the display; `false` when it cannot (a display that is
/// set but does not answer), so the app can still run headless.
pub fn toolkit_ready() -> bool {
    #[cfg(target_os = "linux")]
    {
        gtk::init().is_ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        true
    }
}

#[cfg(all(test, not(target_os = "macos")))]
mod tests {
    use super::*;

    fn displays(x11: Option<&str>, wayland: Option<&str>) -> Displays {
        Displays {
            x11: x11.map(OsString::from),
            wayland: wayland.map(OsString::from),
        }
    }

    #[test]
    fn a_display_gives_a_tray_unless_headless_is_asked_for() {
        assert_eq!(decide(false, &displays(Some(":0"), None)), Mode::Tray);
        assert_eq!(
            decide(false, &displays(None, Some("wayland-0"))),
            Mode::Tray
        );
        assert_eq!(
            decide(true, &displays(Some(":0"), None)),
            Mode::Headless("run --headless")
        );
    }

    #[test]
    fn no_display_or_an_empty_one_is_headless() {
        for vars in [displays(None, None), displays(Some(""), Some(""))] {
            match decide(false, &vars) {
                Mode::Headless(reason) => assert!(reason.contains("DISPLAY"), "{reason}"),
                Mode::Tray => panic!("tray without a display: {vars:?}"),
            }
        }
    }
}
