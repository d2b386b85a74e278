//! Writes a streamed database into a clone of the last published file, touching only the
//! pages that differ, and verifies the result from those pages alone.
//!
//! The source always delivers whole databases; each incoming page is compared with the
//! base's page at the same place (a positioned read of a file that is most likely in the
//! page cache: it was written or checksummed when it was published) and written into the
//! clone only when it differs. Memory is one page and the list of changed page numbers.
//!
//! Verification: LiteFS's checksum is the XOR of per-page checksums, so the clone's
//! checksum is the base's, XOR the old checksum of every changed (or removed) page, XOR
//! the checksum of every changed page *read back from the clone* at the end. The caller
//! compares that with the stream's own checksum (which must match the source's): a page
//! that was written wrong, a base that was not what its checksum says, or a base that
//! changed while it was compared (its `stat` identity is taken before and after) all give
//! a different value, and the clone is not published. A stream whose page size or page
//! count changed too much, or that changes most pages ([`patch_plan`]), is written whole
//! into the clone and verified like any whole copy, by the stream's checksum.

use std::fs::{File, Metadata};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::PathBuf;

use crate::litefs::checksum::{lock_page, page_checksum, page_size_from_header};
use crate::litefs::Checksum;

use super::patch_plan::{self, Shape};

/// SQLite's header: page size at 16..18, page count at 28..32.
const HEADER: usize = 100;
const FLAG: u64 = 1 << 63;
/// How much of the clone is announced at a time for reading ahead (see [`warm`]).
const WARM_CHUNK: u64 = 4 << 20;

/// The file a clone was made of, and what it is known to hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Base {
    pub path: PathBuf,
    /// The base's LiteFS checksum, as verified when it was published or read.
    pub checksum: Checksum,
}

/// How the pages of a stream are being written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// The first bytes, until the header tells the page size and count.
    Header,
    /// Each complete page compared with the base's, written only when it differs.
    Compare(u32),
    /// Every byte written, in order (the clone is overwritten).
    Whole,
}

/// What a patch wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PatchStats {
    /// Pages compared with the base.
    pub compared: u64,
    /// Pages written into the clone.
    pub pages_written: u64,
    /// Bytes written into the clone.
    pub bytes_written: u64,
}

/// A [`Write`] into a clone of a base, see the module's doc.
pub struct PatchWriter {
    out: File,
    base: File,
    base_path: PathBuf,
    base_identity: Identity,
    base_len: u64,
    base_page_size: Option<u32>,
    base_checksum: Checksum,
    mode: Mode,
    /// Bytes received so far.
    offset: u64,
    /// The header (in [`Mode::Header`]) or the page being assembled (in [`Mode::Compare`]).
    pending: Vec<u8>,
    old: Vec<u8>,
    /// XOR of the old checksums of the changed pages.
    old_sums: u64,
    changed: Vec<u32>,
    stats: PatchStats,
}

/// The `stat` identity of a file's content (see `sync::stamp` for why ctime).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Identity {
    fn of(meta: &Metadata) -> Identity {
        Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

impl PatchWriter {
    /// A writer into `out`, a fresh clone of `base`. Call it right after cloning: the
    /// base's identity taken here must still hold at [`PatchWriter::finish`].
    pub fn open(out: File, base: &Base) -> io::Result<PatchWriter> {
        let file = File::open(&base.path)?;
        let meta = file.metadata()?;
        let mut header = [0u8; 18];
        let base_page_size = match file.read_exact_at(&mut header, 0) {
            Ok(()) => page_size_from_header(&header),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => None,
            Err(e) => return Err(e),
        };
        Ok(PatchWriter {
            out,
            base: file,
            base_path: base.path.clone(),
            base_identity: Identity::of(&meta),
            base_len: meta.len(),
            base_page_size,
            base_checksum: base.checksum,
            mode: Mode::Header,
            offset: 0,
            pending: Vec::with_capacity(HEADER),
            old: Vec::new(),
            old_sums: 0,
            changed: Vec::new(),
            stats: PatchStats::default(),
        })
    }

    /// Decides how to go on once the header is known (or the stream ended before it).
    fn leave_header(&mut self) -> io::Result<()> {
        let incoming = shape(&self.pending);
        let base = self.base_page_size.map(|page_size| Shape {
            page_size,
            pages: self.base_len / u64::from(page_size),
        });
        let header = std::mem::take(&mut self.pending);
        match (base, incoming) {
            (Some(base), Some(incoming)) if patch_plan::compare_pages(base, incoming) => {
                self.mode = Mode::Compare(incoming.page_size);
                self.pending = Vec::with_capacity(incoming.page_size as usize);
                self.old = vec![0; incoming.page_size as usize];
                self.take_pages(&header)
            }
            _ => {
                self.mode = Mode::Whole;
                self.write_whole(&header)
            }
        }
    }

    /// Assembles pages from `data` and compares each complete one.
    fn take_pages(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let Mode::Compare(page_size) = self.mode else {
                return self.write_whole(data);
            };
            let size = page_size as usize;
            if self.pending.is_empty() && data.len() >= size {
                let (page, rest) = data.split_at(size);
                self.compare_page(page, page_size)?;
                data = rest;
                continue;
            }
            let take = (size - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() == size {
                let page = std::mem::take(&mut self.pending);
                self.compare_page(&page, page_size)?;
                self.pending = page;
                self.pending.clear();
            }
        }
        Ok(())
    }

    /// Compares the page that starts at the current offset with the base's; writes it
    /// when it differs (or the base has no such page).
    fn compare_page(&mut self, page: &[u8], page_size: u32) -> io::Result<()> {
        let at = self.offset;
        let pgno = at / u64::from(page_size) + 1;
        self.offset += page.len() as u64;
        self.stats.compared += 1;
        let counted = pgno != lock_page(page_size);
        if at + page.len() as u64 <= self.base_len {
            self.base.read_exact_at(&mut self.old, at)?;
            if self.old == page {
                return self.after_page();
            }
            if counted {
                self.old_sums ^= page_checksum(pgno as u32, &self.old);
            }
        }
        self.out.write_all_at(page, at)?;
        self.stats.pages_written += 1;
        self.stats.bytes_written += page.len() as u64;
        if counted {
            self.changed.push(pgno as u32);
        }
        self.after_page()
    }

    /// Gives up comparing once most pages differ (see [`patch_plan::keep_comparing`]).
    fn after_page(&mut self) -> io::Result<()> {
        if self.offset.is_multiple_of(WARM_CHUNK) {
            warm(&self.out, self.offset - WARM_CHUNK, WARM_CHUNK);
        }
        let changed = self.stats.pages_written;
        if !patch_plan::keep_comparing(changed, self.stats.compared) {
            tracing::debug!(
                changed,
                compared = self.stats.compared,
                "most pages differ; writing the rest of the stream whole"
            );
            self.mode = Mode::Whole;
        }
        Ok(())
    }

    fn write_whole(&mut self, data: &[u8]) -> io::Result<()> {
        self.out.write_all_at(data, self.offset)?;
        self.offset += data.len() as u64;
        self.stats.bytes_written += data.len() as u64;
        Ok(())
    }

    /// Ends the stream: writes what is left, cuts the clone to the stream's length and,
    /// when every page was compared, computes the clone's checksum from the changed pages
    /// (see the module's doc). Returns what was written and that checksum (`None`: the
    /// stream was written whole and is verified by its own checksum).
    pub fn finish(mut self) -> io::Result<(PatchStats, Option<Checksum>)> {
        if self.mode == Mode::Header {
            self.leave_header()?;
        }
        let page_size = match self.mode {
            Mode::Compare(page_size) => Some(page_size),
            _ => None,
        };
        if !self.pending.is_empty() {
            // A partial last page: a truncated stream, which the layout check refuses.
            let rest = std::mem::take(&mut self.pending);
            self.write_whole(&rest)?;
        }
        self.out.set_len(self.offset)?;
        let Some(page_size) = page_size else {
            return Ok((self.stats, None));
        };
        let mut sums = self.base_checksum.0 ^ self.old_sums;
        sums ^= self.removed_pages(page_size)?;
        let mut page = vec![0u8; page_size as usize];
        for &pgno in &self.changed {
            self.out
                .read_exact_at(&mut page, (u64::from(pgno) - 1) * u64::from(page_size))?;
            sums ^= page_checksum(pgno, &page);
        }
        let now = Identity::of(&std::fs::metadata(&self.base_path)?);
        if now != self.base_identity {
            return Err(io::Error::other(format!(
                "{} changed while the new version was compared with it",
                self.base_path.display()
            )));
        }
        Ok((self.stats, Some(Checksum(FLAG | sums))))
    }

    /// XOR of the checksums of the base's pages past the stream's end (cut off).
    fn removed_pages(&mut self, page_size: u32) -> io::Result<u64> {
        let size = u64::from(page_size);
        let mut sums = 0;
        let mut at = self.offset.div_ceil(size) * size;
        while at + size <= self.base_len {
            let pgno = at / size + 1;
            self.base.read_exact_at(&mut self.old, at)?;
            if pgno != lock_page(page_size) {
                sums ^= page_checksum(pgno as u32, &self.old);
            }
            at += size;
        }
        Ok(sums)
    }
}

impl Write for PatchWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self.mode {
            Mode::Header => {
                let take = (HEADER - self.pending.len()).min(data.len());
                self.pending.extend_from_slice(&data[..take]);
                if self.pending.len() == HEADER {
                    self.leave_header()?;
                }
                if take < data.len() {
                    self.take_pages(&data[take..])?;
                }
            }
            Mode::Compare(_) => self.take_pages(data)?,
            Mode::Whole => self.write_whole(data)?,
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Asks the kernel to read `len` bytes of the clone at `at` into its cache in the
/// background. A clone is a new file whose unchanged pages were never read through it,
/// so quick_check would read them all cold after the stream; announced while the bytes
/// still arrive, that reading overlaps the transfer. Only advice: a failure changes
/// nothing but the speed.
#[cfg(target_os = "linux")]
fn warm(file: &File, at: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(at), Ok(len)) = (i64::try_from(at), i64::try_from(len)) else {
        return;
    };
    // SAFETY: posix_fadvise reads no memory of ours; the descriptor is open for `file`'s
    // lifetime.
    unsafe {
        libc::posix_fadvise(file.as_raw_fd(), at, len, libc::POSIX_FADV_WILLNEED);
    }
}

/// Elsewhere the clone is read when quick_check reads it (APFS has `F_RDADVISE`; not
/// measurable here, so not used).
#[cfg(not(target_os = "linux"))]
fn warm(_file: &File, _at: u64, _len: u64) {}

/// Page size and count from a SQLite header (the count only when the header says it is
/// current: bytes 92..96 equal the change counter at 24..28).
fn shape(header: &[u8]) -> Option<Shape> {
    let page_size = page_size_from_header(header)?;
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(header.get(at..at + 4)?.try_into().ok()?))
    };
    let pages = word(28)?;
    (word(92)? == word(24)? && pages > 0).then_some(Shape {
        page_size,
        pages: u64::from(pages),
    })
}

#[cfg(test)]
mod tests;
