//! The process's outside inputs, read once at start: environment variables, the home,
//! config and data folders they imply, the working folder and this program's path.
//!
//! [`Environment::from_process`] is the only place in the app that reads the process
//! environment; `main` calls it first and hands the result down. Each consumer takes the
//! plain part it needs (the token, the folders, the Docker variables, the OTLP variables,
//! the display variables, the log filter), so the code under it, and every in-process
//! test, works from values it was given and never from the developer's own environment
//! (tests build one with [`Environment::isolated`]). The token's value never shows in
//! `Debug`: it is a [`Secret`], registered for scrubbing as soon as it is read.

use std::path::{Path, PathBuf};

use crate::cloud::proxy::ProxyVars;
use crate::config::token::{Places, TOKEN_ENV};
use crate::config::{managed, AppDirs, Secret, CONFIG_ENV};
use crate::docker::endpoint;
use crate::telemetry::endpoint::{Signal, Variables, BASE_VARIABLE};
use crate::tray::display::Displays;

/// Everything the app reads from its process's surroundings.
#[derive(Clone, Debug)]
pub struct Environment {
    /// The user's home (for `~`, the VoriPOS preferences, the LaunchAgent) and the app's
    /// config and data folders (`HOME`, `XDG_CONFIG_HOME`, `XDG_DATA_HOME`).
    pub dirs: AppDirs,
    /// The working folder, where a development `.env` is read.
    pub work_dir: PathBuf,
    /// This program's path (what the LaunchAgent starts; where the demo finds litefs-sim).
    pub exe: Option<PathBuf>,
    /// `VORIPOS_DOMAIN_SYNC_CONFIG` when set and not empty.
    pub config_file: Option<PathBuf>,
    /// `LITEFS_CLOUD_TOKEN` when set and not empty.
    pub token: Option<Secret>,
    /// `DOCKER_HOST`, `DOCKER_CONTEXT` and the home they are read against.
    pub docker: endpoint::Env,
    /// The `OTEL_EXPORTER_OTLP_*` endpoint variables that are set.
    pub otlp: Variables,
    /// `DISPLAY` and `WAYLAND_DISPLAY`.
    pub displays: Displays,
    /// `RUST_LOG` (empty when unset).
    pub rust_log: String,
    /// launchd's `XPC_SERVICE_NAME`.
    pub xpc_service_name: Option<String>,
    /// `LITEFS_SIM_BINARY`: the static litefs-sim the demo puts in its image.
    pub litefs_sim_binary: Option<PathBuf>,
    /// `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY` (and their lower-case forms): the LiteFS
    /// Cloud client's proxy (see [`crate::cloud::proxy`]).
    pub proxy: ProxyVars,
    /// The folder the system's `Library` (managed preferences, the `.pkg`'s LaunchAgent)
    /// is under: `/`, or in a debug build `VORIPOS_DOMAIN_SYNC_SYSTEM_ROOT` (the tests'
    /// seam; a release build ignores it).
    pub system_root: PathBuf,
    /// The user's name (`USER`, `LOGNAME`, else the home folder's name), for the user's
    /// own managed preferences.
    pub user: Option<String>,
}

/// The tests' stand-in for `/` when looking in the system's `Library` (debug builds only).
pub const SYSTEM_ROOT_ENV: &str = "VORIPOS_DOMAIN_SYNC_SYSTEM_ROOT";

impl Environment {
    /// The process's environment, read now. Call once, at start.
    pub fn from_process() -> Environment {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let var_os = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let dirs = process_dirs();
        let otlp = [
            Signal::Traces.variable(),
            Signal::Metrics.variable(),
            BASE_VARIABLE,
        ]
        .into_iter()
        .filter_map(|name| Some((name.to_string(), var(name)?)))
        .collect();
        Environment {
            docker: endpoint::Env {
                docker_host: var("DOCKER_HOST"),
                docker_context: var("DOCKER_CONTEXT"),
                home: dirs.home.clone().unwrap_or_default(),
            },
            work_dir: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            exe: std::env::current_exe().ok(),
            config_file: var_os(CONFIG_ENV).map(PathBuf::from),
            token: var(TOKEN_ENV).map(Secret::new),
            otlp,
            displays: Displays {
                x11: var_os("DISPLAY"),
                wayland: var_os("WAYLAND_DISPLAY"),
            },
            rust_log: var("RUST_LOG").unwrap_or_default(),
            xpc_service_name: var("XPC_SERVICE_NAME"),
            litefs_sim_binary: var_os("LITEFS_SIM_BINARY").map(PathBuf::from),
            proxy: ProxyVars::read(var),
            system_root: var_os(SYSTEM_ROOT_ENV)
                .filter(|_| cfg!(debug_assertions))
                .map_or_else(|| PathBuf::from("/"), PathBuf::from),
            user: var("USER").or_else(|| var("LOGNAME")).or_else(|| {
                let home = dirs.home.as_deref()?;
                Some(home.file_name()?.to_string_lossy().into_owned())
            }),
            dirs,
        }
    }

    /// An environment with nothing set, its home, folders and working folder under
    /// `root`: what an in-process test starts from (it sets the fields it needs).
    pub fn isolated(root: &Path) -> Environment {
        let home = root.join("home");
        Environment {
            dirs: AppDirs {
                home: Some(home.clone()),
                config: root.join("config"),
                data: root.join("data"),
            },
            work_dir: root.to_path_buf(),
            exe: None,
            config_file: None,
            token: None,
            docker: endpoint::Env {
                docker_host: None,
                docker_context: None,
                home,
            },
            otlp: Variables::new(),
            displays: Displays::default(),
            rust_log: String::new(),
            xpc_service_name: None,
            litefs_sim_binary: None,
            proxy: ProxyVars::default(),
            system_root: root.join("system-root"),
            user: Some("pos".into()),
        }
    }

    /// The user's home folder, if there is one.
    pub fn home(&self) -> Option<&Path> {
        self.dirs.home.as_deref()
    }

    /// The managed preferences plists, in lookup order (see [`managed::candidates`]).
    pub fn managed_files(&self) -> Vec<PathBuf> {
        managed::candidates(&self.system_root, self.user.as_deref())
    }

    /// Where the token is looked up.
    pub fn token_places(&self) -> Places<'_> {
        Places {
            env: self.token.as_ref().map(|t| t.expose().to_string()),
            work_dir: &self.work_dir,
            home: self.home(),
        }
    }
}

/// The home and the app's folders as the platform defines them: on macOS
/// `~/Library/Application Support/com.vori.VoriPOS.DomainSync`, elsewhere the XDG folders
/// named `voripos-domain-sync`. Without a home at all (a bare service account) the
/// working folder.
fn process_dirs() -> AppDirs {
    let home = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf());
    #[cfg(target_os = "macos")]
    let dirs = directories::ProjectDirs::from("com", "vori", "VoriPOS.DomainSync");
    #[cfg(not(target_os = "macos"))]
    let dirs = directories::ProjectDirs::from_path(PathBuf::from("voripos-domain-sync"));
    match dirs {
        Some(d) => AppDirs {
            home,
            config: d.config_dir().to_path_buf(),
            data: d.data_dir().to_path_buf(),
        },
        None => AppDirs {
            home,
            config: PathBuf::from("."),
            data: PathBuf::from("."),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_shows_in_debug_and_is_scrubbed() {
        let root = tempfile::tempdir().unwrap();
        let env = Environment {
            token: Some(Secret::new("tok-environment-debug-5150".into())),
            ..Environment::isolated(root.path())
        };
        let printed = format!("{env:?} {env:#?}");
        assert!(!printed.contains("5150"), "{printed}");
        assert!(printed.contains("[redacted]"), "{printed}");
        assert_eq!(
            crate::secrets::scrub("got tok-environment-debug-5150"),
            "got [redacted]"
        );
        // The lookup's places carry it on, and redact it too.
        let places = env.token_places();
        assert!(!format!("{places:?}").contains("5150"));
        assert_eq!(places.env.as_deref(), Some("tok-environment-debug-5150"));
    }

    #[test]
    fn an_isolated_environment_lives_under_its_root() {
        let root = tempfile::tempdir().unwrap();
        let env = Environment::isolated(root.path());
        assert!(env.dirs.config.starts_with(root.path()));
        assert!(env.dirs.data.starts_with(root.path()));
        assert!(env.home().is_some_and(|h| h.starts_with(root.path())));
        assert_eq!(env.docker.home, root.path().join("home"));
        assert!(env.token.is_none() && env.otlp.is_empty() && env.config_file.is_none());
    }
}
