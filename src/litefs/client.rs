//! The LiteFS HTTP API client: the `/events` stream, `/export` and `/info`.
//!
//! Never configured with a proxy (LiteFS listens on loopback) and never given the
//! LiteFS Cloud token (the API needs none), so no error or log line can carry it.

use std::time::Duration;

use bytes::Bytes;

use crate::error_chain::error_chain;

use super::events::{parse_line, BadLine, Event, Line, LineSplitter};

/// Longest event line accepted; real ones are a few hundred bytes.
const MAX_EVENT_LINE: usize = 64 * 1024;

/// Errors talking to LiteFS; each says which request failed and how.
#[derive(Debug, thiserror::Error)]
pub enum LiteFsError {
    #[error("LiteFS is not reachable at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("LiteFS has no database named {db:?} (404 from /export); check [litefs] database")]
    NoDatabase { db: String },
    #[error("LiteFS answered {status} to {what}: {body}")]
    Status {
        what: &'static str,
        status: u16,
        body: String,
    },
    #[error("LiteFS export stalled: no data for {0:?}")]
    Stalled(Duration),
    #[error("LiteFS connection broke during {what}: {reason}")]
    Broken { what: &'static str, reason: String },
}

impl LiteFsError {
    /// A short machine-readable kind for the status.
    pub fn kind(&self) -> &'static str {
        match self {
            LiteFsError::Unreachable { .. } => "litefs_unreachable",
            LiteFsError::NoDatabase { .. } => "litefs_no_database",
            LiteFsError::Status { .. } => "litefs_http_error",
            LiteFsError::Stalled(_) => "export_stalled",
            LiteFsError::Broken { .. } => "export_interrupted",
        }
    }
}

/// How long to wait before giving up on a connection or a silent export.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub connect: Duration,
    /// Longest pause between two chunks of an export.
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
        let resp = self
            .http
            .get(format!("{}{}", self.base, what))
            .query(query)
            .send()
            .await
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
        let body = tokio::time::timeout(self.timeouts.stall, resp.text())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        Err(LiteFsError::Status {
            what,
            status: status.as_u16(),
            body: body.trim().chars().take(300).collect(),
        })
    }

    /// `GET /info`: the node's description, as JSON.
    pub async fn info(&self) -> Result<serde_json::Value, LiteFsError> {
        let resp = self.get("/info", &[]).await?;
        resp.json().await.map_err(|e| LiteFsError::Broken {
            what: "/info",
            reason: error_chain(&e),
        })
    }

    /// `GET /export?name=<db>`: a stream of the database image's bytes.
    pub async fn export(&self) -> Result<Export, LiteFsError> {
        let resp = self.get("/export", &[("name", &self.db)]).await?;
        Ok(Export {
            expected_len: resp.content_length(),
            resp,
            stall: self.timeouts.stall,
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

/// An export being received.
pub struct Export {
    resp: reqwest::Response,
    stall: Duration,
    expected_len: Option<u64>,
}

impl Export {
    /// The length LiteFS announced, if it did.
    pub fn expected_len(&self) -> Option<u64> {
        self.expected_len
    }

    /// The next chunk; `None` at the end. Fails when no byte arrives within the stall
    /// timeout or the connection breaks.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, LiteFsError> {
        match tokio::time::timeout(self.stall, self.resp.chunk()).await {
            Err(_) => Err(LiteFsError::Stalled(self.stall)),
            Ok(Err(e)) => Err(LiteFsError::Broken {
                what: "/export",
                reason: error_chain(&e),
            }),
            Ok(Ok(chunk)) => Ok(chunk),
        }
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
