//! The LiteFS database checksum: a page checksum per page, XOR-ed together.
//!
//! Page checksum = `1<<63 | CRC-64/GO-ISO(pgno as big-endian u32 ‖ page)`;
//! database checksum = `1<<63 | XOR of the page checksums`, skipping the
//! SQLite lock page. [`PageChecksums`] keeps the per-page values so that a
//! commit updates the database checksum in O(pages changed).

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use anyhow::{bail, ensure, Context};
use crc::{Crc, Table, CRC_64_GO_ISO};

const CRC64: Crc<u64, Table<16>> = Crc::<u64, Table<16>>::new(&CRC_64_GO_ISO);

/// Bit that LiteFS sets on every checksum it reports.
const CHECKSUM_FLAG: u64 = 1 << 63;

/// The checksum of one page, as LiteFS computes it.
pub(crate) fn page_checksum(pgno: u32, page: &[u8]) -> u64 {
    let mut digest = CRC64.digest();
    digest.update(&pgno.to_be_bytes());
    digest.update(page);
    CHECKSUM_FLAG | digest.finalize()
}

/// The page SQLite reserves for its file locks (never written, never checksummed).
pub(crate) fn lock_page(page_size: u32) -> u32 {
    0x4000_0000 / page_size + 1
}

/// The page size stored in a SQLite header (bytes 16..18; 1 means 65536).
pub(crate) fn header_page_size(header: &[u8]) -> anyhow::Result<u32> {
    ensure!(header.len() >= 100, "SQLite header is too short");
    ensure!(
        header.starts_with(b"SQLite format 3\0"),
        "not a SQLite database (bad magic)"
    );
    let raw = u32::from(u16::from_be_bytes([header[16], header[17]]));
    let page_size = if raw == 1 { 65536 } else { raw };
    ensure!(
        page_size.is_power_of_two() && (512..=65536).contains(&page_size),
        "invalid page size {page_size} in SQLite header"
    );
    Ok(page_size)
}

/// The LiteFS checksum of a SQLite database file, computed from scratch.
///
/// Reads the file page by page (constant memory). This is the independent
/// oracle the tests compare the simulator's incremental position against.
pub fn database_checksum(path: &Path) -> anyhow::Result<u64> {
    let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let len = file
        .metadata()
        .with_context(|| format!("reading metadata of {}", path.display()))?
        .len();
    let mut header = [0u8; 100];
    file.read_exact(&mut header)
        .with_context(|| format!("reading the header of {}", path.display()))?;
    let page_size = header_page_size(&header)?;
    if len % u64::from(page_size) != 0 {
        bail!(
            "{} is {len} bytes, not a whole number of {page_size}-byte pages",
            path.display()
        );
    }
    file.seek(SeekFrom::Start(0))
        .with_context(|| format!("seeking in {}", path.display()))?;
    let pages = u32::try_from(len / u64::from(page_size)).context("database has too many pages")?;
    let sums = scan_pages(&mut file, page_size, pages, page_checksum)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(sums.checksum())
}

/// Checksums pages `1..=pages` read from `reader`, with `page_sum` per page.
pub(crate) fn scan_pages(
    reader: impl Read,
    page_size: u32,
    pages: u32,
    page_sum: impl Fn(u32, &[u8]) -> u64,
) -> anyhow::Result<PageChecksums> {
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    let mut sums = PageChecksums::new(page_size);
    sums.sums.reserve(pages as usize);
    let mut page = vec![0u8; page_size as usize];
    for pgno in 1..=pages {
        reader
            .read_exact(&mut page)
            .with_context(|| format!("reading page {pgno}"))?;
        sums.set(pgno, page_sum(pgno, &page));
    }
    Ok(sums)
}

/// Per-page checksums of a database and their running XOR.
#[derive(Debug)]
pub(crate) struct PageChecksums {
    page_size: u32,
    /// Index `pgno - 1`; the lock page holds 0 and never counts.
    sums: Vec<u64>,
    xor: u64,
}

impl PageChecksums {
    pub(crate) fn new(page_size: u32) -> PageChecksums {
        PageChecksums {
            page_size,
            sums: Vec::new(),
            xor: 0,
        }
    }

    /// Number of pages in the database.
    pub(crate) fn pages(&self) -> u32 {
        // The length only grows through `set`/`resize`, both bounded by u32 page numbers.
        u32::try_from(self.sums.len()).unwrap_or(u32::MAX)
    }

    /// The database checksum.
    pub(crate) fn checksum(&self) -> u64 {
        CHECKSUM_FLAG | self.xor
    }

    /// Records the checksum of page `pgno`, growing the database if needed.
    pub(crate) fn set(&mut self, pgno: u32, sum: u64) {
        assert!(pgno >= 1, "page numbers start at 1");
        let sum = if pgno == lock_page(self.page_size) {
            0
        } else {
            sum
        };
        if pgno > self.pages() {
            // Pages in between count as zero-filled; this one is appended.
            self.resize(pgno - 1);
            self.xor ^= sum;
            self.sums.push(sum);
            return;
        }
        let slot = &mut self.sums[pgno as usize - 1];
        self.xor ^= *slot ^ sum;
        *slot = sum;
    }

    /// Sets the page count. Pages dropped stop counting; pages added count
    /// as zero-filled until their content is recorded with [`Self::set`].
    pub(crate) fn resize(&mut self, pages: u32) {
        while self.pages() > pages {
            if let Some(sum) = self.sums.pop() {
                self.xor ^= sum;
            }
        }
        if self.pages() < pages {
            let zero = vec![0u8; self.page_size as usize];
            let lock = lock_page(self.page_size);
            for pgno in self.pages() + 1..=pages {
                let sum = if pgno == lock {
                    0
                } else {
                    page_checksum(pgno, &zero)
                };
                self.xor ^= sum;
                self.sums.push(sum);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/litefs-checksum/database"
    );

    #[test]
    fn matches_the_litefs_test_vector() {
        let sum = database_checksum(Path::new(VECTOR)).unwrap();
        assert_eq!(sum, 0xfe38_31a3_81c6_02b9, "got {sum:016x}");
    }

    #[test]
    fn incremental_updates_equal_a_fresh_computation() {
        let page_size = 512;
        let pages: Vec<Vec<u8>> = (0..6u8).map(|i| vec![i; page_size]).collect();
        let mut fresh = PageChecksums::new(page_size as u32);
        for (i, page) in pages.iter().enumerate() {
            fresh.set(i as u32 + 1, page_checksum(i as u32 + 1, page));
        }

        let mut incremental = PageChecksums::new(page_size as u32);
        incremental.set(3, page_checksum(3, &[9; 512]));
        assert_eq!(incremental.pages(), 3);
        incremental.set(1, page_checksum(1, &[9; 512]));
        incremental.resize(8);
        for (i, page) in pages.iter().enumerate().rev() {
            incremental.set(i as u32 + 1, page_checksum(i as u32 + 1, page));
        }
        incremental.resize(6);
        assert_eq!(incremental.pages(), 6);
        assert_eq!(incremental.checksum(), fresh.checksum());
    }

    #[test]
    fn lock_page_does_not_count() {
        assert_eq!(lock_page(4096), 262_145);
        let lock = lock_page(65536);
        let mut sums = PageChecksums::new(65536);
        for pgno in 1..lock {
            sums.set(pgno, u64::from(pgno));
        }
        let before = sums.checksum();
        sums.set(lock, 12345);
        sums.set(lock + 1, 7);
        assert_eq!(sums.pages(), lock + 1);
        assert_eq!(sums.checksum(), before ^ 7);
        sums.resize(lock - 1);
        assert_eq!(sums.checksum(), before);
    }
}
