//! The cloud backup service over real HTTP, judged by lfsb's measured behaviour and by
//! Fly's own LTX decoder.

use std::path::Path;

use litefs_sim::cloud::{CloudConfig, CloudServer, FIRST_TXID};
use litefs_sim::database_checksum;

const CLUSTER: &str = "store-7";

fn database(path: &Path, rows: usize) {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let db = rusqlite::Connection::open(&tmp).unwrap();
    db.execute_batch("PRAGMA page_size = 1024; CREATE TABLE products (name TEXT);")
        .unwrap();
    let tx = db.unchecked_transaction().unwrap();
    for i in 0..rows {
        tx.execute(
            "INSERT INTO products VALUES (?1)",
            [format!("product {i} {}", "x".repeat(i % 200))],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    drop(db);
    std::fs::rename(&tmp, path).unwrap();
}

struct Rig {
    server: CloudServer,
    src: std::path::PathBuf,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Rig {
    fn start(rows: usize) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("cloud.sqlite3");
        database(&src, rows);
        let server = CloudServer::start(CloudConfig::new(&src, CLUSTER), "127.0.0.1:0").unwrap();
        Rig {
            server,
            src,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    async fn get(&self, path: &str, auth: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(format!("{}{path}", self.server.url()));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        request.send().await.unwrap()
    }

    async fn pos(&self) -> serde_json::Value {
        let resp = self.get("/pos", Some("cluster store-7")).await;
        serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap()
    }
}

async fn json_error(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    assert_eq!(resp.headers()["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    (status, body["code"].as_str().unwrap().to_string())
}

/// Decodes an LTX snapshot with `litetx`: its header, its pages as a database image, and
/// its trailer's post-apply checksum.
fn decode(ltx: &[u8]) -> Result<(litetx::Header, Vec<u8>, u64), litetx::DecodeError> {
    let (mut decoder, header) = litetx::Decoder::new(ltx)?;
    let size = header.page_size.into_inner() as usize;
    let mut image = Vec::new();
    let mut page = vec![0u8; size];
    while let Some(pgno) = decoder.decode_page(&mut page)? {
        assert_eq!(
            pgno.into_inner() as usize,
            image.len() / size + 1,
            "pages in order"
        );
        image.extend_from_slice(&page);
    }
    let trailer = decoder.finish()?;
    Ok((header, image, trailer.post_apply_checksum.into_inner()))
}

#[tokio::test]
async fn pos_and_snapshot_are_what_lfsb_serves() {
    let rig = Rig::start(400);
    let resp = rig
        .get("/pos?cluster=ignored", Some("cluster store-7"))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let length: usize = resp.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = resp.text().await.unwrap();
    assert_eq!(body.len(), length);
    let checksum = database_checksum(&rig.src).unwrap();
    assert_eq!(
        body,
        format!(
            "{{\n  \"Domain.sqlite3\": {{\n    \"TXID\": \"{FIRST_TXID:016x}\",\n    \"PostApplyChecksum\": \"{checksum:016x}\"\n  }}\n}}"
        ),
        "pretty-printed, no trailing newline"
    );

    let resp = rig
        .get("/db/snapshot?db=Domain.sqlite3", Some("cluster store-7"))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/octet-stream");
    assert!(resp.headers().get("content-length").is_none(), "chunked");
    let ltx = resp.bytes().await.unwrap();
    let file = std::fs::read(&rig.src).unwrap();
    assert!(ltx.len() < file.len(), "pages are compressed");
    let (header, image, post_apply) = decode(&ltx).unwrap();
    assert!(header.flags.contains(litetx::HeaderFlags::COMPRESS_LZ4));
    assert_eq!(header.min_txid.into_inner(), 1);
    assert_eq!(header.max_txid.into_inner(), FIRST_TXID);
    assert_eq!(header.commit.into_inner() as usize, file.len() / 1024);
    assert_eq!(image, file, "the snapshot is the database, byte for byte");
    assert_eq!(post_apply, checksum);

    let raw = rig
        .get(
            "/db/snapshot?db=Domain.sqlite3&format=sqlite",
            Some("cluster store-7"),
        )
        .await;
    assert_eq!(raw.bytes().await.unwrap().as_ref(), &file[..]);
}

#[tokio::test]
async fn new_versions_and_restores_move_the_txid_forward() {
    let rig = Rig::start(100);
    let first = rig.pos().await["Domain.sqlite3"].clone();
    let old = std::fs::read(&rig.src).unwrap();
    database(&rig.src, 200);
    let second = rig.pos().await["Domain.sqlite3"].clone();
    assert_eq!(second["TXID"], format!("{:016x}", FIRST_TXID + 1));
    assert_eq!(
        second["PostApplyChecksum"],
        format!("{:016x}", database_checksum(&rig.src).unwrap())
    );

    // A restore: the old content, under a new TXID (never the old one).
    let tmp = rig.src.with_extension("restore");
    std::fs::write(&tmp, &old).unwrap();
    std::fs::rename(&tmp, &rig.src).unwrap();
    let restored = rig.pos().await["Domain.sqlite3"].clone();
    assert_eq!(restored["TXID"], format!("{:016x}", FIRST_TXID + 2));
    assert_eq!(restored["PostApplyChecksum"], first["PostApplyChecksum"]);
    let ltx = rig
        .get("/db/snapshot?db=Domain.sqlite3", Some("cluster store-7"))
        .await;
    let (header, image, _) = decode(&ltx.bytes().await.unwrap()).unwrap();
    assert_eq!(header.max_txid.into_inner(), FIRST_TXID + 2);
    assert_eq!(image, old);
}

#[tokio::test]
async fn the_cluster_comes_from_the_token_alone() {
    let rig = Rig::start(50);
    for (auth, status, code) in [
        (None, 401, "EINVALIDAUTH"),
        (Some("FlyV1 secret"), 401, "EINVALIDAUTH"),
        (Some("cluster  store-7"), 401, "EINVALIDAUTH"),
        (Some("cluster bad/name"), 400, "EBADCLUSTER"),
        // HTTP drops a header value's trailing space: `cluster ` arrives as `cluster`.
        (Some("cluster "), 401, "EINVALIDAUTH"),
    ] {
        for path in ["/pos", "/db/snapshot?db=Domain.sqlite3", "/anything"] {
            let got = json_error(rig.get(path, auth).await).await;
            assert_eq!(got, (status, code.to_string()), "{auth:?} {path}");
        }
    }
    // Another cluster holds nothing, whatever ?cluster= says.
    let other = rig
        .get("/pos?cluster=store-7", Some("CLUSTER store-8"))
        .await;
    assert_eq!(other.status(), 200);
    assert_eq!(other.text().await.unwrap(), "{}");
    let snap = rig
        .get("/db/snapshot?db=Domain.sqlite3", Some("cluster store-8"))
        .await;
    assert_eq!(json_error(snap).await, (404, "ENODB".into()));
    let auth = Some("cluster store-7");
    assert_eq!(
        json_error(rig.get("/db/snapshot?db=Other.db", auth).await).await,
        (404, "ENODB".into())
    );
    assert_eq!(
        json_error(rig.get("/db/snapshot", auth).await).await,
        (400, "EBADDB".into())
    );
    std::fs::remove_file(&rig.src).unwrap();
    assert_eq!(
        rig.get("/pos", auth).await.text().await.unwrap(),
        "{}",
        "no database yet"
    );
}

#[tokio::test]
async fn a_snapshot_that_fails_midway_ends_with_200_and_an_appended_error() {
    let rig = Rig::start(2000);
    rig.server.sim().fail_snapshots_midway(Some(4096));
    let resp = rig
        .get("/db/snapshot?db=Domain.sqlite3", Some("cluster store-7"))
        .await;
    assert_eq!(resp.status(), 200);
    let body = resp.bytes().await.unwrap();
    let tail = br#"{"code":"EINTERNAL""#;
    let at = body
        .windows(tail.len())
        .position(|w| w == tail)
        .expect("the error is appended");
    assert_eq!(at, 4096, "after the bytes sent before the failure");
    assert!(decode(&body).is_err(), "a decoder refuses it");

    rig.server.sim().fail_snapshots_midway(None);
    let resp = rig
        .get("/db/snapshot?db=Domain.sqlite3", Some("cluster store-7"))
        .await;
    let (_, image, _) = decode(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(image, std::fs::read(&rig.src).unwrap());
}
