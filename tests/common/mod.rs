//! Shared harness for the end-to-end tests: litefs-sim in-process, the daemon as a
//! real child process, and readers of what it publishes.

#![allow(dead_code)] // each test binary uses a different subset

pub mod cloud;
pub mod fake_engine;
pub mod real_litefs;
pub mod sim_image;
pub mod skip;
pub mod xfs;
pub mod xvfb;

pub use skip::skip;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use litefs_sim::{Misbehaviour, Position, Sim, SimConfig};
use voripos_domain_sync::status::{State, Status};

/// A simulator serving on a loopback port of its own.
pub struct SimServer {
    pub sim: Sim,
    pub url: String,
    pub data_dir: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl SimServer {
    pub async fn start(data_dir: &Path, size_mb: u64, tx_interval: Option<Duration>) -> SimServer {
        let mut config = SimConfig::new(data_dir);
        config.size_mb = size_mb;
        config.tx_interval = tx_interval;
        let sim = Sim::create(config).expect("litefs-sim starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let serving = sim.clone();
        let task = tokio::spawn(async move {
            serving.serve(listener).await.expect("litefs-sim serves");
        });
        SimServer {
            sim,
            url,
            data_dir: data_dir.to_path_buf(),
            task,
        }
    }

    pub fn misbehave(&self, m: Misbehaviour) {
        self.sim.set_misbehaviour(m);
    }

    /// The `<db>-pos` file, parsed by the app's own parser.
    pub fn pos_file(&self) -> voripos_domain_sync::litefs::pos::Position {
        let text = std::fs::read_to_string(self.data_dir.join("Domain.sqlite3-pos")).unwrap();
        voripos_domain_sync::litefs::pos::parse(&text).expect("a valid -pos file")
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Settings of a test daemon.
pub struct DaemonConfig {
    pub url: String,
    pub publish_dir: PathBuf,
    pub status_file: PathBuf,
    pub keep: usize,
    pub quick_check: bool,
    /// More lines of the `[litefs]` table (e.g. `cloud_endpoint = "…"`).
    pub litefs: String,
    /// More config text, appended to the file (e.g. a `[telemetry]` section).
    pub extra: String,
    /// Environment variables set for the daemon process.
    pub env: Vec<(String, String)>,
    /// The body of the `[container]` table.
    pub container: String,
    /// The command line before `--config` (default `run --headless`).
    pub args: Vec<String>,
    /// A program (and its arguments) the daemon is run under, given the daemon's own
    /// command line after them (empty: run it directly).
    pub wrap: Vec<String>,
}

impl DaemonConfig {
    pub fn new(root: &Path, url: &str) -> Self {
        DaemonConfig {
            url: url.to_string(),
            publish_dir: root.join("Application Support/Domain"),
            status_file: root.join("state/status.json"),
            keep: 5,
            quick_check: true,
            litefs: String::new(),
            extra: String::new(),
            env: Vec::new(),
            container: "manage = false\n".into(),
            args: vec!["run".into(), "--headless".into()],
            wrap: Vec::new(),
        }
    }

    /// Writes the config file (short timings so failures and recoveries are quick).
    pub fn write(&self, path: &Path) {
        let text = format!(
            r#"[litefs]
url = "{}"
{}[publish]
dir = "{}"
keep = {}
quick_check = {}
[container]
{}[status]
file = "{}"
[sync]
min_interval = "100ms"
safety_check = "2s"
stall_timeout = "2s"
connect_timeout = "2s"
max_backoff = "1s"
event_grace = "500ms"
"#,
            self.url,
            self.litefs,
            self.publish_dir.display(),
            self.keep,
            self.quick_check,
            self.container,
            self.status_file.display()
        );
        std::fs::write(path, text + &self.extra).unwrap();
    }
}

/// The daemon (`run --headless`) as a child process; killed when dropped.
pub struct Daemon {
    pub child: Child,
    pub status_file: PathBuf,
    pub log: PathBuf,
}

impl Daemon {
    pub fn start(root: &Path, config: &DaemonConfig) -> Daemon {
        let config_path = root.join("config.toml");
        config.write(&config_path);
        Daemon::spawn(root, &config_path, config)
    }

    /// Starts the daemon on the config file as it is (`config` gives the env and the
    /// status file to watch). Its data folder (log files, the default status file) is
    /// [`data_home`]`(root)`.
    pub fn spawn(root: &Path, config_path: &Path, config: &DaemonConfig) -> Daemon {
        let log = root.join(format!("daemon-{}.log", unique()));
        let binary = env!("CARGO_BIN_EXE_voripos-domain-sync");
        let mut command = match config.wrap.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(binary);
                c
            }
            None => Command::new(binary),
        };
        let child = command
            .args(&config.args)
            .arg("--config")
            .arg(config_path)
            .env("RUST_LOG", "info,voripos_domain_sync=debug")
            .env("XDG_DATA_HOME", data_home(root))
            .envs(config.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("the daemon starts");
        Daemon {
            child,
            status_file: config.status_file.clone(),
            log,
        }
    }

    pub fn status(&self) -> Option<Status> {
        voripos_domain_sync::status::read_file(&self.status_file).ok()
    }

    /// Waits until the status satisfies `pred`; panics with the last status and log.
    pub async fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Status) -> bool,
    ) -> Status {
        let start = Instant::now();
        loop {
            if let Some(s) = self.status().filter(|s| s.pid == self.child.id()) {
                if pred(&s) {
                    return s;
                }
            }
            if let Ok(Some(exit)) = self.child.try_wait() {
                panic!(
                    "daemon exited ({exit}) while waiting for {what}\n{}",
                    self.log_text()
                );
            }
            if start.elapsed() > timeout {
                panic!(
                    "timed out waiting for {what}; last status: {:#?}\nlog:\n{}",
                    self.status(),
                    self.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until the newest published file is at `pos`.
    pub async fn wait_synced_to(&mut self, pos: &Position) -> Status {
        let checksum = format!("{:016x}", pos.checksum);
        self.wait_for(
            &format!("publish of txid {:x}", pos.txid),
            Duration::from_secs(30),
            |s| {
                s.state == State::UpToDate
                    && s.checksum.map(|c| c.to_string()) == Some(checksum.clone())
            },
        )
        .await
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn stop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(
                    status.success(),
                    "daemon exited with {status}\n{}",
                    self.log_text()
                );
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("daemon did not stop on SIGTERM\n{}", self.log_text());
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `XDG_DATA_HOME` of test daemons under `root`; the app's folder is `voripos-domain-sync` in it.
pub fn data_home(root: &Path) -> PathBuf {
    root.join("xdg-data")
}

fn unique() -> String {
    format!("{}-{}", std::process::id(), fastrand::u32(..))
}

/// Published files under final names (versioned pattern), oldest first.
pub fn published(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().to_string();
                    let secs = name.strip_suffix("-Domain.sqlite3")?.parse().ok()?;
                    Some((secs, e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files.into_iter().map(|(_, p)| p).collect()
}

/// Hidden files (our temps) in the folder.
pub fn hidden(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// The LiteFS checksum of a file, by the simulator's independent implementation.
pub fn checksum_of(path: &Path) -> u64 {
    litefs_sim::database_checksum(path).unwrap()
}

/// Runs `PRAGMA integrity_check` on a file, read-only.
pub fn integrity_check(path: &Path) -> Result<(), String> {
    let conn = voripos_domain_sync::inspect::open_readonly(path).map_err(|e| e.to_string())?;
    let result: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if result == "ok" {
        Ok(())
    } else {
        Err(result)
    }
}

/// A loopback port nothing listens on (reserved, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A program built by cargo for the tests (examples live in target/<profile>/examples).
pub fn example_binary(name: &str) -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    let path = deps
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: `cargo test` builds it; run `cargo build --examples`",
        path.display()
    );
    path
}

/// A small tmpfs mounted for one test (a real "disk" that fills up); unmounted on drop.
pub struct Tmpfs {
    pub path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. "16m"). `None` when not permitted outside CI.
    pub fn mount(path: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(path).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            Some(Tmpfs {
                path: path.to_path_buf(),
            })
        } else {
            skip(&format!(
                "cannot mount a tmpfs at {} (needs root; CI runs as root)",
                path.display()
            ));
            None
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// The live status after the check that follows export number `before` of `sim`: waits
/// until LiteFS has been asked for one more export (the check has begun, so the app
/// already shows it as running), then until `live` (the running instance's in-memory
/// status, e.g. `status --json` over its socket) says up to date again. Counted, not
/// timed: the status's timestamps have one-second resolution, so a check in the same
/// second as the previous one is told apart by the export it asked for.
pub async fn after_next_export(
    sim: &Sim,
    before: u64,
    timeout: Duration,
    live: impl Fn() -> Option<Status>,
) -> Status {
    let start = Instant::now();
    while sim.exports() <= before {
        assert!(
            start.elapsed() < timeout,
            "no export after {before}: the check never reached LiteFS"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    loop {
        let status = live();
        if let Some(s) = status.as_ref().filter(|s| s.state == State::UpToDate) {
            return s.clone();
        }
        assert!(
            start.elapsed() < timeout,
            "the check did not end up to date: {status:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
