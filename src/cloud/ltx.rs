//! A streaming decoder for the LTX snapshots LiteFS Cloud serves (`GET /db/snapshot`).
//!
//! The format, as LiteFS v0.5.14's `superfly/ltx` writes it: a 100-byte header (magic
//! `LTX1`, flags, page size, commit, TXIDs, pre-apply checksum…); then, inside one LZ4
//! *frame* when the compress flag is set, each page as a 4-byte big-endian page number
//! and its bytes, ended by a zero page number; then, uncompressed, a 16-byte trailer:
//! the post-apply checksum and the file checksum. The file checksum is `1<<63 |`
//! CRC-64/ISO of every uncompressed byte before it (header, page headers, pages, the
//! trailer's first half); the post-apply checksum is the LiteFS database checksum.
//!
//! [`decode_snapshot`] reads a snapshot once, page by page, writes the SQLite database
//! image to `out` (the lock page, which LTX leaves out, as zeros) and checks everything
//! the format carries: the header's rules for a snapshot, the page numbers 1..=commit in
//! order, the LZ4 frame's own checksums, the file checksum, and that the LiteFS checksum
//! of the pages written equals the trailer's post-apply checksum. Memory is one page and
//! one LZ4 block (64 KiB as LiteFS writes them), whatever the database's size.

use std::io::{self, Read, Write};

use crc_fast::{CrcAlgorithm, Digest};

use crate::error_kind::ErrorKind;
use crate::litefs::checksum::{lock_page, Summary};
use crate::litefs::{Checksum, Checksummer};

/// Bytes in the LTX header.
const HEADER_SIZE: usize = 100;
/// Bytes in a page header (the page number).
const PAGE_HEADER_SIZE: usize = 4;
/// Bytes in the trailer: post-apply checksum, file checksum.
const TRAILER_SIZE: usize = 16;
/// The only header flag: pages are LZ4-compressed.
const FLAG_COMPRESS_LZ4: u32 = 0x1;
/// Set on every LTX checksum so that none is zero.
const CHECKSUM_FLAG: u64 = 1 << 63;
/// The SQLite header a database image starts with, kept for the structural checks.
pub const SQLITE_HEADER: usize = 100;

/// The parts of an LTX header a snapshot is judged by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub flags: u32,
    pub page_size: u32,
    /// The database's size after this file, in pages.
    pub commit: u32,
    pub min_txid: u64,
    pub max_txid: u64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    pub pre_apply: u64,
}

/// What a successfully decoded snapshot was.
#[derive(Clone, Debug)]
pub struct Decoded {
    pub header: Header,
    /// The trailer's post-apply checksum, equal to the LiteFS checksum of the pages.
    pub post_apply: Checksum,
    /// The database image written: its LiteFS checksum, page size and length.
    pub summary: Summary,
    /// The image's first bytes (its SQLite header), for the structural checks.
    pub sqlite_header: Vec<u8>,
}

/// Why a snapshot was refused; each says what was wrong in plain words.
#[derive(Debug, thiserror::Error)]
pub enum LtxError {
    #[error("the snapshot is not an LTX file (bad magic)")]
    NotLtx,
    #[error("the snapshot's header is invalid: {0}")]
    BadHeader(String),
    #[error("the snapshot is not a full snapshot (its transactions start at {0:016x}, not 1)")]
    NotSnapshot(u64),
    #[error("the snapshot is cut short ({0})")]
    Truncated(&'static str),
    #[error("the snapshot's page {got} came where page {expected} was due")]
    PageOrder { expected: u32, got: u32 },
    #[error("the snapshot ended after {pages} pages; its header says {commit}")]
    MissingPages { pages: u32, commit: u32 },
    #[error("the snapshot's compressed data is corrupt: {0}")]
    Compression(String),
    #[error("the snapshot's file checksum does not match: trailer says {expected}, the bytes give {actual}")]
    FileChecksum {
        expected: Checksum,
        actual: Checksum,
    },
    #[error(
        "the snapshot's pages do not give its post-apply checksum: trailer says {expected}, the pages give {actual}"
    )]
    PostApply {
        expected: Checksum,
        actual: Checksum,
    },
    #[error("the snapshot has {0} unexpected bytes after its trailer")]
    TrailingBytes(u64),
    #[error("reading the snapshot failed: {0}")]
    Read(io::Error),
    #[error("writing the database failed: {0}")]
    Write(io::Error),
}

impl LtxError {
    /// A short machine-readable kind for the status.
    pub fn kind(&self) -> ErrorKind {
        match self {
            LtxError::Read(_) => ErrorKind::SnapshotInterrupted,
            LtxError::Write(_) => ErrorKind::WriteFailed,
            LtxError::Truncated(_) | LtxError::MissingPages { .. } => ErrorKind::SnapshotTruncated,
            _ => ErrorKind::BadSnapshot,
        }
    }
}

/// Parses and validates a snapshot's header.
pub fn parse_header(b: &[u8; HEADER_SIZE]) -> Result<Header, LtxError> {
    if &b[0..4] != b"LTX1" {
        return Err(LtxError::NotLtx);
    }
    let u32_at = |at: usize| u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    let u64_at = |at: usize| {
        let mut v = [0u8; 8];
        v.copy_from_slice(&b[at..at + 8]);
        u64::from_be_bytes(v)
    };
    let header = Header {
        flags: u32_at(4),
        page_size: u32_at(8),
        commit: u32_at(12),
        min_txid: u64_at(16),
        max_txid: u64_at(24),
        timestamp: u64_at(32) as i64,
        pre_apply: u64_at(40),
    };
    let bad = |why: String| Err(LtxError::BadHeader(why));
    if header.flags & !FLAG_COMPRESS_LZ4 != 0 {
        return bad(format!("unknown flags {:#010x}", header.flags));
    }
    if !(512..=65536).contains(&header.page_size) || !header.page_size.is_power_of_two() {
        return bad(format!("page size {}", header.page_size));
    }
    if header.min_txid != 1 {
        return Err(LtxError::NotSnapshot(header.min_txid));
    }
    if header.max_txid < header.min_txid {
        return bad(format!("TXID {:016x} before 1", header.max_txid));
    }
    if header.pre_apply != 0 {
        return bad("a snapshot with a pre-apply checksum".into());
    }
    if header.commit == 0 {
        return bad("no pages".into());
    }
    Ok(header)
}

/// Which page number the stream must bring next, after `prev` (pure: the lock page,
/// which LTX leaves out, is skipped). `None` once all `commit` pages came.
pub fn next_pgno(prev: u32, commit: u32, page_size: u32) -> Option<u32> {
    let mut next = prev.checked_add(1)?;
    if u64::from(next) == lock_page(page_size) {
        next = next.checked_add(1)?;
    }
    (next <= commit).then_some(next)
}

/// Decodes a whole snapshot from `input` into `out` (see the module's doc).
pub fn decode_snapshot(mut input: impl Read, out: impl Write) -> Result<Decoded, LtxError> {
    let mut digest = Digest::new(CrcAlgorithm::Crc64GoIso);
    let mut raw = [0u8; HEADER_SIZE];
    read_exact(&mut input, &mut raw, "in its header")?;
    digest.update(&raw);
    let header = parse_header(&raw)?;
    let mut sink = Sink::new(out);
    if header.flags & FLAG_COMPRESS_LZ4 != 0 {
        let mut frame = lz4_flex::frame::FrameDecoder::new(&mut input);
        read_pages(&mut frame, &header, &mut sink, &mut digest)?;
        end_of_frame(&mut frame)?;
    } else {
        read_pages(&mut input, &header, &mut sink, &mut digest)?;
    }
    finish(input, digest, header, sink)
}

/// Reads the page frames up to and including the zero page number, writing each page.
fn read_pages<R: Read, W: Write>(
    r: &mut R,
    header: &Header,
    sink: &mut Sink<W>,
    digest: &mut Digest,
) -> Result<(), LtxError> {
    let page_size = header.page_size as usize;
    let mut page = vec![0u8; page_size];
    let mut prev = 0u32;
    loop {
        let mut pgno = [0u8; PAGE_HEADER_SIZE];
        read_exact(r, &mut pgno, "in a page header")?;
        digest.update(&pgno);
        let pgno = u32::from_be_bytes(pgno);
        match (pgno, next_pgno(prev, header.commit, header.page_size)) {
            (0, None) => {
                // A database that ends on the lock page still has it, as zeros.
                if u64::from(header.commit) == lock_page(header.page_size) {
                    sink.write(&vec![0u8; page_size])?;
                }
                return Ok(());
            }
            (0, Some(_)) => {
                return Err(LtxError::MissingPages {
                    pages: prev,
                    commit: header.commit,
                })
            }
            (got, Some(expected)) if got == expected => {}
            (got, expected) => {
                return Err(LtxError::PageOrder {
                    expected: expected.unwrap_or(0),
                    got,
                })
            }
        }
        read_exact(r, &mut page, "in a page")?;
        digest.update(&page);
        if u64::from(pgno) == lock_page(header.page_size) + 1 {
            sink.write(&vec![0u8; page_size])?;
        }
        sink.write(&page)?;
        prev = pgno;
    }
}

/// Consumes the LZ4 frame's end mark (and checks its content checksum): the next read
/// must say "end of frame" without any more data.
fn end_of_frame<R: Read>(frame: &mut lz4_flex::frame::FrameDecoder<R>) -> Result<(), LtxError> {
    let mut one = [0u8; 1];
    match frame.read(&mut one) {
        Ok(0) => Ok(()),
        Ok(_) => Err(LtxError::Compression(
            "data after the last page in the compressed block".into(),
        )),
        Err(e) => Err(classify(e, "in the compressed pages")),
    }
}

/// Reads the trailer, checks both checksums and that nothing follows.
fn finish<R: Read, W: Write>(
    mut input: R,
    mut digest: Digest,
    header: Header,
    sink: Sink<W>,
) -> Result<Decoded, LtxError> {
    let mut trailer = [0u8; TRAILER_SIZE];
    read_exact(&mut input, &mut trailer, "in its trailer")?;
    digest.update(&trailer[..8]);
    let half = |at: usize| {
        let mut v = [0u8; 8];
        v.copy_from_slice(&trailer[at..at + 8]);
        Checksum(u64::from_be_bytes(v))
    };
    let (post_apply, expected) = (half(0), half(8));
    let actual = Checksum(CHECKSUM_FLAG | digest.finalize());
    if expected != actual {
        return Err(LtxError::FileChecksum { expected, actual });
    }
    let extra = io::copy(&mut input.take(1 << 20), &mut io::sink())
        .map_err(|e| classify(e, "after its trailer"))?;
    if extra > 0 {
        return Err(LtxError::TrailingBytes(extra));
    }
    let (summary, sqlite_header) = sink.finish()?;
    if summary.checksum != post_apply {
        return Err(LtxError::PostApply {
            expected: post_apply,
            actual: summary.checksum,
        });
    }
    Ok(Decoded {
        header,
        post_apply,
        summary,
        sqlite_header,
    })
}

/// Where the database image goes: the output, its LiteFS checksum and its first bytes.
struct Sink<W> {
    out: W,
    sum: Checksummer,
    head: Vec<u8>,
}

impl<W: Write> Sink<W> {
    fn new(out: W) -> Self {
        Sink {
            out,
            sum: Checksummer::new(),
            head: Vec::with_capacity(SQLITE_HEADER),
        }
    }

    fn write(&mut self, page: &[u8]) -> Result<(), LtxError> {
        if self.head.len() < SQLITE_HEADER {
            let take = (SQLITE_HEADER - self.head.len()).min(page.len());
            self.head.extend_from_slice(&page[..take]);
        }
        self.sum.update(page);
        self.out.write_all(page).map_err(LtxError::Write)
    }

    fn finish(mut self) -> Result<(Summary, Vec<u8>), LtxError> {
        self.out.flush().map_err(LtxError::Write)?;
        Ok((self.sum.finish(), self.head))
    }
}

fn read_exact<R: Read>(r: &mut R, buf: &mut [u8], place: &'static str) -> Result<(), LtxError> {
    r.read_exact(buf).map_err(|e| classify(e, place))
}

/// Turns a read error into what it means for the snapshot.
fn classify(e: io::Error, place: &'static str) -> LtxError {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => LtxError::Truncated(place),
        io::ErrorKind::InvalidData => LtxError::Compression(e.to_string()),
        _ => match e
            .get_ref()
            .map(|inner| inner.is::<lz4_flex::frame::Error>())
        {
            Some(true) => LtxError::Compression(e.to_string()),
            _ => LtxError::Read(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use litefs_sim::cloud::{CloudConfig, CloudServer};
    use std::io::{Read, Write};

    /// `GET path` with the stand-in's token, over HTTP/1.0 (the body ends with the
    /// connection): the status and the whole body.
    fn get(server: &CloudServer, token: &str, path: &str) -> (u16, Vec<u8>) {
        let addr = server.url().trim_start_matches("http://").to_string();
        let mut conn = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            conn,
            "GET {path} HTTP/1.0\r\nHost: {addr}\r\nAuthorization: {token}\r\n\r\n"
        )
        .unwrap();
        let mut answer = Vec::new();
        conn.read_to_end(&mut answer).unwrap();
        let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&answer[..split]).into_owned();
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        (status, answer[split + 4..].to_vec())
    }

    /// A small SQLite database (`rows` rows of a few hundred bytes) at `path`.
    fn make_database(path: &std::path::Path, rows: usize) {
        let db = rusqlite::Connection::open(path).unwrap();
        db.execute_batch(
            "PRAGMA page_size = 1024; CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT);",
        )
        .unwrap();
        for i in 0..rows {
            db.execute(
                "INSERT INTO products (name) VALUES (?1)",
                [format!("product {i} {}", "x".repeat(i % 300))],
            )
            .unwrap();
        }
    }

    /// A real snapshot from the project's cloud stand-in (`litefs_sim::cloud`), with the
    /// database it was made from and the position it served.
    fn real_snapshot(rows: usize) -> (Vec<u8>, Vec<u8>, serde_json::Value) {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("cloud.sqlite3");
        make_database(&src, rows);
        let server = CloudServer::start(CloudConfig::new(&src, "test"), "127.0.0.1:0").unwrap();
        let token = server.sim().token();
        let (status, pos) = get(&server, &token, "/pos");
        assert_eq!(status, 200);
        let (status, ltx) = get(&server, &token, "/db/snapshot?db=Domain.sqlite3");
        assert_eq!(status, 200);
        let pos: serde_json::Value = serde_json::from_slice(&pos).unwrap();
        (
            ltx,
            std::fs::read(&src).unwrap(),
            pos["Domain.sqlite3"].clone(),
        )
    }

    fn crc64(data: &[u8]) -> u64 {
        let mut d = Digest::new(CrcAlgorithm::Crc64GoIso);
        d.update(data);
        d.finalize()
    }

    /// An uncompressed LTX snapshot of `db` with the given post-apply checksum and a
    /// correct file checksum.
    fn plain_snapshot(db: &[u8], page_size: u32, post_apply: u64) -> Vec<u8> {
        let mut b = vec![0u8; HEADER_SIZE];
        b[0..4].copy_from_slice(b"LTX1");
        b[8..12].copy_from_slice(&page_size.to_be_bytes());
        let commit = (db.len() / page_size as usize) as u32;
        b[12..16].copy_from_slice(&commit.to_be_bytes());
        b[16..24].copy_from_slice(&1u64.to_be_bytes());
        b[24..32].copy_from_slice(&7u64.to_be_bytes());
        for (i, page) in db.chunks(page_size as usize).enumerate() {
            b.extend_from_slice(&(i as u32 + 1).to_be_bytes());
            b.extend_from_slice(page);
        }
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&post_apply.to_be_bytes());
        let file = CHECKSUM_FLAG | crc64(&b);
        b.extend_from_slice(&file.to_be_bytes());
        b
    }

    #[test]
    fn a_real_snapshot_decodes_to_the_cloud_database_with_its_checksum() {
        let (ltx, db, pos) = real_snapshot(400);
        let mut out = Vec::new();
        let decoded = decode_snapshot(&ltx[..], &mut out).unwrap();
        assert_eq!(out, db, "the image is the cloud's file, byte for byte");
        assert!(ltx.len() < db.len(), "the pages were compressed");
        assert_eq!(decoded.header.flags, FLAG_COMPRESS_LZ4);
        assert_eq!(format!("{:016x}", decoded.header.max_txid), pos["TXID"]);
        assert_eq!(decoded.post_apply.to_string(), pos["PostApplyChecksum"]);
        assert_eq!(decoded.summary.checksum, decoded.post_apply);
        assert_eq!(decoded.summary.len, db.len() as u64);
        assert_eq!(&decoded.sqlite_header[..16], b"SQLite format 3\0");
    }

    #[test]
    fn every_corrupted_or_cut_snapshot_is_refused() {
        let (ltx, db, _) = real_snapshot(400);
        // A cut anywhere, even inside the trailer.
        for len in [
            0,
            50,
            100,
            104,
            ltx.len() / 2,
            ltx.len() - 17,
            ltx.len() - 1,
        ] {
            let err = decode_snapshot(&ltx[..len], io::sink()).unwrap_err();
            assert!(
                matches!(err, LtxError::Truncated(_) | LtxError::Compression(_)),
                "cut at {len}: {err}"
            );
        }
        // A flipped bit anywhere after the header: the LZ4 frame, a page, the trailer.
        // (A flip in an LZ4 match offset inside a run of equal bytes can decode to the
        // very same pages: harmless, and then the result must be exactly the original.)
        for at in (HEADER_SIZE..ltx.len())
            .step_by(97)
            .chain([ltx.len() - 1, ltx.len() - 9])
        {
            let mut bad = ltx.clone();
            bad[at] ^= 0x10;
            let mut out = Vec::new();
            if decode_snapshot(&bad[..], &mut out).is_ok() {
                assert_eq!(out, db, "a flipped bit at {at} changed the pages unnoticed");
            }
        }
        let mut longer = ltx.clone();
        longer.extend_from_slice(b"write snapshot: broken pipe\n");
        assert!(matches!(
            decode_snapshot(&longer[..], io::sink()),
            Err(LtxError::TrailingBytes(28))
        ));
    }

    #[test]
    fn a_wrong_post_apply_checksum_is_refused_even_with_a_valid_file_checksum() {
        let (_, db, _) = real_snapshot(50);
        let right = {
            let mut sum = Checksummer::new();
            sum.update(&db);
            sum.finish().checksum
        };
        let good = plain_snapshot(&db, 1024, right.0);
        let mut out = Vec::new();
        assert_eq!(
            decode_snapshot(&good[..], &mut out).unwrap().post_apply,
            right
        );
        assert_eq!(out, db);
        let bad = plain_snapshot(&db, 1024, right.0 ^ 1);
        assert!(matches!(
            decode_snapshot(&bad[..], io::sink()),
            Err(LtxError::PostApply { .. })
        ));
    }

    #[test]
    fn pages_must_come_in_order_and_all_of_them() {
        let (_, db, _) = real_snapshot(50);
        let mut swapped = db.clone();
        swapped.truncate(2048);
        let mut ltx = plain_snapshot(&swapped, 1024, 0);
        // Page 2's header says 3.
        ltx[HEADER_SIZE + 4 + 1024..][..4].copy_from_slice(&3u32.to_be_bytes());
        assert!(matches!(
            decode_snapshot(&ltx[..], io::sink()),
            Err(LtxError::PageOrder {
                expected: 2,
                got: 3
            })
        ));
        let mut short = plain_snapshot(&swapped, 1024, 0);
        // The header claims a third page that never comes.
        short[12..16].copy_from_slice(&3u32.to_be_bytes());
        assert!(matches!(
            decode_snapshot(&short[..], io::sink()),
            Err(LtxError::MissingPages {
                pages: 2,
                commit: 3
            })
        ));
    }

    #[test]
    fn headers_that_are_not_snapshots_are_refused() {
        let mut h = [0u8; HEADER_SIZE];
        assert!(matches!(parse_header(&h), Err(LtxError::NotLtx)));
        h[0..4].copy_from_slice(b"LTX1");
        h[8..12].copy_from_slice(&4096u32.to_be_bytes());
        h[12..16].copy_from_slice(&2u32.to_be_bytes());
        h[16..24].copy_from_slice(&1u64.to_be_bytes());
        h[24..32].copy_from_slice(&3u64.to_be_bytes());
        assert_eq!(parse_header(&h).unwrap().max_txid, 3);
        let mut incremental = h;
        incremental[16..24].copy_from_slice(&2u64.to_be_bytes());
        assert!(matches!(
            parse_header(&incremental),
            Err(LtxError::NotSnapshot(2))
        ));
        let mut odd = h;
        odd[8..12].copy_from_slice(&1000u32.to_be_bytes());
        assert!(matches!(parse_header(&odd), Err(LtxError::BadHeader(_))));
        let mut flags = h;
        flags[4..8].copy_from_slice(&2u32.to_be_bytes());
        assert!(matches!(parse_header(&flags), Err(LtxError::BadHeader(_))));
    }

    #[test]
    fn the_lock_page_is_skipped_in_the_page_sequence() {
        let lock = lock_page(4096) as u32;
        assert_eq!(next_pgno(0, 3, 4096), Some(1));
        assert_eq!(next_pgno(3, 3, 4096), None);
        assert_eq!(next_pgno(lock - 1, lock + 5, 4096), Some(lock + 1));
        assert_eq!(next_pgno(lock - 1, lock, 4096), None);
    }
}
