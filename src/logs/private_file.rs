//! The daily log files, owner-only: each day's file is created 0600 before the rotating
//! appender opens it (it would create it 0644 under the usual umask, and it only ever
//! appends to a file that exists, keeping its mode).

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use chrono::Utc;

use super::FILE_PREFIX;

/// The mode of the log files.
pub const MODE: u32 = 0o600;

/// The log file of `day` (`YYYY-MM-DD`, UTC: the appender's rotation clock).
pub fn file_name(day: &str) -> String {
    format!("{FILE_PREFIX}.{day}.log")
}

/// Creates today's log file in `folder` (0600) when it does not exist yet.
pub fn prepare_today(folder: &Path) {
    create(&folder.join(file_name(&today())));
}

/// A writer that makes sure the day's file exists, private, before `inner` (the rotating
/// appender) writes, and so rotates, into it.
pub struct PrivateDaily<W> {
    inner: W,
    folder: PathBuf,
    made_for: String,
}

impl<W> PrivateDaily<W> {
    /// Wraps `inner`, which writes daily files in `folder`; today's is made now.
    pub fn new(inner: W, folder: &Path) -> Self {
        prepare_today(folder);
        PrivateDaily {
            inner,
            folder: folder.to_path_buf(),
            made_for: today(),
        }
    }
}

impl<W: Write> Write for PrivateDaily<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let day = today();
        if day != self.made_for {
            create(&self.folder.join(file_name(&day)));
            self.made_for = day;
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn today() -> String {
    Utc::now().format("%Y-%m-%d").to_string()
}

/// Creates `path` with [`MODE`] if missing; a failure is left to the appender to meet.
fn create(path: &Path) {
    let _ = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(MODE)
        .open(path);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_day_s_file_is_created_private_before_the_appender_writes() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = PrivateDaily::new(Vec::new(), dir.path());
        let today = dir.path().join(file_name(&today()));
        let mode = std::fs::metadata(&today).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, MODE);
        // A new day (as the appender's clock sees it) gets its file at the next write.
        std::fs::remove_file(&today).unwrap();
        writer.made_for = "2000-01-01".into();
        writer.write_all(b"line\n").unwrap();
        let mode = std::fs::metadata(&today).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, MODE);
        assert_eq!(writer.inner, b"line\n");
    }
}
