//! Benchmark against the real LiteFS (v0.5.14, the binary `REAL_LITEFS_BIN` names) on the host.
//!
//! Run: `REAL_LITEFS_BIN=/path/to/litefs cargo bench --bench real_litefs` (root,
//! `/dev/fuse`, `fusermount3`; about a minute). Without `REAL_LITEFS_BIN` it says so and
//! measures nothing. A 256 MB domain database (litefs-sim's generator, `BENCH_SIZE_MB` to change)
//! is restored into a LiteFS FUSE mount with SQLite's `.restore`; then, alternating
//! `BENCH_ROUNDS` times (default 5), the library's own sync job (`JobContext::run`:
//! `/export` from LiteFS → streaming checksum → verify → [quick_check] → inspect →
//! publish with fsync) against `cp SRC DST && sync DST` of the same database, read
//! through the mount (as the old scripts copied it) and from a published file on the
//! same disk as the publish folder. Prints medians and ratios, `quick_check` off and on.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use voripos_domain_sync::config::{PublishMode, DEFAULT_TABLES};
use voripos_domain_sync::litefs::client::{Client, Timeouts};
use voripos_domain_sync::publish::Publisher;
use voripos_domain_sync::sync::job::{Fetch, JobContext, LiteFsSource, Outcome};
use voripos_domain_sync::sync::ledger::Ledger;

const DB: &str = "Domain.sqlite3";

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    if let Err(e) = runtime.block_on(run()) {
        eprintln!("bench failed: {e:#}");
        std::process::exit(1);
    }
}

/// The real LiteFS v0.5.14 binary `REAL_LITEFS_BIN` names (opt-in: not redistributable).
fn real_litefs_bin() -> Result<PathBuf> {
    let bin = std::env::var_os("REAL_LITEFS_BIN")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .context("set REAL_LITEFS_BIN to a LiteFS v0.5.14 binary to run this bench")?;
    if !bin.is_file() {
        bail!("REAL_LITEFS_BIN={} is not a file", bin.display());
    }
    Ok(bin)
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// LiteFS mounted under a folder; stopped and unmounted when dropped.
struct Node {
    child: Child,
    mount: PathBuf,
}

impl Node {
    fn start(root: &Path, port: u16) -> Result<Node> {
        let mount = root.join("mnt");
        std::fs::create_dir_all(&mount)?;
        let config = root.join("litefs.yml");
        std::fs::write(
            &config,
            format!(
                "fuse: {{ dir: {} }}\ndata: {{ dir: {} }}\nhttp: {{ addr: \"127.0.0.1:{port}\" }}\n\
                 lease:\n  type: static\n  candidate: true\n  advertise-url: \"http://127.0.0.1:{port}\"\n",
                mount.display(),
                root.join("data").display()
            ),
        )?;
        let child = Command::new(real_litefs_bin()?)
            .args(["mount", "-config"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting LiteFS (root, /dev/fuse and fusermount3 needed)")?;
        let node = Node { child, mount };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("LiteFS did not start");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(node)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let _ = Command::new("fusermount3")
            .arg("-u")
            .arg(&self.mount)
            .stderr(Stdio::null())
            .status();
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn timed_sync(ctx: &JobContext) -> Result<(Duration, PathBuf)> {
    let start = Instant::now();
    let outcome = ctx
        .run(None, true)
        .await
        .map_err(|e| anyhow!("sync failed ({}): {e}", e.kind()))?;
    match outcome {
        Outcome::Published { known, .. } => Ok((start.elapsed(), known.path)),
        Outcome::Unchanged { .. } => bail!("the sync published nothing"),
    }
}

/// Reads a whole export and drops it: what LiteFS's `/export` costs by itself.
async fn export_alone(client: &Client) -> Result<Duration> {
    let start = Instant::now();
    let mut export = client.export().await?;
    while export.chunk().await?.is_some() {}
    Ok(start.elapsed())
}

fn cp_fsync(src: &Path, dst: &Path) -> Result<Duration> {
    let start = Instant::now();
    let ok = Command::new("sh")
        .args(["-c", r#"cp -- "$1" "$2" && sync -- "$2""#, "sh"])
        .arg(src)
        .arg(dst)
        .status()?
        .success();
    let took = start.elapsed();
    if !ok {
        bail!("cp + sync failed");
    }
    std::fs::remove_file(dst)?;
    Ok(took)
}

async fn run() -> Result<()> {
    let size_mb = env_u64("BENCH_SIZE_MB", 256);
    let rounds = env_u64("BENCH_ROUNDS", 5).max(1);
    let root = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
    let generated = root.path().join("generated.sqlite3");
    eprintln!("generating a {size_mb} MB domain database");
    {
        let mut conn = rusqlite::Connection::open(&generated)?;
        conn.execute_batch("PRAGMA page_size = 4096; PRAGMA journal_mode = OFF;")?;
        let tx = conn.transaction()?;
        litefs_sim::populate(&tx, size_mb, 1)?;
        tx.commit()?;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let node = Node::start(&root.path().join("litefs"), port)?;
    let in_mount = node.mount.join(DB);
    eprintln!("restoring it into the LiteFS mount");
    let restored = Command::new("sqlite3")
        .arg(&in_mount)
        .arg(format!(".restore {}", generated.display()))
        .status()
        .context("running sqlite3")?;
    if !restored.success() {
        bail!("sqlite3 .restore into the mount failed");
    }
    let bytes = std::fs::metadata(&in_mount)?.len();
    println!(
        "database: {:.0} MB through LiteFS v0.5.14 (FUSE), {rounds} rounds",
        bytes as f64 / 1e6
    );
    for quick_check in [false, true] {
        let dir = root.path().join(format!("publish-{quick_check}"));
        let publisher = Publisher::new(dir.clone(), PublishMode::Versioned, DB, 2)?;
        publisher.prepare()?;
        let client = Client::new(
            &format!("http://127.0.0.1:{port}"),
            DB,
            Timeouts {
                connect: Duration::from_secs(5),
                stall: Duration::from_secs(60),
            },
        )?;
        let ctx = JobContext {
            source: Fetch::LiteFs(LiteFsSource {
                client: client.clone(),
                ledger: Ledger::default(),
                event_grace: Duration::ZERO,
                probe: None,
            }),
            publisher: Arc::new(publisher),
            quick_check,
            tables: DEFAULT_TABLES.iter().map(|t| t.to_string()).collect(),
        };
        let (mut ours, mut from_mount, mut from_file) = (Vec::new(), Vec::new(), Vec::new());
        let copy = root.path().join("cp-copy.sqlite3");
        for round in 0..rounds {
            // Rotated order, so each sees the others' page-cache state.
            for step in 0..3 {
                match (round + step) % 3 {
                    0 => ours.push(timed_sync(&ctx).await?.0),
                    1 => from_mount.push(cp_fsync(&in_mount, &copy)?),
                    _ => {
                        let published = ctx.publisher.newest()?.unwrap_or(in_mount.clone());
                        from_file.push(cp_fsync(&published, &copy)?)
                    }
                }
            }
            ctx.publisher.retain();
        }
        let ours = median(ours);
        if !quick_check {
            let mut export = Vec::new();
            for _ in 0..rounds {
                export.push(export_alone(&client).await?);
            }
            let export = median(export);
            println!(
                "LiteFS's /export alone (read and dropped): {:.2} s ({:.0} MB/s)",
                export.as_secs_f64(),
                bytes as f64 / 1e6 / export.as_secs_f64()
            );
        }
        for (what, cp) in [
            ("cp from the mount", median(from_mount)),
            ("cp of a published file", median(from_file)),
        ] {
            println!(
                "publish (quick_check {}): {:.2} s vs {what} + fsync {:.2} s: ratio {:.2}x",
                if quick_check { "on" } else { "off" },
                ours.as_secs_f64(),
                cp.as_secs_f64(),
                ours.as_secs_f64() / cp.as_secs_f64()
            );
        }
    }
    drop(node);
    Ok(())
}
