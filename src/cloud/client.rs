//! The LiteFS Cloud backup API client: `GET /pos` and `GET /db/snapshot`, as LiteFS
//! v0.5.14's own backup client (`lfsc/backup_client.go`) sends them.
//!
//! Every request carries `Authorization: <token as given>` and, when a cluster is
//! configured, `?cluster=<name>`. (LiteFS also sends `Litefs-Cluster-Id`, but that is
//! its own node's cluster ID, which a client without a LiteFS store does not have.)
//! The token is a [`Secret`]: the header is marked sensitive, redirects are not followed
//! (a redirect could carry it elsewhere), and error bodies are capped and scrubbed.
//!
//! A self-hosted litefs-backup (lfsb) takes `cluster <name>` as its token and the cluster
//! from it alone (it ignores `?cluster=`): [`lfsb_cluster`] reads that name, so that a
//! database missing from a wrongly named cluster says which cluster was asked, and lfsb's
//! refusals (`401 EINVALIDAUTH`, `400 EBADCLUSTER`) read as a refused token.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderValue, AUTHORIZATION};
use serde::Deserialize;

use crate::config::Secret;
use crate::error_chain::error_chain;
use crate::error_kind::ErrorKind;
use crate::litefs::client::{read_capped, Timeouts, MAX_ERROR_BODY};
use crate::litefs::paced_body::{PacedBody, Slow};
use crate::litefs::pos::Position;
use crate::litefs::Checksum;
use crate::secrets;

use super::ltx::LtxError;
use super::proxy::Proxy;

/// Largest `/pos` answer accepted (a map of a few databases is a few hundred bytes).
pub const MAX_POS_BODY: usize = 256 * 1024;
/// Slowest average rate a snapshot may keep up over each stall window (bytes per
/// second): a store's line is slower than loopback, but a snapshot below this is stuck.
pub const MIN_SNAPSHOT_RATE: u64 = 32 * 1024;

/// Errors talking to the backup service; each says which request failed and how.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    #[error("LiteFS Cloud is not reachable at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error(
        "LiteFS Cloud refused the token ({status}{code} from {what}{why}): check LITEFS_CLOUD_TOKEN or [litefs] cloud_token{cluster}",
        code = code.as_ref().map(|c| format!(" {c}")).unwrap_or_default(),
        why = refusal_reason(code.as_deref()),
    )]
    TokenRejected {
        what: &'static str,
        status: u16,
        /// The server's error code (lfsb's `EINVALIDAUTH`, `EBADCLUSTER`), when it gave one.
        code: Option<String>,
        cluster: String,
    },
    #[error(
        "LiteFS Cloud has no database named {db:?}{asked} yet; waiting for it to appear",
        asked = match cluster {
            Some(c) => format!(" in cluster {c:?} (the cluster the token names: if that name is wrong, fix the token)"),
            None => String::new(),
        }
    )]
    NoDatabase {
        db: String,
        /// The cluster the token names (lfsb's `cluster <name>`), when it names one.
        cluster: Option<String>,
    },
    #[error("LiteFS Cloud answered {status} to {what}: {body}")]
    Status {
        what: &'static str,
        status: u16,
        body: String,
    },
    #[error(
        "LiteFS Cloud asked to wait (429 to {what}){}; asking again then",
        retry_after.map(|d| format!(" for {d:?}")).unwrap_or_default()
    )]
    Busy {
        what: &'static str,
        /// Its `Retry-After`, at most [`MAX_RETRY_AFTER`].
        retry_after: Option<Duration>,
    },
    #[error("LiteFS Cloud sent an unreadable /pos answer: {0}")]
    BadPosition(String),
    #[error("LiteFS Cloud's snapshot stalled: no data for {0:?}")]
    Stalled(Duration),
    #[error(
        "LiteFS Cloud's snapshot was too slow: less than {} KiB arrived in {window:?}; gave up on it (it is retried)",
        per_window / 1024
    )]
    TooSlow { per_window: u64, window: Duration },
    #[error("the LiteFS Cloud connection broke during {what}: {reason}")]
    Broken { what: &'static str, reason: String },
    #[error("LiteFS Cloud's snapshot was refused: {0}")]
    Snapshot(LtxError),
    #[error(
        "LiteFS Cloud's snapshot is TXID {got_txid:016x} with checksum {got}, but its position said {want_txid:016x} with {want}; it is fetched again"
    )]
    NotThePosition {
        want_txid: u64,
        want: Checksum,
        got_txid: u64,
        got: Checksum,
    },
}

impl CloudError {
    /// A short machine-readable kind for the status.
    pub fn kind(&self) -> ErrorKind {
        match self {
            CloudError::Unreachable { .. } => ErrorKind::CloudUnreachable,
            CloudError::TokenRejected { .. } => ErrorKind::CloudTokenRejected,
            CloudError::NoDatabase { .. } => ErrorKind::CloudNoDatabase,
            CloudError::Status { .. } | CloudError::Busy { .. } | CloudError::BadPosition(_) => {
                ErrorKind::CloudHttpError
            }
            CloudError::Stalled(_) => ErrorKind::SnapshotStalled,
            CloudError::TooSlow { .. } => ErrorKind::SnapshotTooSlow,
            CloudError::Broken { .. } => ErrorKind::SnapshotInterrupted,
            CloudError::Snapshot(e) => e.kind(),
            CloudError::NotThePosition { .. } => ErrorKind::ChecksumMismatch,
        }
    }
}

impl CloudError {
    /// How long the cloud asked us to wait before asking again (a `429`'s `Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CloudError::Busy { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Longest `Retry-After` honoured: a longer one (or a date far ahead) is cut to this, so
/// a confused server cannot silence the app for days.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(10 * 60);

/// A `Retry-After` value, delay-seconds or an HTTP date (relative to `now`), capped at
/// [`MAX_RETRY_AFTER`] (pure). `None` when it is neither.
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            (at.with_timezone(&chrono::Utc) - now)
                .to_std()
                .unwrap_or_default()
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// What an lfsb refusal code means, for the message.
fn refusal_reason(code: Option<&str>) -> &'static str {
    match code {
        Some("EINVALIDAUTH") => {
            ": a self-hosted LiteFS Cloud (litefs-backup) expects the token as `cluster <name>`"
        }
        Some("EBADCLUSTER") => {
            ": the cluster name in the token is not valid (1-32 letters, digits, '_', '.' or '-')"
        }
        _ => "",
    }
}

/// The cluster a token names in lfsb's form `cluster <name>` (the word in any case,
/// one space, a name of 1–32 `[A-Za-z0-9_.-]` not starting with `.`); `None` for any
/// other token.
pub fn lfsb_cluster(token: &str) -> Option<&str> {
    let (scheme, name) = token.split_once(' ')?;
    let word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    let valid =
        !name.is_empty() && name.len() <= 32 && !name.starts_with('.') && name.chars().all(word);
    (scheme.eq_ignore_ascii_case("cluster") && valid).then_some(name)
}

/// The `code` of a JSON error body (`{"code": "…", "error": "…"}`), if it is one.
fn error_code(body: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct ErrorBody {
        code: String,
    }
    let parsed: ErrorBody = serde_json::from_str(body).ok()?;
    let plain = parsed.code.len() <= 32 && parsed.code.chars().all(|c| c.is_ascii_alphanumeric());
    plain.then_some(parsed.code)
}

/// One database's entry in `GET /pos`.
#[derive(Deserialize)]
struct PosEntry {
    #[serde(rename = "TXID")]
    txid: String,
    #[serde(rename = "PostApplyChecksum")]
    checksum: String,
}

/// Reads the position of `db` out of a `/pos` body (pure). `Ok(None)`: not there yet.
pub fn parse_pos(body: &[u8], db: &str) -> Result<Option<Position>, CloudError> {
    let map: HashMap<String, PosEntry> =
        serde_json::from_slice(body).map_err(|e| CloudError::BadPosition(e.to_string()))?;
    let Some(entry) = map.get(db) else {
        return Ok(None);
    };
    let bad = |what: &str| CloudError::BadPosition(format!("{db}'s {what} is not 16 hex digits"));
    if entry.txid.len() != 16 {
        return Err(bad("TXID"));
    }
    let txid = u64::from_str_radix(&entry.txid, 16).map_err(|_| bad("TXID"))?;
    if entry.checksum.len() != 16 {
        return Err(bad("PostApplyChecksum"));
    }
    let checksum = entry
        .checksum
        .parse()
        .map_err(|_| bad("PostApplyChecksum"))?;
    Ok(Some(Position { txid, checksum }))
}

/// A client for one backup service and one database.
#[derive(Clone, Debug)]
pub struct CloudClient {
    http: reqwest::Client,
    base: String,
    db: String,
    cluster: Option<String>,
    /// The cluster the token names, for lfsb (see [`lfsb_cluster`]).
    token_cluster: Option<String>,
    auth: HeaderValue,
    timeouts: Timeouts,
    proxy: Option<Proxy>,
}

/// The HTTP client: no redirects (one could carry the token elsewhere), and no proxy but
/// `proxy` (reqwest would otherwise read `HTTP_PROXY` and friends by itself).
fn http_client(
    base_url: &str,
    timeouts: Timeouts,
    proxy: Option<&Proxy>,
) -> Result<reqwest::Client, CloudError> {
    let unusable = |reason: String| CloudError::Unreachable {
        url: base_url.to_string(),
        reason: secrets::scrub(&reason).into_owned(),
    };
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(timeouts.connect)
        .redirect(reqwest::redirect::Policy::none())
        .tcp_keepalive(Duration::from_secs(30));
    if let Some(proxy) = proxy {
        let via = reqwest::Proxy::https(&proxy.url).map_err(|e| {
            unusable(format!(
                "the proxy {} cannot be used: {}",
                proxy.shown(),
                error_chain(&e)
            ))
        })?;
        builder = builder.proxy(via);
    }
    builder.build().map_err(|e| unusable(error_chain(&e)))
}

impl CloudClient {
    pub fn new(
        base_url: &str,
        db: &str,
        cluster: Option<String>,
        token: &Secret,
        timeouts: Timeouts,
    ) -> Result<Self, CloudError> {
        let unusable = |reason: String| CloudError::Unreachable {
            url: base_url.to_string(),
            reason,
        };
        let mut auth = HeaderValue::from_str(token.expose())
            .map_err(|_| unusable("the token holds characters an HTTP header cannot".into()))?;
        auth.set_sensitive(true);
        Ok(CloudClient {
            http: http_client(base_url, timeouts, None)?,
            base: base_url.trim_end_matches('/').to_string(),
            db: db.to_string(),
            cluster,
            token_cluster: lfsb_cluster(token.expose()).map(str::to_string),
            auth,
            timeouts,
            proxy: None,
        })
    }

    /// The same client going through `proxy` (as [`super::proxy::choose`] picked it for
    /// this URL); `None` goes direct. Without this, no proxy is ever used, whatever the
    /// environment says.
    pub fn through(mut self, proxy: Option<Proxy>) -> Result<Self, CloudError> {
        self.http = http_client(&self.base, self.timeouts, proxy.as_ref())?;
        self.proxy = proxy;
        Ok(self)
    }

    /// The proxy in use, for the status and messages (no user or password).
    pub fn proxy(&self) -> Option<String> {
        self.proxy.as_ref().map(Proxy::shown)
    }

    /// How long a request or a snapshot may go without progress.
    pub fn stall_timeout(&self) -> Duration {
        self.timeouts.stall
    }

    /// The base URL, for status and messages.
    pub fn url(&self) -> &str {
        &self.base
    }

    async fn get(
        &self,
        what: &'static str,
        query: &[(&str, &str)],
    ) -> Result<reqwest::Response, CloudError> {
        let mut request = self
            .http
            .get(format!("{}{}", self.base, what))
            .header(AUTHORIZATION, self.auth.clone());
        if let Some(cluster) = &self.cluster {
            request = request.query(&[("cluster", cluster)]);
        }
        let request = request.query(query).send();
        let unreachable = |reason: String| CloudError::Unreachable {
            url: self.base.clone(),
            reason: secrets::scrub(&reason).into_owned(),
        };
        let resp = tokio::time::timeout(self.timeouts.stall, request)
            .await
            .map_err(|_| {
                unreachable(format!(
                    "it took the connection but sent no answer within {:?}",
                    self.timeouts.stall
                ))
            })?
            .map_err(|e| unreachable(error_chain(&e)))?;
        let status = resp.status().as_u16();
        if resp.status().is_success() {
            return Ok(resp);
        }
        if status == 429 {
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
            return Err(CloudError::Busy { what, retry_after });
        }
        let mut resp = resp;
        let body = read_capped(&mut resp, MAX_ERROR_BODY, self.timeouts.stall)
            .await
            .map(|(body, _)| String::from_utf8_lossy(&body).into_owned())
            .unwrap_or_else(|reason| format!("(its body was not read: {reason})"));
        // lfsb says why it refused in a JSON body: a malformed or invalid cluster token.
        let code = error_code(&body);
        let refused = matches!(code.as_deref(), Some("EINVALIDAUTH" | "EBADCLUSTER"));
        match status {
            401 | 403 => return Err(self.token_rejected(what, status, code)),
            400 if refused => return Err(self.token_rejected(what, status, code)),
            404 if what == "/db/snapshot" => return Err(self.no_database()),
            _ => {}
        }
        let body: String = body.trim().chars().take(300).collect();
        Err(CloudError::Status {
            what,
            status,
            body: secrets::scrub(&body).into_owned(),
        })
    }

    fn token_rejected(&self, what: &'static str, status: u16, code: Option<String>) -> CloudError {
        CloudError::TokenRejected {
            what,
            status,
            code,
            cluster: match (&self.cluster, &self.token_cluster) {
                // lfsb takes the cluster from the token alone: [cloud] cluster is no help.
                (Some(c), None) => format!(" and [cloud] cluster ({c})"),
                _ => String::new(),
            },
        }
    }

    fn no_database(&self) -> CloudError {
        CloudError::NoDatabase {
            db: self.db.clone(),
            cluster: self.token_cluster.clone(),
        }
    }

    /// `GET /pos`: the configured database's position; `NoDatabase` when not listed.
    pub async fn position(&self) -> Result<Position, CloudError> {
        let mut resp = self.get("/pos", &[]).await?;
        let (body, complete) = read_capped(&mut resp, MAX_POS_BODY, self.timeouts.stall)
            .await
            .map_err(CloudError::BadPosition)?;
        if !complete {
            return Err(CloudError::BadPosition(format!(
                "larger than {} KiB",
                MAX_POS_BODY / 1024
            )));
        }
        parse_pos(&body, &self.db)?.ok_or_else(|| self.no_database())
    }

    /// `GET /db/snapshot?db=<db>`: the LTX snapshot's bytes as they arrive.
    pub async fn snapshot(&self) -> Result<SnapshotStream, CloudError> {
        let resp = self.get("/db/snapshot", &[("db", &self.db)]).await?;
        Ok(SnapshotStream {
            body: PacedBody::new(resp, self.timeouts.stall, MIN_SNAPSHOT_RATE),
        })
    }
}

/// A snapshot being received, with the stall and progress bounds of an export.
pub struct SnapshotStream {
    body: PacedBody,
}

impl SnapshotStream {
    /// The next chunk; `None` at the end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, CloudError> {
        self.body.chunk().await.map_err(|e| match e {
            Slow::Stalled(stall) => CloudError::Stalled(stall),
            Slow::TooSlow { per_window, window } => CloudError::TooSlow { per_window, window },
            Slow::Broken(reason) => CloudError::Broken {
                what: "/db/snapshot",
                reason,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_seconds_or_a_date_and_bounded() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(parse_retry_after("30", now), Some(Duration::from_secs(30)));
        assert_eq!(
            parse_retry_after("Mon, 07 Dec 2026 10:02:00 GMT", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Mon, 07 Dec 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("999999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn positions_are_read_as_litefs_writes_them() {
        let body = br#"{"Domain.sqlite3":{"TXID":"0000000000000003","PostApplyChecksum":"83b05248774ce767"},"Other.db":{"TXID":"0000000000000001","PostApplyChecksum":"8000000000000000"}}"#;
        assert_eq!(
            parse_pos(body, "Domain.sqlite3").unwrap(),
            Some(Position {
                txid: 3,
                checksum: Checksum(0x83b05248774ce767)
            })
        );
        assert_eq!(parse_pos(b"{}\n", "Domain.sqlite3").unwrap(), None);
        for bad in [
            &b"<html>"[..],
            br#"{"Domain.sqlite3":{"TXID":"3","PostApplyChecksum":"83b05248774ce767"}}"#,
            br#"{"Domain.sqlite3":{"TXID":"0000000000000003","PostApplyChecksum":"zz"}}"#,
        ] {
            assert!(matches!(
                parse_pos(bad, "Domain.sqlite3"),
                Err(CloudError::BadPosition(_))
            ));
        }
    }

    #[test]
    fn an_lfsb_token_names_its_cluster() {
        assert_eq!(lfsb_cluster("cluster store-7"), Some("store-7"));
        assert_eq!(lfsb_cluster("Cluster a.b_c"), Some("a.b_c"));
        for other in [
            "FlyV1 fm2_abc",
            "cluster",
            "cluster ",
            "cluster a b",
            "cluster bad/name",
        ] {
            assert_eq!(lfsb_cluster(other), None, "{other}");
        }
    }

    #[test]
    fn lfsb_refusals_and_missing_clusters_say_what_to_fix() {
        assert_eq!(
            error_code(r#"{"code":"EBADCLUSTER","error":"cluster invalid"}"#).as_deref(),
            Some("EBADCLUSTER")
        );
        assert_eq!(error_code("injected 500"), None);
        let refused = CloudError::TokenRejected {
            what: "/pos",
            status: 400,
            code: Some("EBADCLUSTER".into()),
            cluster: String::new(),
        };
        let text = refused.to_string();
        assert!(text.contains("400 EBADCLUSTER from /pos"), "{text}");
        assert!(
            text.contains("cluster name in the token is not valid"),
            "{text}"
        );
        assert_eq!(refused.kind(), ErrorKind::CloudTokenRejected);
        let missing = CloudError::NoDatabase {
            db: "Domain.sqlite3".into(),
            cluster: Some("store-8".into()),
        };
        let text = missing.to_string();
        assert!(text.contains("in cluster \"store-8\""), "{text}");
        assert!(text.contains("fix the token"), "{text}");
    }
}
