//! The supervisor: a reconcile loop that keeps the LiteFS container as the spec says.
//!
//! Find Docker → ensure the image (pulling with progress) → ensure the volume → create
//! (or recreate when the spec hash differs) → start → wait until LiteFS answers → start
//! the sync once → watch Docker's events for our container and go round again when it
//! dies or disappears. *Reset* removes the container and its volume first (what
//! `docker compose down -v && up` did). Docker going away is `docker_unavailable`, with
//! backoff, until it comes back. Nothing without our label is ever touched, except the
//! container of voripos-domain-sync 0.4.x, which is retired first ([`legacy`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::backoff::Backoff;
use crate::control::Command;
use crate::litefs::client::{Client, Timeouts};
use crate::litefs::pos::{self, Position, Probe};
use crate::status::board::Board;
use crate::status::{ContainerInfo, ErrorKind, Event};
use crate::telemetry::Counter;

use super::endpoint::{self, Env};
use super::engine::{self, EngineError};
use super::legacy;
use super::spec::{ContainerSpec, FUSE_DIR};

/// How long LiteFS may take to answer after its container started.
const LITEFS_STARTUP: Duration = Duration::from_secs(120);
/// How often the container is looked at even without events (a safety net).
const CHECK_EVERY: Duration = Duration::from_secs(30);

/// Starts the sync (listener + worker) once LiteFS answers; returns its command sender.
pub type StartSync = Box<dyn FnOnce() -> mpsc::Sender<Command> + Send + Sync>;

pub struct Supervisor {
    pub spec: ContainerSpec,
    /// Set to the engine in use, for the position probe.
    pub docker: DockerSlot,
    pub database: String,
    /// The publish folder, by which the 0.4.x container is recognised.
    pub publish_dir: PathBuf,
    pub env: Env,
    pub board: Arc<Board>,
    pub max_backoff: Duration,
    pub start_sync: Option<StartSync>,
    /// Counts the times the container was found stopped and brought back (telemetry).
    pub restarts: Counter,
}

/// Why the watch loop ended.
enum Next {
    Reconcile,
    Reset,
    Quit,
}

impl Supervisor {
    pub async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut backoff = Backoff::new(Duration::from_secs(1), self.max_backoff);
        let mut sync: Option<mpsc::Sender<Command>> = None;
        let mut queued = Queued::default();
        let mut reset = false;
        loop {
            let next = match self
                .round(&mut reset, &mut sync, &mut commands, &mut queued)
                .await
            {
                Ok(next) => {
                    backoff.reset();
                    next
                }
                Err(Failure::Quit) => Next::Quit,
                Err(Failure::Reset) => Next::Reset,
                Err(Failure::Retry) => {
                    let delay = backoff.next_delay();
                    self.board.apply(Event::RetryIn(delay));
                    match while_starting(tokio::time::sleep(delay), &mut commands, &mut queued)
                        .await
                    {
                        Err(Failure::Quit) => Next::Quit,
                        Err(Failure::Reset) => Next::Reset,
                        _ => Next::Reconcile,
                    }
                }
            };
            // A reset stays asked for until a round has carried it out (Docker may be
            // down when it is asked).
            reset |= matches!(next, Next::Reset);
            if matches!(next, Next::Quit) {
                if let Some(sync) = &sync {
                    let _ = sync.send(Command::Quit).await;
                    sync.closed().await;
                }
                return;
            }
        }
    }

    /// One pass: connect, reconcile, wait for LiteFS, then watch until something happens.
    /// Every long step answers commands meanwhile ([`while_starting`]).
    async fn round(
        &mut self,
        reset: &mut bool,
        sync: &mut Option<mpsc::Sender<Command>>,
        commands: &mut mpsc::Receiver<Command>,
        queued: &mut Queued,
    ) -> Result<Next, Failure> {
        let candidates =
            endpoint::candidates(&self.env, |p: &Path| std::fs::read_to_string(p).ok());
        let connected =
            match while_starting(endpoint::connect(&candidates), commands, queued).await? {
                Ok(c) => c,
                Err(unavailable) => {
                    self.board.apply(Event::DockerDown {
                        message: unavailable.to_string(),
                    });
                    return Err(Failure::Retry);
                }
            };
        let docker = connected.docker;
        if let Ok(mut slot) = self.docker.lock() {
            *slot = Some(docker.clone());
        }
        self.board.apply(Event::DockerUp {
            endpoint: format!("{} ({})", connected.endpoint.uri, connected.endpoint.source),
        });
        if let Err(e) = while_starting(self.reconcile(&docker, *reset), commands, queued).await? {
            self.fail(&e);
            return Err(Failure::Retry);
        }
        let was_reset = std::mem::take(reset);
        self.show_container(&docker).await;
        match while_starting(self.wait_for_litefs(&docker), commands, queued).await? {
            Startup::Answered => {}
            Startup::ContainerDown => {
                // Seen running a moment ago (e.g. between Docker's `kill` and `die`):
                // go round at once and start it, rather than wait for an API that
                // cannot answer.
                self.show_container(&docker).await;
                self.fail_with(
                    ErrorKind::ContainerStopped,
                    format!(
                        "the LiteFS container {} stopped while starting; recovering",
                        self.spec.name
                    ),
                );
                return Err(Failure::Retry);
            }
            Startup::TimedOut => {
                self.fail_with(
                    ErrorKind::LiteFsUnreachable,
                    format!(
                        "the LiteFS container started but its API did not answer at {} within {}s",
                        self.spec.litefs_url(),
                        LITEFS_STARTUP.as_secs()
                    ),
                );
                return Err(Failure::Retry);
            }
        }
        match (sync.as_ref(), self.start_sync.take()) {
            // The first sync runs at once: it does what a queued Resync asked.
            (None, Some(start)) => *sync = Some(start()),
            (Some(s), _) if was_reset || queued.resync => {
                let _ = s.try_send(Command::Resync);
            }
            _ => {}
        }
        queued.resync = false;
        self.watch(&docker, commands, sync.as_ref()).await
    }

    async fn reconcile(&self, docker: &Docker, reset: bool) -> Result<(), EngineError> {
        let spec = &self.spec;
        if reset {
            self.progress(
                true,
                "resetting: removing the LiteFS container and its data",
            );
            engine::remove(docker, spec).await?;
            engine::remove_volume(docker, spec).await?;
        }
        for name in legacy::retire(docker, &self.publish_dir).await? {
            tracing::warn!(container = %name, "stopped and removed the LiteFS container of voripos-domain-sync 0.4.x; the files it published stay under retention");
            self.progress(false, &format!("retired the 0.4.x container {name}"));
        }
        let board = self.board.clone();
        engine::ensure_image(docker, &spec.image, |pct| {
            board.apply(Event::ContainerStarting {
                detail: format!("pulling image {pct} %"),
            })
        })
        .await?;
        engine::ensure_volume(docker, spec).await?;
        match engine::inspect(docker, spec).await? {
            None => {
                self.progress(reset, "creating the LiteFS container");
                engine::create(docker, spec).await?;
            }
            Some(found) if found.spec_hash.as_deref() != Some(spec.hash().as_str()) => {
                self.progress(
                    reset,
                    "recreating the LiteFS container: its configuration changed",
                );
                tracing::info!(container = %spec.name, "spec changed; recreating the container");
                engine::remove(docker, spec).await?;
                engine::create(docker, spec).await?;
            }
            Some(_) => {}
        }
        if !engine::inspect(docker, spec)
            .await?
            .is_some_and(|f| f.running)
        {
            self.progress(reset, "starting the LiteFS container");
            engine::start(docker, spec).await?;
        }
        Ok(())
    }

    /// Polls LiteFS's `/info` until it answers, looking at the container between
    /// polls: a container that is not running ends the wait at once.
    async fn wait_for_litefs(&self, docker: &Docker) -> Startup {
        self.progress(false, "waiting for LiteFS to answer");
        let timeouts = Timeouts {
            connect: Duration::from_secs(2),
            stall: Duration::from_secs(5),
        };
        let Ok(client) = Client::new(&self.spec.litefs_url(), &self.database, timeouts) else {
            return Startup::TimedOut;
        };
        let deadline = tokio::time::Instant::now() + LITEFS_STARTUP;
        while tokio::time::Instant::now() < deadline {
            if client.info().await.is_ok() {
                return Startup::Answered;
            }
            // An engine error is not a verdict on the container: keep waiting.
            if let Ok(found) = engine::inspect(docker, &self.spec).await {
                if !found.is_some_and(|f| f.running) {
                    return Startup::ContainerDown;
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Startup::TimedOut
    }

    /// Waits for a reason to reconcile: our container died or vanished, Docker went
    /// away, a periodic check found it wrong, or a command.
    async fn watch(
        &self,
        docker: &Docker,
        commands: &mut mpsc::Receiver<Command>,
        sync: Option<&mpsc::Sender<Command>>,
    ) -> Result<Next, Failure> {
        let mut events = Box::pin(engine::container_events(docker, &self.spec));
        let mut check = tokio::time::interval(CHECK_EVERY);
        check.tick().await;
        loop {
            tokio::select! {
                event = events.next() => match event {
                    Some(Ok(action)) if ends_the_container(&action) => {
                        tracing::warn!(container = %self.spec.name, %action, "the LiteFS container stopped; recovering");
                        self.restarts.add(1);
                        self.show_container(docker).await;
                        self.fail_with(ErrorKind::ContainerStopped, format!("the LiteFS container {} ({action}); recovering", self.spec.name));
                        return Ok(Next::Reconcile);
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "lost Docker's event stream");
                        return Err(Failure::Retry);
                    }
                    None => return Err(Failure::Retry),
                },
                _ = check.tick() => {
                    match engine::inspect(docker, &self.spec).await {
                        Ok(Some(found)) if found.running => {}
                        Ok(_) => {
                            self.restarts.add(1);
                            return Ok(Next::Reconcile);
                        }
                        Err(e) if e.is_unreachable() => return Err(Failure::Retry),
                        Err(e) => {
                            self.fail(&e);
                            return Err(Failure::Retry);
                        }
                    }
                }
                command = commands.recv() => match command {
                    Some(Command::Reset) => return Ok(Next::Reset),
                    Some(Command::Resync) => {
                        if let Some(sync) = sync {
                            let _ = sync.try_send(Command::Resync);
                        }
                    }
                    Some(Command::Quit) | None => return Ok(Next::Quit),
                },
            }
        }
    }

    async fn show_container(&self, docker: &Docker) {
        let state = match engine::inspect(docker, &self.spec).await {
            Ok(Some(found)) => found.status,
            Ok(None) => "absent".into(),
            Err(_) => "unknown".into(),
        };
        let info = ContainerInfo {
            name: self.spec.name.clone(),
            image: self.spec.image.clone(),
            state,
        };
        self.board.apply(Event::Container(info));
    }

    /// Shows progress; before the first sync (or during a reset) it is the state.
    fn progress(&self, reset: bool, detail: &str) {
        let detail = detail.to_string();
        self.board.apply(match reset {
            true => Event::Resetting { detail },
            false => Event::ContainerStarting { detail },
        });
    }

    fn fail(&self, error: &EngineError) {
        if error.is_unreachable() {
            self.board.apply(Event::DockerDown {
                message: error.to_string(),
            });
        } else {
            self.fail_with(error.kind(), error.to_string());
        }
    }

    fn fail_with(&self, kind: ErrorKind, message: String) {
        tracing::warn!(kind = kind.as_str(), "{message}");
        self.board.apply(Event::ContainerFailed { kind, message });
    }
}

/// Reads LiteFS's position from `/litefs/<db>-pos` inside the container.
pub async fn read_position(
    docker: &Docker,
    spec: &ContainerSpec,
    database: &str,
) -> Result<Option<Position>, EngineError> {
    let path = format!("{FUSE_DIR}/{database}-pos");
    let text = engine::exec_output(docker, spec, vec!["cat".into(), path]).await?;
    Ok(pos::parse(&text))
}

/// The engine the supervisor is connected to, shared with the position probe.
pub type DockerSlot = Arc<std::sync::Mutex<Option<Docker>>>;

/// A [`Probe`] reading the position through whatever engine `slot` holds.
pub fn position_probe(slot: DockerSlot, spec: ContainerSpec, database: String) -> Probe {
    Arc::new(move || {
        let docker = slot.lock().ok().and_then(|d| d.clone());
        let (spec, database) = (spec.clone(), database.clone());
        Box::pin(async move {
            match read_position(&docker?, &spec, &database).await {
                Ok(position) => position,
                Err(e) => {
                    tracing::debug!(error = %e, "could not read LiteFS's position");
                    None
                }
            }
        })
    })
}

/// Whether a Docker event for our container means it is no longer running. `kill`
/// is only a signal sent (Docker sends it 40–55 ms before `die`, and an inspect in
/// between still says "running"); `die` follows when the process really ends.
fn ends_the_container(action: &str) -> bool {
    matches!(action, "die" | "oom" | "destroy" | "stop")
}

/// How waiting for LiteFS to answer ended.
#[derive(Debug, PartialEq, Eq)]
enum Startup {
    Answered,
    /// The container stopped (or vanished) while we waited.
    ContainerDown,
    TimedOut,
}

/// Why a round ended early.
#[derive(Debug, PartialEq, Eq)]
enum Failure {
    Retry,
    Quit,
    Reset,
}

/// Requests that arrived while LiteFS was being started, honoured once it answers.
#[derive(Debug, Default)]
struct Queued {
    resync: bool,
}

/// Runs a long start-up step (connecting, pulling, creating, waiting for LiteFS, a
/// backoff pause) while answering commands: `Quit` and `Reset` cancel the step (dropping
/// it stops the pull or the wait) and end the round; `Resync` is queued for when the
/// sync runs.
async fn while_starting<T>(
    step: impl std::future::Future<Output = T>,
    commands: &mut mpsc::Receiver<Command>,
    queued: &mut Queued,
) -> Result<T, Failure> {
    tokio::pin!(step);
    loop {
        tokio::select! {
            out = &mut step => return Ok(out),
            command = commands.recv() => match command {
                Some(Command::Quit) | None => return Err(Failure::Quit),
                Some(Command::Reset) => return Err(Failure::Reset),
                Some(Command::Resync) => queued.resync = true,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kill_signal_is_not_the_end_of_the_container_but_die_is() {
        assert!(!ends_the_container("kill"));
        for action in ["die", "oom", "destroy", "stop"] {
            assert!(ends_the_container(action), "{action}");
        }
        for action in [
            "start",
            "restart",
            "exec_start: cat /litefs/Domain.sqlite3-pos",
        ] {
            assert!(!ends_the_container(action), "{action}");
        }
    }
}
