//! The `/events` stream.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use crate::common::{serve, Lines, Next};

fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_init_then_one_tx_per_commit() {
    let served = serve(1).await;
    let mut events = Lines::open(&served.base).await;
    let init: Value = serde_json::from_str(&events.line().await).unwrap();
    assert_eq!(
        init,
        serde_json::json!({"type": "init", "data": {"isPrimary": true}})
    );

    let first = served.sim.position().txid;
    served.sim.commit(2).await.unwrap();
    let position = served.sim.position();
    for n in 1..=2 {
        let line = events.line().await;
        let tx: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(keys(&tx), BTreeSet::from(["type", "db", "data"]), "{line}");
        assert_eq!(tx["type"], "tx");
        assert_eq!(tx["db"], "Domain.sqlite3");
        let data = &tx["data"];
        assert_eq!(
            keys(data),
            BTreeSet::from([
                "txID",
                "postApplyChecksum",
                "pageSize",
                "commit",
                "timestamp"
            ])
        );
        let txid = data["txID"].as_str().unwrap();
        assert_eq!(txid, format!("{:016x}", first + n));
        let checksum = data["postApplyChecksum"].as_str().unwrap();
        assert_eq!(checksum.len(), 16);
        assert!(checksum
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(data["pageSize"], 4096);
        assert!(data["commit"].as_u64().unwrap() > 1);
        let timestamp = data["timestamp"].as_str().unwrap();
        assert!(
            timestamp.len() == 24 && timestamp.ends_with('Z'),
            "{timestamp}"
        );
        if n == 2 {
            assert_eq!(checksum, format!("{:016x}", position.checksum));
            assert_eq!(data["commit"], position.pages);
        }
    }
    assert_eq!(
        events.next(Duration::from_millis(200)).await,
        Next::Timeout,
        "no more events without commits"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_server_closes_streams() {
    let served = serve(1).await;
    let mut events = Lines::open(&served.base).await;
    events.line().await;
    let base = served.base.clone();
    drop(served);
    match events.next(Duration::from_secs(5)).await {
        Next::End(_) | Next::Broken(_) => {}
        other => panic!("stream still open: {other:?}"),
    }
    assert!(reqwest::get(format!("{base}/info")).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tx_interval_commits_while_serving() {
    let dir = tempfile::tempdir().unwrap();
    let sim = litefs_sim::Sim::create(litefs_sim::SimConfig {
        size_mb: 1,
        tx_interval: Some(Duration::from_millis(50)),
        ..litefs_sim::SimConfig::new(dir.path())
    })
    .unwrap();
    let start = sim.position().txid;
    let served = crate::common::serve_sim(sim, dir).await;
    let mut events = Lines::open(&served.base).await;
    events.line().await;
    // The timer may commit before the stream is subscribed: the first event seen is a
    // later transaction, and from there each commit is announced in turn.
    let txid = |line: String| {
        let tx: Value = serde_json::from_str(&line).unwrap();
        u64::from_str_radix(tx["data"]["txID"].as_str().unwrap(), 16).unwrap()
    };
    let first = txid(events.line().await);
    assert!(first > start, "{first} after {start}");
    for n in 1..=2 {
        assert_eq!(txid(events.line().await), first + n);
    }
}
