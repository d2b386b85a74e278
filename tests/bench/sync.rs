//! End-to-end benchmark of voripos-domain-sync (DESIGN.md §9), in one run.
//!
//! Run: `cargo bench --bench sync` (full: about 4–5 minutes on 2 cores, plus about half
//! a minute the first time to generate the databases; progress goes to stderr, the
//! figures to stdout). The daemon under test is the binary cargo builds with the bench
//! (`target/release/voripos-domain-sync`). `BENCH_QUICK=1` shrinks everything for a
//! smoke run (16 MB instead of 256, 8 instead of 64, 64 instead of 1024, idle 5 s).
//! Other knobs: `BENCH_ROUNDS` (publish rounds, default 5), `BENCH_SAMPLES` (latency
//! samples, default 50), `BENCH_IDLE_SECS` (default 60), `BENCH_ONLY` (comma list of
//! `publish,latency,rss,burst,idle,tray`). Generated databases are cached under
//! `target/bench-data/<size>mb/` (delete that folder after changing litefs-sim's
//! generator); each run copies them into a temp folder under `target/bench-data/`, so
//! every file is on the same disk as `target/`.
//!
//! What is measured, against baselines measured in the same run, on the same files:
//! 1. **Publish** of a 256 MB database with the library's own job
//!    (`JobContext::run`: export over HTTP from an in-process litefs-sim → streaming
//!    checksum → verify → [quick_check] → inspect → publish with fsync + folder fsync +
//!    retention), against `cp SRC DST && sync DST` (a shell process; coreutils `sync
//!    FILE` fsyncs that one file) of the same database image. Runs alternate (order
//!    rotated each round) so both see the same page-cache state; medians of
//!    `BENCH_ROUNDS`. Every measured run really publishes a new file (`known = None`).
//! 2. **Old scripts**: `cp`, then one `sqlite3` process per query (as the bash script
//!    did: the metadata query and nine `COUNT(*)`s), then `sqlite3 … ANALYZE` on the
//!    copy; no fsync (the scripts had none). Compared with our full sync, quick_check on.
//!    Then a breakdown: export alone, checksum alone, quick_check alone, inspect alone.
//! 3. **Propagation latency**: the real daemon binary (`run --headless`) against a
//!    64 MB in-process sim; one commit at a time, timed from just before
//!    `Sim::commit(1)` until the daemon's status file shows that state's checksum (polled
//!    every 1 ms). Compared with the median of `JobContext::run` alone on the same sim.
//! 4. **Peak RSS** (`VmHWM`) of a fresh daemon at its first publish, 64 MB vs 1 GB.
//! 5. **Burst**: 1,000 transactions spread over 2 s on a 16 MB database; how many files
//!    the daemon published (counted in the folder, `keep` = 10000, and in its log), and
//!    how long after the last commit the final state was out. Run twice: with the
//!    100 ms `min_interval` of the test config, then with the shipped default (`[sync] min_interval`, 1 s),
//!    which is the one held to the "handful" target.
//! 6. **Idle CPU** of the synced daemon over `BENCH_IDLE_SECS` with the sim quiet
//!    (utime+stime from `/proc/<pid>/stat`), and its threads' wake-ups (context switches).
//! 7. **Tray**: the menu-bar app (under Xvfb with the trayer tray host) and a headless
//!    daemon, synced from the same sim and then idle side by side for
//!    `BENCH_IDLE_SECS`: CPU, wake-ups and peak RSS of the app ÷ the headless daemon's.
//!
//! Reading the ratios: `ratio` = our median ÷ the baseline's median from the same run;
//! below 1.00× we are faster. The summary at the end compares each figure with its
//! target from DESIGN.md §9 ("meets" / "MISSES"; "(report)" = no target). Absolute
//! times depend on the machine; the ratios are what to compare between runs.
//!
//! Child daemons are killed and temp folders removed on every exit path, Ctrl-C included.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use litefs_sim::{Sim, SimConfig};
use voripos_domain_sync::config::DEFAULT_TABLES;
use voripos_domain_sync::inspect::Inspection;
use voripos_domain_sync::litefs::client::{Client, Timeouts};
use voripos_domain_sync::publish::{PublishMode, Publisher};
use voripos_domain_sync::status::{self, Status};
use voripos_domain_sync::sync::job::{Fetch, JobContext, LiteFsSource, Outcome};
use voripos_domain_sync::sync::ledger::Ledger;

mod tray;

const DB: &str = "Domain.sqlite3";
const MB: f64 = 1024.0 * 1024.0;

fn main() {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench: cannot start a tokio runtime: {e}");
            std::process::exit(1);
        }
    };
    // Dropping `run()` on Ctrl-C drops its daemons (killed) and temp folders (removed).
    let result = runtime.block_on(async {
        tokio::select! {
            r = run() => r,
            _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
        }
    });
    drop(runtime);
    if let Err(e) = result {
        eprintln!("\nbench FAILED: {e:#}");
        std::process::exit(1);
    }
}

/// Sizes and repetitions, from the environment.
struct Plan {
    quick: bool,
    publish_mb: u64,
    latency_mb: u64,
    big_mb: u64,
    burst_mb: u64,
    rounds: usize,
    samples: usize,
    idle: Duration,
    only: Option<Vec<String>>,
}

impl Plan {
    fn from_env() -> Result<Plan> {
        let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let num = |name: &str, default: u64| -> Result<u64> {
            match std::env::var(name) {
                Ok(v) => v
                    .trim()
                    .parse()
                    .with_context(|| format!("{name}={v:?} is not a number")),
                Err(_) => Ok(default),
            }
        };
        let only = std::env::var("BENCH_ONLY")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| v.split(',').map(|s| s.trim().to_lowercase()).collect());
        Ok(Plan {
            quick,
            publish_mb: if quick { 16 } else { 256 },
            latency_mb: if quick { 8 } else { 64 },
            big_mb: if quick { 64 } else { 1024 },
            burst_mb: if quick { 8 } else { 16 },
            rounds: num("BENCH_ROUNDS", if quick { 3 } else { 5 })?.max(1) as usize,
            samples: num("BENCH_SAMPLES", if quick { 15 } else { 50 })?.max(1) as usize,
            idle: Duration::from_secs(num("BENCH_IDLE_SECS", if quick { 5 } else { 60 })?),
            only,
        })
    }

    fn wants(&self, section: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|o| o.iter().any(|s| s == section))
    }
}

/// Where things live: the cache of generated databases, the temp folder, the daemon.
struct Env {
    cache: PathBuf,
    tmp: tempfile::TempDir,
    daemon_exe: PathBuf,
    clk_tck: f64,
}

impl Env {
    fn new() -> Result<Env> {
        let target = target_dir()?;
        let data = target.join("bench-data");
        std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
        let tmp = tempfile::Builder::new()
            .prefix("run-")
            .tempdir_in(&data)
            .with_context(|| format!("creating a temp folder in {}", data.display()))?;
        Ok(Env {
            cache: data,
            tmp,
            daemon_exe: daemon_exe()?,
            clk_tck: clock_ticks(),
        })
    }

    fn tmp(&self, name: &str) -> Result<PathBuf> {
        let p = self.tmp.path().join(name);
        std::fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
        Ok(p)
    }
}

/// `target/`: the bench executable is `target/<profile>/deps/sync-…`.
fn target_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the bench executable")?;
    exe.ancestors()
        .nth(3)
        .filter(|t| t.join("CACHEDIR.TAG").exists() || t.file_name().is_some_and(|n| n == "target"))
        .map(Path::to_path_buf)
        .or_else(|| Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("target")))
        .ok_or_else(|| anyhow!("cannot find target/"))
}

/// The daemon binary cargo built for this bench (same profile), or the one next to it.
fn daemon_exe() -> Result<PathBuf> {
    let built = PathBuf::from(env!("CARGO_BIN_EXE_voripos-domain-sync"));
    if built.is_file() {
        return Ok(built);
    }
    let exe = std::env::current_exe().context("locating the bench executable")?;
    let beside = exe
        .parent()
        .and_then(Path::parent)
        .map(|p| p.join("voripos-domain-sync"));
    match beside {
        Some(p) if p.is_file() => Ok(p),
        _ => bail!(
            "the daemon binary is missing (looked for {} and next to {}); run `cargo build --release` first",
            built.display(),
            exe.display()
        ),
    }
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

// ---------------------------------------------------------------------------------------
// litefs-sim, in process
// ---------------------------------------------------------------------------------------

/// A simulator serving on its own loopback port; stops serving when dropped.
struct SimServer {
    sim: Sim,
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl SimServer {
    /// Copies the cached `size_mb` database into `data_dir` (generating the cache first if
    /// needed) and serves it.
    async fn start(env: &Env, size_mb: u64, data_dir: PathBuf) -> Result<SimServer> {
        let cached = cached_db(env, size_mb).await?;
        std::fs::create_dir_all(&data_dir)?;
        let copy = data_dir.join(DB);
        std::fs::copy(&cached, &copy)
            .with_context(|| format!("copying {} to {}", cached.display(), copy.display()))?;
        let mut config = SimConfig::new(&data_dir);
        config.size_mb = size_mb;
        let sim = tokio::task::spawn_blocking(move || Sim::create(config))
            .await?
            .with_context(|| format!("starting litefs-sim on {}", data_dir.display()))?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let serving = sim.clone();
        let task = tokio::spawn(async move {
            if let Err(e) = serving.serve(listener).await {
                eprintln!("litefs-sim stopped serving: {e:#}");
            }
        });
        Ok(SimServer { sim, url, task })
    }

    fn checksum(&self) -> u64 {
        self.sim.position().checksum
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `target/bench-data/<size>mb/Domain.sqlite3`, generated by litefs-sim once.
async fn cached_db(env: &Env, size_mb: u64) -> Result<PathBuf> {
    let dir = env.cache.join(format!("{size_mb}mb"));
    let db = dir.join(DB);
    if db.is_file() {
        return Ok(db);
    }
    eprintln!(
        "  generating a {size_mb} MB database into {} (once; later runs reuse it)…",
        dir.display()
    );
    let start = Instant::now();
    let mut config = SimConfig::new(&dir);
    config.size_mb = size_mb;
    tokio::task::spawn_blocking(move || Sim::create(config).map(drop))
        .await?
        .with_context(|| format!("generating the {size_mb} MB database in {}", dir.display()))?;
    eprintln!("  generated in {}", secs(start.elapsed()));
    Ok(db)
}

// ---------------------------------------------------------------------------------------
// The library's sync job, in process
// ---------------------------------------------------------------------------------------

fn job_context(url: &str, publisher: Arc<Publisher>, quick_check: bool) -> Result<JobContext> {
    let client = Client::new(
        url,
        DB,
        Timeouts {
            connect: Duration::from_secs(5),
            stall: Duration::from_secs(60),
        },
    )?;
    Ok(JobContext {
        source: Fetch::LiteFs(LiteFsSource {
            client,
            // Empty ledger = "events may have been missed": the snapshot is accepted as
            // unconfirmed at once, as at a daemon's start-up. No grace wait.
            ledger: Ledger::default(),
            event_grace: Duration::ZERO,
            probe: None,
        }),
        publisher,
        quick_check,
        tables: DEFAULT_TABLES.iter().map(|t| t.to_string()).collect(),
    })
}

fn publisher(dir: &Path, keep: usize) -> Result<Arc<Publisher>> {
    let p = Publisher::new(dir.to_path_buf(), PublishMode::Versioned, DB, keep)?;
    p.prepare()?;
    Ok(Arc::new(p))
}

/// One full sync that must publish; returns its time, the file and the inspection.
async fn timed_sync(ctx: &JobContext) -> Result<(Duration, PathBuf, Option<Inspection>)> {
    let start = Instant::now();
    let outcome = ctx
        .run(None, true)
        .await
        .map_err(|e| anyhow!("sync failed ({}): {e}", e.kind()))?;
    let took = start.elapsed();
    match outcome {
        Outcome::Published {
            known, inspection, ..
        } => Ok((took, known.path, inspection)),
        Outcome::Unchanged { .. } => bail!("the sync published nothing (known = None?)"),
    }
}

// ---------------------------------------------------------------------------------------
// The daemon, as a child process
// ---------------------------------------------------------------------------------------

/// `voripos-domain-sync run --headless`; killed when dropped.
struct Daemon {
    child: Child,
    status_file: PathBuf,
    publish_dir: PathBuf,
    log: PathBuf,
    /// (len, mtime) of the status file when last parsed.
    seen: Option<(u64, std::time::SystemTime)>,
    last: Option<Status>,
}

impl Daemon {
    /// `min_interval`: `None` leaves the shipped default.
    fn start(
        env: &Env,
        root: &Path,
        url: &str,
        keep: usize,
        min_interval: Option<&str>,
    ) -> Result<Daemon> {
        Daemon::spawn(env, root, url, keep, min_interval, None)
    }

    /// `run --headless`, or with `display` the menu-bar app on that X display.
    fn spawn(
        env: &Env,
        root: &Path,
        url: &str,
        keep: usize,
        min_interval: Option<&str>,
        display: Option<&str>,
    ) -> Result<Daemon> {
        std::fs::create_dir_all(root)?;
        let publish_dir = root.join("Application Support/Domain");
        let status_file = root.join("state/status.json");
        let config = root.join("config.toml");
        std::fs::write(
            &config,
            format!(
                r#"[litefs]
url = "{url}"
database = "{DB}"
[publish]
dir = "{}"
keep = {keep}
quick_check = true
[container]
manage = false
[status]
file = "{}"
[sync]
{}safety_check = "60s"
stall_timeout = "30s"
connect_timeout = "5s"
max_backoff = "2s"
event_grace = "2s"
"#,
                publish_dir.display(),
                status_file.display(),
                min_interval.map_or(String::new(), |m| format!("min_interval = \"{m}\"\n")),
            ),
        )?;
        let log = root.join("daemon.log");
        let mut command = Command::new(&env.daemon_exe);
        match display {
            Some(display) => command.env("DISPLAY", display).arg("run"),
            None => command.args(["run", "--headless"]),
        };
        let child = command
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "info")
            .env("HOME", root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .with_context(|| format!("starting {}", env.daemon_exe.display()))?;
        Ok(Daemon {
            child,
            status_file,
            publish_dir,
            log,
            seen: None,
            last: None,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The status file's checksum, re-read only when the file changed.
    fn published_checksum(&mut self) -> Option<u64> {
        let meta = std::fs::metadata(&self.status_file).ok()?;
        let id = (meta.len(), meta.modified().ok()?);
        if self.seen != Some(id) {
            if let Ok(s) = status::read_file(&self.status_file) {
                self.seen = Some(id);
                self.last = Some(s);
            }
        }
        let s = self.last.as_ref()?;
        (s.pid == self.pid()).then_some(())?;
        s.checksum.map(|c| c.0)
    }

    /// Waits until the status file shows `checksum`, polling every `poll`.
    async fn wait_published(
        &mut self,
        checksum: u64,
        timeout: Duration,
        poll: Duration,
    ) -> Result<()> {
        let start = Instant::now();
        let mut n = 0u32;
        loop {
            if self.published_checksum() == Some(checksum) {
                return Ok(());
            }
            n += 1;
            if n.is_multiple_of(64) {
                if let Ok(Some(exit)) = self.child.try_wait() {
                    bail!("the daemon exited ({exit}); log:\n{}", self.log_tail());
                }
            }
            if start.elapsed() > timeout {
                bail!(
                    "timed out after {timeout:?} waiting for checksum {checksum:016x}; last status: {:?}\nlog:\n{}",
                    self.last.as_ref().map(|s| (&s.state, &s.checksum, &s.error)),
                    self.log_tail()
                );
            }
            tokio::time::sleep(poll).await;
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn log_tail(&self) -> String {
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn published_files(&self) -> usize {
        published_files(&self.publish_dir).len()
    }

    fn vm_hwm_kb(&self) -> Result<u64> {
        let path = format!("/proc/{}/status", self.pid());
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        text.lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| anyhow!("no VmHWM in {path}"))
    }

    /// utime + stime, in clock ticks.
    fn cpu_ticks(&self) -> Result<u64> {
        let path = format!("/proc/{}/stat", self.pid());
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        let after = text
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .ok_or_else(|| anyhow!("unexpected {path}: {text}"))?;
        let fields: Vec<&str> = after.split_whitespace().collect();
        // Fields 14 and 15 of stat(5); `after` starts at field 3.
        let get = |i: usize| -> Result<u64> {
            fields
                .get(i)
                .and_then(|f| f.parse().ok())
                .ok_or_else(|| anyhow!("unexpected {path}: {text}"))
        };
        Ok(get(11)? + get(12)?)
    }

    /// Context switches (voluntary + involuntary) per thread.
    fn switches(&self) -> HashMap<String, u64> {
        let mut out = HashMap::new();
        let dir = format!("/proc/{}/task", self.pid());
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path().join("status")) else {
                continue;
            };
            let n: u64 = text
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split(':').nth(1)?.trim().parse::<u64>().ok())
                .sum();
            out.insert(entry.file_name().to_string_lossy().into_owned(), n);
        }
        out
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Published files (`<seconds>-Domain.sqlite3`), oldest first.
fn published_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let secs = name.strip_suffix(&format!("-{DB}"))?.parse().ok()?;
            Some((secs, e.path()))
        })
        .collect();
    files.sort();
    files.into_iter().map(|(_, p)| p).collect()
}

// ---------------------------------------------------------------------------------------
// Baselines: processes, as the old scripts ran them
// ---------------------------------------------------------------------------------------

/// Runs `sh -c script sh args…`; fails with its stderr.
fn shell(script: &str, args: &[&Path]) -> Result<(Duration, String)> {
    let start = Instant::now();
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("running sh")?;
    let took = start.elapsed();
    if !out.status.success() {
        bail!(
            "`{script}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok((took, String::from_utf8_lossy(&out.stdout).into_owned()))
}

/// `cp SRC DST && sync DST` (coreutils `sync FILE` = fsync of that file).
fn cp_fsync(src: &Path, dst: &Path) -> Result<Duration> {
    let (took, _) = shell(r#"cp -- "$1" "$2" && sync -- "$2""#, &[src, dst])?;
    remove_db(dst);
    Ok(took)
}

/// What the old per-sync script did: cp, sqlite3 per query, ANALYZE on the copy.
fn old_script(src: &Path, dst: &Path) -> Result<(Duration, String)> {
    let mut script = String::from("set -e\ncp -- \"$1\" \"$2\"\n");
    script.push_str("sqlite3 \"$2\" 'SELECT generated_at, schema_version FROM metadata'\n");
    for t in DEFAULT_TABLES {
        let _ = writeln!(script, "sqlite3 \"$2\" 'SELECT COUNT(*) FROM {t}'");
    }
    script.push_str("sqlite3 \"$2\" 'ANALYZE'\n");
    let r = shell(&script, &[src, dst]);
    remove_db(dst);
    r
}

fn remove_db(path: &Path) {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

// ---------------------------------------------------------------------------------------
// Statistics and printing
// ---------------------------------------------------------------------------------------

fn median(v: &[Duration]) -> Duration {
    percentile(v, 50.0)
}

/// Nearest-rank percentile.
fn percentile(v: &[Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    let mut s = v.to_vec();
    s.sort();
    let rank = ((p / 100.0) * s.len() as f64).ceil().max(1.0) as usize;
    s[rank.min(s.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / MB)
}

fn stats_row(name: &str, v: &[Duration], base: Option<Duration>) -> String {
    let r = base.map_or("".into(), |b| format!("{:>6.2}×", ratio(median(v), b)));
    format!(
        "  {name:<52} {:>10} {:>10} {:>10}   {r}",
        ms(median(v)),
        ms(*v.iter().min().unwrap_or(&Duration::ZERO)),
        ms(*v.iter().max().unwrap_or(&Duration::ZERO)),
    )
}

/// One line of the final summary.
struct Verdict {
    figure: String,
    value: String,
    target: String,
    ok: Option<bool>,
}

fn verdict(figure: &str, value: String, target: &str, ok: Option<bool>) -> Verdict {
    Verdict {
        figure: figure.into(),
        value,
        target: target.into(),
        ok,
    }
}

// ---------------------------------------------------------------------------------------
// The sections
// ---------------------------------------------------------------------------------------

async fn run() -> Result<()> {
    let plan = Plan::from_env()?;
    let env = Env::new()?;
    let fs = Command::new("df")
        .args(["--output=source,fstype"])
        .arg(env.tmp.path())
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| {
            s.lines()
                .nth(1)
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_else(|| "?".into());
    let sqlite3 = shell("sqlite3 --version", &[])
        .map(|(_, v)| v.split_whitespace().next().unwrap_or("?").to_string())
        .context("the sqlite3 CLI is needed for the old-scripts baseline")?;
    println!(
        "voripos-domain-sync benchmark ({})",
        if plan.quick {
            "BENCH_QUICK: smoke sizes"
        } else {
            "full"
        }
    );
    println!(
        "  data: {} on {fs}; daemon: {}; {} CPUs; sqlite3 CLI {sqlite3}",
        env.tmp.path().display(),
        env.daemon_exe.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    println!(
        "  publish {} MB × {} rounds, latency {} MB × {} samples, RSS {} vs {} MB, burst on {} MB, idle {} s",
        plan.publish_mb, plan.rounds, plan.latency_mb, plan.samples, plan.latency_mb, plan.big_mb,
        plan.burst_mb, plan.idle.as_secs()
    );

    let mut summary = Vec::new();
    if plan.wants("publish") {
        publish_section(&plan, &env, &mut summary).await?;
    }
    let mut rss_small = None;
    if plan.wants("latency") || plan.wants("rss") {
        rss_small = Some(latency_section(&plan, &env, &mut summary).await?);
    }
    if plan.wants("rss") {
        if let Some(small) = rss_small {
            rss_section(&plan, &env, small, &mut summary).await?;
        }
    }
    if plan.wants("burst") || plan.wants("idle") {
        burst_idle_section(&plan, &env, &mut summary).await?;
    }
    if plan.wants("tray") {
        tray::tray_section(&plan, &env, &mut summary).await?;
    }

    println!("\n== Summary (targets from DESIGN.md §9) ==");
    println!(
        "  {:<44} {:>26}   {:<22} verdict",
        "figure", "value", "target"
    );
    for v in &summary {
        let mark = match v.ok {
            Some(true) => "meets",
            Some(false) => "MISSES",
            None => "(report)",
        };
        println!(
            "  {:<44} {:>26}   {:<22} {mark}",
            v.figure, v.value, v.target
        );
    }
    Ok(())
}

/// Sections 1 and 2: publish 256 MB vs cp+fsync and vs the old scripts.
async fn publish_section(plan: &Plan, env: &Env, summary: &mut Vec<Verdict>) -> Result<()> {
    eprintln!(
        "\n[1/2] publish {} MB: starting litefs-sim…",
        plan.publish_mb
    );
    let sim = SimServer::start(env, plan.publish_mb, env.tmp("publish-sim")?).await?;
    let dir = env.tmp("publish-dir")?;
    // keep = 2: from the third publish on, every publish also deletes one old version,
    // as in a steady state.
    let publisher = publisher(&dir, 2)?;
    let off = job_context(&sim.url, publisher.clone(), false)?;
    let on = job_context(&sim.url, publisher.clone(), true)?;

    // Warm-up (untimed): fills the folder to `keep` and gives the image to copy.
    timed_sync(&off).await?;
    let (_, published, inspection) = timed_sync(&on).await?;
    let got = litefs_sim::database_checksum(&published)?;
    if got != sim.checksum() {
        bail!(
            "the published file's checksum {got:016x} is not the sim's {:016x}",
            sim.checksum()
        );
    }
    let src_dir = env.tmp("publish-src")?;
    let src = src_dir.join(DB);
    std::fs::copy(&published, &src)?;
    let size = std::fs::metadata(&src)?.len();
    let dst = env.tmp("publish-baseline")?.join(DB);
    // The old script's output must agree with our inspection of the same image.
    let (_, out) = old_script(&src, &dst)?;
    let theirs: Vec<&str> = out.lines().collect();
    let ours_products = inspection
        .as_ref()
        .and_then(|i| i.row_counts.get("products").copied().flatten());
    if theirs.len() != 10 || theirs.get(3).and_then(|s| s.trim().parse().ok()) != ours_products {
        bail!("old-script output {theirs:?} disagrees with our inspection {inspection:?}");
    }

    #[derive(Clone, Copy, Debug)]
    enum Kind {
        CpFsync,
        SyncOff,
        OldScript,
        SyncOn,
    }
    let kinds = [Kind::CpFsync, Kind::SyncOff, Kind::OldScript, Kind::SyncOn];
    let mut times: HashMap<u8, Vec<Duration>> = HashMap::new();
    for round in 0..plan.rounds {
        for i in 0..kinds.len() {
            let kind = kinds[(i + round) % kinds.len()];
            let took = match kind {
                Kind::CpFsync => cp_fsync(&src, &dst)?,
                Kind::OldScript => old_script(&src, &dst)?.0,
                Kind::SyncOff => timed_sync(&off).await?.0,
                Kind::SyncOn => timed_sync(&on).await?.0,
            };
            eprintln!(
                "  round {}/{}: {kind:?} {}",
                round + 1,
                plan.rounds,
                ms(took)
            );
            times.entry(kind as u8).or_default().push(took);
        }
    }
    let t = |k: Kind| times.get(&(k as u8)).cloned().unwrap_or_default();
    let (cp, soff, old, son) = (
        t(Kind::CpFsync),
        t(Kind::SyncOff),
        t(Kind::OldScript),
        t(Kind::SyncOn),
    );
    let (cp_m, old_m) = (median(&cp), median(&old));

    println!(
        "\n[1] Publish a {} database ({} bytes), {} rounds, order rotated each round",
        mb(size),
        size,
        plan.rounds
    );
    println!(
        "  {:<52} {:>10} {:>10} {:>10}   ratio vs cp+fsync",
        "", "median", "min", "max"
    );
    println!(
        "{}",
        stats_row("baseline: `cp SRC DST && sync DST` (sh process)", &cp, None)
    );
    println!(
        "{}",
        stats_row(
            "our sync, quick_check off (JobContext::run)",
            &soff,
            Some(cp_m)
        )
    );
    println!(
        "{}",
        stats_row(
            "our sync, quick_check on  (JobContext::run)",
            &son,
            Some(cp_m)
        )
    );
    println!(
        "  our sync = export over HTTP + streaming checksum + verify + [quick_check] + inspect\n  \
         + fsync + hard-link publish + folder fsync + retention (one old version deleted per run)"
    );
    println!(
        "  throughput: cp+fsync {:.0} MiB/s, sync off {:.0} MiB/s, sync on {:.0} MiB/s",
        size as f64 / MB / cp_m.as_secs_f64(),
        size as f64 / MB / median(&soff).as_secs_f64(),
        size as f64 / MB / median(&son).as_secs_f64()
    );

    println!("\n[2] vs what the old scripts did per sync (same image, same disk)");
    println!(
        "  {:<52} {:>10} {:>10} {:>10}   ratio vs old scripts",
        "", "median", "min", "max"
    );
    println!(
        "{}",
        stats_row(
            "baseline: cp; 10× sqlite3 (1 per query); ANALYZE",
            &old,
            None
        )
    );
    println!(
        "{}",
        stats_row("our sync, quick_check on", &son, Some(old_m))
    );
    println!(
        "{}",
        stats_row("our sync, quick_check off", &soff, Some(old_m))
    );
    println!("  (old scripts: no fsync, no verification, written straight to the final name)");

    breakdown(&sim, &src, size, cp_m).await?;

    let r_off = ratio(median(&soff), cp_m);
    let r_on = ratio(median(&son), cp_m);
    let r_old = ratio(median(&son), old_m);
    summary.push(verdict(
        &format!("publish {} MB, quick_check off ÷ cp+fsync", plan.publish_mb),
        format!("{r_off:.2}×"),
        "≤ 1.5×",
        Some(r_off <= 1.5),
    ));
    summary.push(verdict(
        &format!("publish {} MB, quick_check on ÷ cp+fsync", plan.publish_mb),
        format!("{r_on:.2}×"),
        "report",
        None,
    ));
    summary.push(verdict(
        "full sync (quick_check on) ÷ old scripts",
        format!("{r_old:.2}×"),
        "≤ 1×",
        Some(r_old <= 1.0),
    ));
    Ok(())
}

/// Where the time of a sync goes: each part alone, on the same image (medians of 3).
async fn breakdown(sim: &SimServer, src: &Path, size: u64, cp: Duration) -> Result<()> {
    let client = Client::new(
        &sim.url,
        DB,
        Timeouts {
            connect: Duration::from_secs(5),
            stall: Duration::from_secs(60),
        },
    )?;
    let tables: Vec<String> = DEFAULT_TABLES.iter().map(|t| t.to_string()).collect();
    let mut rows: Vec<(&str, Vec<Duration>)> = Vec::new();
    let mut export = Vec::new();
    let mut checksum = Vec::new();
    let mut qc = Vec::new();
    let mut inspect = Vec::new();
    let mut largest = 0usize;
    let mut chunk_count = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let mut e = client.export().await?;
        let mut got = 0u64;
        let mut chunks = 0u64;
        while let Some(chunk) = e.chunk().await? {
            got += chunk.len() as u64;
            chunks += 1;
            largest = largest.max(chunk.len());
        }
        export.push(t.elapsed());
        chunk_count = chunks;
        if got != size {
            bail!("export sent {got} bytes, expected {size}");
        }
        let path = src.to_path_buf();
        checksum.push(
            tokio::task::spawn_blocking(move || {
                let t = Instant::now();
                voripos_domain_sync::litefs::checksum::checksum_file(&path).map(|_| t.elapsed())
            })
            .await??,
        );
        let path = src.to_path_buf();
        qc.push(
            tokio::task::spawn_blocking(move || {
                let t = Instant::now();
                voripos_domain_sync::inspect::quick_check(&path).map(|_| t.elapsed())
            })
            .await??,
        );
        let (path, tables) = (src.to_path_buf(), tables.clone());
        inspect.push(
            tokio::task::spawn_blocking(move || {
                let t = Instant::now();
                voripos_domain_sync::inspect::inspect(&path, &tables).map(|_| t.elapsed())
            })
            .await??,
        );
    }
    rows.push(("export over HTTP only, to no disk (sim + client)", export));
    rows.push(("LiteFS checksum of the file (checksum_file, hot)", checksum));
    rows.push(("PRAGMA quick_check (inspect::quick_check)", qc));
    rows.push(("metadata + 9 row counts (inspect::inspect)", inspect));
    println!("  where the time goes — each part alone, medians of 3:");
    println!(
        "  {:<52} {:>10} {:>10} {:>10}   ratio vs cp+fsync",
        "", "median", "min", "max"
    );
    for (name, v) in &rows {
        println!("{}", stats_row(name, v, Some(cp)));
    }
    println!(
        "  the export arrived in {chunk_count} chunks, the largest {:.0} KiB",
        largest as f64 / 1024.0
    );
    Ok(())
}

/// The small daemon's peak RSS, for section 4.
struct SmallRss {
    first_kb: u64,
    after_kb: u64,
    db_bytes: u64,
    syncs: usize,
}

/// Section 3 (and the small half of 4): propagation latency through the real daemon.
/// Returns the daemon's peak RSS at its first publish and after the samples.
async fn latency_section(plan: &Plan, env: &Env, summary: &mut Vec<Verdict>) -> Result<SmallRss> {
    eprintln!("\n[3] latency {} MB: starting litefs-sim…", plan.latency_mb);
    let sim = SimServer::start(env, plan.latency_mb, env.tmp("latency-sim")?).await?;
    let size = sim.sim.position().pages as u64 * sim.sim.position().page_size as u64;

    // The export+publish time alone, same settings as the daemon (quick_check on).
    let direct_dir = env.tmp("latency-direct")?;
    let ctx = job_context(&sim.url, publisher(&direct_dir, 2)?, true)?;
    timed_sync(&ctx).await?; // warm-up
    let mut alone = Vec::new();
    for _ in 0..5 {
        alone.push(timed_sync(&ctx).await?.0);
    }
    drop(ctx);
    let _ = std::fs::remove_dir_all(&direct_dir);

    let mut daemon = Daemon::start(env, &env.tmp("latency-daemon")?, &sim.url, 5, Some("100ms"))?;
    let start = Instant::now();
    daemon
        .wait_published(
            sim.checksum(),
            Duration::from_secs(300),
            Duration::from_millis(1),
        )
        .await
        .context("the daemon's first publish")?;
    let first = start.elapsed();
    let rss_first = daemon.vm_hwm_kb()?;
    eprintln!(
        "  daemon published in {}; sampling {} commits…",
        secs(first),
        plan.samples
    );

    let mut latencies = Vec::new();
    let mut commits = Vec::new();
    for i in 0..plan.samples {
        // Commits are sparse in real life: let the daemon settle (and min_interval pass).
        tokio::time::sleep(Duration::from_millis(200 + fastrand::u64(0..100))).await;
        let t0 = Instant::now();
        let pos = sim.sim.commit(1).await?;
        commits.push(t0.elapsed());
        daemon
            .wait_published(
                pos.checksum,
                Duration::from_secs(60),
                Duration::from_millis(1),
            )
            .await
            .with_context(|| format!("latency sample {}", i + 1))?;
        latencies.push(t0.elapsed());
    }
    let rss_after = daemon.vm_hwm_kb()?;
    let alone_m = median(&alone);
    let (p50, p99) = (percentile(&latencies, 50.0), percentile(&latencies, 99.0));

    println!(
        "\n[3] Propagation latency, {} database, real daemon, {} commits one at a time",
        mb(size),
        plan.samples
    );
    println!(
        "  {:<52} {:>10} {:>10} {:>10}   ratio vs run alone",
        "", "median", "min", "max"
    );
    println!(
        "{}",
        stats_row(
            "export+publish alone (JobContext::run, qc on, 5×)",
            &alone,
            None
        )
    );
    println!(
        "{}",
        stats_row(
            "commit → published (status file shows it)",
            &latencies,
            Some(alone_m)
        )
    );
    println!(
        "{}",
        stats_row("  of which Sim::commit(1) itself", &commits, None)
    );
    println!(
        "  p50 {} ({:.2}× alone), p99 {} ({:.2}× alone)  [p99 is nearest-rank: with {} samples ≈ the max]",
        ms(p50),
        ratio(p50, alone_m),
        ms(p99),
        ratio(p99, alone_m),
        plan.samples
    );
    println!("  daemon start → first publish: {}", secs(first));
    summary.push(verdict(
        &format!("latency p50 / p99 ({} MB)", plan.latency_mb),
        format!("{} / {}", ms(p50), ms(p99)),
        "report",
        None,
    ));
    summary.push(verdict(
        "latency p50 ÷ export+publish alone",
        format!("{:.2}×", ratio(p50, alone_m)),
        "report (≈1× = no lag)",
        None,
    ));
    println!(
        "  daemon peak RSS: {:.1} MiB at first publish, {:.1} MiB after {} more syncs",
        rss_first as f64 / 1024.0,
        rss_after as f64 / 1024.0,
        plan.samples
    );
    Ok(SmallRss {
        first_kb: rss_first,
        after_kb: rss_after,
        db_bytes: size,
        syncs: plan.samples,
    })
}

/// Section 4: peak RSS at the first publish, small vs big database.
async fn rss_section(
    plan: &Plan,
    env: &Env,
    small: SmallRss,
    summary: &mut Vec<Verdict>,
) -> Result<()> {
    eprintln!(
        "\n[4] RSS {} MB: starting litefs-sim (copying the cached database)…",
        plan.big_mb
    );
    let sim_dir = env.tmp("rss-sim")?;
    let root = env.tmp("rss-daemon")?;
    let (size, kb, first) = {
        let sim = SimServer::start(env, plan.big_mb, sim_dir.clone()).await?;
        let size = sim.sim.position().pages as u64 * sim.sim.position().page_size as u64;
        let mut daemon = Daemon::start(env, &root, &sim.url, 5, Some("100ms"))?;
        let start = Instant::now();
        daemon
            .wait_published(
                sim.checksum(),
                Duration::from_secs(1800),
                Duration::from_millis(5),
            )
            .await
            .context("the daemon's first publish of the big database")?;
        (size, daemon.vm_hwm_kb()?, start.elapsed())
    };
    let _ = std::fs::remove_dir_all(&sim_dir);
    let _ = std::fs::remove_dir_all(&root);
    let small_kb = small.first_kb;
    let r = kb as f64 / small_kb as f64;
    println!("\n[4] Daemon peak RSS (VmHWM) at its first publish");
    println!(
        "  {:>5} MB database: {:>8.1} MiB",
        plan.latency_mb,
        small_kb as f64 / 1024.0
    );
    println!(
        "  {:>5} MB database: {:>8.1} MiB   ({} published in {})",
        plan.big_mb,
        kb as f64 / 1024.0,
        mb(size),
        secs(first)
    );
    println!(
        "  ratio big ÷ small: {r:.2}× (database {:.0}× bigger); +{:.1} MiB of peak RSS for +{} of database ({:.2}% of the growth)",
        plan.big_mb as f64 / plan.latency_mb as f64,
        (kb as f64 - small_kb as f64) / 1024.0,
        mb(size.saturating_sub(small.db_bytes)),
        (kb as f64 - small_kb as f64) * 1024.0 / size.saturating_sub(small.db_bytes).max(1) as f64 * 100.0
    );
    println!(
        "  for scale: the {} MB daemon's peak after {} more syncs was {:.1} MiB",
        plan.latency_mb,
        small.syncs,
        small.after_kb as f64 / 1024.0
    );
    summary.push(verdict(
        &format!("peak RSS {} MB ÷ {} MB", plan.big_mb, plan.latency_mb),
        format!(
            "{:.1}/{:.1} MiB = {r:.2}×",
            kb as f64 / 1024.0,
            small_kb as f64 / 1024.0
        ),
        "flat (≈1×)",
        // "≈1×", read as: within 25%.
        Some(r <= 1.25),
    ));
    Ok(())
}

/// Sections 5 and 6: a burst with the 100 ms `min_interval` of the test config, then
/// with the shipped default on a fresh daemon, and a quiet period on that one. One
/// daemon at a time.
async fn burst_idle_section(plan: &Plan, env: &Env, summary: &mut Vec<Verdict>) -> Result<()> {
    eprintln!("\n[5] burst on {} MB: starting litefs-sim…", plan.burst_mb);
    let sim = SimServer::start(env, plan.burst_mb, env.tmp("burst-sim")?).await?;
    let runs: &[(&str, Option<&str>)] = if plan.wants("burst") {
        &[
            ("min_interval = 100 ms (test config)", Some("100ms")),
            ("shipped default min_interval (1 s)", None),
        ]
    } else {
        &[("shipped default min_interval (1 s)", None)]
    };
    let mut printed_header = false;
    for (n, (label, min_interval)) in runs.iter().enumerate() {
        // keep high so retention deletes nothing we want to count.
        let root = env.tmp(&format!("burst-daemon-{n}"))?;
        let mut daemon = Daemon::start(env, &root, &sim.url, 10_000, *min_interval)?;
        daemon
            .wait_published(
                sim.checksum(),
                Duration::from_secs(300),
                Duration::from_millis(1),
            )
            .await
            .context("the daemon's first publish")?;
        // Let start-up traffic settle.
        tokio::time::sleep(Duration::from_millis(700)).await;

        if plan.wants("burst") {
            let files_before = daemon.published_files();
            let start = Instant::now();
            let pos = sim.sim.burst(1000, Duration::from_secs(2)).await?;
            let last_commit = Instant::now();
            let burst_took = last_commit - start;
            daemon
                .wait_published(
                    pos.checksum,
                    Duration::from_secs(120),
                    Duration::from_millis(1),
                )
                .await
                .context("publishing the burst's final state")?;
            let final_after = last_commit.elapsed();
            // Anything still pending would show up now.
            tokio::time::sleep(Duration::from_secs(1)).await;
            let files = daemon.published_files() - files_before;
            let newest = published_files(&daemon.publish_dir)
                .pop()
                .ok_or_else(|| anyhow!("nothing published"))?;
            let matches = litefs_sim::database_checksum(&newest)? == pos.checksum;

            if !printed_header {
                printed_header = true;
                println!(
                    "\n[5] Burst: 1,000 transactions spread over 2 s on a {} MB database (real daemon)",
                    plan.burst_mb
                );
            }
            println!("  {label}:");
            println!(
                "    burst took {} ; files published during it and until the final state: {files}",
                secs(burst_took)
            );
            println!(
                "    final state published {} after the last commit; newest file's checksum {} the final state",
                ms(final_after),
                if matches { "matches" } else { "DOES NOT match" }
            );
            let name = if min_interval.is_none() {
                "default"
            } else {
                "100 ms"
            };
            summary.push(verdict(
                &format!("burst 1000 tx/2 s, min_interval {name}: publishes"),
                format!("{files}"),
                if min_interval.is_none() {
                    "a handful (≤ 10)"
                } else {
                    "report"
                },
                min_interval.is_none().then_some(files <= 10 && matches),
            ));
            summary.push(verdict(
                &format!("burst, min_interval {name}: final state lag"),
                ms(final_after),
                "prompt (≤ 1 s)",
                Some(final_after <= Duration::from_secs(1) && matches),
            ));
        }

        if min_interval.is_none() && plan.wants("idle") {
            idle(plan, env, &mut daemon, summary).await?;
        }
    }
    Ok(())
}

/// Section 6: CPU and wake-ups of a synced daemon while nothing happens.
async fn idle(
    plan: &Plan,
    env: &Env,
    daemon: &mut Daemon,
    summary: &mut Vec<Verdict>,
) -> Result<()> {
    tokio::time::sleep(Duration::from_secs(2)).await;
    eprintln!(
        "\n[6] idle: measuring the daemon for {} s…",
        plan.idle.as_secs()
    );
    let files_before = daemon.published_files();
    let ticks0 = daemon.cpu_ticks()?;
    let sw0 = daemon.switches();
    let t0 = Instant::now();
    tokio::time::sleep(plan.idle).await;
    let ticks1 = daemon.cpu_ticks()?;
    let sw1 = daemon.switches();
    let elapsed = t0.elapsed();
    if let Ok(Some(exit)) = daemon.child.try_wait() {
        bail!(
            "the daemon exited during the idle period ({exit})\n{}",
            daemon.log_tail()
        );
    }
    let cpu = ticks1.saturating_sub(ticks0) as f64 / env.clk_tck;
    let wakeups: u64 = sw1
        .iter()
        .map(|(tid, n)| n.saturating_sub(*sw0.get(tid).unwrap_or(&0)))
        .sum();
    let pct = cpu / elapsed.as_secs_f64() * 100.0;
    println!(
        "\n[6] Idle: synced daemon (default min_interval), quiet sim, {}",
        secs(elapsed)
    );
    println!(
        "  CPU (utime+stime): {cpu:.2} s = {pct:.3}% of one core (resolution 1/{} s)",
        env.clk_tck
    );
    println!(
        "  context switches (all threads): {wakeups} = {:.2}/s; publishes during idle: {}",
        wakeups as f64 / elapsed.as_secs_f64(),
        daemon.published_files() - files_before
    );
    summary.push(verdict(
        &format!("idle CPU over {} s", plan.idle.as_secs()),
        format!("{cpu:.2} s ({pct:.3}%)"),
        "rounds to zero",
        // "Rounds to zero": under 0.05 s of CPU per quiet minute.
        Some(cpu * 60.0 / elapsed.as_secs_f64() < 0.05),
    ));
    Ok(())
}
