//! The simulator handle: configuration, commits, position, fault modes,
//! and the locking that keeps exports consistent.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::{anyhow, Context};
use tokio::sync::{broadcast, OwnedRwLockReadGuard, RwLock};
use tokio::task::spawn_blocking;
use tokio::time::{sleep_until, Instant};

use crate::events::TxEvent;
use crate::misbehaviour::Misbehaviour;
use crate::position::Position;
use crate::store::{Snapshot, Store};

/// Checkpoint after a commit once the WAL holds this many bytes.
const CHECKPOINT_WAL_BYTES: u64 = 4 << 20;

/// Events buffered per `/events` subscriber before it counts as lagging.
const EVENT_BUFFER: usize = 1024;

/// How to set up a simulator.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Holds `<db>` (the SQLite file) and `<db>-pos`; created if missing.
    pub data_dir: PathBuf,
    /// Database name, as in `/export?name=` and `tx` events.
    pub db_name: String,
    /// Approximate size of a generated database in MiB (1..=1024).
    pub size_mb: u64,
    /// Seed of the generator and of the transactions.
    pub seed: u64,
    /// Commit one transaction every interval while serving (`None`: only on request).
    pub tx_interval: Option<Duration>,
}

impl SimConfig {
    /// Defaults: `Domain.sqlite3`, 8 MiB, seed 1, no automatic transactions.
    pub fn new(data_dir: impl Into<PathBuf>) -> SimConfig {
        SimConfig {
            data_dir: data_dir.into(),
            db_name: "Domain.sqlite3".to_owned(),
            size_mb: 8,
            seed: 1,
            tx_interval: None,
        }
    }
}

/// A running simulator; cheap to clone.
#[derive(Clone)]
pub struct Sim {
    inner: Arc<Inner>,
}

struct Inner {
    db_name: String,
    tx_interval: Option<Duration>,
    store: Mutex<Store>,
    /// Shared while an export streams the database file; exclusive to
    /// checkpoint into it. Commits only append to the WAL.
    file_lock: Arc<RwLock<()>>,
    position: Mutex<Position>,
    events: broadcast::Sender<TxEvent>,
    misbehaviour: Mutex<Misbehaviour>,
    /// `/export` requests for the database, counted as they arrive.
    exports: AtomicU64,
}

impl Sim {
    /// Opens the database in `config.data_dir`, generating it if it does not exist.
    ///
    /// Blocking: generation takes about 20 ms per MiB (release build), and opening an
    /// existing database reads it once to compute its checksum. A fresh
    /// database starts at TXID 1; an existing one resumes from its `-pos`
    /// file (one more if the database changed while nothing was serving it).
    pub fn create(config: SimConfig) -> anyhow::Result<Sim> {
        let store = Store::open(&config)?;
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        Ok(Sim {
            inner: Arc::new(Inner {
                db_name: store.db_name().to_owned(),
                tx_interval: config.tx_interval,
                position: Mutex::new(store.position()),
                store: Mutex::new(store),
                file_lock: Arc::new(RwLock::new(())),
                events,
                misbehaviour: Mutex::new(Misbehaviour::None),
                exports: AtomicU64::new(0),
            }),
        })
    }

    /// Serves the HTTP API on `listener` until this future is dropped.
    ///
    /// Dropping it also closes every open connection. With
    /// `tx_interval` set, it also commits a transaction every interval.
    pub async fn serve(&self, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
        crate::http::serve(self.clone(), listener).await
    }

    /// Commits `n` realistic transactions, each its own SQLite transaction
    /// and `tx` event; returns the position after the last.
    pub async fn commit(&self, n: usize) -> anyhow::Result<Position> {
        let inner = self.inner.clone();
        spawn_blocking(move || {
            for _ in 0..n {
                inner.commit_one()?;
            }
            Ok(inner.position())
        })
        .await
        .context("commit task failed")?
    }

    /// Commits `n` transactions spread evenly over `over`.
    pub async fn burst(&self, n: usize, over: Duration) -> anyhow::Result<Position> {
        let start = Instant::now();
        for i in 0..n {
            sleep_until(start + over.mul_f64(i as f64 / n as f64)).await;
            self.commit(1).await?;
        }
        Ok(self.position())
    }

    /// The position after the last commit.
    pub fn position(&self) -> Position {
        self.inner.position()
    }

    /// Sets the fault mode (stays until set back to [`Misbehaviour::None`]).
    pub fn set_misbehaviour(&self, m: Misbehaviour) {
        *lock(&self.inner.misbehaviour) = m;
    }

    /// The current fault mode.
    pub fn misbehaviour(&self) -> Misbehaviour {
        *lock(&self.inner.misbehaviour)
    }

    /// How many exports of the database were asked for so far: a client's checks,
    /// counted (a test waits for the next one instead of for the clock).
    pub fn exports(&self) -> u64 {
        self.inner.exports.load(Ordering::SeqCst)
    }

    pub(crate) fn db_name(&self) -> &str {
        &self.inner.db_name
    }

    pub(crate) fn tx_interval(&self) -> Option<Duration> {
        self.inner.tx_interval
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<TxEvent> {
        self.inner.events.subscribe()
    }

    /// A consistent image to export, and the guard that keeps the database
    /// file unchanged while it streams (commits go on, into the WAL).
    pub(crate) async fn export_snapshot(
        &self,
    ) -> anyhow::Result<(OwnedRwLockReadGuard<()>, Snapshot)> {
        self.inner.exports.fetch_add(1, Ordering::SeqCst);
        let inner = self.inner.clone();
        let current = spawn_blocking(move || -> anyhow::Result<_> {
            let store = inner.store()?;
            if store.wal_bytes() == 0 {
                if let Ok(guard) = inner.file_lock.clone().try_read_owned() {
                    return Ok(Some((guard, store.snapshot()?)));
                }
            }
            Ok(None)
        })
        .await
        .context("export task failed")??;
        if let Some(found) = current {
            return Ok(found);
        }
        // Checkpoint first; that needs the file to ourselves.
        let guard = self.inner.file_lock.clone().write_owned().await;
        let inner = self.inner.clone();
        spawn_blocking(move || {
            let mut store = inner.store()?;
            store.checkpoint()?;
            let snapshot = store.snapshot()?;
            Ok((guard.downgrade(), snapshot))
        })
        .await
        .context("export task failed")?
    }
}

impl Inner {
    fn store(&self) -> anyhow::Result<MutexGuard<'_, Store>> {
        self.store
            .lock()
            .map_err(|_| anyhow!("the database state was poisoned by a panic"))
    }

    fn position(&self) -> Position {
        lock(&self.position).clone()
    }

    fn commit_one(&self) -> anyhow::Result<()> {
        let mut store = self.store()?;
        let event = store.commit()?;
        if store.wal_bytes() > CHECKPOINT_WAL_BYTES {
            // Skipped while an export streams the file; the next one catches up.
            if let Ok(_exclusive) = self.file_lock.try_write() {
                store.checkpoint()?;
            }
        }
        *lock(&self.position) = event.position.clone();
        // No subscribers is fine.
        let _ = self.events.send(event);
        Ok(())
    }
}

/// Locks plain data, ignoring poisoning (a panic cannot leave it half-updated).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
