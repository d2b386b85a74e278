//! Folders: where the database is published (and why), where the status file is, and
//! `~` in paths.

use std::path::{Path, PathBuf};

use crate::small_file;

use super::{Config, MAX_CONFIG_BYTES};

impl Config {
    /// The publish folder with `~` expanded (see [`Config::publish_folder`]).
    pub fn publish_dir(&self, dirs: &AppDirs) -> PathBuf {
        self.publish_folder(dirs).path
    }

    /// The publish folder and why: `publish.dir` when set, otherwise the folder the POS
    /// on this Mac reads, which depends on whether the VoriPOS app's sandbox container
    /// exists (see [`choose_folder`]).
    pub fn publish_folder(&self, dirs: &AppDirs) -> PublishFolder {
        let home = dirs.home.as_deref();
        let container = home.map(|h| h.join(POS_CONTAINER));
        let exists = container.as_deref().is_some_and(Path::is_dir);
        let explicit = self.publish.dir.as_deref().map(|dir| {
            let source = self
                .managed
                .source_of("publish.dir")
                .unwrap_or_else(|| "set in the config file".into());
            (dir, source)
        });
        choose_folder(explicit, home, exists)
    }

    /// The status file: configured, or `status.json` in the app's data folder.
    pub fn status_file(&self, dirs: &AppDirs) -> PathBuf {
        match &self.status.file {
            Some(p) => expand_home(p, dirs.home.as_deref()),
            None => dirs.data.join("status.json"),
        }
    }
}

/// The VoriPOS app's sandbox container, under the home folder.
pub const POS_CONTAINER: &str = "Library/Containers/com.vori.VoriPOS";

/// Where the sandboxed POS app reads its domain data (the fleet's first layout).
pub const SANDBOXED_DIR: &str =
    "~/Library/Containers/com.vori.VoriPOS/Data/Library/Application Support/Domain";

/// Where the POS app reads once it is no longer sandboxed (the fleet's later layout).
pub const UNSANDBOXED_DIR: &str = "~/Library/Application Support/VoriPOS/Domain";

/// The publish folder and, in words, why it is that one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishFolder {
    pub path: PathBuf,
    pub reason: String,
}

/// The publish folder: `explicit` (a `publish.dir` and where it was set) always wins;
/// otherwise the sandboxed POS's folder when its container exists (`container_exists`),
/// else the unsandboxed POS's folder.
pub fn choose_folder(
    explicit: Option<(&Path, String)>,
    home: Option<&Path>,
    container_exists: bool,
) -> PublishFolder {
    if let Some((dir, source)) = explicit {
        return PublishFolder {
            path: expand_home(dir, home),
            reason: format!("publish.dir, {source}"),
        };
    }
    let (dir, reason) = match container_exists {
        true => (
            SANDBOXED_DIR,
            format!(
                "the VoriPOS app's sandbox container (~/{POS_CONTAINER}) exists: the sandboxed \
                 POS app reads this folder"
            ),
        ),
        false => (
            UNSANDBOXED_DIR,
            format!(
                "there is no VoriPOS sandbox container (~/{POS_CONTAINER}): the POS app, no \
                 longer sandboxed, reads this folder"
            ),
        ),
    };
    PublishFolder {
        path: expand_home(Path::new(dir), home),
        reason,
    }
}

/// The folders paths are resolved against: the user's home (for a leading `~`) and the
/// app's own config and data folders (see `host::environment` for where they come from).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppDirs {
    /// `None` when there is no home folder (a bare service account).
    pub home: Option<PathBuf>,
    pub config: PathBuf,
    pub data: PathBuf,
}

/// The status file a config file names in `[status] file`, read leniently: the file may
/// be invalid elsewhere (a typo in another key), as long as it is TOML and that key is a
/// path. The CLI uses it to find an instance that kept this status file when a typo was
/// made while it ran.
pub fn named_status_file(path: &Path, home: Option<&Path>) -> Option<PathBuf> {
    let text = small_file::read_text(path, MAX_CONFIG_BYTES).ok()?;
    let table: toml::Table = text.parse().ok()?;
    let file = table.get("status")?.get("file")?.as_str()?;
    (!file.is_empty()).then(|| expand_home(Path::new(file), home))
}

/// Expands a leading `~/` to `home`.
pub fn expand_home(path: &Path, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix("~"), home) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => path.to_path_buf(),
    }
}
