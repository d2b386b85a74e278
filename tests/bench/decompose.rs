//! Where a publish's time goes (issue 26), for both sources, against the source's own
//! delivery time measured in the same run.
//!
//! Run: `cargo bench --bench decompose` (16 MB and 256 MB; about 6–8 minutes on 2 cores,
//! plus the first generation of the 256 MB database, cached under
//! `target/bench-data/decompose/`); `BENCH_QUICK=1` for 16 MB only. `BENCH_ROUNDS`
//! (default 3) sets the repetitions; figures are medians. Progress goes to stderr, the
//! figures to stdout.
//!
//! For each size:
//! 1. **The sources alone**: litefs-sim's `/export` read to the end over HTTP (what a
//!    LiteFS node delivers; the real LiteFS is not available here) and the LiteFS Cloud
//!    stand-in's snapshot (`litefs_sim::cloud`, LTX with LZ4) downloaded to the end, both
//!    discarded. These are the baselines every ratio is taken against.
//! 2. **The publish step**, with the library's own job (`JobContext::run`: stream →
//!    checksum (cloud: decode) → write → fsync ‖ quick_check ‖ inspection → rename →
//!    retention), with quick_check on (the shipped default) and off, for both sources.
//! 3. **Each step alone**, on the same database: checksum, LTX decode, write, fsync,
//!    quick_check, inspection, rename (publish of a flushed temp: link + folder fsync),
//!    retention (deleting one old version).
//! 4. **Write only what changed** (on an XFS loop device with reflinks; needs root):
//!    a version that changes about 1 MB of the database, served by the cloud stand-in,
//!    published as a patched clone of the last file: bytes written by the patch and by
//!    the loop device (data + metadata + log) against the changed pages, and the publish
//!    time after the bytes arrived against `cp` + fsync of the changed pages' size plus
//!    the fixed costs (quick_check and inspection, which read the whole database).
//!
//! Reading the ratios: our median ÷ the baseline's median from the same run.

#[path = "../common/xfs.rs"]
mod xfs;

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{anyhow, bail, Context, Result};
use litefs_sim::cloud::{CloudConfig, CloudServer};
use litefs_sim::{Sim, SimConfig};
use voripos_domain_sync::cloud::client::CloudClient;
use voripos_domain_sync::cloud::ltx::decode_snapshot;
use voripos_domain_sync::config::{Secret, DEFAULT_TABLES};
use voripos_domain_sync::inspect;
use voripos_domain_sync::litefs::checksum::checksum_file;
use voripos_domain_sync::litefs::client::{Client, Timeouts};
use voripos_domain_sync::publish::{PublishMode, Publisher};
use voripos_domain_sync::sync::download::download;
use voripos_domain_sync::sync::job::{Fetch, JobContext, Known, LiteFsSource, Outcome};
use voripos_domain_sync::sync::ledger::Ledger;

const DB: &str = "Domain.sqlite3";
const CLUSTER: &str = "bench";
const MB: f64 = 1024.0 * 1024.0;
const TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_secs(5),
    stall: Duration::from_secs(60),
};
/// The change of section 4: products spread over the table, about 1 MB of pages.
const CHANGED_ROWS: usize = 256;

fn main() {
    // `RUST_LOG=voripos_domain_sync=debug` shows the job's own "publish timings".
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
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

async fn run() -> Result<()> {
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let rounds = match std::env::var("BENCH_ROUNDS") {
        Ok(v) => v.trim().parse::<usize>().context("BENCH_ROUNDS")?.max(1),
        Err(_) => 3,
    };
    let sizes: &[u64] = if quick { &[16] } else { &[16, 256] };
    let mut summary = Vec::new();
    for &size in sizes {
        summary.extend(one_size(size, rounds).await?);
    }
    println!("\n== summary (targets of issue 26) ==");
    for line in summary {
        println!("{line}");
    }
    Ok(())
}

fn target_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target")
}

/// The figures of one database size; returns its summary lines.
async fn one_size(size_mb: u64, rounds: usize) -> Result<Vec<String>> {
    println!("\n=== {size_mb} MB database, {rounds} rounds (medians) ===");
    let cache = target_dir().join(format!("bench-data/decompose/{size_mb}mb"));
    fs::create_dir_all(&cache)?;
    let work = tempfile::Builder::new()
        .prefix("decompose-")
        .tempdir_in(target_dir().join("bench-data"))?;
    eprintln!("litefs-sim with a {size_mb} MB database (generated once, cached)…");
    let mut config = SimConfig::new(&cache);
    config.size_mb = size_mb;
    let sim = Sim::create(config)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let litefs_url = format!("http://{}", listener.local_addr()?);
    let serving = sim.clone();
    tokio::spawn(async move { serving.serve(listener).await });
    let litefs = Client::new(&litefs_url, DB, TIMEOUTS)?;

    // The same database for the cloud stand-in: one export, checkpointed as it is.
    let src = work.path().join("export.sqlite3");
    download(&litefs, File::create(&src)?.into(), src.clone()).await?;
    let bytes = fs::metadata(&src)?.len();
    let cloud_src = work.path().join("cloud.sqlite3");
    fs::copy(&src, &cloud_src)?;
    let standin = CloudServer::start(CloudConfig::new(&cloud_src, CLUSTER), "127.0.0.1:0")?;
    let cloud = CloudClient::new(
        &standin.url(),
        DB,
        None,
        &Secret::new(format!("cluster {CLUSTER}")),
        TIMEOUTS,
    )?;
    println!("database: {:.1} MB", bytes as f64 / MB);

    // 1. The sources alone.
    let mut litefs_alone = Vec::new();
    let mut cloud_alone = Vec::new();
    for _ in 0..rounds {
        litefs_alone.push(litefs_export_alone(&litefs).await?);
        cloud_alone.push(cloud_snapshot_alone(&cloud).await?);
    }
    let litefs_base = median(&litefs_alone);
    let cloud_base = median(&cloud_alone);
    println!("\n-- the sources alone (baselines) --");
    println!(
        "{:<52} {}",
        "LiteFS /export read to the end (litefs-sim)",
        ms(litefs_base)
    );
    println!(
        "{:<52} {}",
        "cloud snapshot downloaded to the end (stand-in)",
        ms(cloud_base)
    );

    // 2. The publish step, both sources, quick_check on and off.
    println!("\n-- the publish step (JobContext::run, a new file each time) --");
    let mut summary = Vec::new();
    for (name, source, base) in [
        ("LiteFS", Source::LiteFs(&litefs_url), litefs_base),
        ("cloud", Source::Cloud(&standin.url()), cloud_base),
    ] {
        for quick_check in [true, false] {
            let dir = work.path().join(format!("pub-{name}-{quick_check}"));
            let ctx = job(source, publisher(&dir, 2)?, quick_check)?;
            let mut took = Vec::new();
            for _ in 0..rounds {
                took.push(timed(&ctx, None).await?.0);
            }
            let m = median(&took);
            let label = format!(
                "{name}, quick_check {}",
                if quick_check { "on " } else { "off" }
            );
            println!("{:<52} {}  {:.2}× the source", label, ms(m), ratio(m, base));
            let target = if quick_check { 1.25 } else { 1.1 };
            summary.push(verdict(
                &format!("{size_mb} MB, {label}: publish ÷ source"),
                ratio(m, base),
                target,
            ));
        }
    }

    // 3. Each step alone.
    println!("\n-- each step alone (ratio to the LiteFS export) --");
    let steps = steps_alone(work.path(), &src, &cloud, rounds).await?;
    for (name, took) in &steps {
        println!(
            "{:<52} {}  {:.2}×",
            name,
            ms(*took),
            ratio(*took, litefs_base)
        );
    }

    // 4. Write only what changed.
    println!("\n-- a ~1 MB change, published as a patched clone (XFS, reflinks) --");
    let fixed = steps
        .iter()
        .filter(|(name, _)| name.starts_with("quick_check") || name.starts_with("inspection"))
        .map(|(_, took)| *took)
        .sum();
    match xfs::Xfs::mount(work.path(), &format!("{}M", size_mb * 6 + 400)) {
        Ok(xfs) => {
            let figures = patch_section(
                &xfs,
                work.path(),
                &src,
                &cloud_src,
                &standin,
                &cloud,
                rounds,
            )
            .await?;
            summary.extend(figures.report(size_mb, fixed));
        }
        Err(reason) => println!("not measured: {reason}"),
    }
    drop(standin);
    Ok(summary)
}

#[derive(Clone, Copy)]
enum Source<'a> {
    LiteFs(&'a str),
    Cloud(&'a str),
}

fn job(source: Source<'_>, publisher: Arc<Publisher>, quick_check: bool) -> Result<JobContext> {
    let source = match source {
        Source::LiteFs(url) => Fetch::LiteFs(LiteFsSource {
            client: Client::new(url, DB, TIMEOUTS)?,
            // An empty ledger: the export is accepted at once, as at a start-up.
            ledger: Ledger::default(),
            event_grace: Duration::ZERO,
            probe: None,
        }),
        Source::Cloud(url) => Fetch::Cloud(CloudClient::new(
            url,
            DB,
            None,
            &Secret::new(format!("cluster {CLUSTER}")),
            TIMEOUTS,
        )?),
    };
    Ok(JobContext {
        source,
        publisher,
        quick_check,
        tables: DEFAULT_TABLES.iter().map(|t| t.to_string()).collect(),
    })
}

fn publisher(dir: &Path, keep: usize) -> Result<Arc<Publisher>> {
    let p = Publisher::new(dir.to_path_buf(), PublishMode::Versioned, DB, keep)?
        .with_list(dir.with_extension("list"));
    p.prepare()?;
    Ok(Arc::new(p))
}

/// One sync that must publish; its time and what it published.
async fn timed(ctx: &JobContext, known: Option<Known>) -> Result<(Duration, Known)> {
    let start = Instant::now();
    let outcome = ctx
        .run(known, false)
        .await
        .map_err(|e| anyhow!("sync failed ({}): {e}", e.kind()))?;
    let took = start.elapsed();
    match outcome {
        Outcome::Published { known, .. } => Ok((took, known)),
        Outcome::Unchanged { .. } => bail!("the sync published nothing"),
    }
}

async fn litefs_export_alone(client: &Client) -> Result<Duration> {
    let start = Instant::now();
    let mut export = client.export().await?;
    while export.chunk().await?.is_some() {}
    Ok(start.elapsed())
}

async fn cloud_snapshot_alone(client: &CloudClient) -> Result<Duration> {
    let start = Instant::now();
    let mut snapshot = client.snapshot().await?;
    while snapshot.chunk().await?.is_some() {}
    Ok(start.elapsed())
}

/// Each step of a publish alone, medians of `rounds`.
async fn steps_alone(
    work: &Path,
    src: &Path,
    cloud: &CloudClient,
    rounds: usize,
) -> Result<Vec<(&'static str, Duration)>> {
    let ltx = work.join("snapshot.ltx");
    {
        let mut out = File::create(&ltx)?;
        let mut snapshot = cloud.snapshot().await?;
        while let Some(chunk) = snapshot.chunk().await? {
            out.write_all(&chunk)?;
        }
    }
    let dir = work.join("steps");
    let tables: Vec<String> = DEFAULT_TABLES.iter().map(|t| t.to_string()).collect();
    let mut figures: Vec<(&'static str, Vec<Duration>)> = Vec::new();
    let mut add =
        |name: &'static str, took: Duration| match figures.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => v.push(took),
            None => figures.push((name, vec![took])),
        };
    let src = src.to_path_buf();
    let tables2 = tables.clone();
    let rows = tokio::task::spawn_blocking(move || -> Result<Vec<(&'static str, Duration)>> {
        let publisher = publisher(&dir, 2)?;
        let mut out = Vec::new();
        for _ in 0..rounds {
            let t = Instant::now();
            checksum_file(&src)?;
            out.push(("checksum (read + CRC64 per page)", t.elapsed()));

            let t = Instant::now();
            decode_snapshot(File::open(&ltx)?, std::io::sink())
                .map_err(|e| anyhow!("decode: {e}"))?;
            out.push(("decode (LTX: LZ4 + checks + checksum)", t.elapsed()));

            let staged = publisher.stage()?;
            let t = Instant::now();
            copy_by_hand(&src, staged.file())?;
            out.push(("write (to the temp file, no fsync)", t.elapsed()));
            let t = Instant::now();
            staged.file().sync_all()?;
            out.push(("fsync", t.elapsed()));
            let t = Instant::now();
            inspect::quick_check(staged.path())?;
            out.push(("quick_check", t.elapsed()));
            let t = Instant::now();
            inspect::inspect(staged.path(), &tables2)?;
            out.push(("inspection (metadata + row counts)", t.elapsed()));
            let t = Instant::now();
            publisher.publish(staged, SystemTime::now())?;
            out.push(("rename (link + folder fsync)", t.elapsed()));
            let t = Instant::now();
            publisher.retain();
            out.push(("retention (delete one old version)", t.elapsed()));
        }
        Ok(out)
    })
    .await??;
    for (name, took) in rows {
        add(name, took);
    }
    drop(tables);
    Ok(figures
        .into_iter()
        .map(|(name, v)| (name, median(&v)))
        .collect())
}

/// Copies with plain reads and writes (no `copy_file_range`, which would share or
/// offload the work): what a streamed write costs.
fn copy_by_hand(src: &Path, mut out: &File) -> Result<()> {
    let mut input = File::open(src)?;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        out.write_all(&buf[..n])?;
    }
}

/// What section 4 measured.
struct PatchFigures {
    changed_pages: u64,
    page_size: u64,
    patch_bytes: u64,
    device_bytes: u64,
    whole_device_bytes: u64,
    patched: Duration,
    whole: Duration,
    source: Duration,
    cp_changed: Duration,
}

impl PatchFigures {
    fn report(&self, size_mb: u64, fixed: Duration) -> Vec<String> {
        let changed = self.changed_pages * self.page_size;
        println!(
            "changed pages: {} ({:.2} MB)",
            self.changed_pages,
            changed as f64 / MB
        );
        println!(
            "{:<52} {:.2} MB  {:.2}× the changed pages",
            "written by the patch",
            self.patch_bytes as f64 / MB,
            self.patch_bytes as f64 / changed as f64
        );
        println!(
            "{:<52} {:.2} MB  {:.2}× (a whole copy: {:.1} MB)",
            "written to the loop device (data + metadata + log)",
            self.device_bytes as f64 / MB,
            self.device_bytes as f64 / changed as f64,
            self.whole_device_bytes as f64 / MB
        );
        let after = self.patched.saturating_sub(self.source);
        let whole_after = self.whole.saturating_sub(self.source);
        println!(
            "{:<52} {}  (a whole copy: {})",
            "publish after the bytes arrived (job − cloud source)",
            ms(after),
            ms(whole_after)
        );
        println!(
            "{:<52} {}  + fixed (quick_check + inspection) {}",
            "cp + fsync of the changed pages' size",
            ms(self.cp_changed),
            ms(fixed)
        );
        let bound = self.cp_changed + fixed;
        vec![
            verdict(
                &format!("{size_mb} MB, ~1 MB change: bytes written ÷ changed pages (patch)"),
                self.patch_bytes as f64 / changed as f64,
                4.0,
            ),
            verdict(
                &format!("{size_mb} MB, ~1 MB change: device bytes ÷ changed pages"),
                self.device_bytes as f64 / changed as f64,
                4.0,
            ),
            verdict(
                &format!(
                    "{size_mb} MB, ~1 MB change: publish after arrival ÷ (cp+fsync of changes + fixed)"
                ),
                ratio(after, bound),
                3.0,
            ),
        ]
    }
}

/// Section 4: a whole publish onto XFS, then a version changing ~1 MB published as a
/// patched clone; the same version published whole for comparison.
async fn patch_section(
    xfs: &xfs::Xfs,
    work: &Path,
    src: &Path,
    cloud_src: &Path,
    standin: &CloudServer,
    cloud: &CloudClient,
    rounds: usize,
) -> Result<PatchFigures> {
    let device = loop_device(&xfs.path)?;
    let publisher = publisher(&xfs.path.join("pub"), 3)?;
    let ctx = job(Source::Cloud(&standin.url()), publisher.clone(), true)?;
    let (_, first) = timed(&ctx, None).await?;

    // The next version: CHANGED_ROWS products spread over the table get a new price.
    let next = work.join("next.sqlite3");
    fs::copy(src, &next)?;
    {
        let db = rusqlite::Connection::open(&next)?;
        let count: i64 = db.query_row("SELECT max(id) FROM products", [], |r| r.get(0))?;
        let step = (count / CHANGED_ROWS as i64).max(1);
        db.execute(
            "UPDATE products SET price_cents = price_cents + 1 WHERE id % ?1 = 0",
            [step],
        )?;
    }
    let page_size = u64::from(page_size(&next)?);
    let changed_pages = changed_pages(src, &next, page_size)?;
    let before = position(standin).await?;
    fs::rename(&next, cloud_src)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while position(standin).await? == before {
        if Instant::now() > deadline {
            bail!("the stand-in did not serve the new version");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The new version's own delivery time, read warm (as the publishes below see it).
    let mut alone = Vec::new();
    for _ in 0..rounds {
        alone.push(cloud_snapshot_alone(cloud).await?);
    }
    let cloud_base = median(&alone);

    sync_all()?;
    let written_before = device_written(&device)?;
    let (patched, published) = timed(&ctx, Some(first.clone())).await?;
    sync_all()?;
    let device_bytes = device_written(&device)? - written_before;
    let record = fs::read_to_string(xfs.path.join("pub.list.chain"))?;
    let patch_pages: u64 = record
        .split(' ')
        .nth(1)
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| anyhow!("no patch chain recorded: {record:?}"))?;
    if !record.starts_with("1 ")
        || !record
            .trim_end()
            .ends_with(&*published.path.to_string_lossy())
    {
        bail!("the new version was not a patched clone: {record:?}");
    }

    // The same version written whole (known = None), for comparison.
    let written_before = device_written(&device)?;
    let (whole, _) = timed(&ctx, None).await?;
    sync_all()?;
    let whole_device_bytes = device_written(&device)? - written_before;

    // cp + fsync of the changed pages' size, on the same filesystem.
    let cp_changed = {
        let probe = xfs.path.join("changed-size");
        let data = vec![0x5au8; (changed_pages * page_size) as usize];
        let t = Instant::now();
        let mut f = File::create(&probe)?;
        f.write_all(&data)?;
        f.sync_all()?;
        let took = t.elapsed();
        fs::remove_file(&probe)?;
        took
    };
    Ok(PatchFigures {
        changed_pages,
        page_size,
        patch_bytes: patch_pages * page_size,
        device_bytes,
        whole_device_bytes,
        patched,
        whole,
        source: cloud_base,
        cp_changed,
    })
}

/// The checksum of the version the stand-in serves.
async fn position(standin: &CloudServer) -> Result<Option<u64>> {
    Ok(standin.sim().current()?.map(|v| v.checksum))
}

fn page_size(path: &Path) -> Result<u32> {
    let mut header = [0u8; 18];
    File::open(path)?.read_exact(&mut header)?;
    voripos_domain_sync::litefs::checksum::page_size_from_header(&header)
        .ok_or_else(|| anyhow!("{} has no page size", path.display()))
}

/// Pages that differ between two databases of the same page size (plus any extra).
fn changed_pages(a: &Path, b: &Path, page_size: u64) -> Result<u64> {
    let (mut a, mut b) = (File::open(a)?, File::open(b)?);
    let (mut pa, mut pb) = (vec![0u8; page_size as usize], vec![0u8; page_size as usize]);
    let mut changed = 0;
    loop {
        let na = read_full(&mut a, &mut pa)?;
        let nb = read_full(&mut b, &mut pb)?;
        if na == 0 && nb == 0 {
            return Ok(changed);
        }
        if na != nb || pa[..na] != pb[..nb] {
            changed += 1;
        }
    }
}

fn read_full(f: &mut File, buf: &mut [u8]) -> Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// The loop device under `mount` (e.g. `loop3`).
fn loop_device(mount: &Path) -> Result<String> {
    let out = std::process::Command::new("findmnt")
        .args(["-n", "-o", "SOURCE"])
        .arg(mount)
        .output()?;
    let source = String::from_utf8(out.stdout)?;
    source
        .trim()
        .strip_prefix("/dev/")
        .map(str::to_string)
        .ok_or_else(|| anyhow!("no loop device under {}: {source:?}", mount.display()))
}

/// Bytes written to a block device so far (`/sys/block/<dev>/stat`, sectors written).
fn device_written(device: &str) -> Result<u64> {
    let stat = fs::read_to_string(format!("/sys/block/{device}/stat"))?;
    let sectors: u64 = stat
        .split_whitespace()
        .nth(6)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("unreadable /sys/block/{device}/stat"))?;
    Ok(sectors * 512)
}

/// Flushes everything (so that the device counters include what was written).
fn sync_all() -> Result<()> {
    let ok = std::process::Command::new("sync").status()?.success();
    if !ok {
        bail!("sync failed");
    }
    Ok(())
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:>8.1} ms", d.as_secs_f64() * 1000.0)
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

fn verdict(figure: &str, value: f64, target: f64) -> String {
    let word = if value <= target { "meets" } else { "MISSES" };
    format!("{figure:<78} {value:>6.2}× (target ≤ {target}×) {word}")
}
