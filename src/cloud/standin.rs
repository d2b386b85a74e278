//! Test support: the LiteFS Cloud stand-in (`../shared/litefs/bin/cloud-standin`) run on
//! a SQLite file, and plain blocking GETs against it. A missing binary fails the test.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The stand-in binary, beside the repository as CI lays it out.
pub fn binary() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/litefs/bin/cloud-standin");
    assert!(
        path.exists(),
        "the cloud stand-in is missing: {}",
        path.display()
    );
    path
}

/// A running stand-in serving `src` as `Domain.sqlite3`; killed on drop.
pub struct Standin {
    child: Child,
    pub addr: String,
}

impl Standin {
    /// Starts it and waits until it serves a position.
    pub fn start(src: &Path) -> Standin {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(binary())
            .args(["-addr", &addr, "-src"])
            .arg(src)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the stand-in starts");
        let standin = Standin { child, addr };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some((200, body)) = standin.try_get("/pos") {
                if body.len() > 4 {
                    return standin;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the stand-in did not serve a position within 10 s");
    }

    /// `GET path`: the status and the whole body.
    pub fn get(&self, path: &str) -> (u16, Vec<u8>) {
        self.try_get(path).expect("the stand-in answers")
    }

    fn try_get(&self, path: &str) -> Option<(u16, Vec<u8>)> {
        let mut conn = TcpStream::connect(&self.addr).ok()?;
        write!(conn, "GET {path} HTTP/1.0\r\nHost: {}\r\n\r\n", self.addr).ok()?;
        let mut answer = Vec::new();
        conn.read_to_end(&mut answer).ok()?;
        let split = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&answer[..split]).into_owned();
        let status = head.split_whitespace().nth(1)?.parse().ok()?;
        Some((status, answer[split + 4..].to_vec()))
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes a small SQLite database (`rows` rows of a few hundred bytes) at `path`.
pub fn make_database(path: &Path, rows: usize) {
    let db = rusqlite::Connection::open(path).expect("open");
    db.execute_batch(
        "PRAGMA page_size = 1024; CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT);",
    )
    .expect("schema");
    for i in 0..rows {
        db.execute(
            "INSERT INTO products (name) VALUES (?1)",
            [format!("product {i} {}", "x".repeat(i % 300))],
        )
        .expect("insert");
    }
}
