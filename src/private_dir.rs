//! The folders the app makes for itself (its data folder, the status file's folder, the
//! log folder): created owner-only (0700) whatever the umask, so the control socket,
//! the status and the logs are not readable by other users. Folders that already exist
//! keep their mode: they may be shared (a status file configured in the POS's folder).

use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

/// The mode of folders the app creates.
pub const MODE: u32 = 0o700;

/// Creates `dir` and any missing parents with [`MODE`]; existing ones are left as they are.
pub fn create(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(MODE)
        .create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_folders_are_private_and_existing_ones_keep_their_mode() {
        let root = tempfile::tempdir().unwrap();
        let shared = root.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
        let made = shared.join("a/b");
        create(&made).unwrap();
        assert_eq!(mode(&shared), 0o755);
        assert_eq!(mode(&shared.join("a")), 0o700);
        assert_eq!(mode(&made), 0o700);
        create(&made).unwrap();
    }
}
