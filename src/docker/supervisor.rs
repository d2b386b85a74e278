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
use crate::control::Request;
use crate::error_kind::ErrorKind;
use crate::litefs::client::{Client, Timeouts};
use crate::litefs::pos::{self, Position, Probe};
use crate::small_file;
use crate::status::board::Board;
use crate::status::{ContainerInfo, Event};
use crate::telemetry::Counter;

use super::endpoint::{self, Env};
use super::engine::{self, EngineError};
use super::legacy;
use super::spec::{ContainerSpec, FUSE_DIR};
use crate::publish;

/// How long LiteFS may take to answer after its container started.
const LITEFS_STARTUP: Duration = Duration::from_secs(120);
/// How often the container is looked at even without events (a safety net).
const CHECK_EVERY: Duration = Duration::from_secs(30);

/// Starts the sync (listener + worker) once LiteFS answers; returns its command sender.
pub type StartSync = Box<dyn FnOnce() -> mpsc::Sender<Request> + Send + Sync>;

pub struct Supervisor {
    pub spec: ContainerSpec,
    /// Set to the engine in use, for the position probe.
    pub docker: DockerSlot,
    pub database: String,
    /// The publish folder, by which the 0.4.x container is recognised.
    pub publish_dir: PathBuf,
    /// The publisher's list of the files it wrote: a retired 0.4.x container's files
    /// are added to it, so retention takes them over (see `publish::ours`).
    pub published_list: PathBuf,
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
    pub async fn run(self, commands: mpsc::Receiver<Request>) {
        let max_backoff = self.max_backoff;
        let rounds = Live {
            supervisor: self,
            sync: None,
        };
        run_rounds(rounds, commands, max_backoff).await;
    }

    /// One pass: connect, reconcile, wait for LiteFS, then watch until something happens.
    /// Every long step answers commands meanwhile ([`while_starting`]).
    async fn round(
        &mut self,
        reset: &mut bool,
        sync: &mut Option<mpsc::Sender<Request>>,
        commands: &mut mpsc::Receiver<Request>,
        queued: &mut Queued,
    ) -> Result<Next, Failure> {
        let candidates = endpoint::candidates(&self.env, |p: &Path| {
            small_file::read_text(p, small_file::MAX_SETTINGS_BYTES).ok()
        });
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
                let _ = s.try_send(Request::Resync);
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
        let retired = legacy::retire(docker, &self.publish_dir).await?;
        for name in &retired {
            tracing::warn!(container = %name, "stopped and removed the LiteFS container of voripos-domain-sync 0.4.x; the files it published stay under retention");
            self.progress(false, &format!("retired the 0.4.x container {name}"));
        }
        if !retired.is_empty() {
            if let Err(e) =
                publish::adopt_versions(&self.publish_dir, &self.database, &self.published_list)
            {
                tracing::warn!(error = %e, "could not put the 0.4.x container's files under retention");
            }
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
        let client = &client;
        let spec = &self.spec;
        await_litefs(
            LITEFS_STARTUP,
            || async move { client.info().await.is_ok() },
            // An engine error is not a verdict on the container: `None`, keep waiting.
            || async move {
                engine::inspect(docker, spec)
                    .await
                    .ok()
                    .map(|found| found.is_some_and(|f| f.running))
            },
        )
        .await
    }

    /// Waits for a reason to reconcile: our container died or vanished, Docker went
    /// away, a periodic check found it wrong, or a command.
    async fn watch(
        &self,
        docker: &Docker,
        commands: &mut mpsc::Receiver<Request>,
        sync: Option<&mpsc::Sender<Request>>,
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
                    Some(Request::Reset) => return Ok(Next::Reset),
                    Some(Request::Resync) => {
                        if let Some(sync) = sync {
                            let _ = sync.try_send(Request::Resync);
                        }
                    }
                    Some(Request::Status) => {}
                    Some(Request::Quit) | None => return Ok(Next::Quit),
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

/// The rounds as the reconcile loop sees them: the seam its timing (the backoff while
/// Docker is down, going round at once after the container died) is tested through.
trait Rounds {
    /// One pass; `reset` asks that the container and its data be removed first, and is
    /// cleared once a pass has done it.
    async fn round(
        &mut self,
        reset: &mut bool,
        commands: &mut mpsc::Receiver<Request>,
        queued: &mut Queued,
    ) -> Result<Next, Failure>;

    /// Stops what the rounds started (the sync), after `Quit`.
    async fn stop(&mut self);

    /// A failed pass is retried in `delay` (shown in the status).
    fn retrying(&mut self, _delay: Duration) {}
}

/// The supervisor's rounds against the real engine, and the sync they started.
struct Live {
    supervisor: Supervisor,
    sync: Option<mpsc::Sender<Request>>,
}

impl Rounds for Live {
    async fn round(
        &mut self,
        reset: &mut bool,
        commands: &mut mpsc::Receiver<Request>,
        queued: &mut Queued,
    ) -> Result<Next, Failure> {
        self.supervisor
            .round(reset, &mut self.sync, commands, queued)
            .await
    }

    async fn stop(&mut self) {
        if let Some(sync) = &self.sync {
            let _ = sync.send(Request::Quit).await;
            sync.closed().await;
        }
    }

    fn retrying(&mut self, delay: Duration) {
        self.supervisor.board.apply(Event::RetryIn(delay));
    }
}

/// The reconcile loop: round after round until `Quit`. A round that ended well (even
/// one that saw the container die) is followed at once and forgets past failures; one
/// that failed (Docker down, a failed start) is followed after a capped, jittered
/// backoff (1 s doubling up to `max_backoff`) that still answers commands.
async fn run_rounds(
    mut rounds: impl Rounds,
    mut commands: mpsc::Receiver<Request>,
    max_backoff: Duration,
) {
    let mut backoff = Backoff::new(Duration::from_secs(1), max_backoff);
    let mut queued = Queued::default();
    let mut reset = false;
    loop {
        let next = match rounds.round(&mut reset, &mut commands, &mut queued).await {
            Ok(next) => {
                backoff.reset();
                next
            }
            Err(Failure::Quit) => Next::Quit,
            Err(Failure::Reset) => Next::Reset,
            Err(Failure::Retry) => {
                let delay = backoff.next_delay();
                rounds.retrying(delay);
                match while_starting(tokio::time::sleep(delay), &mut commands, &mut queued).await {
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
            rounds.stop().await;
            return;
        }
    }
}

/// How often LiteFS is asked while it starts.
const STARTUP_POLL: Duration = Duration::from_millis(250);

/// Waits up to `limit` for `answers` (LiteFS's `/info`), asking every [`STARTUP_POLL`],
/// and looks at the container between asks (`running`; `None` when the engine could not
/// say): a container that is not running ends the wait at once.
async fn await_litefs<A, R>(
    limit: Duration,
    mut answers: impl FnMut() -> A,
    mut running: impl FnMut() -> R,
) -> Startup
where
    A: std::future::Future<Output = bool>,
    R: std::future::Future<Output = Option<bool>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if answers().await {
            return Startup::Answered;
        }
        if running().await == Some(false) {
            return Startup::ContainerDown;
        }
        tokio::time::sleep(STARTUP_POLL).await;
    }
    Startup::TimedOut
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
    commands: &mut mpsc::Receiver<Request>,
    queued: &mut Queued,
) -> Result<T, Failure> {
    tokio::pin!(step);
    loop {
        tokio::select! {
            out = &mut step => return Ok(out),
            command = commands.recv() => match command {
                Some(Request::Quit) | None => return Err(Failure::Quit),
                Some(Request::Reset) => return Err(Failure::Reset),
                Some(Request::Resync) => queued.resync = true,
                Some(Request::Status) => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use tokio::time::Instant;

    /// Rounds that end as scripted; each records when it began and whether a reset was
    /// asked of it (a round that ends well has carried the reset out).
    struct Scripted {
        script: VecDeque<Result<Next, Failure>>,
        calls: Vec<(Instant, bool)>,
        stopped: bool,
    }

    impl Scripted {
        fn new(script: impl IntoIterator<Item = Result<Next, Failure>>) -> Scripted {
            Scripted {
                script: script.into_iter().collect(),
                calls: Vec::new(),
                stopped: false,
            }
        }
    }

    impl Rounds for &mut Scripted {
        async fn round(
            &mut self,
            reset: &mut bool,
            commands: &mut mpsc::Receiver<Request>,
            queued: &mut Queued,
        ) -> Result<Next, Failure> {
            self.calls.push((Instant::now(), *reset));
            match self.script.pop_front() {
                Some(Ok(next)) => {
                    *reset = false;
                    Ok(next)
                }
                Some(Err(failure)) => Err(failure),
                // The script is over: wait for a command, as a round watching does.
                None => while_starting(std::future::pending::<()>(), commands, queued)
                    .await
                    .map(|()| Next::Quit),
            }
        }

        async fn stop(&mut self) {
            self.stopped = true;
        }
    }

    /// The pauses between the rounds' starts.
    fn gaps(calls: &[(Instant, bool)]) -> Vec<Duration> {
        calls.windows(2).map(|w| w[1].0 - w[0].0).collect()
    }

    /// Whether `gap` is a backoff pause whose ceiling was `ceiling` (jitter: half to all
    /// of it; the timer rounds up to the millisecond).
    fn paused(gap: Duration, ceiling: Duration) -> bool {
        gap >= ceiling / 2 && gap <= ceiling + Duration::from_millis(1)
    }

    #[tokio::test(start_paused = true)]
    async fn while_docker_is_down_the_pauses_double_up_to_the_cap() {
        let (tx, rx) = mpsc::channel(4);
        let mut rounds = Scripted::new((0..8).map(|_| Err(Failure::Retry)));
        let run = tokio::spawn(async move {
            run_rounds(&mut rounds, rx, Duration::from_secs(10)).await;
            rounds
        });
        // Nine rounds: eight failures, then one that waits for commands.
        tokio::time::sleep(Duration::from_secs(60)).await;
        tx.send(Request::Quit).await.unwrap();
        let rounds = run.await.unwrap();
        assert!(rounds.stopped);
        let gaps = gaps(&rounds.calls);
        assert_eq!(gaps.len(), 8, "{gaps:?}");
        let ceilings = [1, 2, 4, 8, 10, 10, 10, 10].map(Duration::from_secs);
        for (gap, ceiling) in gaps.iter().zip(ceilings) {
            assert!(
                paused(*gap, ceiling),
                "{gap:?} for a ceiling of {ceiling:?}: {gaps:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_container_that_died_is_restarted_at_once_and_failures_are_forgotten() {
        let (tx, rx) = mpsc::channel(4);
        let mut rounds = Scripted::new([
            Err(Failure::Retry),
            Err(Failure::Retry),
            Err(Failure::Retry),
            // LiteFS answered and the sync ran; then the container died.
            Ok(Next::Reconcile),
            // It did not come back at the first try.
            Err(Failure::Retry),
        ]);
        let run = tokio::spawn(async move {
            run_rounds(&mut rounds, rx, Duration::from_secs(60)).await;
            rounds
        });
        tokio::time::sleep(Duration::from_secs(60)).await;
        tx.send(Request::Quit).await.unwrap();
        let rounds = run.await.unwrap();
        let gaps = gaps(&rounds.calls);
        assert_eq!(gaps.len(), 5, "{gaps:?}");
        assert!(paused(gaps[2], Duration::from_secs(4)), "{gaps:?}");
        assert_eq!(
            gaps[3],
            Duration::ZERO,
            "after a death the next round is at once"
        );
        assert!(
            paused(gaps[4], Duration::from_secs(1)),
            "the backoff starts again from 1 s: {gaps:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn quit_ends_a_backoff_pause_at_once_and_stops_the_sync() {
        let (tx, rx) = mpsc::channel(4);
        let mut rounds = Scripted::new((0..6).map(|_| Err(Failure::Retry)));
        let run = tokio::spawn(async move {
            run_rounds(&mut rounds, rx, Duration::from_secs(60)).await;
            rounds
        });
        // Past the 1, 2 and 4 s pauses, inside the fourth (4–8 s after 7 s at most).
        tokio::time::sleep(Duration::from_millis(7_100)).await;
        let asked = Instant::now();
        tx.send(Request::Quit).await.unwrap();
        let rounds = run.await.unwrap();
        assert_eq!(Instant::now(), asked, "Quit waited for the pause");
        assert!(rounds.stopped);
        assert_eq!(rounds.calls.len(), 4, "{:?}", gaps(&rounds.calls));
    }

    #[tokio::test(start_paused = true)]
    async fn a_reset_asked_while_docker_is_down_is_carried_out_when_it_is_back() {
        let (tx, rx) = mpsc::channel(4);
        let mut rounds = Scripted::new([
            Err(Failure::Retry),
            Err(Failure::Retry),
            Ok(Next::Reconcile),
            Ok(Next::Reconcile),
        ]);
        let run = tokio::spawn(async move {
            run_rounds(&mut rounds, rx, Duration::from_secs(60)).await;
            rounds
        });
        // During the first pause (0.5–1 s).
        tokio::time::sleep(Duration::from_millis(400)).await;
        tx.send(Request::Reset).await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        tx.send(Request::Quit).await.unwrap();
        let rounds = run.await.unwrap();
        let resets: Vec<bool> = rounds.calls.iter().map(|c| c.1).collect();
        // The reset cut the pause short; the next round (Docker still down) keeps it
        // asked; the first round that gets through does it, once.
        assert_eq!(
            resets,
            [false, true, true, false, false],
            "{:?}",
            rounds.calls
        );
        assert_eq!(
            rounds.calls[1].0 - rounds.calls[0].0,
            Duration::from_millis(400)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn litefs_that_answers_ends_the_wait_at_its_first_answer() {
        let asked = std::cell::Cell::new(0);
        let start = Instant::now();
        let got = await_litefs(
            LITEFS_STARTUP,
            || {
                asked.set(asked.get() + 1);
                std::future::ready(asked.get() == 5)
            },
            || std::future::ready(Some(true)),
        )
        .await;
        assert_eq!(got, Startup::Answered);
        assert_eq!(start.elapsed(), STARTUP_POLL * 4);
    }

    #[tokio::test(start_paused = true)]
    async fn litefs_that_never_answers_times_out_after_the_start_up_limit() {
        let start = Instant::now();
        let got = await_litefs(
            LITEFS_STARTUP,
            || std::future::ready(false),
            // An engine that cannot say is no reason to stop waiting.
            || std::future::ready(None),
        )
        .await;
        assert_eq!(got, Startup::TimedOut);
        let waited = start.elapsed();
        assert!(
            waited >= LITEFS_STARTUP && waited < LITEFS_STARTUP + STARTUP_POLL,
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_container_that_stops_while_starting_ends_the_wait_at_once() {
        let looked = std::cell::Cell::new(0);
        let start = Instant::now();
        let got = await_litefs(
            LITEFS_STARTUP,
            || std::future::ready(false),
            || {
                looked.set(looked.get() + 1);
                // Running for the first three looks, then stopped.
                std::future::ready(Some(looked.get() <= 3))
            },
        )
        .await;
        assert_eq!(got, Startup::ContainerDown);
        assert_eq!(start.elapsed(), STARTUP_POLL * 3);
    }

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
