//! Tests that cannot run here: in CI (`CI=true`) a missing component (Docker, Xvfb,
//! FUSE, root, a tool) fails the test; elsewhere the test is skipped, says why on stderr,
//! and records one line in [`RECORD`] beside the test binaries' folder, which `.ci/test`
//! counts and prints at the end of the run (cargo test has no end-of-run hook). Opt-in
//! parts (the real LiteFS, `REAL_LITEFS_BIN`) are skipped and recorded in CI too.
//!
//! Standalone (no other module of the harness), so that a light test binary can take it
//! alone with `#[path = "common/skip.rs"] mod skip;`.

#![allow(dead_code)] // each test binary uses a different subset

use std::io::Write;
use std::path::PathBuf;

/// The file the skips are recorded in, in the target profile folder
/// (`target/debug/skipped-tests.txt`).
pub const RECORD: &str = "skipped-tests.txt";

/// Whether the test must fail (not skip) when a real component is missing.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Skips the running test because of `reason` (a missing component): panics in CI;
/// elsewhere prints `SKIPPED <test>: <reason>` and records it. The caller returns.
pub fn skip(reason: &str) {
    let test = test_name();
    assert!(
        !in_ci(),
        "{test}: {reason} (CI=true: a missing component is a failure, not a skip)"
    );
    record(reason);
}

/// Prints `SKIPPED <test>: <reason>` and records it in [`RECORD`].
fn record(reason: &str) {
    let test = test_name();
    eprintln!("SKIPPED {test}: {reason}");
    if let Some(path) = record_path() {
        let line = format!("{test}: {}\n", reason.replace('\n', " "));
        // One write of one line in append mode: lines from tests running in parallel
        // (threads or binaries) do not interleave.
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            eprintln!("cannot record the skip in {}: {e}", path.display());
        }
    }
}

/// Skips the running test because an opt-in part (the real LiteFS, which no registry
/// here offers) was not asked for: prints and records it like [`skip`], in CI too.
pub fn not_opted_in(reason: &str) {
    record(reason);
}

/// `<binary> <test>`: the test binary (without cargo's hash) and the test's name, which
/// libtest gives the thread that runs it.
fn test_name() -> String {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|stem| match stem.rsplit_once('-') {
            Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => name.into(),
            _ => stem,
        })
        .unwrap_or_default();
    let thread = std::thread::current();
    format!("{binary} {}", thread.name().unwrap_or("(unnamed test)"))
}

/// `target/<profile>/skipped-tests.txt`: the test binaries run from
/// `target/<profile>/deps/`.
fn record_path() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.join(RECORD))
}
