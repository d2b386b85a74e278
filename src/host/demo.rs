//! `demo`: the whole app on a machine with Docker and no token.
//!
//! Builds the `litefs-sim` image locally through the Engine API (`FROM scratch` and the
//! static binary; no registry), runs it under the same supervisor as the fleet's LiteFS
//! container, with a change committed every few seconds, and syncs into a demo folder,
//! with the menu-bar icon where there is a display. Ctrl-C (or *Quit*) stops it and
//! removes the demo container and its volume.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::config::Config;
use crate::control::Request;
use crate::docker::endpoint;
use crate::docker::spec::{ContainerSpec, DATA_DIR, LITEFS_PORT};
use crate::docker::{engine, image};
use crate::host::environment::Environment;
use crate::host::serve;
use crate::host::shutdown::Shutdown;
use crate::host::sync_core::{self, Source};
use crate::ipc::server;
use crate::small_file;
use crate::status::board::Board;
use crate::status::{State, Status};
use crate::tray::link::AppLink;

/// The image the demo builds.
pub const IMAGE: &str = "voripos-domain-sync/litefs-sim:demo";
/// The demo container's name.
pub const CONTAINER: &str = "voripos-domain-sync-demo";

/// Where the static litefs-sim binary is: `LITEFS_SIM_BINARY`, else where it is built
/// (see the README's first command) beside this program's target folder.
pub fn static_sim_binary(env: &Environment) -> anyhow::Result<PathBuf> {
    if let Some(path) = &env.litefs_sim_binary {
        return Ok(path.clone());
    }
    let exe = env
        .exe
        .as_deref()
        .context("cannot find this program's path")?;
    let target = exe
        .parent()
        .and_then(Path::parent)
        .context("this program is not in a cargo target folder; set LITEFS_SIM_BINARY")?;
    let path = target.join("x86_64-unknown-linux-gnu/release/litefs-sim");
    if !path.exists() {
        bail!(
            "{} not found; build it with: RUSTFLAGS='-C target-feature=+crt-static' \\
             cargo build --release -p litefs-sim --target x86_64-unknown-linux-gnu",
            path.display()
        );
    }
    Ok(path)
}

/// The demo, ready to run: its image built, its configuration written.
pub struct Demo {
    docker: bollard::Docker,
    env: Environment,
    config: Config,
    config_file: PathBuf,
    spec: ContainerSpec,
    publish: PathBuf,
}

/// Builds the litefs-sim image and the demo's configuration in `dir`.
pub async fn prepare(
    dir: &Path,
    size_mb: u64,
    port: u16,
    env: &Environment,
) -> anyhow::Result<Demo> {
    let binary = static_sim_binary(env)?;
    let candidates = endpoint::candidates(&env.docker, |p| {
        small_file::read_text(p, small_file::MAX_SETTINGS_BYTES).ok()
    });
    let docker = endpoint::connect(&candidates).await?.docker;
    println!(
        "Building the litefs-sim image {IMAGE} from {}…",
        binary.display()
    );
    let cmd = [
        "--listen".to_string(),
        format!("0.0.0.0:{LITEFS_PORT}"),
        "--data-dir".into(),
        DATA_DIR.into(),
        "--size-mb".into(),
        size_mb.to_string(),
        "--tx-interval".into(),
        "3s".into(),
    ];
    image::build_from_binary(&docker, IMAGE, &binary, &cmd).await?;
    let publish = dir.join("Domain");
    let text = format!(
        "[publish]\ndir = {:?}\n[container]\nimage = {IMAGE:?}\nname = {CONTAINER:?}\nhost_port = {port}\n[status]\nfile = {:?}\n",
        publish.display().to_string(),
        dir.join("status.json").display().to_string()
    );
    // Written out so that `status`, `resync` and `quit --config <dir>/demo.toml` reach
    // the demo through its control socket.
    let config_file = dir.join("demo.toml");
    crate::private_dir::create(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(&config_file, &text)
        .with_context(|| format!("cannot write {}", config_file.display()))?;
    let config = Config::parse(&text, &config_file)?;
    let spec = ContainerSpec::new(&config, None);
    Ok(Demo {
        docker,
        env: env.clone(),
        config,
        config_file,
        spec,
        publish,
    })
}

impl Demo {
    /// The demo's status file (its control socket is beside it).
    pub fn status_file(&self) -> PathBuf {
        self.config.status_file(&self.env.dirs)
    }

    /// Runs the demo until `shutdown` is asked (SIGINT/SIGTERM, or *Quit* from the menu or
    /// `voripos-domain-sync quit --config <dir>/demo.toml`), printing one plain line per
    /// change of what a user sees ([`line`]; the detail is in the log, `log_dir`); then
    /// removes the container and its volume. Its core shows its status on `board`, which
    /// `app`'s UI reads; the UI's requests and the control socket's are answered.
    pub async fn run(
        self,
        socket: server::Bound,
        board: Board,
        app: AppLink,
        shutdown: Shutdown,
        log_dir: PathBuf,
    ) -> anyhow::Result<()> {
        let core = sync_core::start_with(
            &self.config,
            Source::Container(self.spec.clone()),
            &self.env,
            &board,
        )?;
        println!(
            "Container {CONTAINER}: LiteFS API on {}; publishing into {}\n\
             Ask it with `voripos-domain-sync status --config {}` (or resync, quit).\n\
             The log is in {}. Press Ctrl-C to stop.\n",
            self.spec.litefs_url(),
            self.publish.display(),
            self.config_file.display(),
            log_dir.display()
        );
        tokio::spawn(socket.serve(app.requests_sender()));
        let AppLink { mut requests, .. } = app;
        let mut status = board.subscribe();
        let mut last_line = String::new();
        loop {
            let said = line(&status.borrow_and_update());
            if said != last_line {
                println!("{} {said}", chrono::Local::now().format("%H:%M:%S"));
                last_line = said;
            }
            tokio::select! {
                changed = status.changed() => if changed.is_err() {
                    break;
                },
                Some((request, reply)) = requests.recv() => {
                    let _ = reply.send(serve::answer(&core, &board, &shutdown, request));
                }
                () = shutdown.requested() => break,
            }
        }
        let _ = core.commands.send(Request::Quit).await;
        let status_file = core.status_file.clone();
        core.stopped().await;
        serve::say_stopped(&status_file);
        println!("Removing the demo container and its volume…");
        engine::remove(&self.docker, &self.spec).await?;
        engine::remove_volume(&self.docker, &self.spec).await?;
        Ok(())
    }
}

/// One plain line of the demo's output for a status: the state in words, the version
/// (TXID) and the file published ("up to date · version 1d · published
/// 1796602850-Domain.sqlite3"); a problem's plain title instead of the facts.
fn line(s: &Status) -> String {
    let state = match s.state {
        State::NotConfigured => "not configured",
        State::DockerUnavailable => "Docker is not running",
        State::Starting => "starting",
        State::Syncing => "syncing",
        State::UpToDate => "up to date",
        State::Stale => "stale",
        State::Error => "error",
    };
    let mut words = vec![state.to_string()];
    if let Some(e) = &s.error {
        words.push(e.kind.title().to_lowercase());
    }
    if let Some(txid) = s.txid {
        words.push(format!("version {:x}", txid.0));
    }
    let file = s.published_path.as_deref().and_then(|p| p.file_name());
    words.push(match file {
        Some(name) => format!("published {}", name.to_string_lossy()),
        None => "nothing published yet".into(),
    });
    words.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_kind::ErrorKind;
    use crate::status::{ErrorInfo, Txid};
    use chrono::Utc;

    #[test]
    fn a_line_says_the_state_version_and_file_in_plain_words() {
        let mut s = Status::starting("http://127.0.0.1:20202", Utc::now());
        assert_eq!(line(&s), "starting · nothing published yet");
        s.state = State::UpToDate;
        s.txid = Some(Txid(0x1d));
        s.published_path = Some(PathBuf::from("/d/Domain/1796602850-Domain.sqlite3"));
        assert_eq!(
            line(&s),
            "up to date · version 1d · published 1796602850-Domain.sqlite3"
        );
        s.state = State::Error;
        s.error = Some(ErrorInfo {
            kind: ErrorKind::ChecksumMismatch,
            message: "the checksum differs".into(),
        });
        let said = line(&s);
        assert!(said.starts_with("error · "), "{said}");
        assert!(!said.contains("ChecksumMismatch"), "no Debug form: {said}");
        assert!(said.ends_with("version 1d · published 1796602850-Domain.sqlite3"));
    }
}
