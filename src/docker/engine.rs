//! The Engine API calls the supervisor needs, each refusing to touch what is not ours.

use std::collections::HashMap;
use std::time::Duration;

use bollard::errors::Error as BollardError;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{ContainerInspectResponse, VolumeCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, EventsOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder, StopContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::{Stream, StreamExt};

use crate::error_kind::ErrorKind;

use super::spec::{ContainerSpec, MANAGED_LABEL, SPEC_LABEL};

/// A failed Engine API step, saying which step and about what.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the image {image} is not on this Mac and could not be pulled: {reason}")]
    ImageUnavailable { image: String, reason: String },
    #[error(
        "a container named {name} exists but was not created by voripos-domain-sync; \
         it is left alone — rename or remove it, or set [container] name"
    )]
    NotOurs { name: String },
    #[error(
        "a volume named {name} exists but was not created by voripos-domain-sync; it is left alone"
    )]
    VolumeNotOurs { name: String },
    #[error("Docker could not {step} ({name}): {reason}")]
    Step {
        step: &'static str,
        name: String,
        reason: String,
        /// The engine did not answer at all (rather than refusing the request).
        unreachable: bool,
    },
}

impl EngineError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            EngineError::ImageUnavailable { .. } => ErrorKind::ImageUnavailable,
            EngineError::NotOurs { .. } | EngineError::VolumeNotOurs { .. } => {
                ErrorKind::ContainerConflict
            }
            EngineError::Step { .. } => ErrorKind::ContainerFailed,
        }
    }

    /// Whether the engine itself went away (then the supervisor says Docker is down).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            EngineError::Step {
                unreachable: true,
                ..
            }
        )
    }
}

pub(super) fn step(step: &'static str, name: &str) -> impl FnOnce(BollardError) -> EngineError {
    let name = name.to_string();
    move |e| EngineError::Step {
        step,
        name,
        unreachable: !matches!(e, BollardError::DockerResponseServerError { .. }),
        reason: e.to_string(),
    }
}

pub(super) fn is_not_found(e: &BollardError) -> bool {
    matches!(
        e,
        BollardError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Makes sure the image is present, pulling it when missing; `progress` receives the
/// pull's percentage.
pub async fn ensure_image(
    docker: &Docker,
    image: &str,
    mut progress: impl FnMut(u8),
) -> Result<(), EngineError> {
    match docker.inspect_image(image).await {
        Ok(_) => return Ok(()),
        Err(e) if is_not_found(&e) => {}
        Err(e) => return Err(step("inspect the image", image)(e)),
    }
    let options = CreateImageOptionsBuilder::default()
        .from_image(image)
        .build();
    let mut pull = docker.create_image(Some(options), None, None);
    let mut layers: HashMap<String, (i64, i64)> = HashMap::new();
    while let Some(item) = pull.next().await {
        let info = item.map_err(|e| EngineError::ImageUnavailable {
            image: image.to_string(),
            reason: e.to_string(),
        })?;
        if let (Some(id), Some(detail)) = (info.id, info.progress_detail) {
            if let (Some(current), Some(total)) = (detail.current, detail.total) {
                layers.insert(id, (current, total));
                let (done, all) = layers
                    .values()
                    .fold((0, 0), |(d, a), (c, t)| (d + c, a + t));
                if all > 0 {
                    progress((done * 100 / all).clamp(0, 100) as u8);
                }
            }
        }
    }
    Ok(())
}

/// Makes sure our data volume exists.
pub async fn ensure_volume(docker: &Docker, spec: &ContainerSpec) -> Result<(), EngineError> {
    match docker.inspect_volume(&spec.volume).await {
        Ok(volume) if volume.labels.contains_key(MANAGED_LABEL) => Ok(()),
        Ok(_) => Err(EngineError::VolumeNotOurs {
            name: spec.volume.clone(),
        }),
        Err(e) if is_not_found(&e) => {
            let request = VolumeCreateRequest {
                name: Some(spec.volume.clone()),
                labels: Some(HashMap::from([(
                    MANAGED_LABEL.to_string(),
                    "true".to_string(),
                )])),
                ..Default::default()
            };
            docker
                .create_volume(request)
                .await
                .map(|_| ())
                .map_err(step("create the volume", &spec.volume))
        }
        Err(e) => Err(step("inspect the volume", &spec.volume)(e)),
    }
}

/// Our container as Docker sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub running: bool,
    pub spec_hash: Option<String>,
    pub status: String,
}

/// Inspects the container named in `spec`: `None` when absent, an error when a
/// container of that name exists without our label.
pub async fn inspect(docker: &Docker, spec: &ContainerSpec) -> Result<Option<Found>, EngineError> {
    let info: ContainerInspectResponse = match docker.inspect_container(&spec.name, None).await {
        Ok(info) => info,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(step("inspect the container", &spec.name)(e)),
    };
    let labels = info.config.and_then(|c| c.labels).unwrap_or_default();
    if labels.get(MANAGED_LABEL).map(String::as_str) != Some("true") {
        return Err(EngineError::NotOurs {
            name: spec.name.clone(),
        });
    }
    let state = info.state.unwrap_or_default();
    Ok(Some(Found {
        running: state.running.unwrap_or(false),
        spec_hash: labels.get(SPEC_LABEL).cloned(),
        status: state.status.map(|s| s.to_string()).unwrap_or_default(),
    }))
}

pub async fn create(docker: &Docker, spec: &ContainerSpec) -> Result<(), EngineError> {
    let options = CreateContainerOptionsBuilder::default()
        .name(&spec.name)
        .build();
    docker
        .create_container(Some(options), spec.create_body())
        .await
        .map(|_| ())
        .map_err(step("create the container", &spec.name))
}

pub async fn start(docker: &Docker, spec: &ContainerSpec) -> Result<(), EngineError> {
    docker
        .start_container(&spec.name, None)
        .await
        .map_err(step("start the container", &spec.name))
}

/// Stops and removes our container (checked to be ours first); absent is fine.
pub async fn remove(docker: &Docker, spec: &ContainerSpec) -> Result<(), EngineError> {
    if inspect(docker, spec).await?.is_none() {
        return Ok(());
    }
    let stop = StopContainerOptionsBuilder::default().t(10).build();
    match docker.stop_container(&spec.name, Some(stop)).await {
        Ok(()) => {}
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(BollardError::DockerResponseServerError {
            status_code: 304, ..
        }) => {}
        Err(e) => return Err(step("stop the container", &spec.name)(e)),
    }
    let options = RemoveContainerOptionsBuilder::default().force(true).build();
    match docker.remove_container(&spec.name, Some(options)).await {
        Ok(()) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(step("remove the container", &spec.name)(e)),
    }
}

/// Removes our data volume (checked to be ours first); absent is fine.
pub async fn remove_volume(docker: &Docker, spec: &ContainerSpec) -> Result<(), EngineError> {
    match docker.inspect_volume(&spec.volume).await {
        Ok(volume) if volume.labels.contains_key(MANAGED_LABEL) => {}
        Ok(_) => {
            return Err(EngineError::VolumeNotOurs {
                name: spec.volume.clone(),
            })
        }
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => return Err(step("inspect the volume", &spec.volume)(e)),
    }
    let options = RemoveVolumeOptionsBuilder::default().force(true).build();
    docker
        .remove_volume(&spec.volume, Some(options))
        .await
        .map_err(step("remove the volume", &spec.volume))
}

/// Runs `cmd` in the container and returns its standard output.
/// Most of an exec's output kept; the rest is not read (a `-pos` file is 34 bytes).
pub const MAX_EXEC_OUTPUT: usize = 4096;
/// Longest an exec may take, start to end.
pub const EXEC_DEADLINE: Duration = Duration::from_secs(10);

/// Runs `cmd` in our container and returns at most [`MAX_EXEC_OUTPUT`] bytes of its
/// stdout, within [`EXEC_DEADLINE`].
pub async fn exec_output(
    docker: &Docker,
    spec: &ContainerSpec,
    cmd: Vec<String>,
) -> Result<String, EngineError> {
    tokio::time::timeout(EXEC_DEADLINE, exec_capped(docker, spec, cmd))
        .await
        .map_err(|_| EngineError::Step {
            step: "exec in the container",
            name: spec.name.clone(),
            reason: format!("no end within {}s", EXEC_DEADLINE.as_secs()),
            unreachable: false,
        })?
}

async fn exec_capped(
    docker: &Docker,
    spec: &ContainerSpec,
    cmd: Vec<String>,
) -> Result<String, EngineError> {
    let exec = docker
        .create_exec(
            &spec.name,
            CreateExecOptions {
                cmd: Some(cmd),
                attach_stdout: Some(true),
                attach_stderr: Some(false),
                ..Default::default()
            },
        )
        .await
        .map_err(step("exec in the container", &spec.name))?;
    let mut text = String::new();
    if let StartExecResults::Attached { mut output, .. } =
        docker
            .start_exec(&exec.id, None)
            .await
            .map_err(step("exec in the container", &spec.name))?
    {
        let mut bytes = Vec::new();
        while let Some(chunk) = output.next().await {
            let chunk = chunk.map_err(step("read exec output", &spec.name))?;
            bytes.extend_from_slice(&chunk.into_bytes());
            if bytes.len() >= MAX_EXEC_OUTPUT {
                bytes.truncate(MAX_EXEC_OUTPUT);
                break;
            }
        }
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    Ok(text)
}

/// Docker's events about our container (`die`, `oom`, `destroy`, `start`, …).
pub fn container_events<'a>(
    docker: &'a Docker,
    spec: &ContainerSpec,
) -> impl Stream<Item = Result<String, EngineError>> + 'a {
    let filters = HashMap::from([
        ("type", vec!["container"]),
        ("container", vec![spec.name.as_str()]),
    ]);
    let options = EventsOptionsBuilder::default().filters(&filters).build();
    let name = spec.name.clone();
    docker.events(Some(options)).map(move |event| {
        event
            .map(|e| e.action.unwrap_or_default())
            .map_err(|e| step("follow events", &name)(e))
    })
}
