//! The project's LiteFS Cloud stand-in (`litefs_sim::cloud`, speaking lfsb's dialect) and
//! a fault-injecting proxy in front of it, for the cloud source's end-to-end tests.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use litefs_sim::cloud::{CloudConfig, CloudServer, CloudSim};

/// The cluster that holds the stand-in's database.
pub const CLUSTER: &str = "store-7";
/// The token a store of that cluster is given (lfsb's `cluster <name>`).
pub const TOKEN: &str = "cluster store-7";

/// The stand-in, serving `src` as `Domain.sqlite3` of [`CLUSTER`]; stopped on drop.
pub struct Standin {
    server: CloudServer,
    pub url: String,
    pub src: PathBuf,
}

impl Standin {
    pub async fn start(src: &Path) -> Standin {
        let server = CloudServer::start(CloudConfig::new(src, CLUSTER), "127.0.0.1:0")
            .expect("the cloud stand-in starts");
        let standin = Standin {
            url: server.url(),
            server,
            src: src.to_path_buf(),
        };
        assert!(
            standin.position().await.is_some(),
            "the stand-in serves no position"
        );
        standin
    }

    /// The service itself, for its faults.
    pub fn sim(&self) -> &CloudSim {
        self.server.sim()
    }

    /// The cloud's position: (TXID, checksum), as 16-hex strings.
    pub async fn position(&self) -> Option<(String, String)> {
        let body = reqwest::Client::new()
            .get(format!("{}/pos", self.url))
            .header("authorization", TOKEN)
            .send()
            .await
            .ok()?
            .bytes()
            .await
            .ok()?;
        let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
        let p = v.get("Domain.sqlite3")?;
        Some((
            p["TXID"].as_str()?.to_string(),
            p["PostApplyChecksum"].as_str()?.to_string(),
        ))
    }

    /// Publishes a new cloud version with `rows` rows (temp file + rename) and waits until
    /// the stand-in serves it; returns its position.
    pub async fn publish(&self, rows: usize) -> (String, String) {
        let tmp = self.src.with_extension("tmp");
        let _ = std::fs::remove_file(&tmp);
        make_database(&tmp, rows);
        self.replace(&tmp).await
    }

    /// Restores `content` (an earlier version's bytes), as `POST /db/restore` does: the
    /// cloud moves forward to a new TXID holding it. Returns the new position.
    pub async fn restore(&self, content: &[u8]) -> (String, String) {
        let tmp = self.src.with_extension("restore");
        std::fs::write(&tmp, content).unwrap();
        self.replace(&tmp).await
    }

    async fn replace(&self, next: &Path) -> (String, String) {
        let before = self.position().await;
        std::fs::rename(next, &self.src).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(now) = self.position().await.filter(|p| Some(p) != before.as_ref()) {
                return now;
            }
            assert!(Instant::now() < deadline, "the stand-in did not move");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A domain-like SQLite file with `rows` products and a metadata row.
pub fn make_database(path: &Path, rows: usize) {
    let db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch(
        "CREATE TABLE metadata (generated_at TEXT, schema_version TEXT, linked_trace_id TEXT,
           linked_trace_state TEXT, linked_span_id TEXT);
         INSERT INTO metadata VALUES ('2026-11-29T20:00:00Z', '7', NULL, NULL, NULL);
         CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, price INTEGER);",
    )
    .unwrap();
    let tx = db.unchecked_transaction().unwrap();
    for i in 0..rows {
        tx.execute(
            "INSERT INTO products (name, price) VALUES (?1, ?2)",
            rusqlite::params![format!("product {i} {}", fastrand::u64(..)), i as i64],
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

/// What the proxy does to the stand-in's answers.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Fault {
    #[default]
    None,
    /// Every request answers this status (with a short text body).
    Status(u16),
    /// `/pos` lists no database.
    NoDatabase,
    /// The snapshot ends halfway.
    CutShort,
    /// 64 bytes in the middle of the snapshot are inverted.
    Corrupt,
    /// `/pos` announces another post-apply checksum than the snapshot has.
    WrongPostApply,
    /// The snapshot trickles at about 1 KiB/s.
    Slow,
    /// `/pos` and the snapshot are these (a restore to an older version).
    Serve { pos: Vec<u8>, snapshot: Vec<u8> },
}

/// What the proxy saw: each request's path+query and Authorization header.
#[derive(Default)]
pub struct Seen {
    pub requests: Vec<(String, Option<String>)>,
}

#[derive(Clone)]
struct Shared {
    upstream: String,
    fault: Arc<Mutex<Fault>>,
    seen: Arc<Mutex<Seen>>,
    http: reqwest::Client,
}

/// A fault-injecting HTTP proxy in front of the stand-in.
pub struct Proxy {
    pub url: String,
    upstream: String,
    pub fault: Arc<Mutex<Fault>>,
    pub seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: &str) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Shared {
            upstream: upstream.to_string(),
            fault: Arc::default(),
            seen: Arc::default(),
            http: reqwest::Client::new(),
        };
        let (fault, seen) = (shared.fault.clone(), shared.seen.clone());
        let app = axum::Router::new().fallback(handle).with_state(shared);
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Proxy {
            url,
            upstream: upstream.to_string(),
            fault,
            seen,
            task,
        }
    }

    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }

    /// The upstream's current `/pos` body and snapshot, to be served later.
    pub async fn record(&self) -> Fault {
        let http = reqwest::Client::new();
        let upstream = &self.upstream;
        let pos = http
            .get(format!("{upstream}/pos"))
            .header("authorization", TOKEN);
        let pos = pos.send().await.unwrap();
        let pos = pos.bytes().await.unwrap().to_vec();
        let snap = http
            .get(format!("{upstream}/db/snapshot?db=Domain.sqlite3"))
            .header("authorization", TOKEN)
            .send()
            .await
            .unwrap();
        let snapshot = snap.bytes().await.unwrap().to_vec();
        Fault::Serve { pos, snapshot }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(State(shared): State<Shared>, request: Request) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let auth = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    shared
        .seen
        .lock()
        .unwrap()
        .requests
        .push((target.clone(), auth));
    let fault = shared.fault.lock().unwrap().clone();
    let is_pos = request.uri().path() == "/pos";
    match &fault {
        Fault::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap();
            return (status, format!("injected {code}")).into_response();
        }
        Fault::NoDatabase if is_pos => return "{}\n".into_response(),
        Fault::Serve { pos, snapshot } => {
            return match is_pos {
                true => pos.clone().into_response(),
                false => snapshot.clone().into_response(),
            }
        }
        _ => {}
    }
    let mut forward = shared.http.get(format!("{}{target}", shared.upstream));
    if let Some(auth) = request.headers().get("authorization") {
        forward = forward.header("authorization", auth);
    }
    let upstream = match forward.send().await {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = upstream.status();
    let mut body = upstream.bytes().await.unwrap_or_default().to_vec();
    if is_pos {
        if fault == Fault::WrongPostApply {
            let mut pos: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let entry = &mut pos["Domain.sqlite3"]["PostApplyChecksum"];
            let mut digits = entry.as_str().unwrap().to_string();
            let last = if digits.ends_with('0') { "1" } else { "0" };
            digits.replace_range(15.., last);
            *entry = serde_json::Value::String(digits);
            body = serde_json::to_vec_pretty(&pos).unwrap();
        }
        return (StatusCode::from_u16(status.as_u16()).unwrap(), body).into_response();
    }
    match fault {
        Fault::CutShort => body.truncate(body.len() / 2),
        Fault::Corrupt => {
            let mid = body.len() / 2;
            for b in &mut body[mid..mid + 64] {
                *b ^= 0xff;
            }
        }
        Fault::Slow => {
            let chunks: Vec<Vec<u8>> = body.chunks(100).map(|c| c.to_vec()).collect();
            let stream = futures_util::stream::unfold(chunks.into_iter(), |mut it| async move {
                let chunk = it.next()?;
                tokio::time::sleep(Duration::from_millis(100)).await;
                Some((Ok::<_, std::io::Error>(chunk), it))
            });
            return Response::new(Body::from_stream(stream));
        }
        _ => {}
    }
    (StatusCode::from_u16(status.as_u16()).unwrap(), body).into_response()
}
