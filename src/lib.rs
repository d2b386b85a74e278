//! voripos-domain-sync: keeps a VoriPOS Mac's domain database in sync with LiteFS.
//!
//! The pipeline: LiteFS events ([`sync::listener`]) trigger the [`sync::worker`], which
//! streams an export to a hidden temp file while checksumming it ([`sync::download`]),
//! [`verify`]s it, [`publish`]es it atomically into the POS app's folder and
//! [`inspect`]s it for the [`status`].

pub mod app;
pub mod backoff;
pub mod board;
pub mod cli;
pub mod config;
pub mod config_report;
pub mod daemon;
pub mod demo;
pub mod docker;
pub mod error_chain;
pub mod inspect;
pub mod ipc;
pub mod launch_agent;
pub mod link;
pub mod litefs;
pub mod logs;
pub mod menu;
pub mod publish;
pub mod recent_errors;
pub mod reload;
pub mod secrets;
pub mod status;
pub mod sync;
pub mod telemetry;
pub mod token;
pub mod tray;
pub mod user_defaults;
pub mod verify;
