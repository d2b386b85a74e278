//! The menu-bar icon's tables: the icon family of each state and its embedded image
//! (a template PNG); [`crate::tray::icon`] turns them into native icons.

use crate::status::State;

/// The icon variant: one per family of states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IconKind {
    /// Up to date.
    Ok,
    /// Syncing, or starting.
    Syncing,
    /// Nothing new for too long while the source is unreachable.
    Stale,
    Error,
    /// Not configured, or Docker is not running.
    Off,
}

impl IconKind {
    /// Every icon variant.
    pub const ALL: [IconKind; 5] = [
        IconKind::Ok,
        IconKind::Syncing,
        IconKind::Stale,
        IconKind::Error,
        IconKind::Off,
    ];
}

/// The icon family of a state.
pub fn icon_kind(state: State) -> IconKind {
    match state {
        State::UpToDate => IconKind::Ok,
        State::Syncing | State::Starting => IconKind::Syncing,
        State::Stale => IconKind::Stale,
        State::Error => IconKind::Error,
        State::NotConfigured | State::DockerUnavailable => IconKind::Off,
    }
}

/// The icon's file name in `assets/icons` (`retina`: the 36×36 `@2x` variant).
pub fn icon_file(kind: IconKind, retina: bool) -> &'static str {
    match (kind, retina) {
        (IconKind::Ok, false) => "tray-ok.png",
        (IconKind::Ok, true) => "tray-ok@2x.png",
        (IconKind::Syncing, false) => "tray-syncing.png",
        (IconKind::Syncing, true) => "tray-syncing@2x.png",
        (IconKind::Stale, false) => "tray-stale.png",
        (IconKind::Stale, true) => "tray-stale@2x.png",
        (IconKind::Error, false) => "tray-error.png",
        (IconKind::Error, true) => "tray-error@2x.png",
        (IconKind::Off, false) => "tray-off.png",
        (IconKind::Off, true) => "tray-off@2x.png",
    }
}

/// The icon's PNG bytes, embedded in the binary (a template image: black on transparent).
pub fn icon_png(kind: IconKind, retina: bool) -> &'static [u8] {
    macro_rules! icon {
        ($name:literal) => {
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/icons/", $name))
        };
    }
    match (kind, retina) {
        (IconKind::Ok, false) => icon!("tray-ok.png"),
        (IconKind::Ok, true) => icon!("tray-ok@2x.png"),
        (IconKind::Syncing, false) => icon!("tray-syncing.png"),
        (IconKind::Syncing, true) => icon!("tray-syncing@2x.png"),
        (IconKind::Stale, false) => icon!("tray-stale.png"),
        (IconKind::Stale, true) => icon!("tray-stale@2x.png"),
        (IconKind::Error, false) => icon!("tray-error.png"),
        (IconKind::Error, true) => icon!("tray-error@2x.png"),
        (IconKind::Off, false) => icon!("tray-off.png"),
        (IconKind::Off, true) => icon!("tray-off@2x.png"),
    }
}
