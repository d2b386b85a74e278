//! Launch at login: the menu's *Launch at Login* item and the CLI's `uninstall` both use
//! it. The `.app` on macOS 13+ is a login item ([`login_item`]); a bare binary and
//! macOS 12 write the user's LaunchAgent ([`launch_agent`]); Homebrew's service wins over
//! both, so the app never runs twice.

pub mod launch_agent;
pub mod login_item;
