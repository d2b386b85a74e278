//! Builds a `FROM scratch` image around a static binary, through the Engine API.
//!
//! Used for the demo and the Docker tests, which run `litefs-sim` where the fleet runs
//! LiteFS: no registry is involved. The image mirrors the real one's layout: the data
//! volume at `/var/lib/litefs`, `/litefs` (the FUSE dir in the real image) pointing at
//! it, and `cat` (the binary answers to that name) for the position probe.

use std::path::Path;

use bollard::query_parameters::BuildImageOptionsBuilder;
use bollard::{body_full, Docker};
use futures_util::StreamExt;

use super::engine::EngineError;
use super::spec::{DATA_DIR, FUSE_DIR, LITEFS_PORT};

/// The build context: a Dockerfile and a root filesystem holding `binary`.
fn context(binary: &[u8], name: &str, cmd: &[String]) -> std::io::Result<Vec<u8>> {
    let cmd_json = serde_json::to_string(cmd).map_err(std::io::Error::other)?;
    let dockerfile = format!(
        "FROM scratch\nCOPY rootfs/ /\nEXPOSE {LITEFS_PORT}\nENTRYPOINT [\"/{name}\"]\nCMD {cmd_json}\n"
    );
    let mut tar = tar::Builder::new(Vec::new());
    let mut add = |path: &str, mode: u32, data: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_cksum();
        tar.append_data(&mut header, path, data)
    };
    add("Dockerfile", 0o644, dockerfile.as_bytes())?;
    add(&format!("rootfs/{name}"), 0o755, binary)?;
    let mut link = |path: &str, target: &str| {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        header.set_mode(0o777);
        tar.append_link(&mut header, path, target)
    };
    link("rootfs/bin/cat", &format!("/{name}"))?;
    link(&format!("rootfs{FUSE_DIR}"), DATA_DIR)?;
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_size(0);
    dir.set_mode(0o755);
    tar.append_data(&mut dir, format!("rootfs{DATA_DIR}/"), std::io::empty())?;
    tar.into_inner()
}

/// Builds `tag` from the static `binary`, started with `cmd`.
pub async fn build_from_binary(
    docker: &Docker,
    tag: &str,
    binary: &Path,
    cmd: &[String],
) -> Result<(), EngineError> {
    let failed = |reason: String| EngineError::Step {
        step: "build the image",
        name: tag.to_string(),
        reason,
        unreachable: false,
    };
    let bytes = std::fs::read(binary).map_err(|e| failed(format!("{}: {e}", binary.display())))?;
    let name = binary
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "app".into());
    let tar = context(&bytes, &name, cmd).map_err(|e| failed(e.to_string()))?;
    let options = BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(tag)
        .rm(true)
        .build();
    let mut build = docker.build_image(options, None, Some(body_full(tar.into())));
    while let Some(step) = build.next().await {
        let info = step.map_err(|e| failed(e.to_string()))?;
        if let Some(detail) = info.error_detail {
            return Err(failed(detail.message.unwrap_or_default()));
        }
    }
    Ok(())
}
