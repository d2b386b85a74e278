//! The backup API over HTTP, as lfsb v0.2.0 answers it: `GET /pos`, `GET /db/snapshot`,
//! and `POST /db/tx` refused (this service holds only what its file holds).
//!
//! Every path first checks `Authorization` ([`super::auth`]); errors are JSON
//! `{"code","error"}` as `application/json`. `/pos` is pretty-printed (two spaces, no
//! trailing newline) with a Content-Length; a snapshot is chunked
//! `application/octet-stream`, and one that fails midway appends a JSON error to a body
//! that still ends with 200.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::auth::{cluster_of, Refusal};
use super::snapshot::write_ltx;
use super::CloudSim;

/// Size of the chunks a snapshot body is sent in.
const CHUNK: usize = 64 * 1024;

pub(super) fn router(sim: CloudSim) -> Router {
    Router::new()
        .route("/pos", get(pos))
        .route("/db/snapshot", get(snapshot))
        .route("/db/tx", post(write_tx))
        .fallback(not_found)
        .with_state(sim)
}

/// An lfsb error answer.
fn error(status: u16, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "code": code, "error": message }).to_string();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn refused(refusal: Refusal) -> Response {
    let (status, code, message) = refusal.answer();
    error(status, code, message)
}

/// Whether the request's cluster (from its token alone) is the one holding the database.
fn authorize(sim: &CloudSim, headers: &HeaderMap) -> Result<bool, Refusal> {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    Ok(cluster_of(header)? == sim.0.cluster)
}

#[derive(Serialize)]
struct PosEntry {
    #[serde(rename = "TXID")]
    txid: String,
    #[serde(rename = "PostApplyChecksum")]
    post_apply_checksum: String,
}

async fn pos(State(sim): State<CloudSim>, headers: HeaderMap) -> Response {
    let known = match authorize(&sim, &headers) {
        Ok(known) => known,
        Err(refusal) => return refused(refusal),
    };
    // Keyed by database; each entry's fields in lfsb's order (TXID first).
    let mut map = std::collections::BTreeMap::new();
    if known {
        let current = {
            let sim = sim.clone();
            tokio::task::spawn_blocking(move || sim.current()).await
        };
        match current {
            Ok(Ok(Some(version))) => {
                let entry = PosEntry {
                    txid: format!("{:016x}", version.txid),
                    post_apply_checksum: format!("{:016x}", version.checksum),
                };
                map.insert(sim.0.db.clone(), entry);
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => return error(500, "EINTERNAL", &format!("{e:#}")),
            Err(e) => return error(500, "EINTERNAL", &e.to_string()),
        }
    }
    match serde_json::to_vec_pretty(&map) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => error(500, "EINTERNAL", &e.to_string()),
    }
}

#[derive(Deserialize)]
struct SnapshotQuery {
    db: Option<String>,
    format: Option<String>,
}

async fn snapshot(
    State(sim): State<CloudSim>,
    headers: HeaderMap,
    Query(query): Query<SnapshotQuery>,
) -> Response {
    let known = match authorize(&sim, &headers) {
        Ok(known) => known,
        Err(refusal) => return refused(refusal),
    };
    let db = query.db.unwrap_or_default();
    if db.is_empty() {
        return error(400, "EBADDB", "database required");
    }
    let not_found = || error(404, "ENODB", "database not found");
    if !known || db != sim.0.db {
        return not_found();
    }
    let mut file = match File::open(sim.0.source.path()) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return not_found(),
        Err(e) => return error(500, "EINTERNAL", &e.to_string()),
    };
    let raw = query.format.as_deref() == Some("sqlite");
    let fail_after = sim.fail_midway_after();
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(4);
    let sender = ChunkSender {
        tx,
        sent: 0,
        fail_after,
    };
    let version = {
        let sim = sim.clone();
        let opened = file.try_clone();
        match tokio::task::spawn_blocking(move || match opened {
            Ok(mut f) => sim.version_of(&mut f),
            Err(e) => Err(e.into()),
        })
        .await
        {
            Ok(Ok(Some(version))) => version,
            Ok(Ok(None)) => return not_found(),
            Ok(Err(e)) => return error(500, "EINTERNAL", &format!("{e:#}")),
            Err(e) => return error(500, "EINTERNAL", &e.to_string()),
        }
    };
    tokio::task::spawn_blocking(move || {
        let mut out = BufWriter::with_capacity(CHUNK, sender);
        let written = match raw {
            true => copy_raw(&mut file, &mut out),
            false => write_ltx(&mut file, &version, &mut out),
        }
        .and_then(|()| out.flush().map_err(anyhow::Error::from));
        if let Err(e) = written {
            debug!("snapshot not finished: {e:#}");
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    (
        [(header::CONTENT_TYPE, "application/octet-stream")],
        Body::from_stream(stream),
    )
        .into_response()
}

fn copy_raw(file: &mut File, out: &mut impl Write) -> anyhow::Result<()> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        out.write_all(&buf[..n])?;
    }
}

/// Sends a body's bytes to the connection; with `fail_after`, stops there and appends
/// lfsb's JSON error, as a snapshot that fails midway does.
struct ChunkSender {
    tx: mpsc::Sender<io::Result<Bytes>>,
    sent: u64,
    fail_after: Option<u64>,
}

impl Write for ChunkSender {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let gone = |_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away");
        let mut take = buf.len();
        if let Some(limit) = self.fail_after {
            let left = limit.saturating_sub(self.sent) as usize;
            if left < take {
                take = left;
                let head = Bytes::copy_from_slice(&buf[..take]);
                self.tx.blocking_send(Ok(head)).map_err(gone)?;
                let tail = br#"{"code":"EINTERNAL","error":"snapshot: read page: unexpected EOF"}"#;
                self.tx
                    .blocking_send(Ok(Bytes::from_static(tail)))
                    .map_err(gone)?;
                warn!("a snapshot failed midway, as asked");
                return Err(io::Error::other("failed midway, as asked"));
            }
        }
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(&buf[..take])))
            .map_err(gone)?;
        self.sent += take as u64;
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

async fn write_tx(State(sim): State<CloudSim>, headers: HeaderMap) -> Response {
    if let Err(refusal) = authorize(&sim, &headers) {
        return refused(refusal);
    }
    error(
        409,
        "EPOSMISMATCH",
        "this backup service is read-only: it holds only what its file holds",
    )
}

async fn not_found(State(sim): State<CloudSim>, headers: HeaderMap) -> Response {
    if let Err(refusal) = authorize(&sim, &headers) {
        return refused(refusal);
    }
    error(404, "ENOTFOUND", "not found")
}
