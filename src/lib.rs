//! voripos-domain-sync: keeps a VoriPOS Mac's domain database in sync with LiteFS.
//!
//! The pipeline: LiteFS events ([`sync::listener`]) trigger the [`sync::worker`], which
//! streams an export to a hidden temp file while checksumming it ([`sync::download`]),
//! [`verify`]s it, [`publish`]es it atomically into the POS app's folder and
//! [`inspect`]s it for the [`status`].

pub mod backoff;
pub mod cli;
pub mod cloud;
pub mod config;
pub mod control;
pub mod docker;
pub mod error_chain;
pub mod error_kind;
pub mod handoff;
pub mod host;
pub mod inspect;
pub mod ipc;
pub mod litefs;
pub mod login;
pub mod logs;
pub mod private_dir;
pub mod publish;
pub mod secrets;
pub mod small_file;
pub mod status;
pub mod sync;
pub mod telemetry;
pub mod tray;
pub mod verify;

/// Unit tests skip (or, in CI, fail) as the integration tests do.
#[cfg(test)]
#[path = "../tests/common/skip.rs"]
mod test_skip;
