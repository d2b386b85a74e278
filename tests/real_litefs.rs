//! The real LiteFS (v0.5.14) as the judge, host tier: LiteFS mounted with FUSE as a
//! static primary, a writer changing a Vori-like domain database through the mount,
//! and the app headless with `[container] manage = false`.
//!
//! Needs `/dev/fuse`, root and `fusermount3`; in CI their absence is a failure.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::real_litefs::{RealLiteFs, Writer};
use common::*;
use voripos_domain_sync::litefs::pos::Position;
use voripos_domain_sync::status::{State, Status};

const WAIT: Duration = Duration::from_secs(60);

/// Waits until the app is up to date at LiteFS's own position (its `-pos` file).
async fn wait_at_position(daemon: &mut Daemon, pos: Position) -> Status {
    daemon
        .wait_for(&format!("publish of TXID {:x}", pos.txid), WAIT, |s| {
            s.state == State::UpToDate
                && s.txid.map(|t| t.0) == Some(pos.txid)
                && s.checksum == Some(pos.checksum)
        })
        .await
}

/// What a user checks: the newest published file is byte for byte the mount's database
/// and `verify --expect` passes with LiteFS's checksum.
fn assert_published_is_mount(node: &RealLiteFs, status: &Status, pos: Position) {
    let newest = status.published_path.clone().expect("a published file");
    let published = std::fs::read(&newest).unwrap();
    assert!(
        published == node.db_bytes(),
        "{} differs from the mount's database",
        newest.display()
    );
    verify_expect(&newest, &pos.checksum.to_string());
}

fn verify_expect(file: &Path, checksum: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_voripos-domain-sync"))
        .arg("verify")
        .arg(file)
        .args(["--expect", checksum])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "verify --expect {checksum} {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every published file is a sound database that LiteFS once held.
fn assert_all_published_sound(dir: &Path) {
    for file in published(dir) {
        integrity_check(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let checksum = format!("{:016x}", checksum_of(&file));
        verify_expect(&file, &checksum);
    }
    assert!(hidden(dir).is_empty(), "no temp left behind");
}

/// LiteFS mounted under `root` with a populated database, and the app (keeping `keep`
/// versions) started after the last commit and synced to it; `None` when the real
/// LiteFS cannot run here (outside CI only).
async fn first_publish(
    root: &Path,
    name: &str,
    keep: usize,
) -> Option<(RealLiteFs, DaemonConfig, Daemon)> {
    let node = RealLiteFs::start(&root.join("litefs"), name)?;
    let mut config = DaemonConfig::new(root, &node.url());
    config.keep = keep;
    let mut writer = Writer::open(&node.db_path());
    writer.populate(1);
    drop(writer);
    let mut daemon = Daemon::start(root, &config);
    // Started after the last commit, the app hears of no transaction: it knows the
    // checksum, not the TXID (LiteFS's `-pos` file is only read in its container).
    let checksum = node.pos().checksum;
    daemon
        .wait_for("the first publish", WAIT, |s| {
            s.state == State::UpToDate && s.checksum == Some(checksum)
        })
        .await;
    Some((node, config, daemon))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_publishes_exactly_what_the_mount_holds() {
    let root = tempfile::tempdir().unwrap();
    let Some(node) = RealLiteFs::start(&root.path().join("litefs"), "host_publishes") else {
        return;
    };
    let mut config = DaemonConfig::new(root.path(), &node.url());
    config.keep = 50;
    // Started before the database exists: it waits, then publishes the first version.
    let mut daemon = Daemon::start(root.path(), &config);
    daemon
        .wait_for("the app to find no database yet", WAIT, |s| {
            s.error.is_some() || s.events_connected
        })
        .await;
    assert!(published(&config.publish_dir).is_empty());

    let mut writer = Writer::open(&node.db_path());
    writer.populate(2);
    let status = wait_at_position(&mut daemon, node.pos()).await;
    assert_published_is_mount(&node, &status, node.pos());
    let meta = status.metadata.clone().expect("metadata read");
    assert_eq!(meta.schema_version.as_deref(), Some("7"));
    assert!(status.row_counts["products"].unwrap() > 1000);

    writer.commit(1);
    let status = wait_at_position(&mut daemon, node.pos()).await;
    assert_published_is_mount(&node, &status, node.pos());

    // A burst of commits coalesces: one export in flight and at most one pending, so
    // at most one publish per `min_interval` (100 ms here) while it lasts, the last
    // one current.
    let before = published(&config.publish_dir).len();
    let started = std::time::Instant::now();
    writer.commit(300);
    let status = wait_at_position(&mut daemon, node.pos()).await;
    let lasted = started.elapsed();
    assert_published_is_mount(&node, &status, node.pos());
    let burst = published(&config.publish_dir).len() - before;
    let bound = (lasted.as_millis() / 100) as usize + 2;
    assert!(
        (1..=bound.min(150)).contains(&burst),
        "300 commits over {lasted:?} gave {burst} publishes (at most {bound})"
    );

    // Pages shrink (VACUUM) and grow.
    let size = |s: &Status| {
        std::fs::metadata(s.published_path.as_ref().unwrap())
            .unwrap()
            .len()
    };
    let big = size(&status);
    writer.execute("DELETE FROM product_barcodes; DELETE FROM products WHERE id % 2 = 0;");
    writer.execute("VACUUM");
    let status = wait_at_position(&mut daemon, node.pos()).await;
    assert_published_is_mount(&node, &status, node.pos());
    let small = size(&status);
    assert!(small < big / 2, "VACUUM shrank {big} to {small} bytes");
    writer.execute(
        "CREATE TABLE filler (x BLOB); \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) \
         INSERT INTO filler SELECT randomblob(4000) FROM n;",
    );
    let status = wait_at_position(&mut daemon, node.pos()).await;
    assert_published_is_mount(&node, &status, node.pos());
    assert!(size(&status) > small + 7_000_000, "the database grew");

    assert_all_published_sound(&config.publish_dir);
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_survives_litefs_stopped_and_killed() {
    let root = tempfile::tempdir().unwrap();
    let Some((mut node, config, mut daemon)) =
        first_publish(root.path(), "host_survives", 50).await
    else {
        return;
    };

    for how in ["SIGTERM", "SIGKILL"] {
        let before = published(&config.publish_dir);
        match how {
            "SIGTERM" => node.stop(),
            _ => node.kill(),
        }
        daemon
            .wait_for(&format!("the app to notice LiteFS got {how}"), WAIT, |s| {
                !s.events_connected
            })
            .await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(
            published(&config.publish_dir),
            before,
            "nothing published while LiteFS is down ({how})"
        );
        assert_eq!(
            daemon.status().unwrap().published_path.as_ref(),
            before.last(),
            "the last good file is kept"
        );

        node.restart();
        // Commits made while the app is not listening carry no TXID it could learn.
        daemon
            .wait_for("the event stream back", WAIT, |s| s.events_connected)
            .await;
        let mut writer = Writer::open(&node.db_path());
        writer.commit(3);
        let status = wait_at_position(&mut daemon, node.pos()).await;
        assert_published_is_mount(&node, &status, node.pos());
    }
    assert_all_published_sound(&config.publish_dir);
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_dropped_or_empty_database_means_no_data_yet() {
    let root = tempfile::tempdir().unwrap();
    let Some((node, config, mut daemon)) = first_publish(root.path(), "host_no_data", 5).await
    else {
        return;
    };
    let checksum = node.pos().checksum;
    let kept = published(&config.publish_dir);

    // Dropped: a `tx` with commit 0, then /export 500. Then created again but empty:
    // /export 200 with an empty body. Both: plain words, the last good file kept.
    let dropped = || std::fs::remove_file(node.db_path()).unwrap();
    let emptied = || drop(std::fs::File::create(node.db_path()).unwrap());
    for (what, change) in [("dropped", &dropped as &dyn Fn()), ("empty", &emptied)] {
        change();
        let status = daemon
            .wait_for(&format!("no data ({what})"), WAIT, |s| {
                s.error
                    .as_ref()
                    .is_some_and(|e| e.kind.as_str() == "litefs_no_data")
            })
            .await;
        let message = &status.error.as_ref().unwrap().message;
        assert!(message.contains("no data"), "{what}: {message}");
        assert!(
            !message.contains(&*node.root.to_string_lossy()) && !message.contains("/dbs/"),
            "{what}: no LiteFS internal path in {message:?}"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(
            published(&config.publish_dir),
            kept,
            "{what}: nothing published"
        );
        let status = daemon.status().unwrap();
        assert_eq!(status.published_path.as_ref(), kept.last());
        assert_eq!(
            status.checksum,
            Some(checksum),
            "{what}: the kept file's checksum"
        );
    }

    // Data again: it recovers by itself.
    let mut writer = Writer::open(&node.db_path());
    writer.populate(1);
    writer.commit(1);
    let status = wait_at_position(&mut daemon, node.pos()).await;
    assert!(status.error.is_none());
    assert_published_is_mount(&node, &status, node.pos());
    daemon.stop();
}

/// A WAL-mode database is published as LiteFS exports it (header bytes 18/19 = 2/2,
/// checksum = LiteFS's); a POS opening it read-only leaves `-wal`/`-shm` files, and
/// retention deletes those of the versions it deletes, nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_wal_database_is_published_and_its_sidecars_retired() {
    let root = tempfile::tempdir().unwrap();
    let Some(node) = RealLiteFs::start(&root.path().join("litefs"), "host_wal") else {
        return;
    };
    let mut config = DaemonConfig::new(root.path(), &node.url());
    config.keep = 2;
    let mut writer = Writer::open(&node.db_path());
    writer.execute("PRAGMA journal_mode = WAL");
    writer.populate(1);
    let mut daemon = Daemon::start(root.path(), &config);
    daemon
        .wait_for("the events stream", WAIT, |s| s.events_connected)
        .await;
    writer.commit(1);
    let status = wait_at_position(&mut daemon, node.pos()).await;
    let first = status.published_path.clone().unwrap();
    let bytes = std::fs::read(&first).unwrap();
    assert_eq!(
        (bytes[18], bytes[19]),
        (2, 2),
        "WAL mode as LiteFS exports it"
    );
    verify_expect(&first, &node.pos().checksum.to_string());
    assert!(
        hidden(&config.publish_dir).is_empty(),
        "no temp or sidecar of ours left"
    );

    // The POS reads it, as a read-only SQLite client: sidecars appear beside it.
    let pos_reader = voripos_domain_sync::inspect::open_readonly(&first).unwrap();
    let products: i64 = pos_reader
        .query_row("SELECT count(*) FROM products", [], |r| r.get(0))
        .unwrap();
    assert!(products > 1000);
    let sidecar = |p: &Path, s: &str| std::path::PathBuf::from(format!("{}-{s}", p.display()));
    std::fs::write(sidecar(&first, "journal"), b"").unwrap();
    let bystander = config.publish_dir.join("notes-Domain.sqlite3-wal");
    std::fs::write(&bystander, b"not ours").unwrap();
    let present = |p: &Path| ["wal", "shm", "journal"].map(|s| sidecar(p, s).exists());
    assert!(
        present(&first).iter().any(|&p| p),
        "the reader left sidecars"
    );
    drop(pos_reader);
    for s in ["wal", "shm"] {
        if !sidecar(&first, s).exists() {
            std::fs::write(sidecar(&first, s), b"").unwrap();
        }
    }

    // Two more versions: the first is retired with its sidecars; nothing else goes.
    for _ in 0..2 {
        writer.commit(1);
        wait_at_position(&mut daemon, node.pos()).await;
    }
    daemon
        .wait_for("retention", WAIT, |_| !first.exists())
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        present(&first),
        [false; 3],
        "the retired version's sidecars are gone"
    );
    assert!(
        bystander.exists(),
        "a file that is not a version's sidecar stays"
    );
    assert_eq!(published(&config.publish_dir).len(), 2);
    daemon.stop();
}
