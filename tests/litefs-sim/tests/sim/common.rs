//! Helpers for the integration tests: a served simulator and a small client.

use std::path::Path;
use std::time::Duration;

use litefs_sim::{Sim, SimConfig};
use tempfile::TempDir;
use tokio::task::JoinHandle;

/// A simulator serving on an ephemeral port; stops when dropped.
pub struct Served {
    pub sim: Sim,
    pub base: String,
    pub dir: TempDir,
    server: JoinHandle<anyhow::Result<()>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub async fn serve(size_mb: u64) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::create(SimConfig {
        size_mb,
        ..SimConfig::new(dir.path())
    })
    .unwrap();
    serve_sim(sim, dir).await
}

pub async fn serve_sim(sim: Sim, dir: TempDir) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn({
        let sim = sim.clone();
        async move { sim.serve(listener).await }
    });
    Served {
        sim,
        base,
        dir,
        server,
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Downloads `/export?name=Domain.sqlite3` into `to`; returns the bytes received (no
/// length is announced, as with LiteFS).
pub async fn export_to(base: &str, to: &Path) -> u64 {
    let resp = client()
        .get(format!("{base}/export?name=Domain.sqlite3"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(content_length(&resp), None, "chunked, as LiteFS sends it");
    let body = resp.bytes().await.unwrap();
    std::fs::write(to, &body).unwrap();
    body.len() as u64
}

pub fn content_length(resp: &reqwest::Response) -> Option<u64> {
    resp.headers()
        .get("content-length")
        .map(|v| v.to_str().unwrap().parse().unwrap())
}

/// Reads newline-delimited lines from a streamed response.
pub struct Lines {
    resp: reqwest::Response,
    buf: Vec<u8>,
}

/// What reading the next line gave.
#[derive(Debug, PartialEq)]
pub enum Next {
    Line(String),
    /// The body ended cleanly; holds any unterminated rest.
    End(Vec<u8>),
    /// The connection broke; holds any unterminated rest.
    Broken(Vec<u8>),
    Timeout,
}

impl Lines {
    pub async fn open(base: &str) -> Lines {
        let resp = client().get(format!("{base}/events")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        Lines {
            resp,
            buf: Vec::new(),
        }
    }

    pub async fn next(&mut self, wait: Duration) -> Next {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                return Next::Line(String::from_utf8(line[..i].to_vec()).unwrap());
            }
            match tokio::time::timeout(wait, self.resp.chunk()).await {
                Err(_) => return Next::Timeout,
                Ok(Ok(Some(chunk))) => self.buf.extend_from_slice(&chunk),
                Ok(Ok(None)) => return Next::End(std::mem::take(&mut self.buf)),
                Ok(Err(_)) => return Next::Broken(std::mem::take(&mut self.buf)),
            }
        }
    }

    pub async fn line(&mut self) -> String {
        match self.next(Duration::from_secs(10)).await {
            Next::Line(line) => line,
            other => panic!("expected a line, got {other:?}"),
        }
    }
}
