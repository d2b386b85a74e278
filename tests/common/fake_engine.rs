//! A stand-in Docker Engine on a Unix socket, for the container manager's lifecycle tests
//! where the real engine cannot help: a pull that never ends (no registry here), or
//! LiteFS that takes its time to answer. It keeps one container and one volume in
//! memory, echoes the labels it was created with, and records every request.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// How the fake behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pull {
    /// The image is there.
    Present,
    /// The image is missing and its pull reports progress forever.
    Endless,
}

#[derive(Default)]
struct World {
    requests: Vec<String>,
    /// The container's labels and whether it runs.
    container: Option<(Value, bool)>,
    volume: bool,
}

/// A running fake engine; `DOCKER_HOST` is [`FakeEngine::docker_host`].
pub struct FakeEngine {
    pub socket: PathBuf,
    world: Arc<Mutex<World>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeEngine {
    pub async fn start(dir: &Path, pull: Pull) -> FakeEngine {
        let socket = dir.join("docker.sock");
        let world = Arc::new(Mutex::new(World::default()));
        let listener = tokio::net::UnixListener::bind(&socket).unwrap();
        let app = axum::Router::new()
            .fallback(handle)
            .with_state((world.clone(), pull));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeEngine {
            socket,
            world,
            task,
        }
    }

    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// Gives the engine our data volume, as a Mac that ran the app before has it.
    pub fn with_volume(self) -> Self {
        self.world.lock().unwrap().volume = true;
        self
    }

    /// Every request so far, as `METHOD /path` without the API version.
    pub fn requests(&self) -> Vec<String> {
        self.world.lock().unwrap().requests.clone()
    }

    /// Waits until a request starting with `prefix` was made.
    pub async fn wait_for_request(&self, prefix: &str, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline {
            if self.requests().iter().any(|r| r.starts_with(prefix)) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }
}

impl Drop for FakeEngine {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Shared = (Arc<Mutex<World>>, Pull);

fn json_response(status: StatusCode, value: Value) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn not_found() -> Response {
    json_response(StatusCode::NOT_FOUND, json!({"message": "no such object"}))
}

/// A body that sends `line` every 200 ms until the client leaves.
fn endless(line: impl Fn(u64) -> String + Send + 'static) -> Response {
    let stream = futures_util::stream::unfold(0u64, move |i| {
        let text = line(i);
        async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            Some((Ok::<_, std::io::Error>(Bytes::from(text)), i + 1))
        }
    });
    Body::from_stream(stream).into_response()
}

async fn handle(
    State((world, pull)): State<Shared>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    let path = uri.path();
    // bollard prefixes the negotiated API version: /v1.47/containers/…
    let path = match path.strip_prefix("/v1.") {
        Some(rest) => rest.find('/').map_or(path, |i| &rest[i..]),
        None => path,
    }
    .to_string();
    let mut w = world.lock().unwrap();
    w.requests.push(format!("{method} {path}"));
    let volume = || {
        json!({"Name": "v", "Driver": "local", "Mountpoint": "/v", "Scope": "local",
               "Options": {}, "Labels": {"com.vori.voripos-domain-sync.managed": "true"}})
    };
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        (_, ["_ping"]) => "OK".into_response(),
        ("GET", ["version"]) => json_response(
            StatusCode::OK,
            json!({"ApiVersion": "1.47", "MinAPIVersion": "1.24", "Version": "28.0.0",
                   "Os": "linux", "Arch": "amd64"}),
        ),
        ("GET", ["images", .., "json"]) => match pull {
            Pull::Present => json_response(StatusCode::OK, json!({"Id": "sha256:fake"})),
            Pull::Endless => not_found(),
        },
        ("POST", ["images", "create"]) => endless(|i| {
            json!({"status": "Downloading", "id": "layer",
                   "progressDetail": {"current": i, "total": 1_000_000}})
            .to_string()
                + "\n"
        }),
        ("GET", ["volumes", _]) if w.volume => json_response(StatusCode::OK, volume()),
        ("GET", ["volumes", _]) => not_found(),
        ("POST", ["volumes", "create"]) => {
            w.volume = true;
            json_response(StatusCode::CREATED, volume())
        }
        ("DELETE", ["volumes", _]) => {
            w.volume = false;
            StatusCode::NO_CONTENT.into_response()
        }
        ("POST", ["containers", "create"]) => {
            let spec: Value = serde_json::from_slice(&body).unwrap_or_default();
            w.container = Some((spec["Labels"].clone(), false));
            json_response(StatusCode::CREATED, json!({"Id": "c1", "Warnings": []}))
        }
        ("GET", ["containers", _, "json"]) => match &w.container {
            Some((labels, running)) => json_response(
                StatusCode::OK,
                json!({"Id": "c1",
                       "State": {"Running": running, "Status": if *running { "running" } else { "created" }},
                       "Config": {"Labels": labels}}),
            ),
            None => not_found(),
        },
        ("POST", ["containers", _, "start"]) => {
            if let Some((_, running)) = &mut w.container {
                *running = true;
            }
            StatusCode::NO_CONTENT.into_response()
        }
        ("POST", ["containers", _, "stop"]) => {
            if let Some((_, running)) = &mut w.container {
                *running = false;
            }
            StatusCode::NO_CONTENT.into_response()
        }
        ("DELETE", ["containers", _]) => {
            w.container = None;
            StatusCode::NO_CONTENT.into_response()
        }
        ("GET", ["events"]) => endless(|_| String::new()),
        _ => not_found(),
    }
}
