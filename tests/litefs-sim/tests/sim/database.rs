//! The generated database, the position, and restarts.

use std::time::Duration;

use litefs_sim::{database_checksum, Sim, SimConfig};
use rusqlite::Connection;

use crate::common::{export_to, serve_sim};

const TABLES: [&str; 10] = [
    "departments",
    "tax_rates",
    "products",
    "product_barcodes",
    "promotions",
    "offers",
    "offer_benefits",
    "offer_conditions",
    "product_ranges",
    "metadata",
];

#[test]
fn generated_database_has_the_domain_tables_and_size() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Sim::create(SimConfig {
        size_mb: 2,
        ..SimConfig::new(dir.path().join("new/data"))
    })
    .unwrap();
    let path = dir.path().join("new/data/Domain.sqlite3");
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(
        (1_572_864..=2_621_440).contains(&size),
        "2 MiB requested, got {size} bytes"
    );
    assert_eq!(sim.position().txid, 1);
    assert_eq!(sim.position().pages as u64 * 4096, size);

    let conn = Connection::open(&path).unwrap();
    for table in TABLES {
        let rows: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        assert!(rows > 0, "{table} is empty");
    }
    let (generated_at, version, trace, state, span): (String, i64, String, String, String) = conn
        .query_row(
            "SELECT generated_at, schema_version, linked_trace_id, linked_trace_state,
                    linked_span_id FROM metadata",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert!(
        generated_at.ends_with('Z') && generated_at.len() == 24,
        "{generated_at}"
    );
    assert_eq!(version, 7);
    assert_eq!(trace.len(), 32);
    assert!(trace.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(state, "");
    assert_eq!(span.len(), 16);
    let products: i64 = conn
        .query_row("SELECT count(*) FROM products", [], |r| r.get(0))
        .unwrap();
    let barcodes: i64 = conn
        .query_row("SELECT count(*) FROM product_barcodes", [], |r| r.get(0))
        .unwrap();
    assert!(barcodes >= products);
    let indexes: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(indexes >= 8);
}

#[test]
fn generation_is_deterministic() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let config = |dir: &std::path::Path| SimConfig {
        size_mb: 1,
        seed: 42,
        ..SimConfig::new(dir)
    };
    let one = Sim::create(config(a.path())).unwrap().position();
    let two = Sim::create(config(b.path())).unwrap().position();
    assert_eq!(one, two);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn position_matches_the_export_after_many_commits() {
    let served = crate::common::serve(1).await;
    let export = served.dir.path().join("export.sqlite3");
    let mut last_txid = served.sim.position().txid;
    // 400 commits grow the WAL past the checkpoint threshold at least once.
    for batch in [1, 30, 400] {
        let position = served.sim.commit(batch).await.unwrap();
        assert_eq!(position.txid, last_txid + batch as u64);
        last_txid = position.txid;
        assert_eq!(served.sim.position(), position);
        // Checkpoints after commits keep the WAL bounded (4 MiB threshold).
        let wal = std::fs::metadata(served.dir.path().join("Domain.sqlite3-wal")).unwrap();
        assert!(wal.len() < 5 << 20, "WAL is {} bytes", wal.len());

        let len = export_to(&served.base, &export).await;
        assert_eq!(len, u64::from(position.pages) * 4096);
        assert_eq!(
            database_checksum(&export).unwrap(),
            position.checksum,
            "after {batch} commits"
        );
        let pos_file =
            std::fs::read_to_string(served.dir.path().join("Domain.sqlite3-pos")).unwrap();
        assert_eq!(
            pos_file,
            format!("{:016x}/{:016x}\n", position.txid, position.checksum)
        );
    }

    // The export is a plain rollback-journal database, intact.
    let conn = Connection::open(&export).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_spreads_commits() {
    let served = crate::common::serve(1).await;
    let before = served.sim.position().txid;
    let started = std::time::Instant::now();
    let position = served
        .sim
        .burst(20, Duration::from_millis(200))
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(180));
    assert_eq!(position.txid, before + 20);
    let export = served.dir.path().join("export.sqlite3");
    export_to(&served.base, &export).await;
    assert_eq!(database_checksum(&export).unwrap(), position.checksum);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_the_position() {
    let dir = tempfile::tempdir().unwrap();
    let config = || SimConfig {
        size_mb: 1,
        ..SimConfig::new(dir.path())
    };
    let sim = Sim::create(config()).unwrap();
    let before = sim.commit(7).await.unwrap();
    assert_eq!(before.txid, 8);
    drop(sim);

    let sim = Sim::create(config()).unwrap();
    assert_eq!(sim.position(), before);
    let after = sim.commit(1).await.unwrap();
    assert_eq!(after.txid, 9);
    drop(sim);

    // A change made while the simulator was down counts as one transaction.
    let conn = Connection::open(dir.path().join("Domain.sqlite3")).unwrap();
    conn.execute(
        "UPDATE products SET price_cents = price_cents + 1 WHERE id = 1",
        [],
    )
    .unwrap();
    drop(conn);
    let sim = Sim::create(config()).unwrap();
    assert_eq!(sim.position().txid, 10);
    assert_ne!(sim.position().checksum, after.checksum);

    let tmp = tempfile::tempdir().unwrap();
    let served = serve_sim(sim, tmp).await;
    let export = served.dir.path().join("export.sqlite3");
    export_to(&served.base, &export).await;
    assert_eq!(
        database_checksum(&export).unwrap(),
        served.sim.position().checksum
    );
}
