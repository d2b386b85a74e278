//! The process's secrets, and scrubbing them out of every text the app emits.
//!
//! Each secret the app comes across (the LiteFS Cloud token, wherever it was found) is
//! registered here; [`scrub`] replaces every registered value with `[redacted]`. Logging
//! (see `logs`), the status board and the command line's error line pass their text
//! through it, so a token that slips into a message by any path never reaches a screen,
//! a file or a support ticket.

use std::borrow::Cow;
use std::sync::RwLock;

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Values shorter than this are not registered: they would match ordinary words and
/// mangle every message, and no real token is that short.
pub const MIN_LEN: usize = 8;

/// A set of secret values and the scrubbing of text.
#[derive(Debug, Default)]
pub struct Registry {
    /// Longest first, so a secret containing another is replaced whole.
    values: RwLock<Vec<String>>,
}

impl Registry {
    /// An empty registry.
    pub const fn new() -> Self {
        Registry {
            values: RwLock::new(Vec::new()),
        }
    }

    /// Adds `secret` (trimmed; ignored when shorter than [`MIN_LEN`]).
    pub fn register(&self, secret: &str) {
        let secret = secret.trim();
        if secret.chars().count() < MIN_LEN {
            return;
        }
        let mut values = self.values.write().unwrap_or_else(|e| e.into_inner());
        if values.iter().any(|v| v == secret) {
            return;
        }
        values.push(secret.to_string());
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// `text` with every registered value replaced by [`REDACTED`]; borrowed when it
    /// holds none.
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let values = self.values.read().unwrap_or_else(|e| e.into_inner());
        let mut out = Cow::Borrowed(text);
        for value in values.iter() {
            if out.contains(value.as_str()) {
                out = Cow::Owned(out.replace(value.as_str(), REDACTED));
            }
        }
        out
    }
}

/// The process's registry.
static PROCESS: Registry = Registry::new();

/// Registers a secret of this process (see [`Registry::register`]).
pub fn register(secret: &str) {
    PROCESS.register(secret);
}

/// `text` without any of this process's secrets (see [`Registry::scrub`]).
pub fn scrub(text: &str) -> Cow<'_, str> {
    PROCESS.scrub(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_occurrence_of_every_secret_is_replaced() {
        let r = Registry::new();
        r.register("  tok-1234567  ");
        r.register("other-secret");
        let text = "a tok-1234567 b other-secret c tok-1234567";
        assert_eq!(r.scrub(text), "a [redacted] b [redacted] c [redacted]");
    }

    #[test]
    fn text_without_secrets_is_borrowed_unchanged() {
        let r = Registry::new();
        r.register("tok-1234567");
        assert!(matches!(
            r.scrub("nothing here"),
            Cow::Borrowed("nothing here")
        ));
    }

    #[test]
    fn a_secret_containing_another_is_replaced_whole() {
        let r = Registry::new();
        r.register("abcdefgh");
        r.register("abcdefgh-longer");
        assert_eq!(r.scrub("x abcdefgh-longer y"), "x [redacted] y");
    }

    #[test]
    fn short_values_are_not_registered() {
        let r = Registry::new();
        r.register("tok");
        r.register("");
        assert_eq!(r.scrub("tok and more"), "tok and more");
    }

    #[test]
    fn the_process_registry_scrubs_what_was_registered() {
        register("process-secret-881");
        assert_eq!(scrub("token process-secret-881!"), "token [redacted]!");
    }
}
