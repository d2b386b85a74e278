//! What the UI and the CLI ask the running core to do, and the words both show before
//! the one request that deletes something.
//!
//! The control socket carries these as [`crate::ipc::protocol::Request`]s; the tray's
//! menu sends the same requests on the same channel; the serve loop turns them into
//! [`Command`]s for the core.

/// What the UI and CLI ask the core to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Export, verify and publish now if LiteFS has something newer.
    Resync,
    /// Remove the LiteFS container and its data, start again, resync.
    Reset,
    /// Stop syncing and exit.
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
