//! Where the instance started with a given config file answers, for the CLI.
//!
//! The control socket is bound once, beside the status file the config named at start,
//! and stays there while the app runs, even when the config file is later broken (a
//! typo, a FIFO in its place) and so can no longer say where that is. So at start the
//! app leaves a breadcrumb in its own data folder, keyed by the config file's path:
//! `instances/<key>.socket`, holding the socket's path. `status`, `quit`… with that
//! config ask there first.

use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::{private_dir, small_file};

/// The breadcrumb of the instance started with `config`, in the app's data folder `data`.
pub fn path(data: &Path, config: &Path) -> PathBuf {
    let config = std::path::absolute(config).unwrap_or_else(|_| config.to_path_buf());
    let digest = Sha256::digest(config.as_os_str().as_encoded_bytes());
    let key: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    data.join("instances").join(format!("{key}.socket"))
}

/// Records that the instance started with `config` answers at `socket`.
pub fn leave(data: &Path, config: &Path, socket: &Path) -> io::Result<()> {
    let crumb = path(data, config);
    if let Some(folder) = crumb.parent() {
        private_dir::create(folder)?;
    }
    let socket = std::path::absolute(socket)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".crumb.")
        .tempfile_in(crumb.parent().unwrap_or(data))?;
    io::Write::write_all(&mut tmp, socket.as_os_str().as_encoded_bytes())?;
    tmp.persist(&crumb).map_err(|e| e.error)?;
    Ok(())
}

/// Removes the breadcrumb when it still points at `socket` (the instance stops).
pub fn remove(data: &Path, config: &Path, socket: &Path) {
    if read(data, config).as_deref() == std::path::absolute(socket).ok().as_deref() {
        let _ = std::fs::remove_file(path(data, config));
    }
}

/// Where the instance started with `config` said it answers, if it did.
pub fn read(data: &Path, config: &Path) -> Option<PathBuf> {
    let text = small_file::read_text(&path(data, config), 64 * 1024).ok()?;
    (!text.is_empty()).then(|| PathBuf::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_breadcrumb_is_found_by_the_config_path_and_removed_by_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let config = dir.path().join("config.toml");
        let socket = dir.path().join("state/control.sock");
        assert_eq!(read(&data, &config), None);
        leave(&data, &config, &socket).unwrap();
        assert_eq!(read(&data, &config), Some(socket.clone()));
        assert_eq!(read(&data, &dir.path().join("other.toml")), None);
        // Another instance's socket: not ours to remove.
        remove(&data, &config, &dir.path().join("elsewhere.sock"));
        assert_eq!(read(&data, &config), Some(socket.clone()));
        remove(&data, &config, &socket);
        assert_eq!(read(&data, &config), None);
    }
}
