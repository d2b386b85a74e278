//! One sync core: wires config, the source (LiteFS or LiteFS Cloud), publisher, worker
//! and status together.
//!
//! The host starts a core for each configuration it runs (see [`crate::host::serve`]);
//! the core gets its handle on the host's one status board ([`Board::begin`]) rather
//! than making a board of its own.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::cloud::client::CloudClient;
use crate::cloud::proxy;
use crate::config::token;
use crate::config::{Config, SourceKind};
use crate::control::Request;
use crate::docker::spec::ContainerSpec;
use crate::docker::supervisor::{position_probe, DockerSlot, Supervisor};
use crate::host::environment::Environment;
use crate::litefs::client::{Client, Timeouts};
use crate::litefs::pos::Probe;
use crate::publish::{ours, Publisher};
use crate::status::board::Board;
use crate::status::{self, Earlier, Event, Status};
use crate::sync::folder_watch::FolderWatch;
use crate::sync::job::{describe_published, Fetch, JobContext, LiteFsSource};
use crate::sync::ledger::Ledger;
use crate::sync::listener::listen;
use crate::sync::poller::poll;
use crate::sync::worker::{describe, facts, supervise, Inputs, Settings, Worker};
use crate::telemetry::{self, Instruments};

/// A running core: send it requests (`Resync`, `Reset`, `Quit`), watch its status.
pub struct Core {
    pub commands: mpsc::Sender<Request>,
    pub status: watch::Receiver<Status>,
    pub status_file: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Core {
    /// Waits until the core has stopped (after `Request::Quit`).
    pub async fn stopped(self) {
        let _ = self.task.await;
    }
}

/// Where the core gets the database from.
pub enum Source {
    /// `[litefs] url` as configured; Docker is not touched.
    Url,
    /// A container the app manages (the fleet's, or the demo's litefs-sim).
    Container(ContainerSpec),
    /// The LiteFS Cloud backup API; Docker is not touched.
    Cloud(CloudClient),
}

/// The API the core talks to: the backup service in cloud mode, the managed container's
/// published port, or `[litefs] url` as configured.
pub fn litefs_url(config: &Config) -> String {
    if config.source.kind == SourceKind::Cloud {
        config.cloud_url().unwrap_or_default().to_string()
    } else if config.container.manage {
        ContainerSpec::url_for_port(config.container.host_port)
    } else {
        config.litefs.url.clone()
    }
}

/// Starts the core as the configuration says: a managed container (which needs the
/// LiteFS Cloud token; without one the status is `not_configured`) or `litefs.url`.
pub fn start(config: &Config, env: &Environment, board: &Board) -> anyhow::Result<Core> {
    start_resolved(
        config,
        token::resolve(config, &env.token_places()),
        env,
        board,
    )
}

/// [`start`] with the token already looked up.
pub fn start_resolved(
    config: &Config,
    found: token::Found,
    env: &Environment,
    board: &Board,
) -> anyhow::Result<Core> {
    if config.source.kind == SourceKind::Cloud {
        return start_cloud(config, found, env, board);
    }
    if !config.container.manage {
        return start_with(config, Source::Url, env, board);
    }
    for warning in &found.warnings {
        tracing::warn!("{warning}");
    }
    match found.token {
        Some(token) => {
            tracing::info!(
                source = found.source.as_deref().unwrap_or(""),
                "LiteFS Cloud token found"
            );
            start_with(
                config,
                Source::Container(ContainerSpec::new(config, Some(&token))),
                env,
                board,
            )
        }
        None => {
            let message = format!(
                "no LiteFS Cloud token: set LITEFS_CLOUD_TOKEN or [litefs] cloud_token (looked in: {})",
                found.looked_in.join(", ")
            );
            tracing::warn!("{message}");
            Ok(idle(config, env, Event::NotConfigured { message }, board))
        }
    }
}

/// Starts the core on the LiteFS Cloud backup API: it needs the token and the service's
/// URL; without either the status is `not_configured`, in plain words.
fn start_cloud(
    config: &Config,
    found: token::Found,
    env: &Environment,
    board: &Board,
) -> anyhow::Result<Core> {
    for warning in &found.warnings {
        tracing::warn!("{warning}");
    }
    let not_configured = |message: String| {
        tracing::warn!("{message}");
        Ok(idle(config, env, Event::NotConfigured { message }, board))
    };
    let Some(url) = config.cloud_url() else {
        return not_configured(
            "no LiteFS Cloud URL: set [cloud] url (or [litefs] cloud_endpoint)".into(),
        );
    };
    let Some(token) = found.token else {
        return not_configured(format!(
            "no LiteFS Cloud token: set LITEFS_CLOUD_TOKEN or [litefs] cloud_token (looked in: {})",
            found.looked_in.join(", ")
        ));
    };
    let proxy = match proxy::choose(url, &env.proxy) {
        Ok(proxy) => proxy,
        Err(e) => return not_configured(e.to_string()),
    };
    tracing::info!(
        source = found.source.as_deref().unwrap_or(""),
        url,
        proxy = proxy.as_ref().map_or("none".into(), |p| p.shown()),
        "syncing from LiteFS Cloud; Docker is not used"
    );
    let client = CloudClient::new(
        url,
        &config.litefs.database,
        config.cloud.cluster.clone(),
        &token,
        Timeouts {
            connect: config.sync.connect_timeout,
            stall: config.sync.stall_timeout,
        },
    )?
    .through(proxy)?;
    start_with(config, Source::Cloud(client), env, board)
}

/// A core that does not sync: it shows the status `event` makes in `config`'s status
/// file, sends its heartbeat, and waits for `Request::Quit` (no token yet, an unusable
/// configuration).
pub fn idle(config: &Config, env: &Environment, event: Event, board: &Board) -> Core {
    let status_file = config.status_file(&env.dirs);
    // Read before the board writes over it: the previous instance's last word.
    let earlier = status::read_file(&status_file)
        .ok()
        .and_then(|s| Earlier::from_status(&s));
    let mut starting = Status::starting(&litefs_url(config), Utc::now());
    starting.source = config.source.kind;
    describe_settings(&mut starting, config, env);
    let board = Arc::new(board.begin(status_file.clone(), starting));
    board.apply(event);
    telemetry::heartbeat(&config.telemetry, &env.otlp, &board);
    // This core cannot sync, but the POS may well have data: the newest published file
    // describes itself, as in a core that syncs.
    let publisher = Publisher::new(
        config.publish_dir(&env.dirs),
        config.publish.mode,
        &config.litefs.database,
        config.publish.keep,
    );
    let tables = config.publish.tables.clone();
    let (commands, mut rx) = mpsc::channel(16);
    let status = board.subscribe();
    let task = tokio::spawn(async move {
        // Describing the file (bounded, see `inspect`) never delays a quit.
        let describing = board.clone();
        let described = tokio::spawn(async move {
            let board = describing;
            if let Ok(publisher) = publisher {
                if let Some((known, inspection)) =
                    describe_published(&Arc::new(publisher), &tables).await
                {
                    board.apply(Event::Described {
                        file: facts(&known, inspection),
                        earlier,
                    });
                }
            }
        });
        while let Some(command) = rx.recv().await {
            if command == Request::Quit {
                break;
            }
        }
        described.abort();
    });
    Core {
        commands,
        status,
        status_file,
        task,
    }
}

/// Puts into `status` the publish folder and why, and who manages the settings.
fn describe_settings(status: &mut Status, config: &Config, env: &Environment) {
    let folder = config.publish_folder(&env.dirs);
    status.publish_dir = Some(folder.path);
    status.publish_dir_reason = Some(folder.reason);
    status.stale_after = config.status.stale_after;
    status.managed_by = config.managed.is_managed().then(|| {
        config
            .managed
            .by
            .clone()
            .unwrap_or_else(|| "your organization".into())
    });
}

/// Starts the core on the current tokio runtime with LiteFS from `source`. Fails only
/// on what no retry can fix (an unusable publish folder, a bad LiteFS URL).
pub fn start_with(
    config: &Config,
    source: Source,
    env: &Environment,
    board: &Board,
) -> anyhow::Result<Core> {
    let publish_dir = config.publish_dir(&env.dirs);
    let publisher = Arc::new(
        Publisher::new(
            publish_dir.clone(),
            config.publish.mode,
            &config.litefs.database,
            config.publish.keep,
        )
        .context("cannot set up publishing")?
        .with_list(env.dirs.data.join(ours::LIST)),
    );
    let swept = publisher
        .prepare()
        .with_context(|| format!("cannot use the publish folder {}", publish_dir.display()))?;
    if swept > 0 {
        tracing::info!(swept, dir = %publish_dir.display(), "removed unfinished temp files from an earlier run");
    }
    let litefs_client = |url: &str| {
        Client::new(
            url,
            &config.litefs.database,
            Timeouts {
                connect: config.sync.connect_timeout,
                stall: config.sync.stall_timeout,
            },
        )
    };
    let litefs = |client: Client, probe: Option<Probe>| {
        Fetch::LiteFs(LiteFsSource {
            client,
            ledger: Ledger::default(),
            event_grace: config.sync.event_grace,
            probe,
        })
    };
    let (url, kind) = match &source {
        Source::Url => (config.litefs.url.clone(), SourceKind::Litefs),
        Source::Container(spec) => (spec.litefs_url(), SourceKind::Litefs),
        Source::Cloud(client) => (client.url().to_string(), SourceKind::Cloud),
    };
    let status_file = config.status_file(&env.dirs);
    // Read before the board writes over it: the previous instance's last word.
    let earlier = status::read_file(&status_file)
        .ok()
        .and_then(|s| Earlier::from_status(&s));
    let mut starting = Status::starting(url.trim_end_matches('/'), Utc::now());
    starting.source = kind;
    describe_settings(&mut starting, config, env);
    if let Source::Cloud(client) = &source {
        starting.detail = Some(format!(
            "waiting for LiteFS Cloud at {}",
            starting.litefs_url
        ));
        starting.proxy = client.proxy();
    }
    let board = Arc::new(board.begin(status_file.clone(), starting));
    let status = board.subscribe();
    let instruments = telemetry::heartbeat(&config.telemetry, &env.otlp, &board);
    let restarts = instruments.container_restarts();
    let (commands, task) = match source {
        Source::Url => {
            let fetch = litefs(litefs_client(&url)?, None);
            sync_starter(config, env, fetch, publisher, board, instruments, earlier)()
        }
        Source::Cloud(client) => sync_starter(
            config,
            env,
            Fetch::Cloud(client),
            publisher,
            board,
            instruments,
            earlier,
        )(),
        Source::Container(spec) => {
            let slot = DockerSlot::default();
            let probe = position_probe(slot.clone(), spec.clone(), config.litefs.database.clone());
            let fetch = litefs(litefs_client(&url)?, Some(probe));
            let start_sync = sync_starter(
                config,
                env,
                fetch,
                publisher,
                board.clone(),
                instruments,
                earlier,
            );
            let (commands, rx) = mpsc::channel(16);
            let supervisor = Supervisor {
                spec,
                docker: slot,
                database: config.litefs.database.clone(),
                publish_dir,
                published_list: env.dirs.data.join(ours::LIST),
                env: env.docker.clone(),
                board,
                max_backoff: config.sync.max_backoff,
                start_sync: Some(Box::new(move || start_sync().0)),
                restarts,
            };
            (commands, tokio::spawn(supervisor.run(rx)))
        }
    };
    Ok(Core {
        commands,
        status,
        status_file,
        task,
    })
}

/// Prepares the sync (the trigger source: LiteFS's event listener or the cloud's
/// position poller, + worker); calling the result starts it. The returned task owns the
/// trigger source and the folder watch: when it ends (after `Quit`, or when aborted)
/// they end with it.
fn sync_starter(
    config: &Config,
    env: &Environment,
    source: Fetch,
    publisher: Arc<Publisher>,
    board: Arc<Board>,
    instruments: Instruments,
    earlier: Option<Earlier>,
) -> impl FnOnce() -> (mpsc::Sender<Request>, tokio::task::JoinHandle<()>) + Send + Sync + 'static {
    let publish_dir = config.publish_dir(&env.dirs);
    let otlp = env.otlp.clone();
    let max_backoff = config.sync.max_backoff;
    let settings = Settings {
        min_interval: config.sync.min_interval,
        safety_check: config.sync.safety_check,
        max_backoff,
    };
    let database = config.litefs.database.clone();
    let poll_interval = config.cloud.poll_interval;
    let ctx = Arc::new(JobContext {
        source,
        publisher,
        quick_check: config.publish.quick_check,
        tables: config.publish.tables.clone(),
    });
    let telemetry_config = config.telemetry.clone();
    let kind = match &ctx.source {
        Fetch::LiteFs(_) => SourceKind::Litefs,
        Fetch::Cloud(_) => SourceKind::Cloud,
    };
    // The newest published file describes itself at once: in managed mode the sync
    // starts only once the container answers, which after a reboot takes a while.
    let described = tokio::spawn({
        let (ctx, board) = (ctx.clone(), board.clone());
        async move { describe(&ctx, &board, earlier).await }
    });
    move || {
        let (commands_tx, commands) = mpsc::channel(16);
        let (signals_tx, signals) = mpsc::channel(1024);
        let telemetry =
            telemetry::start(&telemetry_config, kind, &otlp, &board, instruments).map(Arc::new);
        let task = tokio::spawn(async move {
            let mut owned = JoinSet::new();
            match &ctx.source {
                Fetch::LiteFs(litefs) => owned.spawn(listen(
                    litefs.client.clone(),
                    litefs.ledger.clone(),
                    signals_tx,
                    max_backoff,
                )),
                Fetch::Cloud(client) => owned.spawn(poll(
                    client.clone(),
                    database,
                    signals_tx,
                    poll_interval,
                    max_backoff,
                )),
            };
            let published = std::sync::Mutex::new(described.await.ok().flatten());
            let mut inputs = Inputs {
                commands,
                signals,
                folder: FolderWatch::new(&publish_dir),
            };
            let make = || {
                // The first worker starts from the file just described; one restarted
                // after a panic reads it again.
                let first = published.lock().ok().and_then(|mut p| p.take());
                Worker::new(ctx.clone(), board.clone(), settings.clone())
                    .with_telemetry(telemetry.clone())
                    .with_published(first)
            };
            supervise(make, &mut inputs, &board, max_backoff).await;
            owned.shutdown().await;
        });
        (commands_tx, task)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_kind::ErrorKind;
    use crate::status::State;

    fn cloud_config(dir: &std::path::Path, cloud: &str) -> Config {
        let text = format!(
            "[source]\nkind = \"cloud\"\n{cloud}[status]\nfile = \"{}\"\n[publish]\ndir = \"{}\"\n",
            dir.join("status.json").display(),
            dir.join("pub").display()
        );
        Config::parse(&text, std::path::Path::new("c.toml")).unwrap()
    }

    #[tokio::test]
    async fn cloud_mode_without_a_url_or_a_token_is_not_configured_in_plain_words() {
        let dir = tempfile::tempdir().unwrap();
        let env = Environment::isolated(dir.path());
        let board = Board::waiting();
        let no_url = cloud_config(dir.path(), "");
        let core = start_resolved(&no_url, token::Found::default(), &env, &board).unwrap();
        let status = core.status.borrow().clone();
        assert_eq!(status.state, State::NotConfigured);
        assert_eq!(status.source, SourceKind::Cloud);
        assert!(status.detail.unwrap().contains("[cloud] url"));
        assert_eq!(status.error.unwrap().kind, ErrorKind::NotConfigured);
        core.commands.send(Request::Quit).await.unwrap();
        core.stopped().await;

        let no_token = cloud_config(dir.path(), "[cloud]\nurl = \"http://127.0.0.1:9\"\n");
        let core = start_resolved(&no_token, token::Found::default(), &env, &board).unwrap();
        let status = core.status.borrow().clone();
        assert_eq!(status.state, State::NotConfigured);
        assert_eq!(status.litefs_url, "http://127.0.0.1:9");
        assert!(status.detail.unwrap().contains("no LiteFS Cloud token"));
        core.commands.send(Request::Quit).await.unwrap();
        core.stopped().await;
    }
}
