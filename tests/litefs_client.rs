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
    assert_eq!(err.kind(), "litefs_unreachable");
    assert!(err.to_string().contains(&port.to_string()), "{err}");
}
