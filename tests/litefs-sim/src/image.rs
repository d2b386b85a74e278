//! What an exported database image looks like.
//!
//! The simulator runs SQLite in WAL mode, but a LiteFS export is a plain
//! rollback-journal database: pages 1..N of the checkpointed file with the
//! header's read/write format versions (bytes 18 and 19) set to 1. Every
//! checksum the simulator reports is computed over pages in that form.

use crate::checksum::page_checksum;

/// Offsets of the SQLite header's write and read format versions.
const FORMAT_VERSIONS: std::ops::Range<usize> = 18..20;

/// Rewrites page 1's header (or the start of it) to rollback-journal mode.
///
/// `start` is the offset of `bytes` within the database file, so the patch
/// also applies to a chunk that only covers part of the header.
pub(crate) fn patch_header(start: u64, bytes: &mut [u8]) {
    for offset in FORMAT_VERSIONS {
        if let Some(i) = (offset as u64)
            .checked_sub(start)
            .and_then(|i| usize::try_from(i).ok())
        {
            if let Some(byte) = bytes.get_mut(i) {
                *byte = 1;
            }
        }
    }
}

/// The checksum of a page as it appears in an export.
pub(crate) fn exported_page_checksum(pgno: u32, page: &[u8]) -> u64 {
    if pgno == 1 {
        let mut patched = page.to_vec();
        patch_header(0, &mut patched);
        page_checksum(pgno, &patched)
    } else {
        page_checksum(pgno, page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_only_the_format_versions() {
        let mut page = vec![2u8; 100];
        patch_header(0, &mut page);
        assert_eq!(&page[16..22], &[2, 2, 1, 1, 2, 2]);
    }

    #[test]
    fn patches_a_chunk_that_starts_inside_the_header() {
        let mut chunk = vec![2u8; 4];
        patch_header(19, &mut chunk);
        assert_eq!(chunk, [1, 2, 2, 2]);
        let mut later = vec![2u8; 4];
        patch_header(20, &mut later);
        assert_eq!(later, [2, 2, 2, 2]);
    }

    #[test]
    fn page_one_checksum_is_over_the_patched_page() {
        let mut page = vec![2u8; 512];
        let before = exported_page_checksum(1, &page);
        patch_header(0, &mut page);
        assert_eq!(before, page_checksum(1, &page));
        assert_eq!(exported_page_checksum(2, &page), page_checksum(2, &page));
    }
}
