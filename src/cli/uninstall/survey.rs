//! The I/O of `uninstall`: what is on this machine ([`survey`]) and removing it
//! ([`carry_out`]), step by step as the plan lists them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::errors::Error as BollardError;
use bollard::Docker;

use super::{Found, Step};
use crate::config::Config;
use crate::control::Request;
use crate::docker::endpoint;
use crate::docker::engine::{self, EngineError};
use crate::docker::spec::{ContainerSpec, MANAGED_LABEL};
use crate::host::environment::Environment;
use crate::ipc::{self, client, IpcError};
use crate::login::{launch_agent, login_item};
use crate::logs;

/// How long a running instance may take to stop.
const STOP_WAIT: Duration = Duration::from_secs(30);

/// What the survey and the removal work from.
pub struct Context<'a> {
    pub config: &'a Config,
    pub env: &'a Environment,
    /// The config file in use, and whether `--config` or the environment named it.
    pub config_path: &'a Path,
    pub explicit: bool,
}

impl Context<'_> {
    fn spec(&self) -> ContainerSpec {
        ContainerSpec::new(self.config, None)
    }

    fn socket(&self) -> PathBuf {
        ipc::socket_path(&self.config.status_file(&self.env.dirs))
    }

    async fn docker(&self) -> Result<Docker, endpoint::Unavailable> {
        let candidates =
            endpoint::candidates(&self.env.docker, |p| std::fs::read_to_string(p).ok());
        endpoint::connect(&candidates).await.map(|c| c.docker)
    }

    fn exe(&self) -> Option<PathBuf> {
        self.env
            .exe
            .as_ref()
            .map(|e| e.canonicalize().unwrap_or_else(|_| e.clone()))
    }
}

/// Looks for everything the app may have put on this machine.
pub async fn survey(cx: &Context<'_>) -> Found {
    let env = cx.env;
    let home = env.home();
    let exists = |p: &PathBuf| p.exists();
    let mut found = Found {
        agent: home.map(launch_agent::plist_path).filter(exists),
        homebrew_service: home
            .map(|h| {
                h.join("Library/LaunchAgents")
                    .join(launch_agent::HOMEBREW_PLIST)
            })
            .filter(exists),
        package_agent: Some(
            env.system_root
                .join("Library/LaunchAgents")
                .join(format!("{}.plist", launch_agent::LABEL)),
        )
        .filter(exists),
        // Registered, enabled or waiting for approval: either way it is unregistered.
        login_item: matches!(
            login_item::login_item_status(cx.exe().as_deref()),
            Some(1 | 2)
        ),
        publish_dir: cx.config.publish_dir(&env.dirs),
        ..Found::default()
    };
    let socket = cx.socket();
    if client::request(&socket, Request::Status, Duration::from_secs(5))
        .await
        .is_ok()
    {
        found.running = Some(socket.clone());
    }
    let spec = cx.spec();
    match cx.docker().await {
        Ok(docker) => {
            match engine::inspect(&docker, &spec).await {
                Ok(Some(_)) => found.container = Some(spec.name.clone()),
                Ok(None) => {}
                Err(EngineError::NotOurs { name }) => {
                    found.not_ours.push(format!("the Docker container {name}"))
                }
                Err(e) => {
                    found.docker_unchecked =
                        Some((e.to_string(), spec.name.clone(), spec.volume.clone()))
                }
            }
            match docker.inspect_volume(&spec.volume).await {
                Ok(v) if v.labels.contains_key(MANAGED_LABEL) => {
                    found.volume = Some(spec.volume.clone())
                }
                Ok(_) => found
                    .not_ours
                    .push(format!("the Docker volume {}", spec.volume)),
                Err(BollardError::DockerResponseServerError {
                    status_code: 404, ..
                }) => {}
                Err(e) => {
                    found.docker_unchecked =
                        Some((e.to_string(), spec.name.clone(), spec.volume.clone()))
                }
            }
        }
        Err(e) => {
            found.docker_unchecked = Some((e.to_string(), spec.name.clone(), spec.volume.clone()))
        }
    }
    let folders = [
        ("the logs", logs::dir(&env.dirs)),
        ("the support folder", env.dirs.data.clone()),
        ("the config folder", env.dirs.config.clone()),
    ];
    for (what, path) in folders {
        if path.is_dir() && !found.folders.iter().any(|(_, p)| *p == path) {
            found.folders.push((what, path));
        }
    }
    let status_file = cx.config.status_file(&env.dirs);
    let files = [
        ("the status file", status_file),
        ("the control socket", socket.clone()),
        ("the control socket's lock", ipc::lock_path(&socket)),
    ];
    found.files = files
        .into_iter()
        .filter(|(_, p)| std::fs::symlink_metadata(p).is_ok())
        .collect();
    if cx.explicit && cx.config_path.exists() && !cx.config_path.starts_with(&env.dirs.config) {
        found.own_config = Some(cx.config_path.to_path_buf());
    }
    found
}

/// Carries out `steps` in order; each one's outcome, `Err` saying why it failed.
pub async fn carry_out(cx: &Context<'_>, steps: &[Step]) -> Vec<Result<(), String>> {
    let mut outcomes = Vec::new();
    for step in steps {
        outcomes.push(remove(cx, step).await);
    }
    outcomes
}

async fn remove(cx: &Context<'_>, step: &Step) -> Result<(), String> {
    match step {
        Step::LaunchAgent { .. } => {
            boot_out();
            let home = cx.env.home().ok_or("no home folder")?;
            launch_agent::disable(home).map_err(|e| e.to_string())
        }
        Step::LoginItem => {
            let (Some(home), Some(exe)) = (cx.env.home(), cx.exe()) else {
                return Err("no home folder or no path to the app".into());
            };
            login_item::set(home, &exe, false).map(|_| ())
        }
        Step::StopApp { socket } => stop(socket).await,
        Step::Container { .. } => {
            let docker = cx.docker().await.map_err(|e| e.to_string())?;
            engine::remove(&docker, &cx.spec())
                .await
                .map_err(|e| e.to_string())
        }
        Step::Volume { .. } => {
            let docker = cx.docker().await.map_err(|e| e.to_string())?;
            engine::remove_volume(&docker, &cx.spec())
                .await
                .map_err(|e| e.to_string())
        }
        Step::Folder { path, .. } => match std::fs::remove_dir_all(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.to_string()),
            _ => Ok(()),
        },
        Step::File { path, .. } => match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.to_string()),
            _ => Ok(()),
        },
    }
}

/// Asks the instance at `socket` to quit and waits until nothing answers there.
async fn stop(socket: &Path) -> Result<(), String> {
    let wait = Duration::from_secs(5);
    match client::request(socket, Request::Quit, wait).await {
        Ok(_) | Err(IpcError::NotRunning(_)) => {}
        Err(e) => return Err(e.to_string()),
    }
    let deadline = Instant::now() + STOP_WAIT;
    loop {
        if let Err(IpcError::NotRunning(_)) = client::request(socket, Request::Status, wait).await {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("it still answers after {} s", STOP_WAIT.as_secs()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Unloads the LaunchAgent from launchd (macOS), so that it does not start the app
/// again; an agent that is not loaded is fine.
fn boot_out() {
    if !cfg!(target_os = "macos") {
        return;
    }
    let uid = std::process::Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if let Some(uid) = uid.filter(|u| !u.is_empty()) {
        let target = format!("gui/{uid}/{}", launch_agent::LABEL);
        let _ = std::process::Command::new("launchctl")
            .args(["bootout", &target])
            .output();
    }
}
