//! The sync worker's loop: turns triggers into jobs and job results into status events.
//!
//! Triggers: LiteFS `tx` events, *Resync now*, start-up, a periodic safety check while
//! the event stream is down, changes to the published folder, and retries after a
//! failure (capped, jittered backoff). One job runs at a time ([`Coalescer`]).
//!
//! Whether the published file is still the one published is a *look* (the newest name
//! and its [`Stamp`](super::stamp::Stamp), off the async threads), paced by a [`Pacer`]:
//! after changes in the folder, and before every periodic confirmation, so *Checked*
//! never moves for a file that was edited, watched or not.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::inspect::Inspection;
use crate::status::board::Board;
use crate::status::{Earlier, Event, FileFacts};
use crate::telemetry::{Publish, Report, Telemetry};
use crate::verify::{match_checksum, Provenance};

use super::coalesce::{Coalescer, Decision, Pace, Pacer, Reason};
use super::folder_watch::FolderWatch;
use super::job::{read_known, still_current, Fetch, JobContext, Known, Outcome, SyncError};
use super::listener::Signal;
use crate::control::Request;

/// How often staleness is re-evaluated, after a look at the published file.
const STALE_TICK: Duration = Duration::from_secs(15);
/// Looks at the publish folder start at least this far apart (each one lists it).
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// Timing of the worker.
#[derive(Clone, Debug)]
pub struct Settings {
    pub min_interval: Duration,
    pub safety_check: Duration,
    pub max_backoff: Duration,
}

/// Where the worker's inputs come from. They outlive a worker that panicked, so the
/// next one ([`supervise`]) picks up where it left off.
pub struct Inputs {
    pub commands: mpsc::Receiver<Request>,
    pub signals: mpsc::Receiver<Signal>,
    /// Something changed in the published folder.
    pub folder: FolderWatch,
}

/// A job's result and the published file it compared against.
type JobResult = (Result<Outcome, SyncError>, Option<Known>);

pub struct Worker {
    ctx: Arc<JobContext>,
    board: Arc<Board>,
    settings: Settings,
    coalescer: Coalescer,
    known: Option<Known>,
    retry: Backoff,
    job: Option<JoinHandle<JobResult>>,
    /// When the current (or last) job started, for its trace span.
    job_started: SystemTime,
    telemetry: Option<Arc<Telemetry>>,
    scheduled: Option<Instant>,
    retry_at: Option<Instant>,
    looks: Pacer,
    /// The running look, and the file it looks for.
    look: Option<JoinHandle<bool>>,
    looking_for: Option<Known>,
    look_at: Option<Instant>,
    /// A periodic confirmation waits for the look.
    tick_after_look: bool,
}

impl Worker {
    pub fn new(ctx: Arc<JobContext>, board: Arc<Board>, settings: Settings) -> Self {
        Worker {
            coalescer: Coalescer::new(settings.min_interval),
            retry: Backoff::new(Duration::from_millis(500), settings.max_backoff),
            ctx,
            board,
            settings,
            known: None,
            job: None,
            job_started: SystemTime::now(),
            telemetry: None,
            scheduled: None,
            retry_at: None,
            looks: Pacer::new(LOOK_EVERY),
            look: None,
            looking_for: None,
            look_at: None,
            tick_after_look: false,
        }
    }

    /// Sends a trace span for every publish and failed sync.
    pub fn with_telemetry(mut self, telemetry: Option<Arc<Telemetry>>) -> Self {
        self.telemetry = telemetry;
        self
    }

    /// Starts from `published`, the newest published file as [`describe`] found it
    /// (instead of reading it again).
    pub fn with_published(mut self, published: Option<Known>) -> Self {
        self.known = published;
        self
    }

    /// Runs until a `Quit` command or until every command sender is gone.
    pub async fn run(mut self, inputs: &mut Inputs) {
        let mut safety = tokio::time::interval(self.settings.safety_check);
        safety.tick().await;
        let mut stale = tokio::time::interval(STALE_TICK.min(self.settings.safety_check));
        if self.known.is_none() {
            self.known = describe(&self.ctx, &self.board, None).await;
        }
        self.ensure_watch(&mut inputs.folder);
        self.trigger(Reason::Startup);
        loop {
            tokio::select! {
                command = inputs.commands.recv() => match command {
                    Some(Request::Resync) => self.trigger(Reason::Resync),
                    Some(Request::Reset) => self.trigger(Reason::Reset),
                    // The host answers it from the board; it never comes here.
                    Some(Request::Status) => {}
                    Some(Request::Quit) | None => break,
                },
                Some(signal) = inputs.signals.recv() => self.on_signal(signal),
                result = wait_job(&mut self.job) => {
                    self.job = None;
                    self.on_result(result);
                    // The folder may have been created again by this sync.
                    self.ensure_watch(&mut inputs.folder);
                    let decision = self.coalescer.finished(Instant::now().into_std());
                    self.apply(decision);
                }
                _ = sleep_until(self.scheduled) => {
                    self.scheduled = None;
                    let decision = self.coalescer.due(Instant::now().into_std());
                    self.apply(decision);
                }
                _ = sleep_until(self.retry_at) => {
                    self.retry_at = None;
                    self.trigger(Reason::Retry);
                }
                _ = safety.tick() => {
                    if !self.board.get().events_connected {
                        self.trigger(Reason::SafetyCheck);
                    }
                }
                _ = stale.tick() => {
                    self.ensure_watch(&mut inputs.folder);
                    self.tick_after_look = true;
                    self.request_look();
                }
                Some(()) = inputs.folder.changes.recv() => self.request_look(),
                current = wait_job(&mut self.look) => {
                    self.look = None;
                    self.on_look(current.unwrap_or(true));
                    let pace = self.looks.finished(Instant::now().into_std());
                    self.pace_look(pace);
                }
                _ = sleep_until(self.look_at) => {
                    self.look_at = None;
                    let pace = self.looks.due(Instant::now().into_std());
                    self.pace_look(pace);
                }
            }
        }
        if let Some(job) = self.job.take() {
            job.abort();
            let _ = job.await;
        }
    }

    /// Watches the publish folder if it is not watched, and shows why it cannot be.
    fn ensure_watch(&mut self, folder: &mut FolderWatch) {
        folder.ensure();
        let problem = folder.problem().map(str::to_string);
        if self.board.get().folder_watch_problem != problem {
            self.board.apply(Event::FolderWatch(problem));
        }
    }

    fn trigger(&mut self, reason: Reason) {
        let decision = self.coalescer.trigger(reason, Instant::now().into_std());
        self.apply(decision);
    }

    fn apply(&mut self, decision: Decision) {
        match decision {
            Decision::Idle => {}
            Decision::StartAt(at, _) => self.scheduled = Some(at.into()),
            Decision::Start(reason) => self.start(reason),
        }
    }

    fn start(&mut self, reason: Reason) {
        tracing::debug!(?reason, "sync starting");
        self.retry_at = None;
        // A periodic check and a retry are quiet: the menu should not flicker
        // "Syncing…" for them (a retry every few seconds made the icon blink).
        if !matches!(reason, Reason::SafetyCheck | Reason::Retry) {
            self.board.apply(Event::SyncStarted {
                activity: self.ctx.activity().into(),
            });
        }
        let ctx = self.ctx.clone();
        let remembered = self.known.clone();
        // At start-up, `describe_published` has just read the newest file from disk:
        // reading (and checksumming) it again would only double the start's I/O.
        let reread = reason.forced() && !(reason == Reason::Startup && remembered.is_some());
        let inspect_unchanged = self.board.get().metadata.is_none();
        self.job_started = SystemTime::now();
        self.job = Some(tokio::spawn(async move {
            let known = if reread {
                read_known(&ctx.publisher).await.unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "could not read the newest published file; it will be replaced");
                    None
                })
            } else {
                remembered
            };
            let result = match reason {
                Reason::SafetyCheck => ctx.check(known.clone(), inspect_unchanged).await,
                Reason::Reset => ctx.reset(known.clone(), inspect_unchanged).await,
                _ => ctx.run(known.clone(), inspect_unchanged).await,
            };
            (result, known)
        }));
    }

    fn on_result(&mut self, result: Result<JobResult, tokio::task::JoinError>) {
        let (result, known_before) = match result {
            Ok(r) => r,
            Err(e) => (Err(SyncError::Internal(e.to_string())), self.known.clone()),
        };
        if let Some(telemetry) = &self.telemetry {
            report(telemetry, self.job_started, &result);
        }
        match result {
            Ok(Outcome::Unchanged {
                known,
                provenance,
                inspection,
            }) => {
                self.retry.reset();
                self.board.apply(Event::Unchanged {
                    txid: self.label(provenance, known.checksum),
                    file: facts(&known, inspection),
                });
                self.known = Some(known);
            }
            Ok(Outcome::Published {
                known,
                provenance,
                inspection,
                bytes,
            }) => {
                self.retry.reset();
                tracing::info!(path = %known.path.display(), checksum = %known.checksum, bytes, "published");
                self.board.apply(Event::Published {
                    txid: self.label(provenance, known.checksum),
                    file: facts(&known, inspection),
                });
                self.known = Some(known);
            }
            Err(error) => {
                self.known = known_before;
                let failures = self.retry.failures();
                // A source that said when to come back (a 429's Retry-After) is heard.
                let delay = self
                    .retry
                    .next_delay()
                    .max(error.retry_after().unwrap_or_default());
                self.retry_at = Some(Instant::now() + delay);
                tracing::warn!(kind = error.kind().as_str(), retry_in = ?delay, "sync failed: {error}");
                self.board.apply(Event::Failed {
                    kind: error.kind(),
                    message: error.to_string(),
                    failures,
                    retry_in: delay,
                });
            }
        }
    }

    /// The TXID of a file with `checksum` that a job fetched as `provenance`: what
    /// confirmed it, or else an announcement of that checksum that arrived after the job
    /// decided (it came while the job was finishing).
    fn label(&self, provenance: Provenance, checksum: crate::litefs::Checksum) -> Option<u64> {
        confirmed(provenance).or_else(|| match &self.ctx.source {
            Fetch::LiteFs(litefs) => {
                let (announced, _) = litefs.ledger.snapshot();
                confirmed(match_checksum(checksum, &announced, false)?)
            }
            Fetch::Cloud(_) => None,
        })
    }

    fn on_signal(&mut self, signal: Signal) {
        match signal {
            Signal::Connected { hostname } => {
                match self.ctx.source {
                    Fetch::LiteFs(_) => tracing::info!(%hostname, "LiteFS event stream connected"),
                    Fetch::Cloud(_) => tracing::info!(url = %hostname, "LiteFS Cloud answers /pos"),
                }
                self.board.apply(Event::EventsConnected(true));
                // Transactions may have been missed while disconnected.
                self.trigger(Reason::SafetyCheck);
            }
            Signal::Disconnected { reason } => {
                let cloud = matches!(self.ctx.source, Fetch::Cloud(_));
                let (lost, still) = match cloud {
                    false => (
                        "LiteFS event stream lost; reconnecting",
                        "LiteFS event stream still unavailable",
                    ),
                    true => (
                        "LiteFS Cloud stopped answering /pos; checking now and polling on",
                        "LiteFS Cloud still not answering /pos",
                    ),
                };
                if self.board.get().events_connected {
                    tracing::warn!(%reason, "{lost}");
                } else {
                    tracing::debug!(%reason, "{still}");
                }
                self.board.apply(Event::EventsConnected(false));
                // The cloud's poller only sees the failure; a check names it in the
                // status (a refused token is *not configured*, not "up to date").
                if cloud {
                    self.trigger(Reason::SafetyCheck);
                }
            }
            Signal::Tx(tx) => {
                let current = self
                    .known
                    .as_ref()
                    .is_some_and(|k| k.checksum == tx.checksum);
                if current {
                    // The published file is that transaction: its label follows the
                    // announcement at once, even while a sync runs (a sync that ends
                    // elsewhere publishes, and labels, another file).
                    self.board.apply(Event::Confirmed {
                        txid: tx.txid,
                        checksum: tx.checksum,
                    });
                } else {
                    self.trigger(Reason::Tx);
                }
            }
        }
    }

    /// Asks for a look at the published file (paced: at most one running, one pending).
    fn request_look(&mut self) {
        let pace = self.looks.request(Instant::now().into_std());
        self.pace_look(pace);
    }

    fn pace_look(&mut self, pace: Pace) {
        match pace {
            Pace::Idle => {}
            Pace::StartAt(at) => self.look_at = Some(at.into()),
            Pace::Start => self.start_look(),
        }
    }

    /// Looks, off the async threads, whether the newest published file is still the one
    /// published. While a sync runs (its own publish changes the folder) or with nothing
    /// published, there is nothing to look for: the look ends at once.
    fn start_look(&mut self) {
        let known = self.known.clone().filter(|_| self.job.is_none());
        let publisher = self.ctx.publisher.clone();
        self.looking_for = known.clone();
        self.look = Some(tokio::task::spawn_blocking(move || {
            known.is_none_or(|known| still_current(&publisher, &known))
        }));
    }

    /// A look ended: a changed file is synced again; an unchanged one may be confirmed.
    fn on_look(&mut self, current: bool) {
        let looked_for = self.looking_for.take();
        let still_ours = looked_for.is_some() && looked_for == self.known && self.job.is_none();
        if still_ours && !current {
            tracing::warn!(
                "the published database was changed or removed by someone else; resyncing"
            );
            self.tick_after_look = false;
            self.trigger(Reason::FileChanged);
            return;
        }
        if std::mem::take(&mut self.tick_after_look) {
            self.board.apply(Event::Tick);
        }
    }
}

/// Shows the newest published file as it describes itself, before the source is asked:
/// after a restart the status tells the truth about the data the POS has (its last sync
/// is when that file was published; `earlier`, the previous instance's word on the file
/// it published, adds its TXID and last confirmation when it is the same file). Returns
/// it for the worker.
pub async fn describe(ctx: &JobContext, board: &Board, earlier: Option<Earlier>) -> Option<Known> {
    let (known, inspection) = ctx.describe_published().await?;
    board.apply(Event::Described {
        file: facts(&known, inspection),
        earlier,
    });
    Some(known)
}

/// A published file as the status shows it.
pub fn facts(known: &Known, inspection: Option<Inspection>) -> FileFacts {
    FileFacts {
        path: known.path.clone(),
        checksum: known.checksum,
        published_at: known.stamp.modified.map(DateTime::<Utc>::from),
        inspection,
    }
}

/// The transaction the source confirmed, if it did.
fn confirmed(provenance: Provenance) -> Option<u64> {
    match provenance {
        Provenance::Tx(txid) => Some(txid),
        Provenance::Unconfirmed => None,
    }
}

/// Tells telemetry how a job ended: a publish or a failure.
fn report(telemetry: &Telemetry, started: SystemTime, result: &Result<Outcome, SyncError>) {
    match result {
        Ok(Outcome::Published {
            known,
            provenance,
            inspection,
            bytes,
        }) => telemetry.record(
            started,
            Report::Published(Publish {
                path: &known.path,
                checksum: known.checksum,
                txid: confirmed(*provenance),
                metadata: inspection.as_ref().map(|i| &i.metadata),
                bytes: *bytes,
            }),
        ),
        Ok(Outcome::Unchanged { .. }) => {}
        Err(e) => telemetry.record(
            started,
            Report::Failed {
                kind: e.kind(),
                message: &e.to_string(),
            },
        ),
    }
}

/// Runs workers made by `make` until one stops as asked (`Quit`, or every command sender
/// gone). A worker that panics is shown as state `error` (kind `internal`) and replaced
/// after a capped backoff; a `Quit` during the pause is honoured.
pub async fn supervise(
    make: impl Fn() -> Worker,
    inputs: &mut Inputs,
    board: &Board,
    max_backoff: Duration,
) {
    let mut backoff = Backoff::new(Duration::from_secs(1), max_backoff);
    loop {
        let run = std::panic::AssertUnwindSafe(make().run(inputs)).catch_unwind();
        let Err(panic) = run.await else {
            return;
        };
        let message = panic_message(panic.as_ref());
        let delay = backoff.next_delay();
        tracing::error!(restart_in = ?delay, "the sync worker stopped unexpectedly: {message}");
        board.apply(Event::WorkerCrashed {
            message,
            restart_in: delay,
        });
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            command = inputs.commands.recv() => {
                if matches!(command, Some(Request::Quit) | None) {
                    return;
                }
            }
        }
    }
}

/// The text a panic carried, if it was text.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

async fn wait_job<T>(job: &mut Option<JoinHandle<T>>) -> Result<T, tokio::task::JoinError> {
    match job {
        Some(handle) => handle.await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::error_kind::ErrorKind;
    use crate::litefs::client::{Client, Timeouts};
    use crate::publish::{PublishMode, Publisher};
    use crate::status::{State, Status};
    use crate::sync::job::{Fetch, LiteFsSource};
    use crate::sync::ledger::Ledger;

    /// A job context whose LiteFS never answers, publishing into `dir`.
    fn unreachable_litefs(dir: &std::path::Path) -> Arc<JobContext> {
        let short = Duration::from_millis(100);
        Arc::new(JobContext {
            source: Fetch::LiteFs(LiteFsSource {
                client: Client::new(
                    "http://127.0.0.1:9",
                    "Domain.sqlite3",
                    Timeouts {
                        connect: short,
                        stall: short,
                    },
                )
                .unwrap(),
                ledger: Ledger::default(),
                event_grace: Duration::ZERO,
                probe: None,
            }),
            publisher: Arc::new(
                Publisher::new(
                    dir.join("Domain"),
                    PublishMode::Versioned,
                    "Domain.sqlite3",
                    3,
                )
                .unwrap(),
            ),
            quick_check: false,
            tables: Vec::new(),
        })
    }

    /// A status board in `dir` and the worker's inputs, with the senders that feed them.
    fn rig(
        dir: &std::path::Path,
    ) -> (
        Arc<Board>,
        Inputs,
        mpsc::Sender<Request>,
        mpsc::Sender<Signal>,
    ) {
        let board = Arc::new(Board::new(
            dir.join("status.json"),
            Status::starting("http://127.0.0.1:9", Utc::now()),
        ));
        let (commands_tx, commands) = mpsc::channel(4);
        let (signals_tx, signals) = mpsc::channel(4);
        let inputs = Inputs {
            commands,
            signals,
            folder: FolderWatch::new(dir),
        };
        (board, inputs, commands_tx, signals_tx)
    }

    /// Waits (up to `within`) until the board's status satisfies `pred`.
    async fn board_shows(
        board: &Board,
        within: Duration,
        pred: impl Fn(&Status) -> bool,
    ) -> Option<Status> {
        let mut status = board.subscribe();
        tokio::time::timeout(within, status.wait_for(|s| pred(s)))
            .await
            .ok()
            .and_then(|s| s.ok().map(|s| s.clone()))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_announcement_of_the_published_checksum_labels_it_even_while_a_sync_runs() {
        use litefs_sim::{Misbehaviour, Sim, SimConfig};
        let dir = tempfile::tempdir().unwrap();
        let mut sim_config = SimConfig::new(dir.path().join("litefs"));
        sim_config.size_mb = 1;
        let sim = Sim::create(sim_config).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let serving = sim.clone();
        let server = tokio::spawn(async move { serving.serve(listener).await });
        let ledger = Ledger::default();
        let ctx = Arc::new(JobContext {
            source: Fetch::LiteFs(LiteFsSource {
                client: Client::new(
                    &url,
                    "Domain.sqlite3",
                    Timeouts {
                        connect: Duration::from_secs(5),
                        stall: Duration::from_secs(120),
                    },
                )
                .unwrap(),
                ledger: ledger.clone(),
                event_grace: Duration::ZERO,
                probe: None,
            }),
            publisher: Arc::new(
                Publisher::new(
                    dir.path().join("Domain"),
                    PublishMode::Versioned,
                    "Domain.sqlite3",
                    3,
                )
                .unwrap(),
            ),
            quick_check: false,
            tables: Vec::new(),
        });
        let (board, mut inputs, commands_tx, signals_tx) = rig(dir.path());
        let settings = Settings {
            min_interval: Duration::from_millis(1),
            safety_check: Duration::from_secs(3600),
            max_backoff: Duration::from_secs(3600),
        };
        let worker = Worker::new(ctx, board.clone(), settings);
        let task = tokio::spawn(async move { worker.run(&mut inputs).await });

        // Published before any announcement was heard (events missed): no TXID.
        let position = sim.position();
        let checksum = crate::litefs::Checksum(position.checksum);
        let published = board_shows(&board, Duration::from_secs(30), |s| {
            s.state == State::UpToDate && s.checksum == Some(checksum)
        })
        .await
        .expect("the first sync publishes");
        assert_eq!(published.txid, None);

        // A sync is running (its export stalls) when LiteFS announces the transaction
        // that the published file is.
        sim.set_misbehaviour(Misbehaviour::StalledExport);
        let exports = sim.exports();
        commands_tx.send(Request::Resync).await.unwrap();
        while sim.exports() == exports {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        ledger.push(crate::verify::Announced {
            txid: position.txid,
            checksum,
        });
        signals_tx
            .send(Signal::Tx(crate::litefs::TxEvent {
                db: "Domain.sqlite3".into(),
                txid: position.txid,
                checksum,
                page_size: position.page_size,
                pages: position.pages,
                timestamp: None,
            }))
            .await
            .unwrap();
        let labelled = board_shows(&board, Duration::from_secs(10), |s| {
            s.txid.map(|t| t.0) == Some(position.txid)
        })
        .await;
        commands_tx.send(Request::Quit).await.unwrap();
        task.await.unwrap();
        server.abort();
        let labelled = labelled.expect("the label follows the announcement");
        assert_eq!(labelled.checksum, Some(checksum));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn churn_beside_20000_files_lists_the_folder_a_bounded_number_of_times() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("Domain");
        std::fs::create_dir(&folder).unwrap();
        for i in 0..20_000 {
            std::fs::write(folder.join(format!("other-{i}.txt")), b"").unwrap();
        }
        let ours = folder.join("1000-Domain.sqlite3");
        std::fs::write(&ours, b"ours").unwrap();
        let known = Known {
            path: ours.clone(),
            checksum: crate::litefs::Checksum(1),
            stamp: crate::sync::stamp::Stamp::of(&std::fs::metadata(&ours).unwrap()),
        };
        let ctx = unreachable_litefs(dir.path());
        let (board, mut inputs, commands_tx, _signals_tx) = rig(dir.path());
        inputs.folder = FolderWatch::new(&folder);
        let settings = Settings {
            min_interval: Duration::from_millis(1),
            safety_check: Duration::from_secs(3600),
            max_backoff: Duration::from_secs(3600),
        };
        let worker = Worker::new(ctx.clone(), board, settings).with_published(Some(known));
        let task = tokio::spawn(async move { worker.run(&mut inputs).await });

        let before = ctx.publisher.listings();
        let started = std::time::Instant::now();
        let churn = folder.join("churn.tmp");
        tokio::task::spawn_blocking(move || {
            for _ in 0..1000 {
                std::fs::write(&churn, b"x").unwrap();
                std::thread::sleep(Duration::from_millis(2));
                std::fs::remove_file(&churn).unwrap();
            }
        })
        .await
        .unwrap();
        let elapsed = started.elapsed();
        let listings = ctx.publisher.listings() - before;
        commands_tx.send(Request::Quit).await.unwrap();
        task.await.unwrap();
        // One look a second at most (each lists the 20,001 entries), not one a change.
        assert!(
            listings <= elapsed.as_secs() + 3,
            "{listings} listings in {elapsed:?} of churn"
        );
        assert!(listings >= 1, "the changes were looked at");
    }

    #[tokio::test]
    async fn retries_keep_the_trouble_state_instead_of_blinking_syncing() {
        let dir = tempfile::tempdir().unwrap();
        let (board, mut inputs, commands_tx, _signals_tx) = rig(dir.path());
        let settings = Settings {
            min_interval: Duration::from_millis(1),
            safety_check: Duration::from_secs(3600),
            max_backoff: Duration::from_millis(100),
        };
        let worker = Worker::new(unreachable_litefs(dir.path()), board.clone(), settings);
        let task = tokio::spawn(async move { worker.run(&mut inputs).await });
        let mut status = board.subscribe();
        let mut seen = Vec::new();
        let watching = async {
            loop {
                if status.changed().await.is_err() {
                    break;
                }
                seen.push(status.borrow_and_update().state);
            }
        };
        // About ten retries at most 100 ms apart.
        let _ = tokio::time::timeout(Duration::from_secs(2), watching).await;
        commands_tx.send(Request::Quit).await.unwrap();
        task.await.unwrap();
        let first_error = seen
            .iter()
            .position(|s| *s == State::Error)
            .unwrap_or_else(|| panic!("no error shown: {seen:?}"));
        assert!(
            seen[first_error..].iter().all(|s| *s == State::Error),
            "the state blinked: {seen:?}"
        );
    }

    #[tokio::test]
    async fn a_worker_that_panics_is_shown_as_an_error_and_restarted() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = unreachable_litefs(dir.path());
        let (board, mut inputs, commands_tx, _signals_tx) = rig(dir.path());
        // A zero safety-check period makes tokio's interval panic inside `run`.
        let settings = Settings {
            min_interval: Duration::from_millis(1),
            safety_check: Duration::ZERO,
            max_backoff: Duration::from_millis(200),
        };
        let made = Arc::new(AtomicUsize::new(0));
        let supervisor = {
            let (board, made) = (board.clone(), made.clone());
            tokio::spawn(async move {
                let make = || {
                    made.fetch_add(1, Ordering::SeqCst);
                    Worker::new(ctx.clone(), board.clone(), settings.clone())
                };
                supervise(make, &mut inputs, &board, Duration::from_millis(200)).await;
            })
        };
        let mut status = board.subscribe();
        let shown = tokio::time::timeout(
            Duration::from_secs(10),
            status.wait_for(|s| s.state == State::Error),
        )
        .await
        .expect("the panic is shown")
        .unwrap()
        .clone();
        tokio::time::timeout(Duration::from_secs(10), async {
            while made.load(Ordering::SeqCst) < 3 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the worker is restarted");
        let error = shown.error.expect("an error is shown");
        assert_eq!(error.kind, ErrorKind::Internal);
        assert!(
            error.message.contains("stopped unexpectedly"),
            "{}",
            error.message
        );
        assert!(error.message.contains("non-zero"), "{}", error.message);

        commands_tx.send(Request::Quit).await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), supervisor)
            .await
            .expect("Quit is honoured between restarts")
            .unwrap();
    }
}
