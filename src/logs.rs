//! Where the log goes: stderr always, and for the long-running app also daily-rotated
//! files in the platform's log folder, of which a bounded number is kept.
//!
//! Nothing logged anywhere carries the token (see `config::Secret`).

use std::path::{Path, PathBuf};

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder, Rotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

use crate::config;

/// Log files kept (one per day).
pub const KEEP_FILES: usize = 14;
/// Log file names: `voripos-domain-sync.YYYY-MM-DD.log`.
pub const FILE_PREFIX: &str = "voripos-domain-sync";

/// The log folder: `~/Library/Logs/VoriPOS Domain Sync` on macOS, `logs` in the app's data
/// folder elsewhere.
pub fn dir() -> PathBuf {
    #[cfg(target_os = "macos")]
    if let Some(home) = crate::token::home_dir() {
        return home.join("Library/Logs/VoriPOS Domain Sync");
    }
    config::app_dirs().data.join("logs")
}

/// Starts logging (level from `RUST_LOG`, default `info`); with `folder`, also to daily
/// files there. Keep the guard alive while logging: dropping it flushes the file.
pub fn init(folder: Option<&Path>) -> Option<WorkerGuard> {
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter());
    let file = folder.and_then(|folder| {
        // tracing-appender complains on stderr when the folder does not exist yet.
        if let Err(e) = std::fs::create_dir_all(folder) {
            eprintln!(
                "cannot create the log folder {}: {e}; logging to stderr only",
                folder.display()
            );
            return None;
        }
        let appender = Builder::new()
            .rotation(Rotation::DAILY)
            .filename_prefix(FILE_PREFIX)
            .filename_suffix("log")
            .max_log_files(KEEP_FILES)
            .build(folder);
        match appender {
            Ok(appender) => Some(tracing_appender::non_blocking(appender)),
            Err(e) => {
                eprintln!(
                    "cannot log to {}: {e}; logging to stderr only",
                    folder.display()
                );
                None
            }
        }
    });
    let (file_layer, guard) = match file {
        Some((writer, guard)) => (
            Some(
                fmt::layer()
                    .with_ansi(false)
                    .with_writer(writer)
                    .with_filter(filter()),
            ),
            Some(guard),
        ),
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(stderr)
        .with(file_layer)
        .init();
    guard
}
