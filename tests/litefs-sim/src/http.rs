//! The HTTP API: LiteFS's `/events`, `/export` and `/info`, plus `/sim/*`
//! control endpoints for tests, benchmarks and the demo.

use std::io;
use std::time::Duration;

use anyhow::Context;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde::Deserialize;
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc, OwnedRwLockReadGuard};
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use crate::events::{garbage_lines, init_line, TxEvent};
use crate::export::ExportPlan;
use crate::image::patch_header;
use crate::misbehaviour::Misbehaviour;
use crate::sim::Sim;
use crate::store::Snapshot;

/// Size of the chunks an export is streamed in.
const EXPORT_CHUNK: u64 = 256 * 1024;

/// How often a dripping export sends its next byte.
const DRIP_EVERY: Duration = Duration::from_millis(100);

/// How long to wait before failing a body, so the bytes before the failure go out.
const FLUSH_GRACE: Duration = Duration::from_millis(50);

type Chunk = Result<Bytes, io::Error>;

/// Serves until dropped (it never ends by itself); dropping it also closes
/// all connections and stops the `tx_interval` commits.
pub(crate) async fn serve(sim: Sim, listener: TcpListener) -> anyhow::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, "serving the LiteFS API");
    }
    let ticker = async {
        match sim.tx_interval() {
            Some(every) => commit_every(&sim, every).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = accept(router(sim.clone()), listener) => Ok(()),
        () = ticker => Ok(()),
    }
}

pub(crate) async fn accept(app: Router, listener: TcpListener) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Like Go's net package (so LiteFS): no Nagle delay on event lines.
                    if let Err(err) = stream.set_nodelay(true) {
                        debug!(%peer, "TCP_NODELAY: {err}");
                    }
                    let service = TowerToHyperService::new(app.clone());
                    connections.spawn(async move {
                        let conn = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service);
                        if let Err(err) = conn.await {
                            debug!(%peer, "connection ended: {err}");
                        }
                    });
                }
                Err(err) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    warn!("accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next() => {}
        }
    }
}

async fn commit_every(sim: &Sim, every: Duration) {
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if let Err(err) = sim.commit(1).await {
            warn!("scheduled commit failed: {err:#}");
        }
    }
}

fn router(sim: Sim) -> Router {
    Router::new()
        .route("/events", get(events))
        .route("/export", get(export))
        .route("/info", get(info))
        .route("/sim/commit", post(sim_commit))
        .route("/sim/burst", post(sim_burst))
        .route("/sim/position", get(sim_position))
        .route("/sim/misbehave", post(sim_misbehave))
        .with_state(sim)
}

/// A streamed body fed through a channel by a task.
fn channel_body() -> (mpsc::Sender<Chunk>, Body) {
    let (tx, rx) = mpsc::channel::<Chunk>(4);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    (tx, Body::from_stream(stream))
}

/// Closes the connection abruptly after the chunks already sent.
async fn abort(tx: &mpsc::Sender<Chunk>, why: &str) {
    // Let hyper flush what it has first: a body error drops unflushed data.
    tokio::time::sleep(FLUSH_GRACE).await;
    let _ = tx.send(Err(io::Error::other(why.to_owned()))).await;
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (status, text).into_response()
}

fn internal_error(err: &anyhow::Error) -> Response {
    warn!("request failed: {err:#}");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("internal error: {err:#}"),
    )
        .into_response()
}

async fn events(State(sim): State<Sim>) -> Response {
    let rx = sim.subscribe();
    let (tx, body) = channel_body();
    tokio::spawn(stream_events(sim, rx, tx));
    ([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response()
}

async fn stream_events(sim: Sim, mut rx: broadcast::Receiver<TxEvent>, tx: mpsc::Sender<Chunk>) {
    if tx.send(Ok(init_line().into())).await.is_err() {
        return;
    }
    loop {
        let received = tokio::select! {
            () = tx.closed() => return,
            received = rx.recv() => received,
        };
        let event = match received {
            Ok(event) => event,
            Err(RecvError::Lagged(missed)) => {
                warn!(
                    missed,
                    "an /events subscriber fell behind; disconnecting it"
                );
                return;
            }
            Err(RecvError::Closed) => return,
        };
        let mode = sim.misbehaviour();
        if mode == Misbehaviour::GarbageLines
            && tx.send(Ok(garbage_lines(&event).into())).await.is_err()
        {
            return;
        }
        let line = event.line(mode == Misbehaviour::BadEventChecksum);
        if mode == Misbehaviour::CutStream {
            let half = line.len() / 2;
            let half = Bytes::from(line).slice(..half);
            if tx.send(Ok(half)).await.is_ok() {
                abort(&tx, "simulated cut").await;
            }
            return;
        }
        if tx.send(Ok(line.into())).await.is_err() {
            return;
        }
    }
}

#[derive(Deserialize)]
struct ExportQuery {
    name: Option<String>,
}

async fn export(State(sim): State<Sim>, Query(query): Query<ExportQuery>) -> Response {
    let Some(name) = query.name else {
        return plain(StatusCode::BAD_REQUEST, "missing name");
    };
    if name != sim.db_name() {
        return plain(StatusCode::NOT_FOUND, "database not found");
    }
    let mode = sim.misbehaviour();
    if mode == Misbehaviour::Http500 {
        return plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error: simulated failure",
        );
    }
    if mode == Misbehaviour::EndlessErrorBody {
        return endless_error();
    }
    if mode == Misbehaviour::DripErrorBody {
        return dripping_error();
    }
    let (guard, snapshot) = match sim.export_snapshot().await {
        Ok(found) => found,
        Err(err) => return internal_error(&err),
    };
    let plan = ExportPlan::new(mode, snapshot.len(), snapshot.position.page_size);
    debug!(?plan, txid = snapshot.position.txid, "exporting");
    let content_length = plan.content_length;
    let (tx, body) = channel_body();
    tokio::spawn(async move {
        if let Err(err) = stream_export(&snapshot, plan, guard, &tx).await {
            // As LiteFS does once bytes were sent: the error text is appended to the
            // body, which then ends cleanly (the status was 200 already).
            warn!("export failed: {err:#}");
            let _ = tx
                .send(Ok(format!("write snapshot: {err:#}\n").into()))
                .await;
        }
    });
    let mut response = ([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response();
    if let Some(len) = content_length {
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, len.into());
    }
    response
}

async fn stream_export(
    snapshot: &Snapshot,
    plan: ExportPlan,
    guard: OwnedRwLockReadGuard<()>,
    tx: &mpsc::Sender<Chunk>,
) -> anyhow::Result<()> {
    let path = &snapshot.path;
    let mut file = tokio::fs::File::open(path)
        .await
        .with_context(|| format!("opening {}", path.display()))?;
    let mut sent = 0;
    while sent < plan.send {
        let len = EXPORT_CHUNK.min(plan.send - sent);
        let mut chunk = vec![0u8; len as usize];
        file.read_exact(&mut chunk)
            .await
            .with_context(|| format!("reading {} at {sent}", path.display()))?;
        patch_header(sent, &mut chunk);
        if let Some(at) = plan.flip_at.and_then(|at| at.checked_sub(sent)) {
            if let Some(byte) = chunk.get_mut(at as usize) {
                *byte ^= 0xff;
            }
        }
        sent += len;
        if tx.send(Ok(chunk.into())).await.is_err() {
            return Ok(()); // the client went away
        }
    }
    if plan.drip {
        // Holds the lock as a dripping LiteFS export would, one byte per tick.
        let mut byte = [0u8; 1];
        while sent < snapshot.len() {
            tokio::time::sleep(DRIP_EVERY).await;
            file.read_exact(&mut byte).await?;
            sent += 1;
            if tx.send(Ok(byte.to_vec().into())).await.is_err() {
                return Ok(());
            }
        }
    }
    drop(guard);
    if plan.stall {
        tx.closed().await;
    }
    Ok(())
}

/// A 500 whose body never ends (until the client leaves).
fn endless_error() -> Response {
    let (tx, body) = channel_body();
    tokio::spawn(async move {
        let junk = Bytes::from(vec![b'x'; 64 * 1024]);
        while tx.send(Ok(junk.clone())).await.is_ok() {}
    });
    let mut response = body.into_response();
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

/// A 500 whose body drips one byte every 100 ms, forever.
fn dripping_error() -> Response {
    let (tx, body) = channel_body();
    tokio::spawn(async move {
        while tx.send(Ok(Bytes::from_static(b"x"))).await.is_ok() {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    });
    let mut response = body.into_response();
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

async fn info(State(sim): State<Sim>) -> Response {
    match sim.misbehaviour() {
        Misbehaviour::EndlessErrorBody => return endless_error(),
        Misbehaviour::DripErrorBody => return dripping_error(),
        _ => {}
    }
    // As LiteFS formats it: pretty-printed JSON as text/plain; a static primary
    // has no hostname.
    let info = json!({
        "clusterID": "LFSCsim",
        "isPrimary": true,
        "candidate": true,
        "path": "/litefs",
        "primary": {"hostname": ""},
    });
    let text = serde_json::to_string_pretty(&info).unwrap_or_default() + "\n";
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

#[derive(Deserialize)]
struct CommitQuery {
    count: Option<usize>,
}

async fn sim_commit(State(sim): State<Sim>, Query(query): Query<CommitQuery>) -> Response {
    match sim.commit(query.count.unwrap_or(1)).await {
        Ok(position) => Json(position).into_response(),
        Err(err) => internal_error(&err),
    }
}

#[derive(Deserialize)]
struct BurstQuery {
    count: usize,
    over_ms: u64,
}

async fn sim_burst(State(sim): State<Sim>, Query(query): Query<BurstQuery>) -> Response {
    match sim
        .burst(query.count, Duration::from_millis(query.over_ms))
        .await
    {
        Ok(position) => Json(position).into_response(),
        Err(err) => internal_error(&err),
    }
}

async fn sim_position(State(sim): State<Sim>) -> Response {
    Json(sim.position()).into_response()
}

#[derive(Deserialize)]
struct MisbehaveQuery {
    mode: Misbehaviour,
}

async fn sim_misbehave(State(sim): State<Sim>, Query(query): Query<MisbehaveQuery>) -> StatusCode {
    info!(mode = ?query.mode, "misbehaviour set");
    sim.set_misbehaviour(query.mode);
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SimConfig;

    #[tokio::test]
    async fn a_lagging_subscriber_is_disconnected() {
        let dir = tempfile::tempdir().unwrap();
        let sim = Sim::create(SimConfig {
            size_mb: 1,
            ..SimConfig::new(dir.path())
        })
        .unwrap();
        let event = TxEvent {
            db: "Domain.sqlite3".into(),
            position: sim.position(),
            timestamp: "2023-09-06T19:12:34.985Z".into(),
        };
        let (events, subscriber) = broadcast::channel(4);
        let (tx, mut rx) = mpsc::channel(1);
        let task = tokio::spawn(stream_events(sim, subscriber, tx));
        // The subscriber reads nothing while 20 events go out.
        for _ in 0..20 {
            events.send(event.clone()).unwrap();
            tokio::task::yield_now().await;
        }
        let mut lines = 0;
        while let Some(chunk) = rx.recv().await {
            chunk.unwrap();
            lines += 1;
        }
        task.await.unwrap();
        assert!(lines < 10, "{lines} lines reached a lagging subscriber");
        assert_eq!(events.receiver_count(), 0);
    }
}
