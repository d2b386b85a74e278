//! The rules a snapshot must pass before it may be published.
//!
//! Pure checks on what the download saw (header bytes, length, checksum) plus the
//! expected-checksum rule; `PRAGMA quick_check` lives in [`crate::inspect`]. Each failure
//! says what was wrong in words a support person can put in a ticket.

use crate::error_kind::ErrorKind;
use crate::litefs::checksum::{page_size_from_header, Summary};
use crate::litefs::Checksum;

const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Why a snapshot was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the export is empty")]
    Empty,
    #[error("the export is not a SQLite database (bad header)")]
    NotSqlite,
    #[error("the export's header has an invalid page size")]
    BadPageSize,
    #[error(
        "the export is truncated: {len} bytes is not a whole number of {page_size}-byte pages"
    )]
    PartialPage { len: u64, page_size: u32 },
    #[error("the export is truncated: the header says {header_pages} pages but {pages} arrived")]
    PageCount { header_pages: u32, pages: u64 },
    #[error("the export is truncated: LiteFS announced {expected} bytes but {len} arrived")]
    Length { expected: u64, len: u64 },
    #[error(
        "the export's checksum {actual} matches no transaction LiteFS announced \
         (latest: TXID {latest_txid:016x}, checksum {latest}); the copy is corrupt \
         or LiteFS's event was wrong"
    )]
    ChecksumMismatch {
        actual: Checksum,
        latest: Checksum,
        latest_txid: u64,
    },
    #[error("SQLite's quick_check failed: {0}")]
    QuickCheck(String),
}

impl VerifyError {
    /// A short machine-readable kind for the status.
    pub fn kind(&self) -> ErrorKind {
        match self {
            VerifyError::ChecksumMismatch { .. } => ErrorKind::ChecksumMismatch,
            VerifyError::QuickCheck(_) => ErrorKind::QuickCheckFailed,
            _ => ErrorKind::BadExport,
        }
    }
}

/// The shape of a snapshot that passed the structural checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub page_size: u32,
    pub pages: u64,
}

/// Checks the header and the length: a whole number of pages, agreeing with the
/// header's page count (when the header's count is valid) and the announced length.
pub fn check_layout(
    header: &[u8],
    summary: &Summary,
    announced_len: Option<u64>,
) -> Result<Layout, VerifyError> {
    if summary.len == 0 {
        return Err(VerifyError::Empty);
    }
    if let Some(expected) = announced_len {
        if expected != summary.len {
            return Err(VerifyError::Length {
                expected,
                len: summary.len,
            });
        }
    }
    if header.len() < 100 || &header[..16] != MAGIC {
        return Err(VerifyError::NotSqlite);
    }
    let page_size = page_size_from_header(header).ok_or(VerifyError::BadPageSize)?;
    if !summary.len.is_multiple_of(u64::from(page_size)) {
        return Err(VerifyError::PartialPage {
            len: summary.len,
            page_size,
        });
    }
    let pages = summary.len / u64::from(page_size);
    if let Some(header_pages) = header_page_count(header) {
        if u64::from(header_pages) != pages {
            return Err(VerifyError::PageCount {
                header_pages,
                pages,
            });
        }
    }
    Ok(Layout { page_size, pages })
}

/// The in-header database size, when SQLite marks it valid (bytes 28..32, valid when the
/// change counter at 24..28 equals the version-valid-for number at 92..96).
fn header_page_count(header: &[u8]) -> Option<u32> {
    let be = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let pages = be(28);
    (pages != 0 && be(24) == be(92)).then_some(pages)
}

/// A transaction LiteFS announced: its TXID and post-apply checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Announced {
    pub txid: u64,
    pub checksum: Checksum,
}

/// What the checksum says about a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provenance {
    /// Exactly the database after this transaction.
    Tx(u64),
    /// LiteFS's current position is unknown (no transaction announced since the event
    /// stream (re)connected, so its event may have been missed); the structural checks
    /// and quick_check are all we have.
    Unconfirmed,
}

/// Matches a snapshot's checksum against the transactions LiteFS announced (newest
/// last). `gap` says whether events may have been missed since the last announcement
/// (start-up, or the stream dropped and nothing arrived since). `None` means "no match
/// yet": the caller may wait briefly for the event of a transaction that landed during
/// the export, then report [`unmatched`].
pub fn match_checksum(actual: Checksum, announced: &[Announced], gap: bool) -> Option<Provenance> {
    let found = announced
        .iter()
        .rev()
        .find(|a| a.checksum == actual)
        .map(|a| Provenance::Tx(a.txid));
    found.or(gap.then_some(Provenance::Unconfirmed))
}

/// The error for a snapshot no announced transaction matches.
pub fn unmatched(actual: Checksum, announced: &[Announced]) -> VerifyError {
    let latest = announced.last().copied().unwrap_or(Announced {
        txid: 0,
        checksum: Checksum(0),
    });
    VerifyError::ChecksumMismatch {
        actual,
        latest: latest.checksum,
        latest_txid: latest.txid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::litefs::Checksummer;

    fn vector() -> Vec<u8> {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/testdata/litefs-checksum/database"
        ))
        .expect("test vector")
    }

    fn summary(data: &[u8]) -> Summary {
        let mut s = Checksummer::new();
        s.update(data);
        s.finish()
    }

    #[test]
    fn the_test_vector_passes() {
        let db = vector();
        let layout = check_layout(&db[..100], &summary(&db), Some(40960)).unwrap();
        assert_eq!(
            layout,
            Layout {
                page_size: 4096,
                pages: 10
            }
        );
    }

    #[test]
    fn truncation_is_caught_every_way() {
        let db = vector();
        let half = &db[..4096 * 5 + 1000];
        assert!(matches!(
            check_layout(&db[..100], &summary(half), None),
            Err(VerifyError::PartialPage { .. })
        ));
        let whole_pages = &db[..4096 * 5];
        assert_eq!(
            check_layout(&db[..100], &summary(whole_pages), None),
            Err(VerifyError::PageCount {
                header_pages: 10,
                pages: 5
            })
        );
        assert_eq!(
            check_layout(&db[..100], &summary(&db), Some(50000)),
            Err(VerifyError::Length {
                expected: 50000,
                len: 40960
            })
        );
    }

    #[test]
    fn non_sqlite_and_empty_are_refused() {
        let junk = vec![b'x'; 8192];
        assert_eq!(
            check_layout(&junk[..100], &summary(&junk), None),
            Err(VerifyError::NotSqlite)
        );
        assert_eq!(
            check_layout(&[], &summary(&[]), None),
            Err(VerifyError::Empty)
        );
        let mut db = vector();
        db[16] = 0;
        db[17] = 3;
        assert_eq!(
            check_layout(&db[..100], &summary(&db), None),
            Err(VerifyError::BadPageSize)
        );
    }

    #[test]
    fn checksum_matching_labels_with_the_txid() {
        let a = |txid, c| Announced {
            txid,
            checksum: Checksum(c),
        };
        let announced = [a(1, 10), a(2, 20), a(3, 30)];
        assert_eq!(
            match_checksum(Checksum(20), &announced, false),
            Some(Provenance::Tx(2))
        );
        assert_eq!(
            match_checksum(Checksum(20), &announced, true),
            Some(Provenance::Tx(2))
        );
        assert_eq!(match_checksum(Checksum(99), &announced, false), None);
        let err = unmatched(Checksum(99), &announced);
        assert_eq!(err.kind(), ErrorKind::ChecksumMismatch);
        assert!(err.to_string().contains("0000000000000003"), "{err}");
    }

    #[test]
    fn after_a_gap_an_unknown_checksum_is_unconfirmed_not_refused() {
        let announced = [Announced {
            txid: 1,
            checksum: Checksum(10),
        }];
        assert_eq!(
            match_checksum(Checksum(99), &announced, true),
            Some(Provenance::Unconfirmed)
        );
        assert_eq!(
            match_checksum(Checksum(99), &[], true),
            Some(Provenance::Unconfirmed)
        );
    }
}
