//! Benchmark of the two sources side by side, in one run, from the same LiteFS Cloud
//! stand-in (the project's own, `litefs_sim::cloud`) serving the same database.
//!
//! Run: `cargo bench --bench cloud` (the container path needs root, Docker, `/dev/fuse`
//! and the real LiteFS, `REAL_LITEFS_BIN`; about 5 minutes at the default 256 MB). `BENCH_QUICK=1` shrinks it (16 MB, 3 samples,
//! 10 s idle). Knobs: `BENCH_SIZE_MB` (default 256), `BENCH_SAMPLES` (default 5),
//! `BENCH_IDLE_SECS` (default 30), `BENCH_FAST_POLL` (default `200ms`). Without a Docker
//! engine or `REAL_LITEFS_BIN` the container path is skipped, said so.
//!
//! Each mode runs the real app binary (`run --headless`, the shipped `[sync]` settings),
//! one after the other:
//! - **cloud**: `[source] kind = "cloud"`, the app polls `GET /pos` and streams the LTX
//!   snapshot itself, at the default `poll_interval` (10 s, the interval LiteFS polls the
//!   cloud at, fixed in LiteFS), and again at `BENCH_FAST_POLL` (the cloud source's
//!   interval is a setting);
//! - **container**: the app manages the real LiteFS v0.5.14 in Docker (a `FROM scratch`
//!   image built here), which restores from the stand-in; the app exports from it.
//!
//! Measured per mode: time from start to the first published file; for `BENCH_SAMPLES`
//! new cloud versions, each appearing at a random moment of the poll cycle (after a
//! random wait of 0–10 s), the time from the version appearing in the cloud (the rename
//! of the stand-in's file) until the app's status shows its checksum; CPU over the samples
//! and over an idle window; peak and current memory. In container mode, CPU and memory
//! include the LiteFS container (its cgroup, through the Engine API) and the engine's
//! own processes (`dockerd`, `containerd`, the container's shim). On this Linux machine
//! the engine runs natively: the VM Docker Desktop runs on a Mac (and the memory it
//! reserves) does not exist here and is not measured.

#[path = "../common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bollard::Docker;
use common::real_litefs::{self, cloud_database, CloudStandin, Writer};
use common::sim_image::Cleanup;
use common::{free_port, Daemon, DaemonConfig};
use futures_util::StreamExt;
use voripos_domain_sync::docker::endpoint;
use voripos_domain_sync::host::environment::Environment;
use voripos_domain_sync::litefs::Checksum;
use voripos_domain_sync::status::State;

const IMAGE: &str = "voripos-domain-sync/litefs-real:bench";
const TOKEN: &str = real_litefs::CLOUD_TOKEN;

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    if let Err(e) = runtime.block_on(run()) {
        eprintln!("bench failed: {e:#}");
        std::process::exit(1);
    }
}

struct Plan {
    size_mb: u64,
    samples: usize,
    idle: Duration,
    fast_poll: String,
}

/// LiteFS's own cloud poll interval (fixed in LiteFS v0.5.14), and the cloud source's
/// default `poll_interval`.
const POLL: Duration = Duration::from_secs(10);

impl Plan {
    fn from_env() -> Plan {
        let quick = std::env::var_os("BENCH_QUICK").is_some();
        let num = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        Plan {
            size_mb: num("BENCH_SIZE_MB", if quick { 16 } else { 256 }),
            samples: num("BENCH_SAMPLES", if quick { 3 } else { 5 }) as usize,
            idle: Duration::from_secs(num("BENCH_IDLE_SECS", if quick { 10 } else { 30 })),
            fast_poll: std::env::var("BENCH_FAST_POLL").unwrap_or_else(|_| "200ms".into()),
        }
    }
}

#[derive(Clone, Copy)]
enum Mode<'a> {
    /// The cloud source polling at this `poll_interval`.
    Cloud(&'a str),
    Container,
}

impl Mode<'_> {
    fn name(self) -> String {
        match self {
            Mode::Cloud(poll) => format!("cloud-{poll}"),
            Mode::Container => "container".into(),
        }
    }
}

/// What one mode measured.
struct Figures {
    first_publish: Duration,
    latencies: Vec<Duration>,
    /// CPU seconds over the samples (app, then the container and engine beside it).
    cpu_busy: Cpu,
    cpu_idle: Cpu,
    idle: Duration,
    app_peak_mb: f64,
    app_rss_mb: f64,
    /// The LiteFS container: working set (usage less inactive file cache), then the
    /// cgroup's peak including page cache.
    container_mb: Option<(f64, Option<f64>)>,
    /// `dockerd` + `containerd` + the container's shim, resident.
    engine_mb: Option<f64>,
}

#[derive(Clone, Copy, Default)]
struct Cpu {
    app: f64,
    container: f64,
    engine: f64,
}

impl Cpu {
    fn total(self) -> f64 {
        self.app + self.container + self.engine
    }
}

/// CPU counters at one moment, in seconds.
struct CpuMark {
    app: f64,
    container: f64,
    engine: f64,
}

impl CpuMark {
    fn until(&self, later: &CpuMark) -> Cpu {
        Cpu {
            app: later.app - self.app,
            container: later.container - self.container,
            engine: later.engine - self.engine,
        }
    }
}

async fn run() -> Result<()> {
    let plan = Plan::from_env();
    let docker = match docker_with_image().await {
        Ok(d) => Some(d),
        Err(e) => {
            eprintln!("the container path is skipped: {e:#}");
            None
        }
    };
    let host = match &docker {
        Some(_) => real_litefs::docker0(),
        None => "127.0.0.1".into(),
    };
    let root = tempfile::Builder::new()
        .prefix("bench-cloud-")
        .tempdir_in(target_dir())
        .context("a scratch folder beside target/")?;
    let cloud_file = root.path().join("cloud.sqlite3");
    eprintln!("generating a {} MB cloud database…", plan.size_mb);
    cloud_database(&cloud_file, plan.size_mb);
    let bytes = std::fs::metadata(&cloud_file)?.len();
    let standin = CloudStandin::start(&cloud_file, &host);
    println!(
        "LiteFS Cloud stand-in at {} serving {:.1} MB; {} samples; idle {:?}",
        standin.url,
        bytes as f64 / 1e6,
        plan.samples,
        plan.idle
    );

    let default_poll = humantime::format_duration(POLL).to_string();
    let cloud = measure(
        Mode::Cloud(&default_poll),
        &plan,
        &standin,
        root.path(),
        None,
    )
    .await?;
    let fast = measure(
        Mode::Cloud(&plan.fast_poll),
        &plan,
        &standin,
        root.path(),
        None,
    )
    .await?;
    let container = match &docker {
        Some(d) => Some(measure(Mode::Container, &plan, &standin, root.path(), Some(d)).await?),
        None => None,
    };
    report(&plan, &cloud, &fast, container.as_ref());
    Ok(())
}

/// Runs the app in `mode` against the stand-in and measures it.
async fn measure(
    mode: Mode<'_>,
    plan: &Plan,
    standin: &CloudStandin,
    root: &Path,
    docker: Option<&Docker>,
) -> Result<Figures> {
    eprintln!("— {} mode —", mode.name());
    let dir = root.join(mode.name());
    std::fs::create_dir_all(&dir)?;
    let mut config = DaemonConfig::new(&dir, "http://unused");
    config.env = vec![("LITEFS_CLOUD_TOKEN".into(), TOKEN.into())];
    let container = format!("vds-bench-{}-{}", std::process::id(), fastrand::u32(..));
    match mode {
        Mode::Cloud(poll) => {
            config.extra = format!(
                "[source]\nkind = \"cloud\"\n[cloud]\nurl = \"{}\"\npoll_interval = \"{poll}\"\n",
                standin.url
            );
        }
        Mode::Container => {
            config.container = format!(
                "manage = true\nimage = \"{IMAGE}\"\nname = \"{container}\"\nhost_port = {}\n",
                free_port()
            );
            config.litefs = format!("cloud_endpoint = \"{}\"\n", standin.url);
        }
    }
    let _cleanup = Cleanup(container.clone());
    let current = litefs_sim::database_checksum(&standin.src)?;
    let started = Instant::now();
    let mut daemon = Daemon::spawn(&dir, &shipped_sync(&dir, &config)?, &config);
    wait_checksum(&mut daemon, "the first publish", current).await;
    let first_publish = started.elapsed();
    eprintln!("  first publish after {first_publish:.1?}");

    let pid = daemon.child.id();
    let mark = || cpu_mark(pid, docker.map(|d| (d, container.as_str())));
    let busy_start = mark().await?;
    let mut latencies = Vec::new();
    for i in 0..plan.samples {
        // A random moment of the poll cycle, as Vori's versions come.
        tokio::time::sleep(POLL.mul_f64(fastrand::f64())).await;
        let (checksum, appeared) = publish(standin, 3 + i)?;
        wait_checksum(&mut daemon, "a new cloud version", checksum).await;
        let latency = appeared.elapsed();
        eprintln!(
            "  version {}: published {latency:.2?} after it appeared",
            i + 2
        );
        latencies.push(latency);
    }
    let busy_end = mark().await?;
    // A slow sample is explained by the app's own warnings (a retried download, …).
    let warnings: Vec<String> = daemon
        .log_text()
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .map(str::to_string)
        .collect();
    eprintln!("  {} warnings in the app's log", warnings.len());
    for line in warnings.iter().take(10) {
        eprintln!("    {line}");
    }
    tokio::time::sleep(plan.idle).await;
    let idle_end = mark().await?;
    let state = daemon.status().map(|s| s.state);
    if state != Some(State::UpToDate) {
        bail!("{} mode ended in state {state:?}", mode.name());
    }
    let (app_peak_mb, app_rss_mb) = proc_memory(pid)?;
    let (container_mb, engine_mb) = match docker {
        Some(d) => (
            Some(container_memory(d, &container).await?),
            Some(engine_rss_mb(&container)?),
        ),
        None => (None, None),
    };
    daemon.stop();
    Ok(Figures {
        first_publish,
        latencies,
        cpu_busy: busy_start.until(&busy_end),
        cpu_idle: busy_end.until(&idle_end),
        idle: plan.idle,
        app_peak_mb,
        app_rss_mb,
        container_mb,
        engine_mb,
    })
}

/// Writes `config` with the shipped `[sync]` settings instead of the tests' short ones
/// (a 2 s stall bound gives up on a 256 MB snapshot the server takes longer to start).
fn shipped_sync(dir: &Path, config: &DaemonConfig) -> Result<PathBuf> {
    let path = dir.join("config.toml");
    config.write(&path);
    let text = std::fs::read_to_string(&path)?;
    let mut in_sync = false;
    let kept: Vec<&str> = text
        .lines()
        .filter(|line| {
            if line.starts_with('[') {
                in_sync = *line == "[sync]";
            }
            !in_sync || *line == "[sync]"
        })
        .collect();
    std::fs::write(&path, kept.join("\n") + "\n")?;
    Ok(path)
}

/// A new cloud version: a copy of the current database with `n` catalogue changes,
/// renamed over the stand-in's file. Answers its checksum and the moment of the rename.
fn publish(standin: &CloudStandin, n: usize) -> Result<(u64, Instant)> {
    let next = standin.src.with_extension("next");
    std::fs::copy(&standin.src, &next)?;
    let mut writer = Writer::open(&next);
    writer.commit(n);
    drop(writer);
    let checksum = litefs_sim::database_checksum(&next)?;
    std::fs::rename(&next, &standin.src)?;
    Ok((checksum, Instant::now()))
}

async fn wait_checksum(daemon: &mut Daemon, what: &str, checksum: u64) {
    daemon
        .wait_for(what, Duration::from_secs(600), |s| {
            s.state == State::UpToDate && s.checksum == Some(Checksum(checksum))
        })
        .await;
}

/// The engine, with the real LiteFS image built.
async fn docker_with_image() -> Result<Docker> {
    if !real_litefs::available("the container path of the cloud bench") {
        bail!("the real LiteFS cannot run here (REAL_LITEFS_BIN, root, /dev/fuse, fusermount3)");
    }
    let candidates = endpoint::candidates(&Environment::from_process().docker, |p| {
        std::fs::read_to_string(p).ok()
    });
    let docker = endpoint::connect(&candidates)
        .await
        .context("no Docker engine")?
        .docker;
    real_litefs::build_image(&docker, IMAGE).await;
    Ok(docker)
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

async fn cpu_mark(pid: u32, container: Option<(&Docker, &str)>) -> Result<CpuMark> {
    let app = proc_cpu_secs(pid)?;
    let Some((docker, name)) = container else {
        return Ok(CpuMark {
            app,
            container: 0.0,
            engine: 0.0,
        });
    };
    let stats = container_stats(docker, name).await?;
    let container_ns = stats
        .cpu_stats
        .and_then(|c| c.cpu_usage)
        .and_then(|u| u.total_usage)
        .unwrap_or(0);
    let mut engine = 0.0;
    for pid in engine_pids(name)? {
        engine += proc_cpu_secs(pid).unwrap_or(0.0);
    }
    Ok(CpuMark {
        app,
        container: container_ns as f64 / 1e9,
        engine,
    })
}

async fn container_stats(
    docker: &Docker,
    name: &str,
) -> Result<bollard::models::ContainerStatsResponse> {
    let options = bollard::query_parameters::StatsOptionsBuilder::default()
        .stream(false)
        .one_shot(true)
        .build();
    docker
        .stats(name, Some(options))
        .next()
        .await
        .context("the engine sent no stats")?
        .context("reading the container's stats")
}

/// The container's working set and its cgroup's peak (page cache included), in MB.
async fn container_memory(docker: &Docker, name: &str) -> Result<(f64, Option<f64>)> {
    let stats = container_stats(docker, name).await?;
    let memory = stats.memory_stats.context("no memory stats")?;
    let usage = memory.usage.unwrap_or(0);
    let inactive = memory
        .stats
        .as_ref()
        .and_then(|s| {
            s.get("total_inactive_file")
                .or_else(|| s.get("inactive_file"))
        })
        .copied()
        .unwrap_or(0);
    Ok((
        usage.saturating_sub(inactive) as f64 / 1e6,
        memory.max_usage.map(|m| m as f64 / 1e6),
    ))
}

/// `dockerd`, `containerd` and the shim of `container`.
fn engine_pids(container: &str) -> Result<Vec<u32>> {
    let id = Command::new("docker")
        .args(["inspect", "-f", "{{.Id}}", container])
        .output()
        .context("docker inspect")?;
    let id = String::from_utf8_lossy(&id.stdout).trim().to_string();
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let exe = cmdline.split_whitespace().next().unwrap_or_default();
        let name = Path::new(exe).file_name().and_then(|n| n.to_str());
        let shim = name.is_some_and(|n| n.starts_with("containerd-shim"))
            && !id.is_empty()
            && cmdline.contains(&id[..12]);
        if matches!(name, Some("dockerd" | "containerd")) || shim {
            pids.push(pid);
        }
    }
    Ok(pids)
}

fn engine_rss_mb(container: &str) -> Result<f64> {
    let mut kb = 0;
    for pid in engine_pids(container)? {
        kb += status_kb(pid, "VmRSS:").unwrap_or(0);
    }
    Ok(kb as f64 / 1024.0)
}

/// utime + stime of `pid`, in seconds.
fn proc_cpu_secs(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').context("a /proc stat line")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    Ok(ticks as f64 / clock_ticks())
}

/// Clock ticks per second of `/proc`'s CPU times.
fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

fn status_kb(pid: u32, key: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("{key} of {pid}"))
}

/// The app's peak (`VmHWM`) and current (`VmRSS`) resident memory, in MiB.
fn proc_memory(pid: u32) -> Result<(f64, f64)> {
    Ok((
        status_kb(pid, "VmHWM:")? as f64 / 1024.0,
        status_kb(pid, "VmRSS:")? as f64 / 1024.0,
    ))
}

fn percentile(v: &[Duration], p: f64) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn report(plan: &Plan, cloud: &Figures, fast: &Figures, container: Option<&Figures>) {
    let secs = |d: Duration| format!("{:.2} s", d.as_secs_f64());
    let row = |name: &str, f: &dyn Fn(&Figures) -> String| {
        println!(
            "| {name} | {} | {} | {} |",
            f(cloud),
            f(fast),
            container.map_or("not measured (no Docker)".into(), f)
        );
    };
    println!();
    println!(
        "| figure | cloud source, poll 10 s (no Docker) | cloud source, poll {} | container (real LiteFS v0.5.14 in Docker, polls every 10 s) |",
        plan.fast_poll
    );
    println!("|---|---|---|---|");
    row("start → first published file", &|f| secs(f.first_publish));
    row("new cloud version → published, p50", &|f| {
        secs(percentile(&f.latencies, 0.5))
    });
    row("new cloud version → published, max", &|f| {
        secs(percentile(&f.latencies, 1.0))
    });
    row("CPU over the samples (app + container + engine)", &|f| {
        format!(
            "{:.2} s ({:.2} + {:.2} + {:.2})",
            f.cpu_busy.total(),
            f.cpu_busy.app,
            f.cpu_busy.container,
            f.cpu_busy.engine
        )
    });
    row("CPU idle, % of one core (app + container + engine)", &|f| {
        let pct = |s: f64| s / f.idle.as_secs_f64() * 100.0;
        format!(
            "{:.2} % ({:.2} + {:.2} + {:.2})",
            pct(f.cpu_idle.total()),
            pct(f.cpu_idle.app),
            pct(f.cpu_idle.container),
            pct(f.cpu_idle.engine)
        )
    });
    row("app peak RSS (VmHWM)", &|f| {
        format!("{:.1} MiB", f.app_peak_mb)
    });
    row("app RSS at the end", &|f| {
        format!("{:.1} MiB", f.app_rss_mb)
    });
    row(
        "LiteFS container: working set / cgroup peak incl. page cache",
        &|f| {
            f.container_mb.map_or("—".into(), |(ws, peak)| {
                format!(
                    "{ws:.1} MB / {}",
                    peak.map_or("n/a".into(), |p| format!("{p:.1} MB"))
                )
            })
        },
    );
    row("dockerd + containerd + shim RSS", &|f| {
        f.engine_mb.map_or("—".into(), |mb| format!("{mb:.1} MiB"))
    });
    if let Some(c) = container {
        let ratio = percentile(&c.latencies, 0.5).as_secs_f64()
            / percentile(&cloud.latencies, 0.5).as_secs_f64();
        let memory =
            c.app_rss_mb + c.container_mb.map_or(0.0, |m| m.0) + c.engine_mb.unwrap_or(0.0);
        println!();
        println!(
            "container ÷ cloud: latency p50 {ratio:.2}×; resident memory at the end {:.2}× ({memory:.1} vs {:.1} MB); \
             the Docker VM of a Mac is not included (none here)",
            memory / cloud.app_rss_mb,
            cloud.app_rss_mb
        );
    }
    println!("(database {} MB)", plan.size_mb);
}
