//! The LiteFS client against litefs-sim over real HTTP: events, export, info, errors.

mod common;

use std::time::Duration;

use common::SimServer;
use voripos_domain_sync::litefs::client::{Client, LiteFsError, Timeouts};
use voripos_domain_sync::litefs::{Checksummer, Event};

const TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_secs(2),
    stall: Duration::from_secs(2),
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_export_and_info_speak_litefs() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(root.path(), 1, None).await;
    let client = Client::new(&sim.url, "Domain.sqlite3", TIMEOUTS).unwrap();

    let info = client.info().await.unwrap();
    assert_eq!(info["isPrimary"], true);

    let mut events = client.events().await.unwrap();
    let first = events.next().await.unwrap().unwrap().unwrap();
    assert!(matches!(first, Event::Init { .. }), "{first:?}");
    let pos = sim.sim.commit(1).await.unwrap();
    let Event::Tx(tx) = events.next().await.unwrap().unwrap().unwrap() else {
        panic!("expected a tx event");
    };
    assert_eq!(
        (tx.txid, tx.checksum.0, tx.pages),
        (pos.txid, pos.checksum, pos.pages)
    );

    let mut export = client.export().await.unwrap();
    let mut sum = Checksummer::new();
    while let Some(chunk) = export.chunk().await.unwrap() {
        sum.update(&chunk);
    }
    let summary = sum.finish();
    assert_eq!(summary.checksum.0, pos.checksum);
    assert_eq!(summary.len, u64::from(pos.pages) * u64::from(pos.page_size));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_say_what_failed() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(root.path(), 1, None).await;
    let other = Client::new(&sim.url, "Missing.sqlite3", TIMEOUTS).unwrap();
    let err = other.export().await.err().expect("no such database");
    assert!(matches!(err, LiteFsError::NoDatabase { .. }), "{err}");
    assert!(err.to_string().contains("Missing.sqlite3"), "{err}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nobody = Client::new(
        &format!("http://127.0.0.1:{port}"),
        "Domain.sqlite3",
        TIMEOUTS,
    )
    .unwrap();
    let err = nobody.export().await.err().expect("nothing listens");
    assert_eq!(err.kind().as_str(), "litefs_unreachable");
    assert!(err.to_string().contains(&port.to_string()), "{err}");
}

/// Reads an export to its end or its first error, within `limit`.
async fn drain(client: &Client, limit: Duration) -> Result<u64, LiteFsError> {
    let read = async {
        let mut export = client.export().await?;
        let mut total = 0;
        while let Some(chunk) = export.chunk().await? {
            total += chunk.len() as u64;
        }
        Ok(total)
    };
    tokio::time::timeout(limit, read)
        .await
        .expect("the export ended within its bounds")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_that_drips_is_given_up() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(root.path(), 2, None).await;
    let client = Client::new(&sim.url, "Domain.sqlite3", TIMEOUTS).unwrap();
    sim.misbehave(litefs_sim::Misbehaviour::DripExport);
    // A byte every 100 ms never trips the 2 s stall timeout; the rate bound must.
    let err = drain(&client, Duration::from_secs(30))
        .await
        .expect_err("a drip is not a database");
    assert_eq!(err.kind().as_str(), "export_too_slow", "{err}");
    assert!(err.to_string().contains("too slow"), "{err}");

    sim.misbehave(litefs_sim::Misbehaviour::None);
    let len = drain(&client, Duration::from_secs(30)).await.unwrap();
    let pos = sim.sim.position();
    assert_eq!(len, u64::from(pos.pages) * u64::from(pos.page_size));
}

/// What an endless server has sent, and whether the client has let go of its body.
struct Endless {
    url: String,
    sent: std::sync::Arc<std::sync::atomic::AtomicU64>,
    closed: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Endless {
    /// The bytes sent once the client has closed the body (the server drops its stream
    /// then); fails if the client keeps reading.
    async fn sent_when_closed(&self) -> u64 {
        use std::sync::atomic::Ordering;
        let start = std::time::Instant::now();
        while !self.closed.load(Ordering::SeqCst) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the client kept the endless body open ({} bytes sent)",
                self.sent.load(Ordering::Relaxed)
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.sent.load(Ordering::SeqCst)
    }
}

/// Sets its flag when dropped: the server's body stream is dropped when the client
/// closes the connection.
struct SetOnDrop(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A server whose every answer is `status` with an endless body; counts what it sent.
async fn endless_server(status: u16) -> Endless {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let sent = std::sync::Arc::new(AtomicU64::new(0));
    let closed = std::sync::Arc::new(AtomicBool::new(false));
    let (counter, flag) = (sent.clone(), closed.clone());
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        let on_drop = SetOnDrop(flag.clone());
        async move {
            let chunk = bytes::Bytes::from(vec![b'x'; 64 * 1024]);
            let stream = futures_util::stream::repeat_with(move || {
                let _held = &on_drop;
                counter.fetch_add(chunk.len() as u64, Ordering::SeqCst);
                Ok::<_, std::io::Error>(chunk.clone())
            });
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                axum::body::Body::from_stream(stream),
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Endless { url, sent, closed }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_error_and_info_bodies_are_not_read_whole() {
    let server = endless_server(500).await;
    let client = Client::new(&server.url, "Domain.sqlite3", TIMEOUTS).unwrap();
    let err = client.export().await.err().expect("a 500 is an error");
    assert_eq!(err.kind().as_str(), "litefs_http_error", "{err}");
    assert!(err.to_string().contains("500"), "{err}");
    assert!(err.to_string().len() < 1024, "the message is short: {err}");
    // Everything the server ever sent before the client let go: a client that kept
    // reading would never close it.
    drop(client);
    let after_error = server.sent_when_closed().await;
    assert!(
        after_error < 64 << 20,
        "{after_error} bytes of an error body were pulled"
    );

    let server = endless_server(200).await;
    let client = Client::new(&server.url, "Domain.sqlite3", TIMEOUTS).unwrap();
    let err = client
        .info()
        .await
        .expect_err("an endless /info is an error");
    assert!(err.to_string().contains("/info"), "{err}");
    drop(client);
    let after_info = server.sent_when_closed().await;
    assert!(
        after_info < 64 << 20,
        "{after_info} bytes of /info were pulled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_is_unreachable_after_the_stall_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // Accepts every connection and never says a word.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let client = Client::new(&url, "Domain.sqlite3", TIMEOUTS).unwrap();
    for result in [
        tokio::time::timeout(Duration::from_secs(20), client.export())
            .await
            .map(|r| r.err()),
        tokio::time::timeout(Duration::from_secs(20), client.events())
            .await
            .map(|r| r.err()),
    ] {
        let err = result
            .expect("the request ended within its bounds")
            .expect("no answer is an error");
        assert_eq!(err.kind().as_str(), "litefs_unreachable", "{err}");
        assert!(err.to_string().contains("no answer"), "{err}");
    }
}
