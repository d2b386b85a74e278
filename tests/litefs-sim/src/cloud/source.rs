//! The cloud's database: a SQLite file on disk, and the position the backup service gives
//! each version of it.
//!
//! A new version is written beside the file and renamed over it. Each version whose
//! LiteFS checksum differs from the last one gets the next TXID, as a LiteFS primary's
//! backups do: the first is 2 (TXID 1 was LiteFS's switch to WAL), and going back to
//! older content (a restore) moves *forward* to a new TXID that holds it. The timestamp
//! is the file's modification time (the commit time LTX headers carry).

use std::fs::{File, Metadata};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use anyhow::Context;

use crate::checksum::{header_page_size, page_checksum, scan_pages};

/// The TXID of the first version the service holds.
pub const FIRST_TXID: u64 = 2;

/// One version of the database: where it is in the TXID sequence, and its shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version {
    pub txid: u64,
    /// The LiteFS checksum (the LTX post-apply checksum).
    pub checksum: u64,
    pub page_size: u32,
    pub pages: u32,
    pub timestamp: SystemTime,
}

/// What identifies a file's content without reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileKey {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
}

impl FileKey {
    fn of(meta: &Metadata) -> FileKey {
        FileKey {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        }
    }
}

#[derive(Default)]
struct Known {
    key: Option<FileKey>,
    version: Option<Version>,
}

/// The database file and the versions seen of it.
pub struct Source {
    path: PathBuf,
    known: Mutex<Known>,
}

impl Source {
    pub fn new(path: &Path) -> Source {
        Source {
            path: path.to_path_buf(),
            known: Mutex::default(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current version (`None`: no database yet, or an empty file).
    pub fn current(&self) -> anyhow::Result<Option<Version>> {
        match File::open(&self.path) {
            Ok(mut file) => self.version_of(&mut file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("opening {}", self.path.display())),
        }
    }

    /// The version an open file holds, read (and numbered) when it is new.
    pub fn version_of(&self, file: &mut File) -> anyhow::Result<Option<Version>> {
        let meta = file.metadata().context("reading the database's metadata")?;
        let key = FileKey::of(&meta);
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if known.key == Some(key) {
            return Ok(known.version);
        }
        if meta.len() == 0 {
            return Ok(None);
        }
        let (checksum, page_size, pages) = checksum_file(file, meta.len())?;
        let timestamp = meta.modified().unwrap_or_else(|_| SystemTime::now());
        let txid = match known.version {
            Some(last) if last.checksum == checksum => last.txid,
            Some(last) => last.txid + 1,
            None => FIRST_TXID,
        };
        let version = Version {
            txid,
            checksum,
            page_size,
            pages,
            timestamp,
        };
        *known = Known {
            key: Some(key),
            version: Some(version),
        };
        Ok(Some(version))
    }
}

/// The LiteFS checksum, page size and page count of the open database `file`.
fn checksum_file(file: &mut File, len: u64) -> anyhow::Result<(u64, u32, u32)> {
    use std::io::{Seek, SeekFrom};
    let mut header = [0u8; 100];
    file.seek(SeekFrom::Start(0))?;
    file.read_exact(&mut header)
        .context("reading the SQLite header")?;
    let page_size = header_page_size(&header)?;
    anyhow::ensure!(
        len.is_multiple_of(u64::from(page_size)),
        "the database is {len} bytes, not a whole number of {page_size}-byte pages"
    );
    let pages = u32::try_from(len / u64::from(page_size)).context("too many pages")?;
    file.seek(SeekFrom::Start(0))?;
    let sums = scan_pages(&mut *file, page_size, pages, page_checksum)?;
    Ok((sums.checksum(), page_size, pages))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(path: &Path, rows: usize) {
        let tmp = path.with_extension("tmp");
        let _ = std::fs::remove_file(&tmp);
        let db = rusqlite::Connection::open(&tmp).unwrap();
        db.execute_batch("CREATE TABLE t (x TEXT);").unwrap();
        for i in 0..rows {
            db.execute("INSERT INTO t VALUES (?1)", [format!("row {i}")])
                .unwrap();
        }
        drop(db);
        std::fs::rename(&tmp, path).unwrap();
    }

    #[test]
    fn versions_are_numbered_as_litefs_backups_are() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cloud.sqlite3");
        let source = Source::new(&path);
        assert_eq!(source.current().unwrap(), None, "no file: no database");

        database(&path, 10);
        let first = source.current().unwrap().unwrap();
        assert_eq!(first.txid, FIRST_TXID);
        assert_eq!(first.checksum, crate::database_checksum(&path).unwrap());
        assert_eq!(
            source.current().unwrap(),
            Some(first),
            "unchanged: same version"
        );

        let old = std::fs::read(&path).unwrap();
        database(&path, 20);
        let second = source.current().unwrap().unwrap();
        assert_eq!(second.txid, FIRST_TXID + 1);
        assert_ne!(second.checksum, first.checksum);

        // A restore: the old content comes back under a new, higher TXID.
        std::fs::write(path.with_extension("old"), &old).unwrap();
        std::fs::rename(path.with_extension("old"), &path).unwrap();
        let restored = source.current().unwrap().unwrap();
        assert_eq!(restored.txid, FIRST_TXID + 2);
        assert_eq!(restored.checksum, first.checksum);
    }
}
