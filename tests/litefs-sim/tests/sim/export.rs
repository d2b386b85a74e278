//! `/export`, `/info` and the `/sim/*` control endpoints.

use litefs_sim::{database_checksum, Position};
use serde_json::Value;

use crate::common::{client, content_length, serve};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_is_consistent_while_commits_go_on() {
    let served = serve(2).await;
    served.sim.commit(3).await.unwrap();
    let before = served.sim.position();
    let mut resp = client()
        .get(format!("{}/export?name=Domain.sqlite3", served.base))
        .send()
        .await
        .unwrap();
    let mut body = resp.chunk().await.unwrap().unwrap().to_vec();
    // Commits (and their WAL growth) while the export is half-read.
    let after = served.sim.commit(50).await.unwrap();
    while let Some(chunk) = resp.chunk().await.unwrap() {
        body.extend_from_slice(&chunk);
    }
    let path = served.dir.path().join("export.sqlite3");
    std::fs::write(&path, &body).unwrap();
    assert_eq!(database_checksum(&path).unwrap(), before.checksum);

    crate::common::export_to(&served.base, &path).await;
    assert_eq!(database_checksum(&path).unwrap(), after.checksum);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_rejects_unknown_and_missing_names() {
    let served = serve(1).await;
    let resp = client()
        .get(format!("{}/export?name=Other.sqlite3", served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.text().await.unwrap(), "database not found");
    let resp = client()
        .get(format!("{}/export", served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_and_control_endpoints() {
    let served = serve(1).await;
    let http = client();
    let info: String = http
        .get(format!("{}/info", served.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        info.starts_with("{\n  \""),
        "pretty-printed as LiteFS does: {info}"
    );
    let info: Value = serde_json::from_str(&info).unwrap();
    assert_eq!(
        info,
        serde_json::json!({"clusterID": "LFSCsim", "isPrimary": true, "candidate": true,
                           "path": "/litefs", "primary": {"hostname": ""}})
    );

    let start = served.sim.position();
    let committed: Position = http
        .post(format!("{}/sim/commit?count=3", served.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(committed.txid, start.txid + 3);
    let burst: Position = http
        .post(format!("{}/sim/burst?count=4&over_ms=40", served.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(burst.txid, start.txid + 7);
    let resp = http
        .get(format!("{}/sim/position", served.base))
        .send()
        .await
        .unwrap();
    let text = resp.text().await.unwrap();
    assert_eq!(serde_json::from_str::<Position>(&text).unwrap(), burst);
    assert!(text.contains(&format!("\"txid\":\"{:016x}\"", burst.txid)));

    let resp = http
        .post(format!("{}/sim/misbehave?mode=flipped_byte", served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(
        served.sim.misbehaviour(),
        litefs_sim::Misbehaviour::FlippedByte
    );
    let resp = http
        .post(format!("{}/sim/misbehave?mode=nonsense", served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    let resp = http
        .get(format!("{}/export?name=Domain.sqlite3", served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(content_length(&resp), None, "chunked, as LiteFS sends it");
}
