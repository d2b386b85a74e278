//! The cloud source against small hostile servers written here (an in-test `/pos`, a fake
//! proxy that records what reaches it): answers that trickle, a refused token, proxies in
//! the environment, a cloud that asks to wait.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use common::{checksum_of, Daemon, DaemonConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use voripos_domain_sync::cloud::client::{CloudClient, CloudError};
use voripos_domain_sync::config::Secret;
use voripos_domain_sync::litefs::client::Timeouts;
use voripos_domain_sync::status::State;

const TOKEN: &str = "hostile-cloud-token-7c21d0";
const WAIT: Duration = Duration::from_secs(30);
const TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_secs(2),
    stall: Duration::from_secs(1),
};

/// How the in-test cloud answers `/pos`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Mode {
    /// The position of the published file.
    Good = 0,
    /// `401`.
    Refuse = 1,
    /// `200` whose body drips a byte every 100 ms, never ending.
    DripBody = 2,
    /// `500` whose body drips a byte every 100 ms, never ending.
    DripError = 3,
    /// `429` with `Retry-After: 7`.
    Busy = 4,
}

/// A `/pos` server on loopback, its answer switchable while it runs.
struct Cloud {
    url: String,
    mode: Arc<AtomicU8>,
    /// `/pos` requests answered so far.
    asked: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Cloud {
    async fn start(checksum: u64) -> Cloud {
        let mode = Arc::new(AtomicU8::new(Mode::Good as u8));
        let shared = mode.clone();
        let asked = Arc::new(AtomicUsize::new(0));
        let counted = asked.clone();
        let app = axum::Router::new().route(
            "/pos",
            axum::routing::get(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                let mode = shared.load(Ordering::SeqCst);
                async move { answer(mode, checksum) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Cloud {
            url,
            mode,
            asked,
            task,
        }
    }

    fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }

    /// Waits until `n` more `/pos` requests were answered: the app has settled into
    /// polling (the checks that followed its start are over).
    async fn settle(&self, n: usize) {
        let target = self.asked.load(Ordering::SeqCst) + n;
        tokio::time::timeout(WAIT, async {
            while self.asked.load(Ordering::SeqCst) < target {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the app polls /pos");
    }
}

impl Drop for Cloud {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn answer(mode: u8, checksum: u64) -> Response {
    let dripping = |status: StatusCode| {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
        tokio::spawn(async move {
            while tx.send(Ok(b" ".to_vec())).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        (status, Body::from_stream(stream)).into_response()
    };
    match mode {
        1 => (StatusCode::UNAUTHORIZED, "unauthorized").into_response(),
        2 => dripping(StatusCode::OK),
        3 => dripping(StatusCode::INTERNAL_SERVER_ERROR),
        4 => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "7")],
            "slow down",
        )
            .into_response(),
        _ => format!(
            r#"{{"Domain.sqlite3":{{"TXID":"0000000000000001","PostApplyChecksum":"{checksum:016x}"}}}}"#
        )
        .into_response(),
    }
}

fn client(url: &str) -> CloudClient {
    CloudClient::new(
        url,
        "Domain.sqlite3",
        None,
        &Secret::new(TOKEN.into()),
        TIMEOUTS,
    )
    .unwrap()
}

/// A published file named a minute ago in `dir`.
fn published_file(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let path = dir.join(format!("{}-Domain.sqlite3", now.as_secs() - 60));
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE products (id INTEGER PRIMARY KEY); INSERT INTO products DEFAULT VALUES;",
    )
    .unwrap();
    drop(conn);
    path
}

fn cloud_config(root: &Path, url: &str) -> DaemonConfig {
    let mut config = DaemonConfig::new(root, "http://127.0.0.1:9");
    config.extra = format!(
        "[source]\nkind = \"cloud\"\n[cloud]\nurl = \"{url}\"\npoll_interval = \"100ms\"\n"
    );
    config.env = vec![("LITEFS_CLOUD_TOKEN".into(), TOKEN.into())];
    config
}

/// Runs `read` against the cloud in `mode`; its error, or a panic when it never ends.
async fn error_of<T: std::fmt::Debug>(
    read: impl std::future::Future<Output = Result<T, CloudError>>,
) -> CloudError {
    tokio::time::timeout(WAIT, read)
        .await
        .expect("the answer was never given up")
        .expect_err("a hostile answer is an error")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_that_trickle_or_ask_to_wait_are_errors() {
    let cloud = Cloud::start(0x83).await;
    let client = client(&cloud.url);

    cloud.set(Mode::DripBody);
    let err = error_of(client.position()).await;
    assert!(err.to_string().contains("did not arrive whole"), "{err}");
    assert_eq!(err.kind().as_str(), "cloud_http_error", "{err}");

    cloud.set(Mode::DripError);
    let err = error_of(client.position()).await;
    assert!(
        matches!(err, CloudError::Status { status: 500, .. }),
        "{err}"
    );

    cloud.set(Mode::Busy);
    let err = error_of(client.position()).await;
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)), "{err}");

    cloud.set(Mode::Good);
    assert_eq!(client.position().await.unwrap().txid, 1);
}

/// A refused token shows as *not configured* in the README's words, and a `/pos` that
/// trickles is noticed; both recover by themselves. The logs speak of the cloud.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_and_a_trickling_pos_are_shown_and_recovered_from() {
    let root = tempfile::tempdir().unwrap();
    let probe = cloud_config(root.path(), "http://127.0.0.1:9");
    let file = published_file(&probe.publish_dir);
    let cloud = Cloud::start(checksum_of(&file)).await;
    let config = cloud_config(root.path(), &cloud.url);
    // The periodic safety check (2 s in tests, 60 s by default) must not be what notices.
    let path = root.path().join("config.toml");
    config.write(&path);
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace("safety_check = \"2s\"", "safety_check = \"1h\"");
    assert!(text.contains("safety_check = \"1h\""), "{text}");
    std::fs::write(&path, text).unwrap();
    let mut daemon = Daemon::spawn(root.path(), &path, &config);
    let current = |s: &voripos_domain_sync::status::Status| {
        s.state == State::UpToDate && s.error.is_none() && s.events_connected
    };
    daemon.wait_for("up to date", WAIT, current).await;
    cloud.settle(5).await;

    cloud.set(Mode::Refuse);
    let status = daemon
        .wait_for("the refused token shown", WAIT, |s| {
            s.state == State::NotConfigured
        })
        .await;
    let detail = status.detail.unwrap_or_default();
    assert!(
        detail.contains("LiteFS Cloud refused the token"),
        "{detail}"
    );
    cloud.set(Mode::Good);
    daemon.wait_for("up to date again", WAIT, current).await;
    cloud.settle(5).await;

    cloud.set(Mode::DripBody);
    let status = daemon
        .wait_for("the trickling /pos noticed", WAIT, |s| {
            !s.events_connected && s.error.is_some()
        })
        .await;
    assert_ne!(status.state, State::NotConfigured);
    cloud.set(Mode::Good);
    daemon.wait_for("up to date again", WAIT, current).await;

    let log = daemon.log_text();
    assert!(!log.contains("event stream"), "{log}");
    assert!(!log.contains("litefs="), "{log}");
    daemon.stop();
}

/// A proxy on loopback that records the head of every request it gets, then answers 502.
struct FakeProxy {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeProxy {
    async fn start() -> FakeProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let record = record.clone();
                tokio::spawn(async move {
                    let mut head = vec![0u8; 8192];
                    let read = tokio::time::timeout(Duration::from_secs(2), conn.read(&mut head))
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .unwrap_or(0);
                    record
                        .lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&head[..read]).into_owned());
                    let _ = conn
                        .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
                        .await;
                });
            }
        });
        FakeProxy { url, seen, task }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for FakeProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// With `http_proxy`, `HTTP_PROXY` or `ALL_PROXY` set (each alone), a plain-http cloud
/// is contacted directly: nothing, least of all the token, reaches the proxy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_never_goes_through_a_proxy_from_the_environment() {
    for variable in ["http_proxy", "HTTP_PROXY", "ALL_PROXY", "HTTPS_PROXY"] {
        let root = tempfile::tempdir().unwrap();
        let proxy = FakeProxy::start().await;
        // Not loopback (a proxy would be asked for it), and nothing answers there.
        let mut config = cloud_config(root.path(), "http://192.0.2.1:9");
        config.env.push((variable.into(), proxy.url.clone()));
        let mut daemon = Daemon::start(root.path(), &config);
        let status = daemon
            .wait_for("the cloud found unreachable", WAIT, |s| {
                s.error
                    .as_ref()
                    .is_some_and(|e| e.kind.as_str() == "cloud_unreachable")
            })
            .await;
        assert_eq!(status.proxy, None, "{variable}");
        assert_eq!(proxy.seen(), Vec::<String>::new(), "{variable}");
        daemon.stop();
    }
}

/// An https cloud goes through `HTTPS_PROXY` as a CONNECT tunnel: the proxy sees the
/// host, never the token; the status names the proxy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_goes_through_the_named_proxy_as_a_tunnel_without_the_token() {
    let root = tempfile::tempdir().unwrap();
    let proxy = FakeProxy::start().await;
    let mut config = cloud_config(root.path(), "https://192.0.2.1:8443");
    config.env.push(("HTTPS_PROXY".into(), proxy.url.clone()));
    let mut daemon = Daemon::start(root.path(), &config);
    let status = daemon
        .wait_for("a request through the proxy", WAIT, |s| s.error.is_some())
        .await;
    assert_eq!(
        status.proxy.as_deref(),
        Some(format!("{} (from HTTPS_PROXY)", proxy.url).as_str())
    );
    let seen = proxy.seen();
    assert!(!seen.is_empty());
    for head in &seen {
        assert!(head.starts_with("CONNECT 192.0.2.1:8443 "), "{head}");
        assert!(!head.contains(TOKEN), "{head}");
    }
    daemon.stop();
}
