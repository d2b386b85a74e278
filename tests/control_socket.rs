//! The control socket under clients that misbehave and starts that collide: the running
//! instance stays responsive, bounded in what it holds, private, and single.
//!
//! The daemon's descriptors, CPU time and process state are read from /proc (Linux, where
//! CI runs).

mod common;

use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use voripos_domain_sync::ipc::protocol::Response;
use voripos_domain_sync::ipc::server::{MAX_CONNECTIONS, MAX_REQUEST, REQUEST_DEADLINE};
use voripos_domain_sync::status::State;

const WAIT: Duration = Duration::from_secs(30);

fn cli(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_voripos-domain-sync"))
        .args(args)
        .arg("--config")
        .arg(root.join("config.toml"))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// `status --json` from the CLI; panics with its stderr unless it succeeds.
fn status_pid(root: &Path) -> u64 {
    let out = cli(root, &["status", "--json"]);
    assert!(
        out.status.success(),
        "status failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["pid"].as_u64().unwrap()
}

/// A daemon synced from a simulator, answering on its control socket.
async fn started(root: &Path) -> (SimServer, DaemonConfig, Daemon) {
    let sim = SimServer::start(&root.join("litefs"), 1, None).await;
    let config = DaemonConfig::new(root, &sim.url);
    let mut daemon = Daemon::start(root, &config);
    daemon
        .wait_for("up to date", WAIT, |s| s.state == State::UpToDate)
        .await;
    (sim, config, daemon)
}

fn socket_of(config: &DaemonConfig) -> PathBuf {
    config.status_file.with_file_name("control.sock")
}

/// `n` connections that never say anything.
fn idle_connections(socket: &Path, n: usize) -> Vec<UnixStream> {
    (0..n)
        .map(|_| UnixStream::connect(socket).expect("the kernel queues the connection"))
        .collect()
}

/// The descriptors the process holds.
fn descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// The CPU time (user + system) the process used so far.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // After the command name (in parentheses) come fields 3…; utime and stime are 14, 15.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let out = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    let per_second: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    Duration::from_millis(ticks * 1000 / per_second)
}

/// Reads until the server closes the connection (or `within` passes: then panics).
fn read_until_closed(stream: &mut UnixStream, within: Duration) -> Vec<u8> {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut got = Vec::new();
    match stream.read_to_end(&mut got) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the server did not close the connection within {within:?}: {e}"),
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_out_of_descriptors_neither_spins_nor_floods_the_log() {
    let has_prlimit = Command::new("prlimit")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_prlimit {
        skip("prlimit (util-linux) is missing");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let (_sim, config, daemon) = started(root.path()).await;
    let pid = daemon.child.id();
    // A few descriptors to spare, then more clients than that: accepting fails (EMFILE).
    let limit = descriptors(pid) + 8;
    let set = Command::new("prlimit")
        .arg(format!("--pid={pid}"))
        .arg(format!("--nofile={limit}:{limit}"))
        .status()
        .unwrap();
    assert!(set.success(), "prlimit failed");
    let log_before = daemon.log_text().len();
    let clients = idle_connections(&socket_of(&config), 24);

    tokio::time::sleep(Duration::from_millis(500)).await;
    let (cpu, start) = (cpu_time(pid), Instant::now());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (used, elapsed) = (cpu_time(pid) - cpu, start.elapsed());
    // A loop retrying at once burns a whole core; waiting between tries, almost nothing.
    assert!(
        used < elapsed / 4,
        "the daemon used {used:?} of CPU in {elapsed:?} while it could not accept"
    );
    let log = daemon.log_text();
    let grown = log.len() - log_before;
    assert!(grown < 100_000, "the log grew by {grown} bytes");
    let reports = log
        .lines()
        .filter(|l| l.contains("control socket cannot accept"))
        .count();
    assert_eq!(
        reports,
        1,
        "accept failures are reported once per episode:\n{}",
        &log[log_before..]
    );

    drop(clients);
    assert_eq!(status_pid(root.path()), u64::from(pid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_says_nothing_is_disconnected() {
    let root = tempfile::tempdir().unwrap();
    let (_sim, config, daemon) = started(root.path()).await;
    let mut silent = UnixStream::connect(socket_of(&config)).unwrap();
    let start = Instant::now();
    // Others are answered meanwhile.
    assert_eq!(status_pid(root.path()), u64::from(daemon.child.id()));

    let got = read_until_closed(&mut silent, REQUEST_DEADLINE + Duration::from_secs(5));
    assert!(
        start.elapsed() >= REQUEST_DEADLINE,
        "closed before the deadline"
    );
    let answer: Response = serde_json::from_slice(&got).expect("an error answer");
    assert!(!answer.ok);
    assert!(
        answer.message.unwrap_or_default().contains("no request"),
        "{got:?}"
    );
    assert_eq!(status_pid(root.path()), u64::from(daemon.child.id()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_and_descriptors_stay_bounded() {
    let root = tempfile::tempdir().unwrap();
    let (_sim, config, daemon) = started(root.path()).await;
    let pid = daemon.child.id();
    let before = descriptors(pid);
    let mut clients = idle_connections(&socket_of(&config), MAX_CONNECTIONS + 8);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let held = descriptors(pid);
    assert!(
        held <= before + MAX_CONNECTIONS + 4,
        "{held} descriptors with {} idle clients (was {before})",
        clients.len()
    );

    // A real request waits behind the idle ones, which the deadline drops.
    let asking = root.path().to_path_buf();
    let answered = tokio::task::spawn_blocking(move || status_pid(&asking));
    assert_eq!(answered.await.unwrap(), u64::from(pid));
    for client in &mut clients {
        read_until_closed(client, REQUEST_DEADLINE * 3);
    }
    assert!(descriptors(pid) <= before + 4, "descriptors are given back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_request_is_refused_with_a_reason() {
    let root = tempfile::tempdir().unwrap();
    let (_sim, config, daemon) = started(root.path()).await;
    let mut client = UnixStream::connect(socket_of(&config)).unwrap();
    let mut line = vec![b' '; MAX_REQUEST * 4];
    line.extend_from_slice(b"{\"command\":\"status\"}\n");
    // The server may stop reading midway: the rest of the write can fail.
    let _ = client.write_all(&line);
    let got = read_until_closed(&mut client, WAIT);
    let answer: Response = serde_json::from_slice(&got).expect("an error answer");
    assert!(!answer.ok);
    let message = answer.message.unwrap_or_default();
    assert!(
        message.contains(&format!("{MAX_REQUEST} bytes")),
        "the answer names the limit: {message}"
    );
    assert_eq!(status_pid(root.path()), u64::from(daemon.child.id()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binding_changes_the_mode_only_of_folders_it_creates() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;

    // A shared folder that exists already keeps its mode.
    let shared = root.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
    let first = root.path().join("first");
    std::fs::create_dir(&first).unwrap();
    let mut config = DaemonConfig::new(&first, &sim.url);
    config.status_file = shared.join("status.json");
    let mut daemon = Daemon::start(&first, &config);
    daemon
        .wait_for("up to date", WAIT, |s| s.state == State::UpToDate)
        .await;
    status_pid(&first);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&shared), 0o755, "the shared folder's mode was changed");
    assert_eq!(mode(&socket_of(&config)), 0o600, "the socket is private");
    daemon.stop();

    // Folders the app creates are private to the user.
    let second = root.path().join("second");
    std::fs::create_dir(&second).unwrap();
    let mut config = DaemonConfig::new(&second, &sim.url);
    config.status_file = second.join("made/by-the-app/status.json");
    let mut daemon = Daemon::start(&second, &config);
    daemon
        .wait_for("up to date", WAIT, |s| s.state == State::UpToDate)
        .await;
    status_pid(&second);
    assert_eq!(mode(&second.join("made")), 0o700);
    assert_eq!(mode(&second.join("made/by-the-app")), 0o700);
    assert_eq!(mode(&socket_of(&config)), 0o600);
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_fresh_home_the_data_folder_and_the_log_are_private() {
    // The usual umask, which would make them 0755 and 0644.
    // SAFETY: umask only sets the process's file mode mask.
    unsafe { libc::umask(0o022) };
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let mut config = DaemonConfig::new(root.path(), &sim.url);
    let data = data_home(root.path()).join("voripos-domain-sync");
    config.status_file = data.join("status.json");
    let mut daemon = Daemon::start(root.path(), &config);
    daemon
        .wait_for("up to date", WAIT, |s| s.state == State::UpToDate)
        .await;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&socket_of(&config)), 0o600);
    daemon.stop();
    assert_eq!(mode(&data), 0o700, "the data folder");
    assert_eq!(mode(&data.join("logs")), 0o700, "the log folder");
    let logs: Vec<PathBuf> = std::fs::read_dir(data.join("logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!logs.is_empty(), "a daily log was written");
    for log in logs {
        assert_eq!(mode(&log), 0o600, "{}", log.display());
    }
}

/// The process's state letter (`T` when stopped).
fn process_state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    stat[stat.rfind(')').unwrap() + 2..].chars().next().unwrap()
}

/// `n` daemons on `config_path` that start at the same instant: each is held stopped
/// before it executes the app, then all are resumed by one signal.
fn spawn_together(n: usize, root: &Path, config_path: &Path, config: &DaemonConfig) -> Vec<Daemon> {
    let daemons: Vec<Daemon> = (0..n)
        .map(|i| {
            let log = root.join(format!("start-{i}-{}.log", fastrand::u32(..)));
            let child = Command::new("sh")
                .arg("-c")
                .arg(r#"kill -STOP $$ && exec "$0" "$@""#)
                .arg(env!("CARGO_BIN_EXE_voripos-domain-sync"))
                .args(&config.args)
                .arg("--config")
                .arg(config_path)
                .env("RUST_LOG", "info,voripos_domain_sync=debug")
                .env("XDG_DATA_HOME", data_home(root))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .unwrap();
            Daemon {
                child,
                status_file: config.status_file.clone(),
                log,
            }
        })
        .collect();
    let deadline = Instant::now() + WAIT;
    for daemon in &daemons {
        while process_state(daemon.child.id()) != 'T' {
            assert!(Instant::now() < deadline, "the shell did not stop itself");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let resumed = Command::new("kill")
        .arg("-CONT")
        .args(daemons.iter().map(|d| d.child.id().to_string()))
        .status()
        .unwrap();
    assert!(resumed.success());
    daemons
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_starts_leave_exactly_one_instance() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let config = DaemonConfig::new(root.path(), &sim.url);
    let config_path = root.path().join("config.toml");
    config.write(&config_path);
    let socket = socket_of(&config);

    // Rounds after a kill -9 start with the dead instance's socket still there.
    for round in 0..12 {
        let mut started = spawn_together(6, root.path(), &config_path, &config);
        let deadline = Instant::now() + WAIT;
        let mut exits = Vec::new();
        while exits.len() < 5 && Instant::now() < deadline {
            started.retain_mut(|daemon| match daemon.child.try_wait().unwrap() {
                Some(exit) => {
                    exits.push((exit, daemon.log_text()));
                    false
                }
                None => true,
            });
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for (exit, stderr) in &exits {
            assert!(
                exit.success(),
                "round {round}: a second start failed ({exit}):\n{stderr}"
            );
            assert!(
                stderr.contains("already running"),
                "round {round}: a second start did not say why it stopped:\n{stderr}"
            );
        }
        assert_eq!(
            started.len(),
            1,
            "round {round}: {} instances run, {} stopped",
            started.len(),
            exits.len()
        );
        let mut winner = started.pop().unwrap();
        winner
            .wait_for("up to date", WAIT, |s| s.state == State::UpToDate)
            .await;
        assert_eq!(status_pid(root.path()), u64::from(winner.child.id()));
        if round % 2 == 0 {
            winner.kill9();
            assert!(socket.exists(), "a killed instance leaves its socket");
        } else {
            winner.stop();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_support_folder_gets_its_control_socket_back() {
    let root = tempfile::tempdir().unwrap();
    let (_sim, config, mut daemon) = started(root.path()).await;
    let folder = config.status_file.parent().unwrap().to_path_buf();
    std::fs::remove_dir_all(&folder).unwrap();
    assert!(!cli(root.path(), &["status"]).status.success());

    // Within a few seconds the CLI reaches the instance again, and a second start is
    // still refused as "already running" instead of starting a second sync.
    let deadline = Instant::now() + WAIT;
    while !cli(root.path(), &["status"]).status.success() {
        assert!(
            Instant::now() < deadline,
            "the socket never came back\n{}",
            daemon.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(status_pid(root.path()), u64::from(daemon.child.id()));
    let second = Command::new(env!("CARGO_BIN_EXE_voripos-domain-sync"))
        .args(["run", "--headless", "--config"])
        .arg(root.path().join("config.toml"))
        .env("XDG_DATA_HOME", data_home(root.path()))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(second.status.success());
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("already running"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    daemon.stop();
}
