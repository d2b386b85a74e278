//! What identifies a published file cheaply, to notice it was changed behind our back.
//!
//! One `stat`: size, modification time, status-change time (`ctime`), inode and device.
//! Size and mtime alone miss an in-place write that keeps the size and sets the mtime
//! back (`touch -d`); `ctime` moves on every write and on every `utimes`, and no
//! ordinary program can set it back, and the inode moves when the file is replaced.
//! What this cannot see is a change made by someone who also resets the system clock;
//! the checksum of the newest file is compared again at every forced sync (start-up,
//! *Resync now*, a change seen in the folder).

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::time::SystemTime;

/// The identity of a file's content as `stat` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub len: u64,
    pub modified: Option<SystemTime>,
    /// `ctime`, seconds and nanoseconds.
    pub changed: (i64, i64),
    pub inode: u64,
    pub device: u64,
}

impl Stamp {
    /// The stamp of what `meta` describes.
    pub fn of(meta: &Metadata) -> Stamp {
        Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            changed: (meta.ctime(), meta.ctime_nsec()),
            inode: meta.ino(),
            device: meta.dev(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, SeekFrom, Write};

    #[test]
    fn an_in_place_write_that_restores_size_and_mtime_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1-Domain.sqlite3");
        std::fs::write(&path, b"price 100").unwrap();
        let before = Stamp::of(&std::fs::metadata(&path).unwrap());
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        // ctime has a clock tick of its own; make sure the write lands in a later one.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.seek(SeekFrom::Start(6)).unwrap();
        file.write_all(b"999").unwrap();
        file.set_modified(mtime).unwrap();
        drop(file);
        let after = Stamp::of(&std::fs::metadata(&path).unwrap());
        assert_eq!((after.len, after.modified), (before.len, before.modified));
        assert_ne!(after, before);
    }

    #[test]
    fn a_replaced_file_is_seen_and_an_untouched_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"one").unwrap();
        let first = Stamp::of(&std::fs::metadata(&path).unwrap());
        assert_eq!(first, Stamp::of(&std::fs::metadata(&path).unwrap()));
        let other = dir.path().join("g");
        std::fs::write(&other, b"two").unwrap();
        std::fs::rename(&other, &path).unwrap();
        assert_ne!(first, Stamp::of(&std::fs::metadata(&path).unwrap()));
    }
}
