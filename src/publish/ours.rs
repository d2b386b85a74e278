//! Which versioned files in the publish folder this app wrote, so that retention only
//! ever deletes its own.
//!
//! The folder is shared: the fleet's provisioning tool downloads `<epoch>-Domain.sqlite3`
//! into the same folder (and renames a download that fails its hash check
//! `<epoch>-BAD-HASH-Domain.sqlite3`), and older tools left their copies there. Names
//! alone cannot tell those from ours, so the path of every file the publisher writes is
//! recorded in a list (one path a line, replaced atomically): the app keeps it in its
//! own data folder ([`LIST`]), so the POS's folder holds nothing but databases. A file
//! not on the list is never deleted; paths that are gone are forgotten. A crash between a
//! publish and the list's update only leaves that one file in place.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The list's file name in the app's data folder.
pub const LIST: &str = "published-versions.txt";
/// The list's name when a publisher is given no other place: hidden, in the publish folder.
pub const HIDDEN_LIST: &str = ".voripos-domain-sync-published";

/// The paths on the list at `list`; none when it does not exist yet.
pub fn read(list: &Path) -> io::Result<BTreeSet<PathBuf>> {
    match fs::read_to_string(list) {
        Ok(text) => Ok(parse(&text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(BTreeSet::new()),
        Err(e) => Err(e),
    }
}

/// Replaces the list at `list` with `paths`, atomically (a temp file beside it renamed
/// over it); creates its folder when missing.
pub fn write(list: &Path, paths: &BTreeSet<PathBuf>) -> io::Result<()> {
    if let Some(folder) = list.parent() {
        fs::create_dir_all(folder)?;
    }
    let mut temp = OsString::from(list.as_os_str());
    temp.push(format!(".{}.new", std::process::id()));
    let temp = PathBuf::from(temp);
    let result = fs::File::create(&temp)
        .and_then(|mut f| {
            f.write_all(render(paths).as_bytes())?;
            f.sync_all()
        })
        .and_then(|()| fs::rename(&temp, list));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// The paths of a list's text: one a line, blank lines ignored.
pub fn parse(text: &str) -> BTreeSet<PathBuf> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(PathBuf::from)
        .collect()
}

/// The text of a list.
pub fn render(paths: &BTreeSet<PathBuf>) -> String {
    paths.iter().map(|p| format!("{}\n", p.display())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_round_trips_and_starts_empty() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("data").join(LIST);
        assert!(read(&list).unwrap().is_empty());
        let paths: BTreeSet<PathBuf> = ["/p/2-Domain.sqlite3", "/p/my folder/10-Domain.sqlite3"]
            .map(PathBuf::from)
            .into();
        write(&list, &paths).unwrap();
        assert_eq!(read(&list).unwrap(), paths);
        // Only the list is left: no temp file.
        let files: Vec<_> = fs::read_dir(list.parent().unwrap()).unwrap().collect();
        assert_eq!(files.len(), 1);
        assert_eq!(
            parse("\n/a\n\n/b c\n"),
            ["/a", "/b c"].map(PathBuf::from).into()
        );
    }
}
