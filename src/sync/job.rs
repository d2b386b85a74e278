//! One sync: export → verify → publish → inspect.
//!
//! Nothing reaches a final name unless every check passed; on any failure the staged
//! temp file is removed (the [`Staged`](crate::publish::Staged) guard) and the newest
//! published file stays as it was.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::inspect::{self, Inspection};
use crate::litefs::checksum::checksum_file;
use crate::litefs::client::{Client, LiteFsError};
use crate::litefs::pos::{Position, Probe};
use crate::litefs::Checksum;
use crate::publish::{classify_io, PublishError, Publisher};
use crate::verify::{check_layout, unmatched, Provenance, VerifyError};

use super::download::{download, DownloadError};
use super::ledger::Ledger;
use super::stamp::Stamp;

/// What a job needs; shared by all jobs of a worker.
pub struct JobContext {
    pub client: Client,
    pub publisher: Arc<Publisher>,
    pub ledger: Ledger,
    pub quick_check: bool,
    pub tables: Vec<String>,
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
    pub fn kind(&self) -> &'static str {
        match self {
            SyncError::LiteFs(e) => e.kind(),
            SyncError::Verify(e) => e.kind(),
            SyncError::Publish(e) => e.kind(),
            SyncError::ReadPublished { .. } => "published_file_unreadable",
            SyncError::Internal(_) => "internal",
        }
    }
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
    /// Runs one sync against the newest published file `known`; `inspect_unchanged`
    /// asks for metadata and row counts even when nothing new is published.
    pub async fn run(
        &self,
        known: Option<Known>,
        inspect_unchanged: bool,
    ) -> Result<Outcome, SyncError> {
        self.sync(known, inspect_unchanged, false).await
    }

    /// A periodic check: when LiteFS's position file shows the published checksum,
    /// nothing is exported; otherwise it is a normal sync.
    pub async fn check(
        &self,
        known: Option<Known>,
        inspect_unchanged: bool,
    ) -> Result<Outcome, SyncError> {
        self.sync(known, inspect_unchanged, true).await
    }

    async fn sync(
        &self,
        known: Option<Known>,
        inspect_unchanged: bool,
        probe_first: bool,
    ) -> Result<Outcome, SyncError> {
        if probe_first {
            if let (Some(known), Some(pos)) = (&known, self.position().await) {
                if pos.checksum == known.checksum {
                    let inspection = match inspect_unchanged {
                        true => self.inspect(known.path.clone()).await,
                        false => None,
                    };
                    return Ok(Outcome::Unchanged {
                        known: known.clone(),
                        provenance: Provenance::Tx(pos.txid),
                        inspection,
                    });
                }
            }
        }
        let staged = {
            let publisher = self.publisher.clone();
            blocking(move || publisher.stage()).await??
        };
        let staged_path = staged.path().to_path_buf();
        let file = staged
            .file()
            .try_clone()
            .map_err(|e| classify_io(&e, &staged_path))?;
        let started = std::time::Instant::now();
        let got = download(&self.client, file, staged_path.clone())
            .await
            .map_err(|e| match e {
                DownloadError::LiteFs(e) => SyncError::LiteFs(e),
                DownloadError::Write { path, source } => classify_io(&source, &path).into(),
            })?;
        let downloaded = started.elapsed();
        if got.summary.len == 0 {
            // LiteFS answers an open but still empty database with an empty body.
            return Err(LiteFsError::NoData {
                db: self.client.database().to_string(),
            }
            .into());
        }
        check_layout(&got.header, &got.summary, got.announced_len)?;
        let checksum = got.summary.checksum;
        // LiteFS's announcements first; its position file (when readable) confirms a
        // snapshot they cannot, e.g. after events were missed.
        let provenance = match self.ledger.wait_for_match(checksum, self.event_grace).await {
            Ok(Provenance::Unconfirmed) => self
                .confirm(checksum)
                .await
                .unwrap_or(Provenance::Unconfirmed),
            Ok(confirmed) => confirmed,
            Err(announced) => self
                .confirm(checksum)
                .await
                .ok_or_else(|| unmatched(checksum, &announced))?,
        };

        if let Some(known) = known.filter(|k| k.checksum == checksum) {
            let inspection = match inspect_unchanged {
                true => self.inspect(known.path.clone()).await,
                false => None,
            };
            return Ok(Outcome::Unchanged {
                known,
                provenance,
                inspection,
            });
        }

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
            Ok::<_, SyncError>(self.inspect(staged_path.clone()).await)
        };
        let (flushed, checked) = tokio::join!(flush, checks);
        let checked_at = started.elapsed();
        let inspection = checked?;
        flushed??;
        let publisher = self.publisher.clone();
        let published = blocking(move || publisher.publish(staged, SystemTime::now())).await??;
        tracing::debug!(
            download_ms = downloaded.as_millis() as u64,
            checks_and_flush_ms = (checked_at - downloaded).as_millis() as u64,
            publish_ms = (started.elapsed() - checked_at).as_millis() as u64,
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
        Ok(Outcome::Published {
            known,
            provenance,
            inspection,
            bytes: got.summary.len,
        })
    }

    async fn position(&self) -> Option<Position> {
        match &self.probe {
            Some(probe) => probe().await,
            None => None,
        }
    }

    /// `Tx` when LiteFS's position file has exactly this checksum.
    async fn confirm(&self, checksum: Checksum) -> Option<Provenance> {
        self.position()
            .await
            .filter(|pos| pos.checksum == checksum)
            .map(|pos| Provenance::Tx(pos.txid))
    }

    /// The newest published file as it describes itself (checksum, metadata, row
    /// counts), without asking LiteFS: what the status shows at start until LiteFS
    /// confirms it or sends something newer. `None` when nothing is published or the
    /// file cannot be read (the first sync replaces it then).
    pub async fn describe_published(&self) -> Option<(Known, Option<Inspection>)> {
        let known = match read_known(&self.publisher).await {
            Ok(known) => known?,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the newest published file");
                return None;
            }
        };
        let inspection = self.inspect(known.path.clone()).await;
        Some((known, inspection))
    }

    /// Reads metadata and row counts; a failure is logged and shown as unknown.
    async fn inspect(&self, path: PathBuf) -> Option<Inspection> {
        let tables = self.tables.clone();
        let shown = path.clone();
        match blocking(move || inspect::inspect(&path, &tables)).await {
            Ok(Ok(i)) => Some(i),
            Ok(Err(e)) => {
                tracing::warn!(path = %shown.display(), error = %e, "could not inspect the database");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "inspection task failed");
                None
            }
        }
    }
}
