//! The status file: written atomically for `status` and support tooling, rewritten at
//! least every [`HEARTBEAT`], its last word (`running` false) never overwritten, read
//! back bounded.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;

use super::Status;
use crate::private_dir;
use crate::small_file::{self, SmallFileError};

/// The largest status file read back (one is a few KiB).
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// How often the status file is rewritten while nothing changes.
pub const HEARTBEAT: Duration = Duration::from_secs(60);

/// The status files this process has written its last word to ([`mark_stopped`]);
/// held while writing, so no late write of a running core can follow the last word.
static STOPPED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Writes the status file with `updated_at` set to now, unless the process has already
/// marked it stopped.
pub fn write_current(path: &Path, status: &Status) -> std::io::Result<()> {
    let stopped = STOPPED.lock().unwrap_or_else(|e| e.into_inner());
    if stopped.iter().any(|p| p == path) {
        return Ok(());
    }
    let mut status = status.clone();
    status.updated_at = Utc::now();
    status.running = true;
    write_file(path, &status)
}

/// Writes the process's last word: the status in `path` with `running` false. Later
/// writes to it by [`write_current`] are ignored.
pub fn mark_stopped(path: &Path) -> std::io::Result<()> {
    let mut stopped = STOPPED.lock().unwrap_or_else(|e| e.into_inner());
    stopped.push(path.to_path_buf());
    let mut status = read_file(path)?;
    status.updated_at = Utc::now();
    status.running = false;
    write_file(path, &status)
}

/// Writes the status file atomically (temp file in the same folder, fsync, rename).
pub fn write_file(path: &Path, status: &Status) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    private_dir::create(dir)?;
    let mut json = serde_json::to_vec_pretty(status).map_err(std::io::Error::other)?;
    json.push(b'\n');
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    // Created exclusively (O_EXCL) under an unpredictable name: a symlink planted at a
    // guessable temp name is never followed. Removed on any failure.
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o644))
        .tempfile_in(dir)?;
    tmp.write_all(&json)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Removes the temp files an earlier instance writing `path` left behind (killed between
/// creating one and renaming it); returns how many. Call it only while holding the
/// instance lock, so no other writer of `path` exists.
pub fn sweep_temps(path: &Path) -> usize {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let prefix = format!(".{name}.");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| {
            let file_name = e.file_name();
            let file_name = file_name.to_string_lossy();
            file_name.starts_with(&prefix)
                && file_name.ends_with(".tmp")
                && e.file_type().is_ok_and(|t| t.is_file())
        })
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

/// Reads a status file.
pub fn read_file(path: &Path) -> std::io::Result<Status> {
    let text = small_file::read(path, MAX_FILE_BYTES).map_err(|e| match e {
        SmallFileError::Io { source, .. } => source,
        other => std::io::Error::new(std::io::ErrorKind::InvalidData, other),
    })?;
    serde_json::from_slice(&text)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::tests::synced;
    use crate::status::State;

    #[test]
    fn a_symlink_planted_at_the_temp_name_is_not_followed_and_temps_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("app");
        let path = folder.join("status.json");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        std::fs::create_dir(&folder).unwrap();
        // The name the writer used to pick, from the pid.
        let planted = folder.join(format!(".status.json.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        write_current(&path, &Status::starting("http://h:1", Utc::now())).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(read_file(&path).unwrap().running);
        // Left by a killed writer: swept (the planted link is not a regular file).
        std::fs::write(folder.join(".status.json.a1B2c3.tmp"), b"{").unwrap();
        assert_eq!(sweep_temps(&path), 1);
        assert!(planted.is_symlink());
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    }

    #[test]
    fn the_status_folder_the_app_creates_is_private_and_the_file_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fresh/home/status.json");
        write_file(&path, &Status::starting("http://h:1", Utc::now())).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("fresh")), 0o700);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(mode(&path) & 0o600, 0o600);
    }

    #[test]
    fn the_last_word_is_not_overwritten_and_says_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("status.json");
        let old = Utc::now() - chrono::Duration::hours(1);
        let mut s = Status::starting("http://127.0.0.1:20202", old);
        s.running = false;
        write_current(&path, &s).unwrap();
        let written = read_file(&path).unwrap();
        assert!(written.running, "a running instance writes running = true");
        assert!(written.updated_at > old, "and a fresh heartbeat");

        mark_stopped(&path).unwrap();
        let last = read_file(&path).unwrap();
        assert!(!last.running);
        s.state = State::UpToDate;
        write_current(&path, &s).unwrap();
        assert_eq!(
            read_file(&path).unwrap(),
            last,
            "a late write does not follow it"
        );
    }

    #[test]
    fn file_is_written_atomically_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/status.json");
        write_file(&path, &synced()).unwrap();
        assert_eq!(read_file(&path).unwrap(), synced());
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("status.json")]);
    }
}
