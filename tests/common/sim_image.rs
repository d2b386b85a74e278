//! The Docker tests' engine and image: litefs-sim's `FROM scratch` image built from the
//! static binary `.ci/setup` builds (no registry), once per tag per test binary, and the
//! removal of a test's container and volume whatever state the test left them in.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use bollard::Docker;
use tokio::sync::Mutex;
use voripos_domain_sync::docker::{endpoint, image};
use voripos_domain_sync::host::environment::Environment;

use super::skip;

/// The image tags this test binary has built.
static BUILT: Mutex<BTreeSet<String>> = Mutex::const_new(BTreeSet::new());

/// The static litefs-sim binary, where `.ci/setup` builds it.
pub fn static_sim() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("x86_64-unknown-linux-gnu/release/litefs-sim")
}

/// The engine and its endpoint's URI, with litefs-sim's image built as `tag`; `None`
/// (skip, printed) only outside CI.
pub async fn engine_with_sim_image(tag: &str) -> Option<(Docker, String)> {
    let candidates = endpoint::candidates(&Environment::from_process().docker, |p| {
        std::fs::read_to_string(p).ok()
    });
    let connected = match endpoint::connect(&candidates).await {
        Ok(c) => c,
        Err(e) => {
            skip(&format!("no Docker engine: {e}"));
            return None;
        }
    };
    let binary = static_sim();
    assert!(
        binary.exists(),
        "{} is missing: run `bash .ci/setup` (it builds the static litefs-sim)",
        binary.display()
    );
    let mut built = BUILT.lock().await;
    if !built.contains(tag) {
        let cmd: Vec<String> = [
            "--listen",
            "0.0.0.0:20202",
            "--data-dir",
            "/var/lib/litefs",
            "--size-mb",
            "1",
        ]
        .map(String::from)
        .to_vec();
        image::build_from_binary(&connected.docker, tag, &binary, &cmd)
            .await
            .expect("the test image builds");
        built.insert(tag.to_string());
    }
    Some((connected.docker, connected.endpoint.uri))
}

/// Removes the containers `names` and the volume of the first (`<name>-data`).
pub fn remove_containers_and_volume(names: &[String]) {
    for name in names {
        let _ = Command::new("docker").args(["rm", "-f", name]).output();
    }
    if let Some(first) = names.first() {
        let _ = Command::new("docker")
            .args(["volume", "rm", "-f", &format!("{first}-data")])
            .output();
    }
}

/// Removes the container named by it and its volume when dropped.
pub struct Cleanup(pub String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        remove_containers_and_volume(std::slice::from_ref(&self.0));
    }
}
