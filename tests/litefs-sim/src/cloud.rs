//! A LiteFS Cloud backup service, as the self-hosted litefs-backup (lfsb v0.2.0) serves
//! it, over one SQLite file: what the app's cloud source, the real LiteFS and the
//! benchmarks restore from.
//!
//! - `GET /pos`: `{"<db>": {"TXID": "…", "PostApplyChecksum": "…"}}`, pretty-printed;
//!   `{}` for a cluster that holds no database;
//! - `GET /db/snapshot?db=<db>`: the whole database as one LTX file (`?format=sqlite`:
//!   the raw file); `404 ENODB` for another database or cluster, `400 EBADDB` without
//!   `db`;
//! - `POST /db/tx`: `409 EPOSMISMATCH` (the service is fed by its file, not by backups);
//! - every path: `Authorization: cluster <name>` or `401 EINVALIDAUTH` / `400
//!   EBADCLUSTER`; the cluster comes from the token alone (`?cluster=` is ignored).
//!
//! A new version is the file replaced (written beside it, renamed over it): see
//! [`source`] for how versions are numbered. [`CloudServer`] runs the service on a
//! thread of its own, for tests that are not async or that block.

mod auth;
mod routes;
mod snapshot;
mod source;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use auth::{cluster_of, Refusal, MAX_CLUSTER_LEN};
pub use source::{Version, FIRST_TXID};

/// What the service serves.
#[derive(Clone, Debug)]
pub struct CloudConfig {
    /// The database file; replaced to publish a new version.
    pub src: PathBuf,
    /// The database's name (`Domain.sqlite3`).
    pub db: String,
    /// The cluster that holds it; a token naming another cluster sees no database.
    pub cluster: String,
}

impl CloudConfig {
    /// `src` served as `Domain.sqlite3` of `cluster`.
    pub fn new(src: impl Into<PathBuf>, cluster: &str) -> CloudConfig {
        CloudConfig {
            src: src.into(),
            db: "Domain.sqlite3".into(),
            cluster: cluster.into(),
        }
    }
}

/// The service; cheap to clone.
#[derive(Clone)]
pub struct CloudSim(Arc<Inner>);

struct Inner {
    source: source::Source,
    db: String,
    cluster: String,
    /// Snapshots stop after this many bytes and append an error (`u64::MAX`: never).
    fail_midway_after: AtomicU64,
}

impl CloudSim {
    pub fn new(config: CloudConfig) -> CloudSim {
        CloudSim(Arc::new(Inner {
            source: source::Source::new(&config.src),
            db: config.db,
            cluster: config.cluster,
            fail_midway_after: AtomicU64::new(u64::MAX),
        }))
    }

    /// The token a client of this cluster sends: `cluster <name>`.
    pub fn token(&self) -> String {
        format!("cluster {}", self.0.cluster)
    }

    /// The current version (`None`: no database yet).
    pub fn current(&self) -> anyhow::Result<Option<Version>> {
        self.0.source.current()
    }

    fn version_of(&self, file: &mut std::fs::File) -> anyhow::Result<Option<Version>> {
        self.0.source.version_of(file)
    }

    /// From now on, every snapshot fails after `bytes` bytes, as lfsb's do when storage
    /// fails midway: the JSON error is appended and the body still ends with 200.
    /// `None` restores whole snapshots.
    pub fn fail_snapshots_midway(&self, bytes: Option<u64>) {
        self.0
            .fail_midway_after
            .store(bytes.unwrap_or(u64::MAX), Ordering::SeqCst);
    }

    fn fail_midway_after(&self) -> Option<u64> {
        match self.0.fail_midway_after.load(Ordering::SeqCst) {
            u64::MAX => None,
            n => Some(n),
        }
    }

    /// Serves the API on `listener` until the future is dropped (which closes every
    /// connection).
    pub async fn serve(self, listener: TcpListener) {
        crate::http::accept(routes::router(self), listener).await;
    }
}

/// The service on a thread of its own, listening until dropped.
pub struct CloudServer {
    sim: CloudSim,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl CloudServer {
    /// Listens on `addr` (`"127.0.0.1:0"` for any free port) and serves `config`.
    pub fn start(config: CloudConfig, addr: &str) -> anyhow::Result<CloudServer> {
        let listener =
            std::net::TcpListener::bind(addr).with_context(|| format!("listening on {addr}"))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let sim = CloudSim::new(config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("starting the cloud service's runtime")?;
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = sim.clone();
        let thread = std::thread::Builder::new()
            .name("cloud-sim".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(listener) => {
                            tokio::select! {
                                () = serving.serve(listener) => {}
                                _ = stopped => {}
                            }
                        }
                        Err(e) => tracing::error!("cloud service: {e}"),
                    }
                });
                // Do not wait for a snapshot still being written on a blocking thread.
                runtime.shutdown_timeout(Duration::from_millis(500));
            })
            .context("starting the cloud service's thread")?;
        Ok(CloudServer {
            sim,
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn sim(&self) -> &CloudSim {
        &self.sim
    }
}

impl Drop for CloudServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
