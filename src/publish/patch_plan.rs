//! When a new version is written as a patched clone of the last published file, and when
//! it is written whole (pure decisions, no I/O; [`super::patch`] does the writing).
//!
//! A clone shares every block with the file it was cloned from; each page written into
//! it becomes an extent of its own. That is cheap for a few changed pages, but a file
//! patched again and again fragments, and cloning a file of tens of thousands of extents
//! costs more than writing it whole (0.5–0.8 s on XFS and btrfs). So a chain of patched
//! versions is cut, and the next version written whole, after [`MAX_PATCHES`] patches or
//! [`MAX_CHAIN_PAGES`] patched pages; a stream whose page size changed, whose page count
//! changed too much or that turns out to change most pages is written whole too.

/// Patched versions in a row before the next one is written whole.
pub const MAX_PATCHES: u32 = 64;
/// Pages patched along a chain before the next version is written whole (each is at
/// most one extent: 16,384 pages of 4 KiB = 64 MiB of changes).
pub const MAX_CHAIN_PAGES: u64 = 16_384;
/// Pages compared before [`keep_comparing`] may give up on a stream.
const MIN_PAGES_SEEN: u64 = 1_024;

/// The chain of patches the last published file ends, as recorded beside it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Chain {
    /// Patched versions since the last version written whole.
    pub patches: u32,
    /// Pages written by those patches.
    pub pages: u64,
}

impl Chain {
    /// The chain after one more patch of `pages` pages.
    pub fn extended(self, pages: u64) -> Chain {
        Chain {
            patches: self.patches.saturating_add(1),
            pages: self.pages.saturating_add(pages),
        }
    }
}

/// Why a version is written whole rather than as a patched clone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whole {
    /// Nothing is published yet (or the newest file cannot be described).
    NoBase,
    /// The newest file's chain is not on record (another tool's file, a lost record):
    /// its fragmentation is unknown.
    UnknownChain,
    /// The chain is long enough that a whole copy is due.
    PatchedTooOften,
    /// The filesystem cannot clone (ext4, a network volume, across volumes).
    CloneUnsupported,
}

/// Whether the next version may be a patched clone of a base whose chain is `chain`
/// (`None`: no record for it); `Err` says why it is written whole.
pub fn may_patch(chain: Option<Chain>) -> Result<(), Whole> {
    let chain = chain.ok_or(Whole::UnknownChain)?;
    if chain.patches >= MAX_PATCHES || chain.pages >= MAX_CHAIN_PAGES {
        return Err(Whole::PatchedTooOften);
    }
    Ok(())
}

/// Page size and page count of a database, from its SQLite header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub page_size: u32,
    pub pages: u64,
}

/// Whether a stream of shape `incoming` is compared page by page against a base of shape
/// `base` (`true`), or written whole into the clone (`false`): the page size must be the
/// same, and the page count within half to twice the base's.
pub fn compare_pages(base: Shape, incoming: Shape) -> bool {
    base.page_size == incoming.page_size
        && incoming.pages.saturating_mul(2) >= base.pages
        && incoming.pages <= base.pages.saturating_mul(2)
}

/// Whether to go on comparing a stream that changed `changed` of the `seen` pages so far:
/// once more than half the pages differ, comparing costs reads that save no writes.
pub fn keep_comparing(changed: u64, seen: u64) -> bool {
    seen < MIN_PAGES_SEEN || changed.saturating_mul(2) <= seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_chain_is_patched_again() {
        assert_eq!(may_patch(Some(Chain::default())), Ok(()));
        let chain = Chain {
            patches: MAX_PATCHES - 1,
            pages: MAX_CHAIN_PAGES - 1,
        };
        assert_eq!(may_patch(Some(chain)), Ok(()));
    }

    #[test]
    fn a_long_chain_is_cut_by_patches_or_by_pages() {
        let many = Chain {
            patches: MAX_PATCHES,
            pages: 1,
        };
        assert_eq!(may_patch(Some(many)), Err(Whole::PatchedTooOften));
        let big = Chain {
            patches: 1,
            pages: MAX_CHAIN_PAGES,
        };
        assert_eq!(may_patch(Some(big)), Err(Whole::PatchedTooOften));
    }

    #[test]
    fn an_unknown_chain_is_written_whole() {
        assert_eq!(may_patch(None), Err(Whole::UnknownChain));
    }

    #[test]
    fn a_chain_grows_by_one_patch_and_its_pages() {
        let chain = Chain::default().extended(3).extended(4);
        assert_eq!(
            chain,
            Chain {
                patches: 2,
                pages: 7
            }
        );
    }

    #[test]
    fn pages_are_compared_only_for_the_same_page_size_and_a_similar_count() {
        let base = Shape {
            page_size: 4096,
            pages: 1000,
        };
        let with = |page_size, pages| Shape { page_size, pages };
        assert!(compare_pages(base, with(4096, 1000)));
        assert!(compare_pages(base, with(4096, 500)));
        assert!(compare_pages(base, with(4096, 2000)));
        assert!(!compare_pages(base, with(4096, 499)));
        assert!(!compare_pages(base, with(4096, 2001)));
        assert!(!compare_pages(base, with(8192, 1000)));
    }

    #[test]
    fn comparing_stops_once_most_pages_differ() {
        assert!(keep_comparing(0, 0));
        assert!(keep_comparing(1_000, 1_000), "too few pages seen to judge");
        assert!(keep_comparing(1_024, 2_048));
        assert!(!keep_comparing(1_025, 2_048));
    }
}
