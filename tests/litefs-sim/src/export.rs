//! What an `/export` response sends, given the fault mode: how many bytes,
//! whether `Content-Length` is announced, which byte to corrupt, when to stall.

use crate::misbehaviour::Misbehaviour;

/// Bytes sent before a stalled export stops.
const STALL_AFTER: u64 = 64 * 1024;

/// Extra bytes past the middle page boundary where a truncated export ends,
/// so the cut is not page-aligned.
const TRUNCATE_SLACK: u64 = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExportPlan {
    /// Bytes of the image to send.
    pub(crate) send: u64,
    /// The `Content-Length` to announce. `None`, chunked, is what LiteFS does; a
    /// length is announced only to test clients that check it (a stall).
    pub(crate) content_length: Option<u64>,
    /// Offset of a byte to flip.
    pub(crate) flip_at: Option<u64>,
    /// After sending, keep the response open until the client leaves.
    pub(crate) stall: bool,
    /// After sending, send the rest one byte at a time, slowly.
    pub(crate) drip: bool,
}

impl ExportPlan {
    /// The plan for an image of `len` bytes in pages of `page_size`.
    pub(crate) fn new(mode: Misbehaviour, len: u64, page_size: u32) -> ExportPlan {
        let page_size = u64::from(page_size);
        let full = ExportPlan {
            send: len,
            content_length: None,
            flip_at: None,
            stall: false,
            drip: false,
        };
        match mode {
            Misbehaviour::TruncatedExport => ExportPlan {
                send: (len / page_size / 2 * page_size + TRUNCATE_SLACK).min(len.saturating_sub(1)),
                ..full
            },
            // The middle of the last page, never page 1.
            Misbehaviour::FlippedByte if len >= 2 * page_size => ExportPlan {
                flip_at: Some(len - page_size / 2),
                ..full
            },
            Misbehaviour::StalledExport => ExportPlan {
                send: STALL_AFTER.min(len),
                content_length: Some(len),
                stall: true,
                ..full
            },
            Misbehaviour::DripExport => ExportPlan {
                send: STALL_AFTER.min(len),
                drip: true,
                ..full
            },
            _ => full,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEN: u64 = 10 * 4096;

    #[test]
    fn plans_each_mode() {
        let full = ExportPlan::new(Misbehaviour::None, LEN, 4096);
        assert_eq!(full.send, LEN);
        assert_eq!(full.content_length, None, "chunked, as LiteFS sends it");
        assert_eq!(ExportPlan::new(Misbehaviour::CutStream, LEN, 4096), full);

        let cut = ExportPlan::new(Misbehaviour::TruncatedExport, LEN, 4096);
        assert_eq!(cut.send, 5 * 4096 + 1000);
        assert_eq!(cut.content_length, None);

        let flipped = ExportPlan::new(Misbehaviour::FlippedByte, LEN, 4096);
        assert_eq!(flipped.flip_at, Some(9 * 4096 + 2048));
        assert_eq!(flipped.content_length, None);

        let stalled = ExportPlan::new(Misbehaviour::StalledExport, LEN, 4096);
        assert_eq!((stalled.send, stalled.stall), (LEN, true));
        let drip = ExportPlan::new(Misbehaviour::DripExport, 100 * LEN, 4096);
        assert_eq!((drip.send, drip.drip, drip.stall), (65536, true, false));
        let big = ExportPlan::new(Misbehaviour::StalledExport, 100 * LEN, 4096);
        assert_eq!((big.send, big.content_length), (65536, Some(100 * LEN)));
    }
}
