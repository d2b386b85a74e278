//! An XFS filesystem with reflinks on a loop device, for the copy-on-write publish (the
//! clone test and the decomposition bench): a sparse image file, `mkfs.xfs -m reflink=1`,
//! `mount -o loop`; unmounted on drop. Needs root and `xfsprogs` (`.ci/setup` installs
//! it; CI runs as root).
//!
//! Standalone (no other module of the harness), so that a bench can take it alone with
//! `#[path = "../common/xfs.rs"] mod xfs;`.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::Command;

/// A mounted XFS image; unmounted (and its image removed) on drop.
pub struct Xfs {
    pub path: PathBuf,
    image: PathBuf,
}

impl Xfs {
    /// Mounts a new XFS of `size` (e.g. "512M", at least 300M) at `dir/mnt`, its image at
    /// `dir/xfs.img`; `Err` says what is missing.
    pub fn mount(dir: &Path, size: &str) -> Result<Xfs, String> {
        if !is_root() {
            return Err("mounting an XFS loop device needs root (CI runs as root)".into());
        }
        let image = dir.join("xfs.img");
        let path = dir.join("mnt");
        std::fs::create_dir_all(&path).map_err(|e| format!("mkdir {}: {e}", path.display()))?;
        run(Command::new("truncate").args(["-s", size]).arg(&image))?;
        run(Command::new("mkfs.xfs")
            .args(["-q", "-m", "reflink=1"])
            .arg(&image))
        .map_err(|e| format!("{e} (is xfsprogs installed? .ci/setup installs it)"))?;
        run(Command::new("mount")
            .args(["-o", "loop"])
            .arg(&image)
            .arg(&path))?;
        Ok(Xfs { path, image })
    }
}

impl Drop for Xfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(&self.path)
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
        let _ = std::fs::remove_file(&self.image);
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn run(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    match command.output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "{shown} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Err(format!("{shown}: {e}")),
    }
}
