//! The simulated database on disk and its LiteFS position.
//!
//! SQLite runs in WAL mode with automatic checkpoints off. After each commit
//! the new WAL frames update the per-page checksums, so a commit costs
//! O(pages changed). The database file itself only changes at a checkpoint,
//! which is what lets exports stream it without blocking commits.

use std::fs;
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{ensure, Context};
use fastrand::Rng;
use rusqlite::Connection;
use tracing::{info, warn};

use crate::checksum::{scan_pages, PageChecksums};
use crate::events::TxEvent;
use crate::generate::generate;
use crate::image::exported_page_checksum;
use crate::position::{read_pos_file, write_pos_file, Position};
use crate::time::rfc3339_millis;
use crate::wal::WalCursor;
use crate::{workload, SimConfig};

/// The database, its page checksums and its transaction ID.
pub(crate) struct Store {
    conn: Connection,
    db_name: String,
    db_path: PathBuf,
    wal_path: PathBuf,
    pos_path: PathBuf,
    seed: u64,
    page_size: u32,
    sums: PageChecksums,
    wal: WalCursor,
    txid: u64,
}

/// A consistent database image: pages `1..=pages` of the file at `path`.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) path: PathBuf,
    pub(crate) position: Position,
}

impl Snapshot {
    /// Size of the image in bytes.
    pub(crate) fn len(&self) -> u64 {
        u64::from(self.position.pages) * u64::from(self.position.page_size)
    }
}

impl Store {
    /// Opens the database in `config.data_dir`, generating it first if needed.
    pub(crate) fn open(config: &SimConfig) -> anyhow::Result<Store> {
        ensure!(config.size_mb >= 1, "size_mb must be at least 1");
        let dir = &config.data_dir;
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let db_path = dir.join(&config.db_name);
        let fresh = !db_path
            .try_exists()
            .with_context(|| format!("checking {}", db_path.display()))?;
        if fresh {
            // Generate under a hidden name so a crash never leaves a partial database.
            let tmp = dir.join(format!(".{}.generating", config.db_name));
            generate(&tmp, config.size_mb, config.seed)?;
            fs::rename(&tmp, &db_path)
                .with_context(|| format!("renaming {} into place", tmp.display()))?;
        }

        let conn =
            Connection::open(&db_path).with_context(|| format!("opening {}", db_path.display()))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .context("switching to WAL mode")?;
        ensure!(mode == "wal", "SQLite refused WAL mode (got {mode})");
        // No temporary files: a `FROM scratch` container has no /tmp.
        conn.execute_batch(
            "PRAGMA wal_autocheckpoint = 0; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;",
        )
        .context("setting pragmas")?;
        let page_size: u32 = conn
            .query_row("PRAGMA page_size", [], |row| row.get(0))
            .context("reading the page size")?;

        let mut store = Store {
            conn,
            db_name: config.db_name.clone(),
            wal_path: dir.join(format!("{}-wal", config.db_name)),
            pos_path: dir.join(format!("{}-pos", config.db_name)),
            db_path,
            seed: config.seed,
            page_size,
            sums: PageChecksums::new(page_size),
            wal: WalCursor::default(),
            txid: 0,
        };
        store.checkpoint()?;
        let pages: u32 = store
            .conn
            .query_row("PRAGMA page_count", [], |row| row.get(0))
            .context("reading the page count")?;
        let file = fs::File::open(&store.db_path)
            .with_context(|| format!("opening {}", store.db_path.display()))?;
        store.sums = scan_pages(file, page_size, pages, exported_page_checksum)
            .with_context(|| format!("checksumming {}", store.db_path.display()))?;

        let checksum = store.sums.checksum();
        store.txid = match read_pos_file(&store.pos_path)? {
            _ if fresh => 1,
            Some((txid, saved)) if saved == checksum => txid,
            Some((txid, _)) => {
                warn!(
                    txid,
                    "database changed since the position was saved; counting a transaction"
                );
                txid + 1
            }
            None => 1,
        };
        write_pos_file(&store.pos_path, store.txid, checksum)?;
        info!(
            db = %store.db_path.display(),
            txid = format_args!("{:016x}", store.txid),
            checksum = format_args!("{checksum:016x}"),
            pages,
            "database ready"
        );
        Ok(store)
    }

    pub(crate) fn db_name(&self) -> &str {
        &self.db_name
    }

    pub(crate) fn position(&self) -> Position {
        Position {
            txid: self.txid,
            checksum: self.sums.checksum(),
            page_size: self.page_size,
            pages: self.sums.pages(),
        }
    }

    /// Commits one realistic transaction and returns its event.
    pub(crate) fn commit(&mut self) -> anyhow::Result<TxEvent> {
        let now = SystemTime::now();
        let next = self.txid + 1;
        let mut rng = Rng::with_seed(self.seed ^ next.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let tx = self.conn.transaction().context("starting a transaction")?;
        workload::apply(&tx, &mut rng, now)?;
        tx.commit().context("committing")?;

        let commits = self.wal.read_new(&self.wal_path, self.page_size)?;
        ensure!(!commits.is_empty(), "the commit left no frames in the WAL");
        for commit in &commits {
            commit.apply(&mut self.sums);
        }
        self.txid = next;
        let position = self.position();
        write_pos_file(&self.pos_path, position.txid, position.checksum)?;
        Ok(TxEvent {
            db: self.db_name.clone(),
            position,
            timestamp: rfc3339_millis(now),
        })
    }

    /// Bytes in the WAL since the last checkpoint (0: the file is current).
    pub(crate) fn wal_bytes(&self) -> u64 {
        self.wal.offset()
    }

    /// Copies the WAL into the database file and truncates the WAL.
    ///
    /// The caller must make sure no export is reading the database file.
    pub(crate) fn checkpoint(&mut self) -> anyhow::Result<()> {
        let (busy, log, done): (i64, i64, i64) = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .context("checkpointing")?;
        ensure!(
            busy == 0,
            "checkpoint was blocked ({done} of {log} frames copied)"
        );
        self.wal.reset();
        Ok(())
    }

    /// The current image, valid while the WAL is empty (right after a checkpoint).
    pub(crate) fn snapshot(&self) -> anyhow::Result<Snapshot> {
        ensure!(
            self.wal_bytes() == 0,
            "the database file is behind the WAL; checkpoint first"
        );
        Ok(Snapshot {
            path: self.db_path.clone(),
            position: self.position(),
        })
    }
}
