//! Follows SQLite's write-ahead log to learn which pages each commit wrote.
//!
//! The WAL is a 32-byte header followed by frames: a 24-byte frame header
//! (page number, database size in pages on a commit frame or 0, two salts,
//! two checksums) and the page. [`WalCursor`] remembers how far it has read
//! and turns newly appended committed frames into page checksums, which is
//! what keeps a commit's cost proportional to the pages it changed.

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::Path;

use anyhow::{bail, ensure, Context};

use crate::checksum::PageChecksums;
use crate::image::exported_page_checksum;

const HEADER_LEN: usize = 32;
const FRAME_HEADER_LEN: usize = 24;
const MAGIC_LE: u32 = 0x377f_0682;
const MAGIC_BE: u32 = 0x377f_0683;

/// The pages one committed transaction wrote, as export checksums.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct WalCommit {
    /// `(pgno, checksum)` in log order: a later entry for a page wins.
    pub(crate) pages: Vec<(u32, u64)>,
    /// The database size in pages after the commit.
    pub(crate) db_pages: u32,
}

impl WalCommit {
    /// Applies the commit to the database's page checksums.
    pub(crate) fn apply(&self, sums: &mut PageChecksums) {
        for &(pgno, sum) in &self.pages {
            sums.set(pgno, sum);
        }
        sums.resize(self.db_pages);
    }
}

/// Read position in one WAL generation (reset after each checkpoint).
#[derive(Debug, Default)]
pub(crate) struct WalCursor {
    /// Bytes of the WAL file consumed: the header and whole transactions.
    offset: u64,
    /// Salts of the current WAL header; frames with other salts are stale.
    salts: Option<[u8; 8]>,
}

impl WalCursor {
    /// Forgets the current WAL generation (call after truncating the WAL).
    pub(crate) fn reset(&mut self) {
        *self = WalCursor::default();
    }

    /// Bytes of WAL read so far.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads the transactions committed to the WAL since the last call.
    pub(crate) fn read_new(
        &mut self,
        path: &Path,
        page_size: u32,
    ) -> anyhow::Result<Vec<WalCommit>> {
        let mut file = match File::open(path) {
            Ok(file) => file,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(err).with_context(|| format!("opening {}", path.display())),
        };
        let len = file
            .metadata()
            .with_context(|| format!("reading metadata of {}", path.display()))?
            .len();
        if len < self.offset {
            bail!(
                "{} shrank to {len} bytes, below the {} already read",
                path.display(),
                self.offset
            );
        }
        file.seek(SeekFrom::Start(self.offset))
            .with_context(|| format!("seeking in {}", path.display()))?;
        let mut buf = Vec::new();
        file.read_to_end(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        self.parse(&buf, page_size)
            .with_context(|| format!("parsing {}", path.display()))
    }

    /// Parses `buf`, the WAL bytes from the current offset on.
    fn parse(&mut self, buf: &[u8], page_size: u32) -> anyhow::Result<Vec<WalCommit>> {
        let mut pos = 0;
        let salts = match self.salts {
            Some(salts) => salts,
            None => {
                if buf.len() < HEADER_LEN {
                    return Ok(Vec::new());
                }
                let magic = be_u32(&buf[0..4]);
                ensure!(
                    magic == MAGIC_LE || magic == MAGIC_BE,
                    "bad WAL magic {magic:#x}"
                );
                let wal_page_size = be_u32(&buf[8..12]);
                ensure!(
                    wal_page_size == page_size,
                    "WAL page size {wal_page_size} differs from the database's {page_size}"
                );
                let mut salts = [0u8; 8];
                salts.copy_from_slice(&buf[16..24]);
                self.salts = Some(salts);
                pos = HEADER_LEN;
                salts
            }
        };
        let frame_len = FRAME_HEADER_LEN + page_size as usize;
        let mut consumed = pos;
        let mut pending = Vec::new();
        let mut commits = Vec::new();
        while buf.len() - pos >= frame_len {
            let frame = &buf[pos..pos + frame_len];
            if frame[8..16] != salts {
                break;
            }
            let pgno = be_u32(&frame[0..4]);
            let db_pages = be_u32(&frame[4..8]);
            ensure!(pgno >= 1, "WAL frame at offset {pos} has page number 0");
            pending.push((
                pgno,
                exported_page_checksum(pgno, &frame[FRAME_HEADER_LEN..]),
            ));
            pos += frame_len;
            if db_pages != 0 {
                commits.push(WalCommit {
                    pages: std::mem::take(&mut pending),
                    db_pages,
                });
                consumed = pos;
            }
        }
        self.offset += consumed as u64;
        Ok(commits)
    }
}

fn be_u32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::page_checksum;

    const PAGE: usize = 512;

    fn header(salts: [u8; 8]) -> Vec<u8> {
        let mut h = vec![0u8; HEADER_LEN];
        h[0..4].copy_from_slice(&MAGIC_LE.to_be_bytes());
        h[8..12].copy_from_slice(&(PAGE as u32).to_be_bytes());
        h[16..24].copy_from_slice(&salts);
        h
    }

    fn frame(pgno: u32, db_pages: u32, salts: [u8; 8], fill: u8) -> Vec<u8> {
        let mut f = vec![0u8; FRAME_HEADER_LEN];
        f[0..4].copy_from_slice(&pgno.to_be_bytes());
        f[4..8].copy_from_slice(&db_pages.to_be_bytes());
        f[8..16].copy_from_slice(&salts);
        f.extend(std::iter::repeat_n(fill, PAGE));
        f
    }

    #[test]
    fn yields_only_committed_transactions_and_resumes() {
        let salts = [1, 2, 3, 4, 5, 6, 7, 8];
        let mut wal = header(salts);
        wal.extend(frame(2, 0, salts, 7));
        wal.extend(frame(3, 3, salts, 8));
        wal.extend(frame(2, 0, salts, 9)); // uncommitted so far
        let mut cursor = WalCursor::default();
        let commits = cursor.parse(&wal, PAGE as u32).unwrap();
        assert_eq!(
            commits,
            vec![WalCommit {
                pages: vec![
                    (2, page_checksum(2, &[7; PAGE])),
                    (3, page_checksum(3, &[8; PAGE]))
                ],
                db_pages: 3,
            }]
        );
        let read = cursor.offset() as usize;
        assert_eq!(read, HEADER_LEN + 2 * (FRAME_HEADER_LEN + PAGE));

        wal.extend(frame(1, 2, salts, 1));
        let commits = cursor.parse(&wal[read..], PAGE as u32).unwrap();
        assert_eq!(commits.len(), 1);
        assert_eq!(commits[0].db_pages, 2);
        assert_eq!(commits[0].pages[0].0, 2);
        let mut page1 = [1u8; PAGE];
        crate::image::patch_header(0, &mut page1);
        assert_eq!(commits[0].pages[1], (1, page_checksum(1, &page1)));
    }

    #[test]
    fn stops_at_frames_of_an_older_generation() {
        let salts = [1; 8];
        let mut wal = header(salts);
        wal.extend(frame(1, 1, salts, 1));
        wal.extend(frame(2, 2, [9; 8], 1));
        let mut cursor = WalCursor::default();
        assert_eq!(cursor.parse(&wal, PAGE as u32).unwrap().len(), 1);
    }

    #[test]
    fn rejects_a_page_size_mismatch() {
        let mut cursor = WalCursor::default();
        assert!(cursor.parse(&header([0; 8]), 4096).is_err());
    }
}
