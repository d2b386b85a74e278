//! The real LiteFS (v0.5.14, the binary `REAL_LITEFS_BIN` names) mounted with FUSE on the
//! host as a static primary, and a writer that changes a Vori-like domain database
//! through its mount.
//!
//! The real LiteFS is opt-in: no registry these machines reach offers it and this project
//! may not redistribute it. Without `REAL_LITEFS_BIN` its tests are skipped, named and
//! counted (in CI too); with it, [`RealLiteFs::start`] answers `None` (after printing
//! why) when this machine cannot run it, and in CI (`CI=true`) that is a failure.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use voripos_domain_sync::litefs::pos::Position;

use super::{free_port, skip};

/// The database the tests replicate.
pub const DB: &str = "Domain.sqlite3";

/// The variable naming a LiteFS v0.5.14 binary: set, the real tiers run.
pub const BIN_VAR: &str = "REAL_LITEFS_BIN";

/// The real LiteFS binary `REAL_LITEFS_BIN` names (`None`: not opted in).
pub fn binary() -> Option<PathBuf> {
    std::env::var_os(BIN_VAR)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The binary, for a test that has checked [`available`].
fn opted_in_binary() -> PathBuf {
    binary().expect("REAL_LITEFS_BIN was checked by available()")
}

/// Why the real LiteFS cannot run here although it was asked for, if it cannot.
fn missing(bin: &Path) -> Option<String> {
    if !bin.is_file() {
        return Some(format!("{BIN_VAR}={} is not a file", bin.display()));
    }
    if !Path::new("/dev/fuse").exists() {
        return Some("/dev/fuse is missing".into());
    }
    let uid = Command::new("id").arg("-u").output().ok();
    if uid.is_none_or(|o| String::from_utf8_lossy(&o.stdout).trim() != "0") {
        return Some("mounting FUSE needs root".into());
    }
    let fusermount = Command::new("fusermount3").arg("-V").output();
    if fusermount.is_err() {
        return Some("fusermount3 is missing (Debian package fuse3)".into());
    }
    None
}

/// Whether the real LiteFS runs here. Not opted in: records the skip (in CI too) and
/// answers `false`. Opted in but unable to run: fails in CI, prints why and answers
/// `false` elsewhere.
pub fn available(test: &str) -> bool {
    let Some(bin) = binary() else {
        super::skip::not_opted_in(&format!(
            "{test}: the real LiteFS is opt-in: set {BIN_VAR} to a LiteFS v0.5.14 binary"
        ));
        return false;
    };
    match missing(&bin) {
        None => true,
        Some(why) => {
            skip(&format!("{test}: the real LiteFS cannot run here: {why}"));
            false
        }
    }
}

/// A LiteFS node mounted under a folder of its own; stopped and unmounted on drop.
pub struct RealLiteFs {
    pub root: PathBuf,
    pub mount: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl RealLiteFs {
    /// Mounts LiteFS under `root` (`mnt`, `data`, `litefs.yml`, `litefs.log`); `None`
    /// outside CI when it cannot run here.
    pub fn start(root: &Path, test: &str) -> Option<RealLiteFs> {
        if !available(test) {
            return None;
        }
        let port = free_port();
        let mount = root.join("mnt");
        std::fs::create_dir_all(&mount).unwrap();
        std::fs::write(
            root.join("litefs.yml"),
            format!(
                "fuse: {{ dir: {mnt} }}\ndata: {{ dir: {data} }}\nhttp: {{ addr: \"127.0.0.1:{port}\" }}\n\
                 lease:\n  type: static\n  candidate: true\n  advertise-url: \"http://127.0.0.1:{port}\"\n",
                mnt = mount.display(),
                data = root.join("data").display(),
            ),
        )
        .unwrap();
        let mut node = RealLiteFs {
            root: root.to_path_buf(),
            mount,
            port,
            child: None,
        };
        node.restart();
        Some(node)
    }

    /// Starts LiteFS again (after [`stop`](Self::stop) or [`kill`](Self::kill)) and
    /// waits until its API answers.
    pub fn restart(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root.join("litefs.log"))
            .unwrap();
        let child = Command::new(opted_in_binary())
            .args(["mount", "-config"])
            .arg(self.root.join("litefs.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("litefs starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let up = std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok();
            if up && self.mounted() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("LiteFS did not start:\n{}", self.log());
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The database's path in the mount.
    pub fn db_path(&self) -> PathBuf {
        self.mount.join(DB)
    }

    /// Whether the FUSE filesystem is mounted at [`mount`](Self::mount).
    fn mounted(&self) -> bool {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .any(|l| l.split(' ').nth(4) == Some(self.mount.to_str().unwrap_or("")))
    }

    /// LiteFS's own position (`<db>-pos` in the mount), parsed by the app's parser.
    pub fn pos(&self) -> Position {
        let text = std::fs::read_to_string(self.mount.join(format!("{DB}-pos"))).unwrap();
        voripos_domain_sync::litefs::pos::parse(&text).expect("a valid -pos file")
    }

    /// The database as the mount shows it.
    pub fn db_bytes(&self) -> Vec<u8> {
        std::fs::read(self.db_path()).unwrap()
    }

    /// SIGTERM, then waits for LiteFS to exit (it unmounts itself).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    /// SIGKILL, then `fusermount3 -u` as an operator would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.unmount();
    }

    fn unmount(&self) {
        if self.mounted() {
            let _ = Command::new("fusermount3")
                .arg("-u")
                .arg(&self.mount)
                .status();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("litefs.log")).unwrap_or_default()
    }
}

impl Drop for RealLiteFs {
    fn drop(&mut self) {
        self.stop();
        self.unmount();
    }
}

/// A writer of the domain database through the mount (rollback journal unless told).
pub struct Writer {
    conn: Connection,
    rng: fastrand::Rng,
}

impl Writer {
    /// Opens (creating) the database in the mount.
    pub fn open(path: &Path) -> Writer {
        let conn = Connection::open(path).expect("the mount's database opens");
        conn.busy_timeout(Duration::from_secs(30)).unwrap();
        Writer {
            conn,
            rng: fastrand::Rng::with_seed(7),
        }
    }

    /// Creates the domain tables with about `size_mb` MiB of rows, in one transaction.
    pub fn populate(&mut self, size_mb: u64) {
        self.conn.execute_batch("PRAGMA page_size = 4096").unwrap();
        let tx = self.conn.transaction().unwrap();
        litefs_sim::populate(&tx, size_mb, 11).unwrap();
        tx.commit().unwrap();
    }

    /// `n` catalogue changes, one transaction each.
    pub fn commit(&mut self, n: usize) {
        for _ in 0..n {
            let tx = self.conn.transaction().unwrap();
            litefs_sim::apply_change(&tx, &mut self.rng, std::time::SystemTime::now()).unwrap();
            tx.commit().unwrap();
        }
    }

    pub fn execute(&self, sql: &str) {
        self.conn.execute_batch(sql).unwrap();
    }
}

/// The real LiteFS in a `FROM scratch` image, as the fleet runs it: the binary,
/// `fusermount3` with the libc and loader it links, the project's `docker/litefs.yml`,
/// and busybox as `/bin/cat` for the position probe.
pub async fn build_image(docker: &bollard::Docker, tag: &str) {
    use futures_util::StreamExt;
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files: [(&str, PathBuf, u32); 6] = [
        ("usr/local/bin/litefs", opted_in_binary(), 0o755),
        ("usr/bin/fusermount3", "/usr/bin/fusermount3".into(), 0o4755),
        (
            "lib/x86_64-linux-gnu/libc.so.6",
            "/lib/x86_64-linux-gnu/libc.so.6".into(),
            0o755,
        ),
        (
            "lib64/ld-linux-x86-64.so.2",
            "/lib64/ld-linux-x86-64.so.2".into(),
            0o755,
        ),
        ("etc/litefs.yml", repo.join("docker/litefs.yml"), 0o644),
        ("bin/busybox", "/bin/busybox".into(), 0o755),
    ];
    let mut tar = tar::Builder::new(Vec::new());
    let dockerfile = "FROM scratch\nCOPY rootfs/ /\nEXPOSE 20202\n\
                      ENTRYPOINT [\"/usr/local/bin/litefs\", \"mount\"]\n";
    let mut header = tar::Header::new_gnu();
    header.set_size(dockerfile.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "Dockerfile", dockerfile.as_bytes())
        .unwrap();
    for (path, source, mode) in files {
        let data = std::fs::read(&source).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (`.ci/setup` installs fuse3 and busybox-static)",
                source.display()
            )
        });
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_cksum();
        tar.append_data(&mut header, format!("rootfs/{path}"), &data[..])
            .unwrap();
    }
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_size(0);
    link.set_mode(0o777);
    tar.append_link(&mut link, "rootfs/bin/cat", "busybox")
        .unwrap();
    for dir in ["litefs", "var/lib/litefs", "tmp", "etc"] {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_size(0);
        header.set_mode(0o755);
        tar.append_data(&mut header, format!("rootfs/{dir}/"), std::io::empty())
            .unwrap();
    }
    let context = tar.into_inner().unwrap();
    let options = bollard::query_parameters::BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(tag)
        .rm(true)
        .build();
    let mut build = docker.build_image(options, None, Some(bollard::body_full(context.into())));
    while let Some(step) = build.next().await {
        let info = step.expect("the real LiteFS image builds");
        if let Some(detail) = info.error_detail {
            panic!("building {tag}: {:?}", detail.message);
        }
    }
}

/// The project's LiteFS Cloud stand-in (`litefs_sim::cloud`) serving `src` on the docker0
/// address (never 0.0.0.0), for the cluster named by [`CLOUD_TOKEN`]; stopped on drop.
pub struct CloudStandin {
    pub src: PathBuf,
    pub url: String,
    _server: litefs_sim::cloud::CloudServer,
}

/// The token LiteFS and the app send to the stand-in (lfsb's `cluster <name>`).
pub const CLOUD_TOKEN: &str = "cluster test";

impl CloudStandin {
    pub fn start(src: &Path, host: &str) -> CloudStandin {
        let config = litefs_sim::cloud::CloudConfig::new(src, "test");
        let server = litefs_sim::cloud::CloudServer::start(config, &format!("{host}:0"))
            .expect("the cloud stand-in listens on the docker0 address");
        CloudStandin {
            src: src.to_path_buf(),
            url: server.url(),
            _server: server,
        }
    }

    /// Publishes a new cloud version: a copy of the current one with `n` catalogue
    /// changes, renamed over it atomically. Answers its LiteFS checksum.
    pub fn publish(&self, n: usize) -> u64 {
        let next = self.src.with_extension("next");
        std::fs::copy(&self.src, &next).unwrap();
        let mut writer = Writer::open(&next);
        writer.commit(n);
        drop(writer);
        std::fs::rename(&next, &self.src).unwrap();
        litefs_sim::database_checksum(&self.src).unwrap()
    }
}

/// A new cloud database of about `size_mb` MiB at `path`; answers its LiteFS checksum.
pub fn cloud_database(path: &Path, size_mb: u64) -> u64 {
    let mut writer = Writer::open(path);
    writer.populate(size_mb);
    drop(writer);
    litefs_sim::database_checksum(path).unwrap()
}

/// The docker0 address: where containers on the default bridge reach the host.
pub fn docker0() -> String {
    let out = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "docker0"])
        .output()
        .expect("`ip` runs");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .and_then(|cidr| cidr.split('/').next())
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no docker0 address: {text}"))
}
