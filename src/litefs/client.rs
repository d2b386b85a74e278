//! The LiteFS HTTP API client: the `/events` stream, `/export` and `/info`.
//!
//! Never configured with a proxy (LiteFS listens on loopback) and never given the
//! LiteFS Cloud token (the API needs none), so no error or log line can carry it.

use std::time::Duration;

use bytes::Bytes;

use crate::error_chain::error_chain;
use crate::error_kind::ErrorKind;

use super::events::{parse_line, BadLine, Event, Line, LineSplitter};
use super::paced_body::{PacedBody, Slow};

/// Longest event line accepted; real ones are a few hundred bytes.
const MAX_EVENT_LINE: usize = 64 * 1024;
/// Most of an error body kept for the message; the rest is never read.
pub const MAX_ERROR_BODY: usize = 4 * 1024;
/// Largest `/info` body accepted; LiteFS's is a few hundred bytes.
pub const MAX_INFO_BODY: usize = 64 * 1024;
/// Slowest average rate an export may keep up over each stall window (bytes per
/// second). LiteFS on loopback sends hundreds of MB/s; a server below this is broken
/// or hostile, and it holds LiteFS's lock while it drips.
pub const MIN_EXPORT_RATE: u64 = 256 * 1024;

/// Errors talking to LiteFS; each says which request failed and how.
#[derive(Debug, thiserror::Error)]
pub enum LiteFsError {
    #[error("LiteFS is not reachable at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("LiteFS has no database named {db:?} (404 from /export); check [litefs] database")]
    NoDatabase { db: String },
    #[error(
        "LiteFS has no data for {db:?} yet (the database is empty or was dropped); \
         the last published file is kept until LiteFS has data again"
    )]
    NoData { db: String },
    #[error("LiteFS answered {status} to {what}: {body}")]
    Status {
        what: &'static str,
        status: u16,
        body: String,
    },
    #[error("LiteFS export stalled: no data for {0:?}")]
    Stalled(Duration),
    #[error(
        "LiteFS export too slow: less than {} KiB arrived in {window:?}; gave up on it (it is retried)",
        per_window / 1024
    )]
    TooSlow { per_window: u64, window: Duration },
    #[error("LiteFS sent an /info answer larger than {} KiB", MAX_INFO_BODY / 1024)]
    InfoTooLarge,
    #[error("LiteFS connection broke during {what}: {reason}")]
    Broken { what: &'static str, reason: String },
}

impl LiteFsError {
    /// A short machine-readable kind for the status.
    pub fn kind(&self) -> ErrorKind {
        match self {
            LiteFsError::Unreachable { .. } => ErrorKind::LiteFsUnreachable,
            LiteFsError::NoDatabase { .. } => ErrorKind::LiteFsNoDatabase,
            LiteFsError::NoData { .. } => ErrorKind::LiteFsNoData,
            LiteFsError::Status { .. } => ErrorKind::LiteFsHttpError,
            LiteFsError::Stalled(_) => ErrorKind::ExportStalled,
            LiteFsError::TooSlow { .. } => ErrorKind::ExportTooSlow,
            LiteFsError::InfoTooLarge => ErrorKind::LiteFsHttpError,
            LiteFsError::Broken { .. } => ErrorKind::ExportInterrupted,
        }
    }
}

/// How long to wait before giving up on a connection or a silent export.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub connect: Duration,
    /// Longest wait for an answer's headers, for the whole body of a small answer (an
    /// error, `/info`, the cloud's `/pos`), and between two chunks of an export; an
    /// export must also bring [`MIN_EXPORT_RATE`] on average over every such window.
    pub stall: Duration,
}

/// A client for one LiteFS node and one database.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    db: String,
    timeouts: Timeouts,
}

impl Client {
    pub fn new(base_url: &str, db: &str, timeouts: Timeouts) -> Result<Self, LiteFsError> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(timeouts.connect)
            .tcp_keepalive(Duration::from_secs(30))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| LiteFsError::Unreachable {
                url: base_url.to_string(),
                reason: e.to_string(),
            })?;
        Ok(Client {
            http,
            base: base_url.trim_end_matches('/').to_string(),
            db: db.to_string(),
            timeouts,
        })
    }

    /// The base URL, for status and messages.
    /// How long a request or an export may go without progress.
    pub fn stall_timeout(&self) -> Duration {
        self.timeouts.stall
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    /// The database this client exports.
    pub fn database(&self) -> &str {
        &self.db
    }

    async fn get(
        &self,
        what: &'static str,
        query: &[(&str, &str)],
    ) -> Result<reqwest::Response, LiteFsError> {
        let request = self
            .http
            .get(format!("{}{}", self.base, what))
            .query(query)
            .send();
        let resp = tokio::time::timeout(self.timeouts.stall, request)
            .await
            .map_err(|_| LiteFsError::Unreachable {
                url: self.base.clone(),
                reason: format!(
                    "it took the connection but sent no answer within {:?}",
                    self.timeouts.stall
                ),
            })?
            .map_err(|e| LiteFsError::Unreachable {
                url: self.base.clone(),
                reason: error_chain(&e),
            })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        if status == reqwest::StatusCode::NOT_FOUND && what == "/export" {
            return Err(LiteFsError::NoDatabase {
                db: self.db.clone(),
            });
        }
        let mut resp = resp;
        let body = match read_capped(&mut resp, MAX_ERROR_BODY, self.timeouts.stall).await {
            Ok((body, _)) => String::from_utf8_lossy(&body).into_owned(),
            Err(reason) => format!("(its body was not read: {reason})"),
        };
        if what == "/export" && lost_database_file(status.as_u16(), &body) {
            return Err(LiteFsError::NoData {
                db: self.db.clone(),
            });
        }
        Err(LiteFsError::Status {
            what,
            status: status.as_u16(),
            body: body.trim().chars().take(300).collect(),
        })
    }

    /// `GET /info`: the node's description, as JSON (at most [`MAX_INFO_BODY`] read).
    pub async fn info(&self) -> Result<serde_json::Value, LiteFsError> {
        let mut resp = self.get("/info", &[]).await?;
        let broken = |reason: String| LiteFsError::Broken {
            what: "/info",
            reason,
        };
        let (body, complete) = read_capped(&mut resp, MAX_INFO_BODY, self.timeouts.stall)
            .await
            .map_err(broken)?;
        if !complete {
            return Err(LiteFsError::InfoTooLarge);
        }
        serde_json::from_slice(&body).map_err(|e| broken(e.to_string()))
    }

    /// `GET /export?name=<db>`: a stream of the database image's bytes.
    pub async fn export(&self) -> Result<Export, LiteFsError> {
        let resp = self.get("/export", &[("name", &self.db)]).await?;
        Ok(Export {
            expected_len: resp.content_length(),
            body: PacedBody::new(resp, self.timeouts.stall, MIN_EXPORT_RATE),
        })
    }

    /// `GET /events`: the node's event stream.
    pub async fn events(&self) -> Result<EventStream, LiteFsError> {
        let resp = self.get("/events", &[]).await?;
        Ok(EventStream {
            resp,
            lines: LineSplitter::new(MAX_EVENT_LINE),
            ready: Default::default(),
        })
    }
}

/// Whether an `/export` error is LiteFS failing to open a database it knows but holds
/// no file for: what it answers after the database was dropped (a `tx` with `commit: 0`),
/// e.g. `500 write snapshot: open database file: open …/database: no such file or
/// directory`.
fn lost_database_file(status: u16, body: &str) -> bool {
    status == 500 && body.contains("open database file") && body.contains("no such file")
}

/// Reads at most `cap` bytes of a body, the whole of it within `within` (a body that
/// trickles is given up as surely as a silent one); the bool says whether the body
/// ended within the cap. The rest of a longer body is never read. (The cloud client
/// reads its small answers and error bodies with it too.)
pub(crate) async fn read_capped(
    resp: &mut reqwest::Response,
    cap: usize,
    within: Duration,
) -> Result<(Vec<u8>, bool), String> {
    let mut body = Vec::new();
    let read = async {
        loop {
            let Some(chunk) = resp.chunk().await.map_err(|e| error_chain(&e))? else {
                return Ok(true);
            };
            let room = cap - body.len();
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                return Ok(false);
            }
            body.extend_from_slice(&chunk);
        }
    };
    let result = tokio::time::timeout(within, read).await;
    match result {
        Ok(Ok(complete)) => Ok((body, complete)),
        Ok(Err(reason)) => Err(reason),
        Err(_) => Err(format!(
            "the answer did not arrive whole within {within:?} ({} bytes came)",
            body.len()
        )),
    }
}

/// An export being received.
pub struct Export {
    body: PacedBody,
    expected_len: Option<u64>,
}

impl Export {
    /// The length LiteFS announced, if it did.
    pub fn expected_len(&self) -> Option<u64> {
        self.expected_len
    }

    /// The next chunk; `None` at the end. Fails when no byte arrives within the stall
    /// timeout, when the export falls below [`MIN_EXPORT_RATE`] (see [`PacedBody`]), or
    /// when the connection breaks.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, LiteFsError> {
        self.body.chunk().await.map_err(|e| match e {
            Slow::Stalled(stall) => LiteFsError::Stalled(stall),
            Slow::TooSlow { per_window, window } => LiteFsError::TooSlow { per_window, window },
            Slow::Broken(reason) => LiteFsError::Broken {
                what: "/export",
                reason,
            },
        })
    }
}

/// The `/events` stream of one connection.
pub struct EventStream {
    resp: reqwest::Response,
    lines: LineSplitter,
    ready: std::collections::VecDeque<Result<Event, BadLine>>,
}

impl EventStream {
    /// The next event or unreadable line; `Ok(None)` when the server closed the stream.
    pub async fn next(&mut self) -> Result<Option<Result<Event, BadLine>>, LiteFsError> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Ok(Some(item));
            }
            let chunk = self.resp.chunk().await.map_err(|e| LiteFsError::Broken {
                what: "/events",
                reason: error_chain(&e),
            })?;
            let Some(chunk) = chunk else {
                return Ok(None);
            };
            for line in self.lines.push(&chunk) {
                self.ready.push_back(match line {
                    Line::Complete(line) => parse_line(&line),
                    Line::TooLong => parse_line(b"<line longer than 64 KiB>"),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_database_is_told_from_other_errors() {
        // Measured against LiteFS v0.5.14 after `rm` of the database in the mount.
        let dropped = "write snapshot: open database file: open \
            /var/lib/litefs/dbs/Domain.sqlite3/database: no such file or directory\n";
        assert!(lost_database_file(500, dropped));
        assert!(!lost_database_file(503, dropped));
        assert!(!lost_database_file(500, "write snapshot: disk I/O error"));
        assert!(!lost_database_file(500, ""));
    }
}
