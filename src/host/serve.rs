//! `run --headless` with live reload: the core is restarted when the configuration or
//! the token changes, and an unusable config file keeps the app up showing why.
//!
//! The config file, the `.env` file, the VoriPOS preferences plists and the managed
//! preferences a configuration profile installs are watched (their
//! folders, so files replaced by a rename are seen); events are debounced, everything is
//! read again, and the core is restarted only when what it was started from changed
//! ([`Snapshot`]). A new token changes the container spec's hash, so the supervisor
//! recreates the container. Under launchd the app must never exit on a bad file (it
//! would be restarted in a loop): it shows state `error`, kind `config_invalid`, in the
//! last good configuration's status file (the default one when none was good yet), whose
//! control socket keeps answering, and starts as soon as the file is fixed. Files are
//! read off the loop that serves signals and the socket, bounded ([`crate::small_file`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use notify::Watcher;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::config::token::{self, Found, CREDENTIALS_FILE, DOTENV_FILE};
use crate::config::user_defaults::{self, POS_DOMAIN};
use crate::config::{AppDirs, Config, ConfigError, Notifications, Secret};
use crate::control::Request;
use crate::host::environment::Environment;
use crate::host::shutdown::Shutdown;
use crate::host::sync_core::{self, Core};
use crate::ipc::{self, protocol::Response, server, IpcError};
use crate::status::board::Board;
use crate::status::{self, Event};
use crate::tray::link::AppLink;

/// How long to wait for a burst of file events to settle.
pub const DEBOUNCE: Duration = Duration::from_millis(300);
/// First and longest pause before starting a core that could not start again.
const START_RETRY: Duration = Duration::from_secs(1);
const START_RETRY_MAX: Duration = Duration::from_secs(60);

/// Where the settings are read from.
#[derive(Clone, Debug)]
pub struct Sources {
    pub config_path: PathBuf,
    /// Named by `--config` or the environment: then a missing file is an error.
    pub explicit: bool,
    /// The process's environment (it does not change while running): the working folder
    /// (its `.env`), the home (the VoriPOS preferences), `LITEFS_CLOUD_TOKEN`.
    pub env: Environment,
}

impl Sources {
    /// The config file at `config_path` (`explicit`: named by `--config` or the
    /// environment) with the rest of `env`.
    pub fn new(config_path: PathBuf, explicit: bool, env: Environment) -> Sources {
        Sources {
            config_path,
            explicit,
            env,
        }
    }

    /// The files whose changes matter.
    pub fn watched_files(&self) -> Vec<PathBuf> {
        let mut files = vec![
            self.config_path.clone(),
            self.env.work_dir.join(DOTENV_FILE),
        ];
        if let Some(home) = self.env.home() {
            files.extend(user_defaults::candidates(home, POS_DOMAIN));
            files.push(home.join(CREDENTIALS_FILE));
        }
        files.extend(self.env.managed_files());
        files
    }

    /// Reads everything the core is started from.
    pub fn load(&self) -> Loaded {
        let managed = self.env.managed_files();
        let config = match Config::load_with(&self.config_path, self.explicit, &managed) {
            Ok(c) => c,
            Err(e) => return Loaded::Invalid(e.to_string()),
        };
        let socket = ipc::socket_path(&config.status_file(&self.env.dirs));
        if let Err(message) = ipc::check_socket_path(&socket) {
            let error = ConfigError::Invalid {
                path: self.config_path.clone(),
                message,
            };
            return Loaded::Invalid(error.to_string());
        }
        let found = token::resolve(&config, &self.env.token_places());
        Loaded::Ready {
            config: Box::new(config),
            found,
        }
    }
}

/// The configuration as read.
#[derive(Clone, Debug)]
pub enum Loaded {
    Ready {
        config: Box<Config>,
        found: Found,
    },
    /// The config file cannot be used; the message names the file, line and key.
    Invalid(String),
}

impl Loaded {
    /// The notification settings (the defaults when the config cannot be read).
    pub fn notifications(&self) -> Notifications {
        match self {
            Loaded::Ready { config, .. } => config.notifications.clone(),
            Loaded::Invalid(_) => Notifications::default(),
        }
    }

    /// The status file (the default one when the config cannot be read).
    pub fn status_file(&self, dirs: &AppDirs) -> PathBuf {
        match self {
            Loaded::Ready { config, .. } => config.status_file(dirs),
            Loaded::Invalid(_) => Config::default().status_file(dirs),
        }
    }

    /// The configuration, when it can be used.
    pub fn config(&self) -> Option<&Config> {
        match self {
            Loaded::Ready { config, .. } => Some(config),
            Loaded::Invalid(_) => None,
        }
    }
}

/// What the core depends on: equal snapshots need no restart.
#[derive(Clone, Debug, PartialEq)]
pub enum Snapshot {
    Ready {
        config: Box<Config>,
        /// Only when the container is managed: the token is used for nothing else.
        token: Option<Secret>,
    },
    Invalid(String),
}

impl Loaded {
    /// The parts of what was read that the running core depends on.
    pub fn snapshot(&self) -> Snapshot {
        match self {
            Loaded::Ready { config, found } => Snapshot::Ready {
                // The tray reads the notification settings live; the core never does.
                config: Box::new(Config {
                    notifications: Notifications::default(),
                    ..(**config).clone()
                }),
                token: config
                    .container
                    .manage
                    .then(|| found.token.clone())
                    .flatten(),
            },
            Loaded::Invalid(message) => Snapshot::Invalid(message.clone()),
        }
    }
}

/// Whether a file event concerns one of `watched` (events on other files in the same
/// folders, like our own status file, are ignored).
pub fn concerns(event: &notify::Event, watched: &[PathBuf]) -> bool {
    !event.kind.is_access()
        && event.paths.iter().any(|p| {
            watched
                .iter()
                .any(|w| p == w || (p.file_name().is_some() && p.file_name() == w.file_name()))
        })
}

/// A core as [`start`] left it.
pub struct Started {
    pub core: Core,
    /// The core could not start (an unusable publish folder, say): it shows why, and
    /// [`serve`] tries again after `retry_in`.
    pub failed: bool,
}

/// Starts the core for what was read; a configuration that cannot be used, or a core
/// that cannot start, gives an idle core showing the error instead of an exit. A core
/// that could not start says it is retried in `retry_in`; a configuration that cannot be
/// used waits for the file to change, showing the error where `last_good` (the last
/// configuration that could be used, if any) kept its status file and control socket.
pub fn start(
    loaded: &Loaded,
    env: &Environment,
    board: &Board,
    retry_in: Duration,
    last_good: Option<&Config>,
) -> Started {
    let (config, found) = match loaded {
        Loaded::Ready { config, found } => (config, found),
        Loaded::Invalid(message) => {
            tracing::error!("{message}; waiting for the file to be fixed");
            let core = sync_core::idle(
                last_good.unwrap_or(&Config::default()),
                env,
                Event::ConfigInvalid {
                    message: message.clone(),
                },
                board,
            );
            return Started {
                core,
                failed: false,
            };
        }
    };
    match sync_core::start_resolved(config, found.clone(), env, board) {
        Ok(core) => {
            tracing::info!(
                source = config.source.kind.label(),
                url = %sync_core::litefs_url(config),
                database = %config.litefs.database,
                dir = %config.publish_dir(&env.dirs).display(),
                status_file = %core.status_file.display(),
                "sync core started"
            );
            Started {
                core,
                failed: false,
            }
        }
        Err(e) => {
            let message = format!("{e:#}");
            tracing::error!(retry_in = ?retry_in, "cannot start: {message}");
            Started {
                core: sync_core::idle(config, env, Event::StartFailed { message, retry_in }, board),
                failed: true,
            }
        }
    }
}

/// Reads the settings and binds the control socket: the single-instance check, done
/// before any core (or tray) starts. Fails with [`IpcError::AlreadyRunning`] when
/// another instance answers.
pub async fn claim(sources: &Sources) -> Result<(Loaded, server::Bound), IpcError> {
    let loaded = load(sources).await;
    let status_file = loaded.status_file(&sources.env.dirs);
    let socket_path = ipc::socket_path(&status_file);
    let socket = server::bind(&socket_path).await?;
    let data = &sources.env.dirs.data;
    if let Err(e) = ipc::breadcrumb::leave(data, &sources.config_path, &socket_path) {
        tracing::warn!(error = %e, "could not record where the app answers; `status` with a broken config file may not find it");
    }
    // The lock is ours: no other instance writes this status file.
    let swept = status::sweep_temps(&status_file);
    if swept > 0 {
        tracing::info!(
            swept,
            "removed unfinished status temp files of an earlier run"
        );
    }
    Ok((loaded, socket))
}

/// Runs the core for what [`claim`] read until `shutdown` is asked (SIGTERM, SIGINT, a
/// `quit` request), answering the control socket and `app`'s requests and restarting
/// the core when what it depends on changes. Each core gets its handle on `board`, the
/// host's one board, which the UI and the socket read.
pub async fn serve(
    sources: Sources,
    loaded: Loaded,
    socket: server::Bound,
    board: Board,
    app: AppLink,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let socket_path = socket.path().to_path_buf();
    tokio::spawn(socket.serve(app.requests_sender()));
    let AppLink {
        notifications,
        mut requests,
        ..
    } = app;
    let (tx, mut changes) = mpsc::channel(1);
    let _watcher = watch(&sources.watched_files(), tx);
    let mut current = loaded.snapshot();
    let mut last_good = loaded.config().cloned();
    notifications.send_replace(loaded.notifications());
    let mut retry = Backoff::new(START_RETRY, START_RETRY_MAX);
    let mut retry_at = None;
    let mut core = begin(
        &loaded,
        &sources.env,
        &board,
        &mut retry,
        &mut retry_at,
        None,
    );
    // The settings being read (off this loop), why, and a read asked for meanwhile.
    let mut reading: Option<JoinHandle<Loaded>> = None;
    let mut reading_for = Reread::Changed;
    let mut read_again: Option<Reread> = None;
    loop {
        tokio::select! {
            () = shutdown.requested() => break,
            _ = sleep_until(retry_at) => {
                retry_at = None;
                tracing::info!("trying to start the sync core again");
                reread(&mut reading, &mut reading_for, &mut read_again, &sources, Reread::Retry);
            }
            Some((request, reply)) = requests.recv() => {
                let _ = reply.send(answer(&core, &board, &shutdown, request));
            }
            Some(()) = changes.recv() => {
                tokio::time::sleep(DEBOUNCE).await;
                while changes.try_recv().is_ok() {}
                reread(&mut reading, &mut reading_for, &mut read_again, &sources, Reread::Changed);
            }
            read = wait_task(&mut reading) => {
                reading = None;
                let loaded = read.unwrap_or_else(|e| Loaded::Invalid(format!("reading the settings failed: {e}")));
                let settings = loaded.notifications();
                // Wakes the UI only when they changed.
                notifications.send_if_modified(|current| {
                    let changed = *current != settings;
                    *current = settings;
                    changed
                });
                let next = loaded.snapshot();
                let restart = match reading_for {
                    Reread::Retry => true,
                    Reread::Changed if next == current => {
                        tracing::debug!("settings files changed; nothing the core uses did");
                        false
                    }
                    Reread::Changed => {
                        tracing::info!("the configuration or the token changed; restarting the core");
                        retry.reset();
                        true
                    }
                };
                if restart {
                    stop(core).await;
                    core = begin(&loaded, &sources.env, &board, &mut retry, &mut retry_at, last_good.as_ref());
                    current = next;
                    if let Some(config) = loaded.config() {
                        last_good = Some(config.clone());
                    }
                }
                if let Some(why) = read_again.take() {
                    reread(&mut reading, &mut reading_for, &mut read_again, &sources, why);
                }
            }
        }
    }
    tracing::info!("stopping");
    let status_file = core.status_file.clone();
    stop(core).await;
    say_stopped(&status_file);
    ipc::breadcrumb::remove(&sources.env.dirs.data, &sources.config_path, &socket_path);
    Ok(())
}

/// Answers a request from the control socket or the UI: `Status` from the board, `Quit`
/// by asking `shutdown`, `Resync` and `Reset` by handing them to the core as they are.
/// Never waits: a core with a full queue of requests says so instead of stalling the
/// app's loop (and with it signals, the tray and every other client).
pub fn answer(core: &Core, board: &Board, shutdown: &Shutdown, request: Request) -> Response {
    match request {
        Request::Status => {
            let mut status = board.get();
            status.updated_at = Utc::now();
            return Response::status(status);
        }
        Request::Quit => {
            shutdown.request("asked to quit");
            return Response::ok("stopping");
        }
        Request::Resync | Request::Reset => {}
    }
    match core.commands.try_send(request) {
        Ok(()) => Response::ok(format!("{request:?} requested")),
        Err(mpsc::error::TrySendError::Full(_)) => {
            Response::error("the app is still busy with earlier requests; try again in a moment")
        }
        Err(mpsc::error::TrySendError::Closed(_)) => {
            Response::error("the core is restarting; try again")
        }
    }
}

/// Leaves the status file saying the instance has stopped (`running` false).
pub fn say_stopped(status_file: &Path) {
    if let Err(e) = status::mark_stopped(status_file) {
        tracing::warn!(file = %status_file.display(), error = %e, "could not mark the status file stopped");
    }
}

/// Why the settings are read again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reread {
    /// A settings file changed: the core restarts only when what it uses changed.
    Changed,
    /// The core could not start and is tried again.
    Retry,
}

/// Reads the settings on the blocking pool, so that a slow or hostile file cannot hold
/// the loop that answers signals and the socket; a read asked for while one runs is
/// done after it (a retry wins over a change).
fn reread(
    reading: &mut Option<JoinHandle<Loaded>>,
    reading_for: &mut Reread,
    read_again: &mut Option<Reread>,
    sources: &Sources,
    why: Reread,
) {
    if reading.is_some() {
        *read_again = Some(match *read_again {
            Some(Reread::Retry) => Reread::Retry,
            _ => why,
        });
        return;
    }
    let sources = sources.clone();
    *reading = Some(tokio::task::spawn_blocking(move || sources.load()));
    *reading_for = why;
}

/// [`Sources::load`] on the blocking pool.
pub async fn load(sources: &Sources) -> Loaded {
    let sources = sources.clone();
    tokio::task::spawn_blocking(move || sources.load())
        .await
        .unwrap_or_else(|e| Loaded::Invalid(format!("reading the settings failed: {e}")))
}

async fn wait_task<T>(task: &mut Option<JoinHandle<T>>) -> Result<T, tokio::task::JoinError> {
    match task {
        Some(handle) => handle.await,
        None => std::future::pending().await,
    }
}

/// Starts a core for `loaded` (an unusable one shown where `last_good` kept its status
/// file); when it cannot start, schedules the next try in `retry_at` with capped
/// backoff, otherwise clears it.
fn begin(
    loaded: &Loaded,
    env: &Environment,
    board: &Board,
    retry: &mut Backoff,
    retry_at: &mut Option<Instant>,
    last_good: Option<&Config>,
) -> Core {
    let delay = retry.next_delay();
    let started = start(loaded, env, board, delay, last_good);
    *retry_at = started.failed.then(|| Instant::now() + delay);
    if !started.failed {
        retry.reset();
    }
    started.core
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn stop(core: Core) {
    let _ = core.commands.send(Request::Quit).await;
    core.stopped().await;
}

/// Watches the folders of `files`; a folder that does not exist (yet) is not watched,
/// and a watcher that cannot start only loses live reload.
fn watch(files: &[PathBuf], tx: mpsc::Sender<()>) -> Option<notify::RecommendedWatcher> {
    let watched = files.to_vec();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| concerns(&e, &watched)) {
            let _ = tx.try_send(());
        }
    });
    let mut watcher = match watcher {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "no file watcher: settings changes need a restart");
            return None;
        }
    };
    let mut folders: Vec<&Path> = files.iter().filter_map(|f| f.parent()).collect();
    folders.sort();
    folders.dedup();
    for folder in folders.into_iter().filter(|f| f.is_dir()) {
        if let Err(e) = watcher.watch(folder, notify::RecursiveMode::NonRecursive) {
            tracing::warn!(folder = %folder.display(), error = %e, "cannot watch for settings changes");
        }
    }
    Some(watcher)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(text: &str, token: Option<&str>) -> Snapshot {
        let config = Config::parse(text, Path::new("c.toml")).unwrap();
        Loaded::Ready {
            config: Box::new(config),
            found: Found {
                token: token.map(|t| Secret::new(t.into())),
                ..Found::default()
            },
        }
        .snapshot()
    }

    #[test]
    fn a_new_token_matters_only_for_a_managed_container() {
        assert_eq!(ready("", Some("a")), ready("", Some("a")));
        assert_ne!(ready("", Some("a")), ready("", Some("b")));
        assert_ne!(ready("", None), ready("", Some("b")));
        let unmanaged = "[container]\nmanage = false\n";
        assert_eq!(ready(unmanaged, Some("a")), ready(unmanaged, Some("b")));
    }

    #[test]
    fn config_changes_and_fixes_matter() {
        assert_ne!(ready("", None), ready("[publish]\nkeep = 3\n", None));
        // The tray applies notification settings without restarting the core.
        assert_eq!(
            ready("", None),
            ready("[notifications]\nafter = \"1m\"\n", None)
        );
        // Comments and formatting do not.
        assert_eq!(ready("", None), ready("# a comment\n\n", None));
        let broken = Loaded::Invalid("bad".into()).snapshot();
        assert_ne!(broken, ready("", None));
        assert_eq!(broken, Loaded::Invalid("bad".into()).snapshot());
    }

    #[test]
    fn only_events_on_watched_files_count() {
        let watched = vec![PathBuf::from("/c/config.toml"), PathBuf::from("/w/.env")];
        let event = |kind, path: &str| notify::Event::new(kind).add_path(PathBuf::from(path));
        let modify = notify::EventKind::Modify(notify::event::ModifyKind::Any);
        let access = notify::EventKind::Access(notify::event::AccessKind::Any);
        assert!(concerns(&event(modify, "/c/config.toml"), &watched));
        assert!(concerns(&event(modify, "/w/.env"), &watched));
        assert!(!concerns(&event(modify, "/c/status.json"), &watched));
        assert!(!concerns(&event(access, "/c/config.toml"), &watched));
    }

    #[test]
    fn sources_load_reports_an_invalid_file_and_watch_the_preferences() {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("config.toml");
        std::fs::write(&config_path, "[publish]\nkeep = \"many\"\n").unwrap();
        let sources = Sources::new(config_path.clone(), true, Environment::isolated(dir.path()));
        match sources.load() {
            Loaded::Invalid(message) => {
                assert!(message.contains("config.toml") && message.contains("line 2"));
                assert!(message.contains("keep"), "{message}");
            }
            Loaded::Ready { .. } => panic!("a malformed file loads"),
        }
        let files = sources.watched_files();
        assert_eq!(files[0], config_path);
        assert_eq!(files[1], dir.path().join(".env"));
        assert!(files[2].ends_with(
            "Library/Containers/com.vori.VoriPOS/Data/Library/Preferences/com.vori.VoriPOS.plist"
        ));
        assert!(files[3].ends_with("Library/Preferences/com.vori.VoriPOS.plist"));
        assert!(files[4].ends_with("voripos/.credentials.json"));
        assert!(files[5].ends_with(
            "system-root/Library/Managed Preferences/pos/com.vori.VoriPOS.DomainSync.plist"
        ));
        assert!(files[6].ends_with(
            "system-root/Library/Managed Preferences/com.vori.VoriPOS.DomainSync.plist"
        ));
    }
}
