//! Where the log goes: stderr, and for the long-running app also daily-rotated files in
//! the platform's log folder, of which a bounded number is kept. Under launchd (`brew
//! services`, the LaunchAgent) stderr is a file that never rotates, so there the lines go
//! to the rotating files only ([`to_stderr`]); colour codes only ever go to a terminal.
//!
//! Each output is one [`layer`]: the level from `RUST_LOG` (default `info`), with the
//! libraries that log request bodies and headers ([`CAPPED`]) held at `info` whatever
//! `RUST_LOG` says, a per-callsite rate limit ([`limit`]), and every registered secret
//! scrubbed from the text ([`scrub`]). So `RUST_LOG=debug` is safe to ask for, and a
//! warning in a loop cannot fill the disk.

pub mod limit;
pub mod private_file;
pub mod scrub;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use tracing::level_filters::LevelFilter;
use tracing::Subscriber;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder, Rotation};
use tracing_subscriber::filter::{FilterExt, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

use crate::config::AppDirs;
use limit::{Limiter, RateLimit};
use scrub::Scrubbed;

/// Libraries whose debug output may carry the token (the container-create body, request
/// headers): never more than `info`.
pub const CAPPED: [&str; 5] = ["bollard", "hyper", "hyper_util", "reqwest", "h2"];

/// Log files kept (one per day).
pub const KEEP_FILES: usize = 14;
/// Log file names: `voripos-domain-sync.YYYY-MM-DD.log`.
pub const FILE_PREFIX: &str = "voripos-domain-sync";

/// The log folder: `~/Library/Logs/VoriPOS Domain Sync` on macOS, `logs` in the app's data
/// folder elsewhere.
pub fn dir(dirs: &AppDirs) -> PathBuf {
    #[cfg(target_os = "macos")]
    if let Some(home) = &dirs.home {
        return home.join("Library/Logs/VoriPOS Domain Sync");
    }
    dirs.data.join("logs")
}

/// One log output writing to `writer`: `spec` is a `RUST_LOG`-style filter (`info` when
/// empty or invalid), capped for [`CAPPED`], rate-limited per callsite and scrubbed.
pub fn layer<S, W>(writer: W, ansi: bool, spec: &str) -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Clone + Send + Sync + 'static,
{
    let writer = Scrubbed(writer);
    let level = match spec.trim() {
        "" => None,
        spec => EnvFilter::try_new(spec).ok(),
    }
    .unwrap_or_else(|| EnvFilter::new("info"));
    let caps = Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(CAPPED.map(|target| (target, LevelFilter::INFO)));
    fmt::layer()
        .with_ansi(ansi)
        .with_writer(writer.clone())
        .with_filter(level.and(caps).and(RateLimit::new(
            writer,
            Limiter::new(limit::PER_WINDOW, limit::WINDOW),
        )))
}

/// Whether log lines also go to stderr. Not when the app runs as a launchd job
/// (`xpc_service_name`, launchd's `XPC_SERVICE_NAME`, names one; a Terminal shows `0`)
/// with stderr redirected and the rotating files written: launchd's `StandardErrorPath`
/// would get every line a second time, in a file nothing rotates. Crashes and messages
/// from before logging starts still land there.
pub fn to_stderr(stderr_is_terminal: bool, files: bool, xpc_service_name: Option<&str>) -> bool {
    let launchd_job = xpc_service_name.is_some_and(|name| !name.is_empty() && name != "0");
    stderr_is_terminal || !files || !launchd_job
}

/// Starts logging at the level `spec` says (`RUST_LOG`'s value; `info` when empty); with
/// `folder`, also to daily files there; `xpc_service_name` is launchd's job name (see
/// [`to_stderr`]). `files_only`: with the files written, nothing goes to stderr (the
/// `demo` prints its own plain lines there). Keep the guard alive while logging:
/// dropping it flushes the file.
pub fn init(
    folder: Option<&Path>,
    spec: &str,
    xpc_service_name: Option<&str>,
    files_only: bool,
) -> Option<WorkerGuard> {
    let terminal = std::io::stderr().is_terminal();
    let file = folder.and_then(|folder| {
        // tracing-appender complains on stderr when the folder does not exist yet. The
        // folder (and the data folder above it, when the app makes it) is private.
        if let Err(e) = crate::private_dir::create(folder) {
            eprintln!(
                "cannot create the log folder {}: {e}; logging to stderr only",
                folder.display()
            );
            return None;
        }
        private_file::prepare_today(folder);
        let appender = Builder::new()
            .rotation(Rotation::DAILY)
            .filename_prefix(FILE_PREFIX)
            .filename_suffix("log")
            .max_log_files(KEEP_FILES)
            .build(folder);
        match appender {
            Ok(appender) => Some(tracing_appender::non_blocking(
                private_file::PrivateDaily::new(appender, folder),
            )),
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
        Some((writer, guard)) => (Some(layer(writer, false, spec)), Some(guard)),
        None => (None, None),
    };
    let quiet = files_only && file_layer.is_some();
    let stderr = (!quiet && to_stderr(terminal, file_layer.is_some(), xpc_service_name))
        .then(|| layer(std::io::stderr, terminal, spec));
    tracing_subscriber::registry()
        .with(stderr)
        .with(file_layer)
        .init();
    guard
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer keeping what was logged.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    /// What `log` wrote through a [`layer`] with filter `spec`.
    fn logged(spec: &str, log: impl FnOnce()) -> String {
        let out = Captured::default();
        let subscriber = tracing_subscriber::registry().with(layer(out.clone(), false, spec));
        tracing::subscriber::with_default(subscriber, log);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        text
    }

    #[test]
    fn a_launchd_job_logs_to_its_rotating_files_only() {
        let brew = Some("homebrew.mxcl.voripos-domain-sync");
        assert!(!to_stderr(false, true, brew));
        assert!(!to_stderr(false, true, Some("com.vori.VoriPOS.DomainSync")));
        // Without rotating files stderr is the only log; a terminal always shows it.
        assert!(to_stderr(false, false, brew));
        assert!(to_stderr(true, true, brew));
        // Not a launchd job: a Terminal says "0", elsewhere the variable is unset.
        assert!(to_stderr(false, true, Some("0")));
        assert!(to_stderr(false, true, Some("")));
        assert!(to_stderr(false, true, None));
    }

    #[test]
    fn trace_does_not_open_the_libraries_that_log_bodies() {
        let text = logged("trace", || {
            tracing::debug!(target: "bollard::docker", "body: create container");
            tracing::trace!(target: "hyper_util::client", "headers: authorization");
            tracing::debug!(target: "reqwest::connect", "starting new connection");
            tracing::info!(target: "bollard::docker", "bollard info passes");
            tracing::debug!(target: "voripos_domain_sync::sync", "our debug passes");
        });
        assert!(!text.contains("body:"), "{text}");
        assert!(!text.contains("headers:"), "{text}");
        assert!(!text.contains("new connection"), "{text}");
        assert!(text.contains("bollard info passes"), "{text}");
        assert!(text.contains("our debug passes"), "{text}");
        // Even a directive naming the library precisely cannot open it.
        let text = logged("bollard::docker=trace", || {
            tracing::debug!(target: "bollard::docker", "body: create container");
        });
        assert!(!text.contains("body:"), "{text}");
    }

    #[test]
    fn a_registered_secret_is_redacted_at_every_level() {
        crate::secrets::register("log-secret-2718");
        let text = logged("trace", || {
            tracing::error!(token = "log-secret-2718", "error log-secret-2718");
            tracing::warn!("warn log-secret-2718");
            tracing::info!("info {}", "log-secret-2718");
            tracing::debug!(detail = ?"log-secret-2718", "debug");
            tracing::trace!("trace log-secret-2718");
        });
        assert_eq!(text.lines().count(), 5, "{text}");
        assert!(!text.contains("2718"), "{text}");
        assert_eq!(text.matches("[redacted]").count(), 6, "{text}");
    }

    #[test]
    fn the_level_is_info_unless_the_spec_says_otherwise() {
        let text = logged("", || {
            tracing::debug!("hidden");
            tracing::info!("shown");
        });
        assert!(!text.contains("hidden") && text.contains("shown"), "{text}");
        let text = logged("not a [valid filter", || tracing::info!("shown"));
        assert!(text.contains("shown"), "{text}");
    }

    #[test]
    fn a_warning_in_a_loop_writes_a_bounded_number_of_lines() {
        let text = logged("info", || {
            for i in 0..10_000 {
                tracing::warn!("cannot do it, attempt {i}");
            }
            tracing::warn!("another callsite");
        });
        let repeated = text.lines().filter(|l| l.contains("cannot do it")).count();
        assert_eq!(repeated, limit::PER_WINDOW as usize, "{text}");
        assert!(text.contains("another callsite"), "{text}");
    }

    #[test]
    fn the_dropped_events_are_counted_in_one_line_when_the_window_ends() {
        let out = Captured::default();
        let limited = fmt::layer()
            .with_ansi(false)
            .with_writer(out.clone())
            .with_filter(RateLimit::new(
                out.clone(),
                Limiter::new(1, std::time::Duration::from_millis(20)),
            ));
        tracing::subscriber::with_default(tracing_subscriber::registry().with(limited), || {
            for i in 0..3 {
                tracing::warn!(attempt = i, "again");
            }
            std::thread::sleep(std::time::Duration::from_millis(30));
            tracing::warn!("after the window");
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].ends_with("again attempt=0"), "{text}");
        assert!(
            lines[1].contains("WARN voripos_domain_sync::logs: suppressed 2 similar messages from voripos_domain_sync::logs::tests (src/logs/mod.rs:"),
            "{text}"
        );
        assert!(lines[1].ends_with("; the last: again attempt=2"), "{text}");
        assert!(lines[2].ends_with("after the window"), "{text}");
    }
}
