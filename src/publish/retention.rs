//! Retention: which published versions to delete so that only the newest
//! `keep` remain. Pure; the publisher does the deleting.

use std::path::PathBuf;

/// The versions to delete from `existing` (seconds and path of each versioned
/// file) so that the newest `keep` remain. Ties on seconds are broken by path,
/// so the choice does not depend on the order of `existing`.
pub fn to_delete(existing: &[(u64, PathBuf)], keep: usize) -> Vec<PathBuf> {
    let mut newest_first: Vec<&(u64, PathBuf)> = existing.iter().collect();
    newest_first.sort_by(|a, b| b.cmp(a));
    newest_first
        .into_iter()
        .skip(keep)
        .map(|(_, path)| path.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(seconds: u64) -> (u64, PathBuf) {
        (
            seconds,
            PathBuf::from(format!("/p/{seconds}-Domain.sqlite3")),
        )
    }

    #[test]
    fn keeps_the_newest_and_deletes_the_rest() {
        let existing = [
            version(30),
            version(10),
            version(50),
            version(20),
            version(40),
        ];
        assert_eq!(
            to_delete(&existing, 2),
            vec![version(30).1, version(20).1, version(10).1]
        );
    }

    #[test]
    fn deletes_nothing_when_there_are_at_most_keep() {
        assert!(to_delete(&[version(1), version(2)], 2).is_empty());
        assert!(to_delete(&[version(1)], 5).is_empty());
        assert!(to_delete(&[], 2).is_empty());
    }

    #[test]
    fn breaks_ties_by_path() {
        let existing = [
            (7, PathBuf::from("/p/7-Domain.sqlite3")),
            (7, PathBuf::from("/p/07-Domain.sqlite3")),
            (8, PathBuf::from("/p/8-Domain.sqlite3")),
        ];
        assert_eq!(
            to_delete(&existing, 2),
            vec![PathBuf::from("/p/07-Domain.sqlite3")]
        );
    }
}
