//! Retention: which published versions to delete so that only the newest
//! `keep` of ours remain, and the SQLite files that go with each. Pure; the
//! publisher does the deleting. Files someone else wrote (the provisioning
//! tool's downloads, its `BAD-HASH` files) are never candidates.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// What SQLite puts beside a database a reader opened: a WAL-mode database
/// (LiteFS exports one as it is) gets `-wal` and `-shm`, a rollback one a
/// transient `-journal`.
const SIDECAR_SUFFIXES: [&str; 3] = ["-wal", "-shm", "-journal"];

/// The sidecar files SQLite may have created for the database at `path`; they
/// go when the version goes, and nothing else does.
pub fn sidecars(path: &Path) -> [PathBuf; 3] {
    SIDECAR_SUFFIXES.map(|suffix| {
        let mut name = OsString::from(path.as_os_str());
        name.push(suffix);
        PathBuf::from(name)
    })
}

/// The `versions` that are ours (their paths are in `ours`); everyone else's are left out.
pub fn ours_only(versions: Vec<(u64, PathBuf)>, ours: &BTreeSet<PathBuf>) -> Vec<(u64, PathBuf)> {
    versions
        .into_iter()
        .filter(|(_, path)| ours.contains(path))
        .collect()
}

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

/// The most copies set aside for being named ahead of the clock that are kept.
pub const MAX_SET_ASIDE: usize = 2;

/// Which set-aside copies (`seconds` of the name they had, path) to delete at `now_secs`:
/// those whose name the clock has caught up with (the clock was behind and has been
/// corrected: they are old versions now, and newer ones are published), and beyond
/// those, all but the [`MAX_SET_ASIDE`] named furthest ahead. A clock that goes back and
/// forth cannot pile up hidden full copies.
pub fn set_aside_to_delete(
    existing: &[(u64, PathBuf)],
    now_secs: u64,
    is_plausible: impl Fn(u64, u64) -> bool,
) -> Vec<PathBuf> {
    let (caught_up, ahead): (Vec<_>, Vec<_>) = existing
        .iter()
        .partition(|(seconds, _)| is_plausible(*seconds, now_secs));
    let ahead: Vec<(u64, PathBuf)> = ahead.into_iter().cloned().collect();
    caught_up
        .into_iter()
        .map(|(_, path)| path.clone())
        .chain(to_delete(&ahead, MAX_SET_ASIDE))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_aside_copies_go_once_the_clock_catches_up_and_are_bounded_meanwhile() {
        let day = 24 * 60 * 60;
        let now = 1_800_000_000;
        let plausible = |s: u64, n: u64| s <= n + day;
        let aside = |s: u64| (s, PathBuf::from(format!(".{s}-D.ahead-of-clock")));
        // Three round trips of a clock 3 days behind, now corrected: all caught up.
        let caught_up = [aside(now - 10), aside(now - 5 * day), aside(now - 9 * day)];
        let mut deleted = set_aside_to_delete(&caught_up, now, plausible);
        deleted.sort();
        let mut all: Vec<PathBuf> = caught_up.iter().map(|(_, p)| p.clone()).collect();
        all.sort();
        assert_eq!(deleted, all);
        // Still ahead of the clock: the two furthest ahead are kept.
        let ahead = [
            aside(now + 3 * day),
            aside(now + 4 * day),
            aside(now + 5 * day),
        ];
        assert_eq!(
            set_aside_to_delete(&ahead, now, plausible),
            vec![ahead[0].1.clone()]
        );
        assert!(set_aside_to_delete(&ahead[1..], now, plausible).is_empty());
    }

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
    fn a_version_s_sidecars_are_its_name_and_sqlite_s_suffixes() {
        let path = Path::new("/p/1764079392-Domain.sqlite3");
        assert_eq!(
            sidecars(path),
            [
                PathBuf::from("/p/1764079392-Domain.sqlite3-wal"),
                PathBuf::from("/p/1764079392-Domain.sqlite3-shm"),
                PathBuf::from("/p/1764079392-Domain.sqlite3-journal"),
            ]
        );
    }

    #[test]
    fn only_our_versions_are_candidates() {
        let ours: BTreeSet<PathBuf> = [version(30).1, version(10).1].into();
        let mine = ours_only(vec![version(10), version(20), version(30)], &ours);
        assert_eq!(mine, vec![version(10), version(30)]);
        assert_eq!(to_delete(&mine, 1), vec![version(10).1]);
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
