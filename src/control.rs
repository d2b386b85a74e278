//! What the menu and the CLI ask the running app to do (one type, from the click or the
//! socket to the core), and the words both show before the one request that deletes
//! something.
//!
//! The control socket carries a [`Request`] as one JSON object per line
//! ([`crate::ipc::protocol`]); the tray's menu sends the same value on the same channel.
//! The host answers `Status` from the board and `Quit` by shutting down; it hands
//! `Resync` and `Reset` to the core as they are, and stops a core with `Quit`.

use serde::{Deserialize, Serialize};

/// What the menu and the CLI ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Request {
    /// The current status.
    Status,
    /// Export, verify and publish now if the source has something newer.
    Resync,
    /// Remove the LiteFS container and its data, start again, resync.
    Reset,
    /// Stop syncing (a core), and exit (the app).
    Quit,
}

/// The title and text of the dialog shown before *Reset…* does anything.
pub fn reset_confirmation() -> (&'static str, &'static str) {
    (
        "Reset the local database copy?",
        "This deletes the local LiteFS replica (its container and its data) and downloads \
         the database again from LiteFS Cloud. The POS keeps using its current file \
         meanwhile; it is replaced once the new download has been verified.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_confirmation_says_what_it_does() {
        let (title, text) = reset_confirmation();
        assert!(title.starts_with("Reset"));
        for words in [
            "deletes the local LiteFS replica",
            "container",
            "data",
            "downloads",
            "again",
            "POS keeps using its current file",
        ] {
            assert!(text.contains(words), "{words:?} not in {text:?}");
        }
    }
}
