//! Soak: the daemon under a steady stream of commits for a long time, with a POS-like
//! reader opening the newest published file in a loop. What must stay flat: the
//! daemon's memory (RSS), open descriptors and threads; what must stay zero: the
//! reader's errors.
//!
//! Run: `cargo build --release --examples && cargo bench --bench soak`. Knobs:
//! `SOAK_SECS` (default 600), `SOAK_MB` (database size, default 64), `SOAK_TX_MS`
//! (commit interval, default 150), `SOAK_SAMPLE_SECS` (default 30). The daemon is the
//! release binary cargo builds with the bench, against an in-process litefs-sim; its
//! folders live in a temp folder removed at the end.

#[path = "../common/mod.rs"]
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use common::{example_binary, Daemon, DaemonConfig, SimServer};

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One look at the daemon: resident memory (KiB), open descriptors, threads.
#[derive(Clone, Copy, Debug)]
struct Sample {
    at: Duration,
    rss_kib: u64,
    fds: usize,
    threads: u64,
}

fn sample(pid: u32, at: Duration) -> Result<Sample> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).context("the daemon is gone")?;
    let field = |name: &str| -> Result<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("no {name} in /proc/{pid}/status"))
    };
    Ok(Sample {
        at,
        rss_kib: field("VmRSS:")?,
        threads: field("Threads:")?,
        fds: std::fs::read_dir(format!("/proc/{pid}/fd"))?.count(),
    })
}

fn main() -> Result<()> {
    let secs = knob("SOAK_SECS", 600);
    let size_mb = knob("SOAK_MB", 64);
    let tx_ms = knob("SOAK_TX_MS", 150);
    let every = Duration::from_secs(knob("SOAK_SAMPLE_SECS", 30));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(soak(
        Duration::from_secs(secs),
        size_mb,
        Duration::from_millis(tx_ms),
        every,
    ))
}

async fn soak(length: Duration, size_mb: u64, tx_every: Duration, every: Duration) -> Result<()> {
    let root = tempfile::tempdir()?;
    eprintln!("generating a {size_mb} MB database…");
    let sim = SimServer::start(&root.path().join("litefs"), size_mb, Some(tx_every)).await;
    let mut config = DaemonConfig::new(root.path(), &sim.url);
    config.keep = 5;
    let mut daemon = Daemon::start(root.path(), &config);
    // Commits start with the simulator: the first publish is of whatever position the
    // first export found (waiting for one fixed position raced the commits).
    daemon
        .wait_for("a first publish", Duration::from_secs(60), |s| {
            s.state == voripos_domain_sync::status::State::UpToDate && s.published_path.is_some()
        })
        .await;
    let first_txid = sim.sim.position().txid;

    let stop = root.path().join("stop-reader");
    let reader = Command::new(example_binary("pos-reader"))
        .arg(&config.publish_dir)
        .arg(&stop)
        .stdout(Stdio::piped())
        .spawn()
        .context("pos-reader (run `cargo build --release --examples` first)")?;

    println!(
        "Soak: {} s of commits every {} ms on a {size_mb} MB database, a reader opening the newest file in a loop",
        length.as_secs(),
        tx_every.as_millis()
    );
    println!(
        "  {:>6}  {:>10}  {:>4}  {:>7}",
        "t (s)", "RSS (MiB)", "fds", "threads"
    );
    let pid = daemon.child.id();
    let start = Instant::now();
    let mut samples = Vec::new();
    while start.elapsed() < length {
        tokio::time::sleep(every.min(length.saturating_sub(start.elapsed()))).await;
        let s = sample(pid, start.elapsed())?;
        println!(
            "  {:>6}  {:>10.1}  {:>4}  {:>7}",
            s.at.as_secs(),
            s.rss_kib as f64 / 1024.0,
            s.fds,
            s.threads
        );
        samples.push(s);
    }
    let last_txid = sim.sim.position().txid;
    std::fs::write(&stop, b"")?;
    let out = reader.wait_with_output()?;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let status = daemon.status().context("no status")?;
    daemon.stop();

    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        bail!("no samples");
    };
    let max = |f: fn(&Sample) -> u64| samples.iter().map(f).max().unwrap_or(0);
    println!("  transactions committed: {}", last_txid - first_txid);
    println!(
        "  RSS first/last/max: {:.1} / {:.1} / {:.1} MiB",
        first.rss_kib as f64 / 1024.0,
        last.rss_kib as f64 / 1024.0,
        max(|s| s.rss_kib) as f64 / 1024.0
    );
    println!(
        "  descriptors first/last/max: {} / {} / {}",
        first.fds,
        last.fds,
        max(|s| s.fds as u64)
    );
    println!(
        "  threads first/last/max: {} / {} / {}",
        first.threads,
        last.threads,
        max(|s| s.threads)
    );
    println!(
        "  reader: {} reads, {} errors (first: {})",
        report["reads"], report["errors"], report["first_error"]
    );
    println!("  final state: {:?}", status.state);
    if report["errors"] != 0 {
        bail!("the reader saw a broken database: {report}");
    }
    Ok(())
}
