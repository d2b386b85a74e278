//! Each [`Misbehaviour`] is observable, and setting it back to `None` heals.

use std::time::Duration;

use litefs_sim::{database_checksum, Misbehaviour};
use serde_json::Value;

use crate::common::{client, content_length, export_to, serve, Lines, Next};

async fn get_export(base: &str) -> reqwest::Response {
    client()
        .get(format!("{base}/export?name=Domain.sqlite3"))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_export_ends_cleanly_and_short() {
    let served = serve(1).await;
    served.sim.set_misbehaviour(Misbehaviour::TruncatedExport);
    let full = u64::from(served.sim.position().pages) * 4096;
    let resp = get_export(&served.base).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(content_length(&resp), None);
    let body = resp.bytes().await.unwrap();
    let len = body.len() as u64;
    assert!(len < full && !len.is_multiple_of(4096), "{len} of {full}");
    assert!(len > full / 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_byte_breaks_the_checksum_only() {
    let served = serve(1).await;
    served.sim.set_misbehaviour(Misbehaviour::FlippedByte);
    let position = served.sim.position();
    let path = served.dir.path().join("export.sqlite3");
    let len = export_to(&served.base, &path).await;
    assert_eq!(len, u64::from(position.pages) * 4096);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
    assert_ne!(database_checksum(&path).unwrap(), position.checksum);

    served.sim.set_misbehaviour(Misbehaviour::None);
    export_to(&served.base, &path).await;
    assert_eq!(database_checksum(&path).unwrap(), position.checksum);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_event_checksum_lies_in_events_not_in_the_export() {
    let served = serve(1).await;
    served.sim.set_misbehaviour(Misbehaviour::BadEventChecksum);
    let mut events = Lines::open(&served.base).await;
    events.line().await;
    let position = served.sim.commit(1).await.unwrap();
    let tx: Value = serde_json::from_str(&events.line().await).unwrap();
    let claimed = tx["data"]["postApplyChecksum"].as_str().unwrap();
    assert_ne!(claimed, format!("{:016x}", position.checksum));
    let path = served.dir.path().join("export.sqlite3");
    export_to(&served.base, &path).await;
    assert_eq!(database_checksum(&path).unwrap(), position.checksum);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_500_fails_exports() {
    let served = serve(1).await;
    served.sim.set_misbehaviour(Misbehaviour::Http500);
    let resp = get_export(&served.base).await;
    assert_eq!(resp.status(), 500);
    assert_eq!(
        resp.text().await.unwrap(),
        "internal error: simulated failure"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_export_sends_64_kib_then_nothing() {
    let served = serve(1).await;
    served.sim.set_misbehaviour(Misbehaviour::StalledExport);
    let full = u64::from(served.sim.position().pages) * 4096;
    let mut resp = get_export(&served.base).await;
    assert_eq!(content_length(&resp), Some(full));
    let mut got = 0;
    while let Ok(chunk) = tokio::time::timeout(Duration::from_millis(300), resp.chunk()).await {
        got += chunk.unwrap().unwrap().len();
    }
    assert_eq!(got, 65536);
    drop(resp);

    // Commits go on, and once healed a new export works (the stalled one
    // no longer holds the database file).
    served.sim.set_misbehaviour(Misbehaviour::None);
    let position = served.sim.commit(5).await.unwrap();
    let path = served.dir.path().join("export.sqlite3");
    tokio::time::timeout(Duration::from_secs(10), export_to(&served.base, &path))
        .await
        .unwrap();
    assert_eq!(database_checksum(&path).unwrap(), position.checksum);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_stream_breaks_every_connection_mid_line() {
    let served = serve(1).await;
    served.sim.set_misbehaviour(Misbehaviour::CutStream);
    for _ in 0..2 {
        let mut events = Lines::open(&served.base).await;
        events.line().await;
        served.sim.commit(1).await.unwrap();
        match events.next(Duration::from_secs(5)).await {
            Next::Broken(rest) => {
                let rest = String::from_utf8(rest).unwrap();
                assert!(rest.starts_with("{\"type\":\"tx\""), "{rest}");
                assert!(serde_json::from_str::<Value>(&rest).is_err());
            }
            other => panic!("expected a cut, got {other:?}"),
        }
    }

    served.sim.set_misbehaviour(Misbehaviour::None);
    let mut events = Lines::open(&served.base).await;
    events.line().await;
    served.sim.commit(1).await.unwrap();
    let tx: Value = serde_json::from_str(&events.line().await).unwrap();
    assert_eq!(tx["type"], "tx");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_lines_precede_each_tx() {
    let served = serve(1).await;
    served.sim.set_misbehaviour(Misbehaviour::GarbageLines);
    let mut events = Lines::open(&served.base).await;
    events.line().await;
    let position = served.sim.commit(2).await.unwrap();
    for n in (0..2).rev() {
        assert_eq!(events.line().await, "not json {{{");
        let mystery: Value = serde_json::from_str(&events.line().await).unwrap();
        assert_eq!(mystery, serde_json::json!({"type": "mystery", "data": {}}));
        let other: Value = serde_json::from_str(&events.line().await).unwrap();
        assert_eq!(other["type"], "tx");
        assert_eq!(other["db"], "Other.sqlite3");
        let tx: Value = serde_json::from_str(&events.line().await).unwrap();
        assert_eq!(tx["db"], "Domain.sqlite3");
        assert_eq!(tx["data"]["txID"], format!("{:016x}", position.txid - n));
    }
}
