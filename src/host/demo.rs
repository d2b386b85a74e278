//! `demo`: the whole app on a machine with Docker and no token.
//!
//! Builds the `litefs-sim` image locally through the Engine API (`FROM scratch` and the
//! static binary; no registry), runs it under the same supervisor as the fleet's LiteFS
//! container, with a change committed every few seconds, and syncs into a demo folder,
//! with the menu-bar icon where there is a display. Ctrl-C (or *Quit*) stops it and
//! removes the demo container and its volume.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use chrono::Utc;

use crate::config::Config;
use crate::control::Command;
use crate::docker::endpoint;
use crate::docker::spec::{ContainerSpec, DATA_DIR, LITEFS_PORT};
use crate::docker::{engine, image};
use crate::host::environment::Environment;
use crate::host::serve;
use crate::host::sync_core::{self, Source};
use crate::ipc::server;
use crate::small_file;
use crate::status::Status;
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

    /// Runs the demo until SIGINT/SIGTERM or *Quit* (from the menu, or `voripos-domain-sync
    /// quit --config <dir>/demo.toml`), printing each change of state; then removes the
    /// container and its volume. Statuses go to `app`'s UI, whose requests and the control socket's
    /// are answered.
    pub async fn run(self, socket: server::Bound, app: AppLink) -> anyhow::Result<()> {
        let shutdown = sync_core::shutdown_signal()?;
        tokio::pin!(shutdown);
        let core = sync_core::start_with(
            &self.config,
            Source::Container(self.spec.clone()),
            &self.env,
        )?;
        println!(
            "Container {CONTAINER}: LiteFS API on {}; publishing into {}\n\
             Ask it with `voripos-domain-sync status --config {}` (or resync, quit).\n\
             Press Ctrl-C to stop.\n",
            self.spec.litefs_url(),
            self.publish.display(),
            self.config_file.display()
        );
        app.serve_socket(socket);
        let AppLink {
            status: ui_status,
            mut requests,
            ..
        } = app;
        let mut status = core.status.clone();
        let mut last_line = String::new();
        loop {
            tokio::select! {
                changed = status.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let s = status.borrow_and_update().clone();
                    let line = line(&s);
                    if line != last_line {
                        println!("{} {line}", Utc::now().format("%H:%M:%S"));
                        last_line = line;
                    }
                    ui_status.send_replace(s);
                }
                Some((request, reply)) = requests.recv() => {
                    let (response, quit) = serve::answer(&core, request);
                    let _ = reply.send(response);
                    if quit {
                        break;
                    }
                }
                _ = &mut shutdown => break,
            }
        }
        let _ = core.commands.send(Command::Quit).await;
        let status_file = core.status_file.clone();
        core.stopped().await;
        serve::say_stopped(&status_file);
        println!("Removing the demo container and its volume…");
        engine::remove(&self.docker, &self.spec).await?;
        engine::remove_volume(&self.docker, &self.spec).await?;
        Ok(())
    }
}

/// One line of the demo's output for a status.
fn line(s: &Status) -> String {
    format!(
        "{:?}{} · txid {} · {}",
        s.state,
        s.detail
            .as_deref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default(),
        s.txid.map_or("-".into(), |t| format!("{:x}", t.0)),
        s.published_path
            .as_deref()
            .map_or("nothing published yet".into(), |p| p.display().to_string()),
    )
}
