//! One sync: fetch → verify → publish → inspect.
//!
//! The fetch depends on the [`Fetch`] source: a LiteFS node's `/export` (matched against
//! the transactions it announced), or the LiteFS Cloud backup API's snapshot (decoded
//! from LTX, matched against the cloud's position). Verify → publish → inspect is one
//! shared step. Nothing reaches a final name unless every check passed; on any failure
//! the staged temp file is removed (the [`Staged`] guard) and the newest published file
//! stays as it was.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::cloud::client::{CloudClient, CloudError};
use crate::cloud::fetch::{fetch, FetchError};
use crate::error_kind::ErrorKind;
use crate::inspect::{self, Inspection};
use crate::litefs::checksum::checksum_file;
use crate::litefs::client::{Client, LiteFsError};
use crate::litefs::pos::{Position, Probe};
use crate::litefs::Checksum;
use crate::publish::{classify_io, Base, PublishError, Publisher, Staged, Target, Written};
use crate::verify::{check_layout, unmatched, Provenance, VerifyError};

use super::download::{download, DownloadError};
use super::foreign;
use super::inspecting::Inspecting;
use super::ledger::Ledger;
use super::stamp::Stamp;

/// What a job needs; shared by all jobs of a worker.
pub struct JobContext {
    pub source: Fetch,
    pub publisher: Arc<Publisher>,
    pub quick_check: bool,
    pub tables: Vec<String>,
}

/// Where a job gets the database from.
pub enum Fetch {
    /// A LiteFS node's `/export`.
    LiteFs(LiteFsSource),
    /// The LiteFS Cloud backup API's snapshot.
    Cloud(CloudClient),
}

/// A LiteFS node and what confirms its exports.
pub struct LiteFsSource {
    pub client: Client,
    pub ledger: Ledger,
    pub event_grace: Duration,
    /// Reads LiteFS's own position (its `-pos` file), when the container is ours.
    pub probe: Option<Probe>,
}

/// The newest published file as the worker knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Known {
    pub path: PathBuf,
    pub checksum: Checksum,
    /// To notice changes behind our back cheaply.
    pub stamp: Stamp,
}

/// How a successful job ended.
#[derive(Debug)]
pub enum Outcome {
    /// LiteFS has exactly what is already published.
    Unchanged {
        known: Known,
        provenance: Provenance,
        inspection: Option<Inspection>,
    },
    /// A new file was published.
    Published {
        known: Known,
        provenance: Provenance,
        inspection: Option<Inspection>,
        bytes: u64,
    },
}

/// Why a job failed; `kind()` names it for the status.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    LiteFs(#[from] LiteFsError),
    #[error(transparent)]
    Cloud(#[from] CloudError),
    #[error("{0}; nothing was published")]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error("reading the published file {path} failed: {source}")]
    ReadPublished {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

impl SyncError {
    /// How long the source asked us to wait before trying again, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SyncError::Cloud(e) => e.retry_after(),
            _ => None,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            SyncError::LiteFs(e) => e.kind(),
            SyncError::Cloud(e) => e.kind(),
            SyncError::Verify(e) => e.kind(),
            SyncError::Publish(e) => e.kind(),
            SyncError::ReadPublished { .. } => ErrorKind::PublishedFileUnreadable,
            SyncError::Internal(_) => ErrorKind::Internal,
        }
    }
}

/// A fetched snapshot that passed its source's checks, ready for verify → publish.
struct Checked {
    checksum: Checksum,
    provenance: Provenance,
    bytes: u64,
    started: std::time::Instant,
    written: Written,
}

/// Runs `f` on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, SyncError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SyncError::Internal(e.to_string()))
}

/// Reads the newest published file from disk (its checksum and identity).
pub async fn read_known(publisher: &Arc<Publisher>) -> Result<Option<Known>, SyncError> {
    let publisher = publisher.clone();
    blocking(move || {
        let Some(path) = publisher.newest()? else {
            return Ok(None);
        };
        describe(path, None).map(Some)
    })
    .await?
}

/// Size and mtime of `path`, with its checksum (computed when not given).
fn describe(path: PathBuf, checksum: Option<Checksum>) -> Result<Known, SyncError> {
    let read_err = |source| SyncError::ReadPublished {
        path: path.clone(),
        source,
    };
    let meta = std::fs::metadata(&path).map_err(read_err)?;
    let checksum = match checksum {
        Some(c) => c,
        None => checksum_file(&path).map_err(read_err)?.checksum,
    };
    Ok(Known {
        stamp: Stamp::of(&meta),
        checksum,
        path,
    })
}

/// Whether `known` still describes the file on disk (same newest path and [`Stamp`]).
pub fn still_current(publisher: &Publisher, known: &Known) -> bool {
    match publisher.newest() {
        Ok(Some(path)) if path == known.path => std::fs::metadata(&path)
            .map(|m| Stamp::of(&m) == known.stamp)
            .unwrap_or(false),
        _ => false,
    }
}

impl JobContext {
    /// The source's name, for the status's words.
    pub fn source_name(&self) -> &'static str {
        match self.source {
            Fetch::LiteFs(_) => "LiteFS",
            Fetch::Cloud(_) => "LiteFS Cloud",
        }
    }

    /// What a running sync is doing, for the status's detail.
    pub fn activity(&self) -> &'static str {
        match self.source {
            Fetch::LiteFs(_) => "exporting from LiteFS",
            Fetch::Cloud(_) => "downloading from LiteFS Cloud",
        }
    }

    /// Runs one sync against the newest published file `known`; `inspect_unchanged`
    /// asks for metadata and row counts even when nothing new is published.
    pub async fn run(
        &self,
        known: Option<Known>,
        inspect_unchanged: bool,
    ) -> Result<Outcome, SyncError> {
        self.sync(Ask::Run, known, inspect_unchanged).await
    }

    /// A periodic check: when LiteFS's position file shows the published checksum,
    /// nothing is exported; otherwise it is a normal sync. (The cloud always asks for
    /// its position first.)
    pub async fn check(
        &self,
        known: Option<Known>,
        inspect_unchanged: bool,
    ) -> Result<Outcome, SyncError> {
        self.sync(Ask::Check, known, inspect_unchanged).await
    }

    /// *Reset* as far as the job goes: the cloud's snapshot is fetched again even when
    /// its position matches the published file (a LiteFS node's reset is the container's
    /// business, so there it is a normal sync).
    pub async fn reset(
        &self,
        known: Option<Known>,
        inspect_unchanged: bool,
    ) -> Result<Outcome, SyncError> {
        self.sync(Ask::Reset, known, inspect_unchanged).await
    }

    async fn sync(
        &self,
        ask: Ask,
        known: Option<Known>,
        inspect_unchanged: bool,
    ) -> Result<Outcome, SyncError> {
        match &self.source {
            Fetch::LiteFs(litefs) => self.sync_from(litefs, ask, known, inspect_unchanged).await,
            Fetch::Cloud(cloud) => self.sync_from(cloud, ask, known, inspect_unchanged).await,
        }
    }

    /// One sync from `source`: unless it says the published file already is its newest,
    /// its snapshot is fetched into a staged file, checked by its rules, then verified
    /// and published by the shared step.
    async fn sync_from<S: Source>(
        &self,
        source: &S,
        ask: Ask,
        known: Option<Known>,
        inspect_unchanged: bool,
    ) -> Result<Outcome, SyncError> {
        let expect = match source.before(known.as_ref(), ask).await? {
            Before::Current(known, provenance) => {
                return Ok(self.unchanged(known, provenance, inspect_unchanged).await);
            }
            Before::Fetch(expect) => expect,
        };
        let (staged, staged_path, target) = self.stage(known.as_ref()).await?;
        let started = std::time::Instant::now();
        let fetched = source.fetch(expect, target, staged_path).await?;
        // What was written (a patched clone's pages read back) against the checksum the
        // source's bytes have.
        self.publisher
            .verify_written(&staged, &fetched.written, fetched.checksum)?;
        let checked = Checked {
            checksum: fetched.checksum,
            provenance: fetched.provenance,
            bytes: fetched.bytes,
            started,
            written: fetched.written,
        };
        self.publish_checked(staged, known, checked, inspect_unchanged)
            .await
    }

    /// A new hidden temp file in the publish folder (a clone of `known` to patch, when
    /// it can be), its path and the target to write it through.
    async fn stage(&self, known: Option<&Known>) -> Result<(Staged, PathBuf, Target), SyncError> {
        let base = known.map(|k| Base {
            path: k.path.clone(),
            checksum: k.checksum,
        });
        let publisher = self.publisher.clone();
        let (staged, target) = blocking(move || publisher.stage_for(base.as_ref())).await??;
        let staged_path = staged.path().to_path_buf();
        Ok((staged, staged_path, target))
    }

    /// The outcome when the source has what is already published.
    async fn unchanged(
        &self,
        known: Known,
        provenance: Provenance,
        inspect_unchanged: bool,
    ) -> Outcome {
        let inspection = match inspect_unchanged {
            true => self.inspect(known.path.clone()).await,
            false => None,
        };
        Outcome::Unchanged {
            known,
            provenance,
            inspection,
        }
    }

    /// The shared step: unless `known` already has this content, quick_check and inspect
    /// the staged file (while it is flushed), publish it, apply retention.
    async fn publish_checked(
        &self,
        staged: Staged,
        known: Option<Known>,
        checked: Checked,
        inspect_unchanged: bool,
    ) -> Result<Outcome, SyncError> {
        let Checked {
            checksum,
            provenance,
            bytes,
            started,
            written,
        } = checked;
        let downloaded = started.elapsed();
        if let Some(known) = known.filter(|k| k.checksum == checksum) {
            return Ok(self.unchanged(known, provenance, inspect_unchanged).await);
        }
        let staged_path = staged.path().to_path_buf();
        // Inspection (metadata, row counts) reads through a connection opened now, beside
        // the checks, and never holds up the rename of a verified file: the connection
        // reads the same file under its published name. Only a newer file of someone
        // else's in the folder waits for it (see `newer_foreign`).
        let inspecting = Inspecting::start(staged_path.clone(), self.tables.clone()).await;
        // Flushing the file to disk (I/O) overlaps quick_check and inspection (CPU), so
        // the publish's own fsync finds little left to do.
        let flush = {
            let file = staged
                .file()
                .try_clone()
                .map_err(|e| classify_io(&e, &staged_path))?;
            let path = staged_path.clone();
            blocking(move || file.sync_all().map_err(|e| classify_io(&e, &path)))
        };
        let checks = async {
            if self.quick_check {
                let path = staged_path.clone();
                blocking(move || inspect::quick_check(&path))
                    .await?
                    .map_err(|e| VerifyError::QuickCheck(e.to_string()))?;
            }
            Ok::<_, SyncError>(())
        };
        let (flushed, checked) = tokio::join!(flush, checks);
        let checked_at = started.elapsed();
        checked?;
        flushed??;
        let inspection = match self.foreign_newest().await {
            Some(theirs) => {
                let ours = Inspecting::finish(inspecting).await;
                if let Some(outcome) = self.newer_foreign(theirs, ours.as_ref()).await {
                    return Ok(outcome);
                }
                Err(ours)
            }
            None => Ok(inspecting),
        };
        let publisher = self.publisher.clone();
        let published = blocking(move || {
            let published = publisher.publish(staged, SystemTime::now())?;
            publisher.record_written(&published.path, &written);
            Ok::<_, PublishError>(published)
        })
        .await??;
        tracing::debug!(
            download_ms = downloaded.as_millis() as u64,
            checks_and_flush_ms = (checked_at - downloaded).as_millis() as u64,
            publish_ms = (started.elapsed() - checked_at).as_millis() as u64,
            written = ?written.how,
            written_bytes = written.bytes,
            "publish timings"
        );
        // Old versions go after the new one is out; nobody waits for the unlinks.
        let publisher = self.publisher.clone();
        tokio::task::spawn_blocking(move || {
            let removed = publisher.retain();
            if !removed.is_empty() {
                tracing::debug!(removed = removed.len(), "retention deleted old versions");
            }
        });
        let known = {
            let path = published.path.clone();
            blocking(move || describe(path, Some(checksum))).await??
        };
        let inspection = match inspection {
            Ok(inspecting) => Inspecting::finish(inspecting).await,
            Err(read) => read,
        };
        Ok(Outcome::Published {
            known,
            provenance,
            inspection,
            bytes,
        })
    }

    /// The newest file in the folder when it is someone else's (the provisioning tool's
    /// download). The folder is read again here, not taken from what the worker knew, so
    /// a file that arrived during the download counts.
    async fn foreign_newest(&self) -> Option<PathBuf> {
        let publisher = self.publisher.clone();
        blocking(move || {
            publisher
                .newest()
                .ok()
                .flatten()
                .filter(|p| !publisher.is_ours(p))
        })
        .await
        .ok()?
    }

    /// When someone else's newest file at `path` holds data at least as new as the
    /// snapshot's (`ours`), the outcome that leaves it the newest: publishing ours after
    /// it would hide newer data from the POS (see [`foreign`]). `None`: publish ours.
    async fn newer_foreign(&self, path: PathBuf, ours: Option<&Inspection>) -> Option<Outcome> {
        let theirs = self.inspect(path.clone()).await;
        let newer = foreign::is_at_least_as_new(
            theirs.as_ref()?.metadata.generated_at.as_deref(),
            ours?.metadata.generated_at.as_deref(),
        );
        if !newer {
            return None;
        }
        tracing::warn!(
            path = %path.display(),
            "a database another tool wrote into the publish folder is at least as new as the source's; it stays the newest and the source's is not published"
        );
        let known = blocking(move || describe(path, None)).await.ok()?.ok()?;
        Some(Outcome::Unchanged {
            known,
            provenance: Provenance::Unconfirmed,
            inspection: theirs,
        })
    }

    /// The newest published file as it describes itself (checksum, metadata, row
    /// counts), without asking LiteFS: what the status shows at start until LiteFS
    /// confirms it or sends something newer. `None` when nothing is published or the
    /// file cannot be read (the first sync replaces it then).
    pub async fn describe_published(&self) -> Option<(Known, Option<Inspection>)> {
        describe_published(&self.publisher, &self.tables).await
    }

    /// Reads metadata and row counts; a failure is logged and shown as unknown.
    async fn inspect(&self, path: PathBuf) -> Option<Inspection> {
        inspect_logged(path, self.tables.clone()).await
    }
}

/// The newest file in `publisher`'s folder as it describes itself, with the row counts
/// of `tables` (see [`JobContext::describe_published`]); also for a core that cannot
/// sync (not configured), whose POS may well have data.
pub async fn describe_published(
    publisher: &Arc<Publisher>,
    tables: &[String],
) -> Option<(Known, Option<Inspection>)> {
    let known = match read_known(publisher).await {
        Ok(known) => known?,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the newest published file");
            return None;
        }
    };
    let inspection = inspect_logged(known.path.clone(), tables.to_vec()).await;
    Some((known, inspection))
}

/// Reads metadata and row counts within [`inspect::INSPECT_BUDGET`]; a failure is logged
/// and shown as unknown, what could not be read is named in the inspection. Dropping the
/// future (an aborted sync, a quit) interrupts SQLite at once.
async fn inspect_logged(path: PathBuf, tables: Vec<String>) -> Option<Inspection> {
    Inspecting::finish(Inspecting::start(path, tables).await).await
}

/// What a job is asked to do (the same sync; the sources differ in what they skip).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ask {
    /// A sync: LiteFS's export, the cloud's position then its snapshot.
    Run,
    /// A periodic look: LiteFS's position file first, when readable.
    Check,
    /// *Reset*: the cloud's snapshot even when its position is what is published.
    Reset,
}

/// What a source says before anything is fetched.
enum Before<E> {
    /// The published file is the source's newest, as this confirms.
    Current(Known, Provenance),
    /// Fetch, expecting this of the snapshot.
    Fetch(E),
}

/// A snapshot in the staged file that passed its source's own checks.
struct Fetched {
    checksum: Checksum,
    provenance: Provenance,
    bytes: u64,
    /// What was written (whole, or a patched clone with its checksum).
    written: Written,
}

/// Where a database version comes from: a LiteFS node or the LiteFS Cloud backup API.
/// The rest of a sync (verify → publish → inspect) is the same for both.
trait Source {
    /// What a fetch must match (the cloud's position).
    type Expect;

    /// Whether the published file `known` already is the source's newest (for `ask`).
    async fn before(
        &self,
        known: Option<&Known>,
        ask: Ask,
    ) -> Result<Before<Self::Expect>, SyncError>;

    /// Fetches the snapshot through `target` (into the staged file at `path`) and checks
    /// it by the source's rules.
    async fn fetch(
        &self,
        expect: Self::Expect,
        target: Target,
        path: PathBuf,
    ) -> Result<Fetched, SyncError>;
}

impl Source for LiteFsSource {
    type Expect = ();

    async fn before(&self, known: Option<&Known>, ask: Ask) -> Result<Before<()>, SyncError> {
        match ask {
            Ask::Run => {}
            Ask::Check => {
                if let (Some(known), Some(pos)) = (known, position(self).await) {
                    if pos.checksum == known.checksum {
                        return Ok(Before::Current(known.clone(), Provenance::Tx(pos.txid)));
                    }
                }
            }
            Ask::Reset => tracing::warn!(
                "reset needs a managed container ([container] manage = true); resyncing instead"
            ),
        }
        Ok(Before::Fetch(()))
    }

    async fn fetch(&self, (): (), target: Target, path: PathBuf) -> Result<Fetched, SyncError> {
        let got = download(&self.client, target, path)
            .await
            .map_err(|e| match e {
                DownloadError::LiteFs(e) => SyncError::LiteFs(e),
                DownloadError::Write { path, source } => classify_io(&source, &path).into(),
            })?;
        if got.summary.len == 0 {
            // LiteFS answers an open but still empty database with an empty body.
            return Err(LiteFsError::NoData {
                db: self.client.database().to_string(),
            }
            .into());
        }
        check_layout(&got.header, &got.summary, got.announced_len)?;
        let checksum = got.summary.checksum;
        Ok(Fetched {
            checksum,
            provenance: provenance(self, checksum).await?,
            bytes: got.summary.len,
            written: got.written,
        })
    }
}

impl Source for CloudClient {
    type Expect = Position;

    async fn before(&self, known: Option<&Known>, ask: Ask) -> Result<Before<Position>, SyncError> {
        let pos = self.position().await?;
        match known {
            Some(known) if known.checksum == pos.checksum && ask != Ask::Reset => {
                Ok(Before::Current(known.clone(), Provenance::Tx(pos.txid)))
            }
            _ => Ok(Before::Fetch(pos)),
        }
    }

    /// The snapshot must be exactly the position asked before it.
    async fn fetch(
        &self,
        pos: Position,
        target: Target,
        path: PathBuf,
    ) -> Result<Fetched, SyncError> {
        let fetched = fetch(self, target, path).await.map_err(|e| match e {
            FetchError::Cloud(e) => SyncError::Cloud(e),
            FetchError::Write { path, source } => classify_io(&source, &path).into(),
        })?;
        let decoded = &fetched.decoded;
        check_layout(&decoded.sqlite_header, &decoded.summary, None)?;
        let checksum = decoded.summary.checksum;
        if checksum != pos.checksum || decoded.header.max_txid != pos.txid {
            return Err(CloudError::NotThePosition {
                want_txid: pos.txid,
                want: pos.checksum,
                got_txid: decoded.header.max_txid,
                got: checksum,
            }
            .into());
        }
        tracing::debug!(
            received = fetched.received,
            bytes = decoded.summary.len,
            "cloud snapshot decoded"
        );
        Ok(Fetched {
            checksum,
            provenance: Provenance::Tx(pos.txid),
            bytes: decoded.summary.len,
            written: fetched.written,
        })
    }
}

/// LiteFS's own position, when a probe can read it.
async fn position(litefs: &LiteFsSource) -> Option<Position> {
    match &litefs.probe {
        Some(probe) => probe().await,
        None => None,
    }
}

/// Which of LiteFS's transactions an export with `checksum` is. LiteFS's announcements
/// first, waiting up to the event grace for the event of a transaction that landed during
/// the export; then its position file (when readable), which confirms a snapshot they
/// cannot, e.g. after events were missed. An export neither matches is refused.
async fn provenance(litefs: &LiteFsSource, checksum: Checksum) -> Result<Provenance, SyncError> {
    match litefs
        .ledger
        .wait_for_match(checksum, litefs.event_grace)
        .await
    {
        Ok(Provenance::Unconfirmed) => Ok(confirm(litefs, checksum)
            .await
            .unwrap_or(Provenance::Unconfirmed)),
        Ok(confirmed) => Ok(confirmed),
        Err(announced) => confirm(litefs, checksum)
            .await
            .ok_or_else(|| unmatched(checksum, &announced).into()),
    }
}

/// `Tx` when LiteFS's position file has exactly this checksum.
async fn confirm(litefs: &LiteFsSource, checksum: Checksum) -> Option<Provenance> {
    position(litefs)
        .await
        .filter(|pos| pos.checksum == checksum)
        .map(|pos| Provenance::Tx(pos.txid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::time::Instant;

    use crate::litefs::client::Timeouts;
    use crate::verify::Announced;

    const GRACE: Duration = Duration::from_secs(2);

    /// A LiteFS source whose position file reads `position` (counting the reads); its
    /// client is never asked (no socket is opened).
    fn source(position: Option<Position>) -> (LiteFsSource, Arc<AtomicUsize>) {
        let reads = Arc::new(AtomicUsize::new(0));
        let counted = reads.clone();
        let probe: Probe = Arc::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            Box::pin(std::future::ready(position))
        });
        let timeouts = Timeouts {
            connect: Duration::from_secs(1),
            stall: Duration::from_secs(30),
        };
        let source = LiteFsSource {
            client: Client::new("http://127.0.0.1:9", "Domain.sqlite3", timeouts).unwrap(),
            ledger: Ledger::default(),
            event_grace: GRACE,
            probe: Some(probe),
        };
        (source, reads)
    }

    fn tx(txid: u64, checksum: u64) -> Announced {
        Announced {
            txid,
            checksum: Checksum(checksum),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_event_that_arrives_within_the_grace_confirms_the_export_when_it_arrives() {
        let (litefs, reads) = source(None);
        litefs.ledger.push(tx(1, 10));
        let ledger = litefs.ledger.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            ledger.push(tx(2, 20));
        });
        let start = Instant::now();
        let got = provenance(&litefs, Checksum(20)).await.unwrap();
        assert_eq!(got, Provenance::Tx(2));
        assert_eq!(start.elapsed(), Duration::from_millis(1500));
        assert_eq!(
            reads.load(Ordering::SeqCst),
            0,
            "the position file was not needed"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn without_an_event_the_position_file_decides_when_the_grace_is_over() {
        let position = Position {
            txid: 7,
            checksum: Checksum(20),
        };
        let (litefs, reads) = source(Some(position));
        litefs.ledger.push(tx(1, 10));
        let start = Instant::now();
        let got = provenance(&litefs, Checksum(20)).await.unwrap();
        assert_eq!(got, Provenance::Tx(7));
        assert_eq!(start.elapsed(), GRACE);
        assert_eq!(reads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_export_nothing_confirms_is_refused_when_the_grace_is_over() {
        let elsewhere = Position {
            txid: 1,
            checksum: Checksum(10),
        };
        let (litefs, _) = source(Some(elsewhere));
        litefs.ledger.push(tx(1, 10));
        let start = Instant::now();
        let err = provenance(&litefs, Checksum(99)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ChecksumMismatch, "{err}");
        assert_eq!(start.elapsed(), GRACE);
    }

    #[tokio::test(start_paused = true)]
    async fn after_missed_events_nothing_is_waited_for() {
        let (litefs, reads) = source(None);
        litefs.ledger.push(tx(1, 10));
        litefs.ledger.mark_gap();
        let start = Instant::now();
        let got = provenance(&litefs, Checksum(99)).await.unwrap();
        assert_eq!(got, Provenance::Unconfirmed);
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert_eq!(
            reads.load(Ordering::SeqCst),
            1,
            "the position file was asked"
        );
    }
}
