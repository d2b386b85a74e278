//! Retiring the LiteFS container of voripos-domain-sync 0.4.x.
//!
//! The 0.4.x install ran a Docker Compose project: a privileged LiteFS container with
//! `restart: always` that bind-mounted the POS app's `Domain` folder and copied each
//! version into it non-atomically, keeping the newest 100. Left running beside this app it
//! would keep writing half-copied files where the POS reads (and hold LiteFS's port).
//! [`is_legacy`] is the rule; [`retire`] lists the engine's containers, then stops and
//! removes those the rule picks, and nothing else. The files it published are named as
//! ours (`<unix-seconds>-Domain.sqlite3`); once it is retired the supervisor adds them to
//! the publisher's list of its own files, so retention takes them over.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bollard::errors::Error as BollardError;
use bollard::models::ContainerSummary;
use bollard::query_parameters::{
    ListContainersOptionsBuilder, RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use bollard::Docker;

use super::engine::{is_not_found, step, EngineError};
use super::spec::MANAGED_LABEL;

/// The label Docker Compose puts on every container of a project.
pub const COMPOSE_PROJECT_LABEL: &str = "com.docker.compose.project";

/// Whether a container is the 0.4.x one: created by Docker Compose (it has a
/// [`COMPOSE_PROJECT_LABEL`], whatever the project's name, which came from the folder it
/// was started in), not created by this app (no [`MANAGED_LABEL`]: `docker/compose.yml`
/// carries it), and bind-mounting exactly one of `publish_dirs` (the publish folder as
/// configured and as resolved) at some path in the container. Compose containers with
/// other mounts, and containers without the label, are someone else's.
pub fn is_legacy(
    labels: &HashMap<String, String>,
    binds: &[&Path],
    publish_dirs: &[&Path],
) -> bool {
    labels.contains_key(COMPOSE_PROJECT_LABEL)
        && !labels.contains_key(MANAGED_LABEL)
        && binds
            .iter()
            .any(|source| publish_dirs.iter().any(|dir| dir == source))
}

/// The sources of a container's bind mounts.
fn bind_sources(container: &ContainerSummary) -> Vec<&Path> {
    container
        .mounts
        .iter()
        .flatten()
        .filter(|m| m.typ.as_deref() == Some("bind"))
        .filter_map(|m| m.source.as_deref().map(Path::new))
        .collect()
}

/// A container's name (without Docker's leading `/`), else its id.
fn display_name(container: &ContainerSummary) -> String {
    container
        .names
        .iter()
        .flatten()
        .next()
        .map(|n| n.trim_start_matches('/').to_string())
        .or_else(|| container.id.clone())
        .unwrap_or_default()
}

/// Stops and removes every 0.4.x container bind-mounting `publish_dir` (running or not:
/// `restart: always` would bring a stopped one back with Docker); returns their names.
/// Its volumes, networks and image are left as they are.
pub async fn retire(docker: &Docker, publish_dir: &Path) -> Result<Vec<String>, EngineError> {
    let mut dirs: Vec<PathBuf> = vec![publish_dir.to_path_buf()];
    if let Ok(resolved) = std::fs::canonicalize(publish_dir) {
        dirs.push(resolved);
    }
    let dirs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    let filters = HashMap::from([("label", vec![COMPOSE_PROJECT_LABEL])]);
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    let containers = docker
        .list_containers(Some(options))
        .await
        .map_err(step("list the containers", "Docker Compose projects"))?;
    let mut retired = Vec::new();
    for container in &containers {
        let labels = container.labels.clone().unwrap_or_default();
        if !is_legacy(&labels, &bind_sources(container), &dirs) {
            continue;
        }
        let (Some(id), name) = (container.id.as_deref(), display_name(container)) else {
            continue;
        };
        let stop = StopContainerOptionsBuilder::default().t(10).build();
        match docker.stop_container(id, Some(stop)).await {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => continue,
            Err(BollardError::DockerResponseServerError {
                status_code: 304, ..
            }) => {}
            Err(e) => return Err(step("stop the 0.4.x container", &name)(e)),
        }
        let remove = RemoveContainerOptionsBuilder::default().force(true).build();
        match docker.remove_container(id, Some(remove)).await {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(step("remove the 0.4.x container", &name)(e)),
        }
        retired.push(name);
    }
    Ok(retired)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOMAIN: &str =
        "/Users/pos/Library/Containers/com.vori.VoriPOS/Data/Library/Application Support/Domain";

    fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn legacy(labels: &HashMap<String, String>, binds: &[&str]) -> bool {
        let binds: Vec<&Path> = binds.iter().map(Path::new).collect();
        is_legacy(labels, &binds, &[Path::new(DOMAIN)])
    }

    #[test]
    fn a_compose_container_mounting_the_publish_folder_is_the_old_one() {
        let compose = labels(&[
            (COMPOSE_PROJECT_LABEL, "voripos-domain-sync"),
            ("com.docker.compose.service", "litefs"),
        ]);
        assert!(legacy(&compose, &[DOMAIN]));
        assert!(legacy(&compose, &["/var/run/docker.sock", DOMAIN]));
        // The project's name does not matter; a trailing slash neither.
        let other_project = labels(&[(COMPOSE_PROJECT_LABEL, "domain-data")]);
        assert!(legacy(&other_project, &[&format!("{DOMAIN}/")]));
    }

    #[test]
    fn anything_else_is_left_alone() {
        let compose = labels(&[(COMPOSE_PROJECT_LABEL, "voripos-domain-sync")]);
        // Same labels, another mount (a parent or a child folder is another mount too).
        assert!(!legacy(&compose, &[]));
        assert!(!legacy(&compose, &["/Users/pos/elsewhere"]));
        assert!(!legacy(&compose, &[DOMAIN.trim_end_matches("/Domain")]));
        assert!(!legacy(&compose, &[&format!("{DOMAIN}/sub")]));
        // The mount without Compose's label.
        assert!(!legacy(&labels(&[("owner", "someone")]), &[DOMAIN]));
        assert!(!legacy(&HashMap::new(), &[DOMAIN]));
        // Ours, started from docker/compose.yml.
        let ours = labels(&[
            (COMPOSE_PROJECT_LABEL, "voripos-domain-sync"),
            (MANAGED_LABEL, "true"),
        ]);
        assert!(!legacy(&ours, &[DOMAIN]));
    }

    #[test]
    fn the_resolved_folder_counts_too() {
        let compose = labels(&[(COMPOSE_PROJECT_LABEL, "p")]);
        let dirs = [Path::new("/tmp/Domain"), Path::new("/private/tmp/Domain")];
        assert!(is_legacy(
            &compose,
            &[Path::new("/private/tmp/Domain")],
            &dirs
        ));
    }
}
