//! The copy-on-write publish (issue 26): a new version that changes a few pages is a
//! clone of the last published file with only those pages written, verified from them.
//! On a real XFS with reflinks (a loop device; needs root, as CI has): the clone-published
//! file is the source's database byte for byte, and a corrupted changed page is caught
//! and never published. Without clones (tmpfs) a new version is written whole.

mod common;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::xfs::Xfs;
use common::{skip, SimServer};
use rusqlite::Connection;
use voripos_domain_sync::config::DEFAULT_TABLES;
use voripos_domain_sync::error_kind::ErrorKind;
use voripos_domain_sync::litefs::checksum::checksum_file;
use voripos_domain_sync::litefs::client::{Client, Timeouts};
use voripos_domain_sync::litefs::Checksum;
use voripos_domain_sync::publish::patch_plan::Whole;
use voripos_domain_sync::publish::{Base, How, PublishMode, Publisher, Target};
use voripos_domain_sync::sync::download::download;
use voripos_domain_sync::sync::job::{Fetch, JobContext, LiteFsSource, Outcome};
use voripos_domain_sync::sync::ledger::Ledger;

const DB: &str = "Domain.sqlite3";
const TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_secs(5),
    stall: Duration::from_secs(30),
};

fn publisher(dir: &Path, list: &Path) -> Arc<Publisher> {
    let publisher = Publisher::new(dir.to_path_buf(), PublishMode::Versioned, DB, 5)
        .unwrap()
        .with_list(list.to_path_buf());
    publisher.prepare().unwrap();
    Arc::new(publisher)
}

fn job(url: &str, publisher: Arc<Publisher>) -> JobContext {
    JobContext {
        source: Fetch::LiteFs(LiteFsSource {
            client: Client::new(url, DB, TIMEOUTS).unwrap(),
            ledger: Ledger::default(),
            event_grace: Duration::ZERO,
            probe: None,
        }),
        publisher,
        quick_check: true,
        tables: DEFAULT_TABLES.iter().map(|t| t.to_string()).collect(),
    }
}

fn published(outcome: Outcome) -> voripos_domain_sync::sync::job::Known {
    match outcome {
        Outcome::Published { known, .. } => known,
        other => panic!("expected a publish, got {other:?}"),
    }
}

/// `<patches> <pages> <path>` from the patch chain's record beside the list.
fn chain_record(list: &Path) -> String {
    let mut record = list.as_os_str().to_os_string();
    record.push(".chain");
    fs::read_to_string(record).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clone_published_version_is_the_sources_database_byte_for_byte() {
    let root = tempfile::tempdir().unwrap();
    let xfs = match Xfs::mount(root.path(), "512M") {
        Ok(xfs) => xfs,
        Err(reason) => return skip(&reason),
    };
    let sim = SimServer::start(&root.path().join("sim"), 8, None).await;
    let list = root.path().join("published-versions.txt");
    let ctx = job(&sim.url, publisher(&xfs.path.join("pub"), &list));

    let first = published(ctx.run(None, false).await.unwrap());
    assert!(
        chain_record(&list).starts_with("0 0 "),
        "a whole copy starts a chain"
    );
    let mut known = first;
    for round in 1..=3u32 {
        let pos = sim.sim.commit(1).await.unwrap();
        let next = published(ctx.run(Some(known.clone()), false).await.unwrap());
        assert_eq!(next.checksum, Checksum(pos.checksum));

        // The source's database, exported again to a plain file: the same bytes.
        let export = root.path().join(format!("export-{round}"));
        let client = Client::new(&sim.url, DB, TIMEOUTS).unwrap();
        let file = fs::File::create(&export).unwrap();
        download(&client, file.into(), export.clone())
            .await
            .unwrap();
        assert!(
            fs::read(&next.path).unwrap() == fs::read(&export).unwrap(),
            "round {round}: the published clone differs from the source's database"
        );

        let record = chain_record(&list);
        let mut fields = record.trim_end().split(' ');
        assert_eq!(fields.next(), Some(round.to_string().as_str()), "{record}");
        let pages: u64 = fields.next().unwrap().parse().unwrap();
        let total = fs::metadata(&next.path).unwrap().len() / u64::from(pos.page_size);
        assert!(
            pages < total / 4 * u64::from(round),
            "round {round}: {pages} of {total} pages written: {record}"
        );
        assert_eq!(fields.next().map(PathBuf::from), Some(next.path.clone()));
        known = next;
    }
}

/// A database of about 4 MB (page size 4096).
fn database(path: &Path) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);")
        .unwrap();
    let tx = conn.unchecked_transaction().unwrap();
    for id in 0..4_000 {
        tx.execute("INSERT INTO t VALUES (?1, randomblob(1000))", [id])
            .unwrap();
    }
    tx.commit().unwrap();
}

/// Publishes a first version whole into `dir`; returns the publisher, the base and the
/// bytes of a second version that changes a few rows.
fn first_and_second(dir: &Path, list: &Path) -> (Arc<Publisher>, Base, Vec<u8>) {
    let publisher = publisher(dir, list);
    let work = tempfile::tempdir().unwrap();
    let v1 = work.path().join("v1");
    database(&v1);
    let v2 = work.path().join("v2");
    fs::copy(&v1, &v2).unwrap();
    Connection::open(&v2)
        .unwrap()
        .execute_batch("UPDATE t SET v = randomblob(1000) WHERE id IN (10, 2000, 3990);")
        .unwrap();
    let (staged, mut target) = publisher.stage_for(None).unwrap();
    target.write_all(&fs::read(&v1).unwrap()).unwrap();
    let written = target.finish().unwrap();
    let path = publisher.publish(staged, SystemTime::now()).unwrap().path;
    publisher.record_written(&path, &written);
    let checksum = checksum_file(&path).unwrap().checksum;
    (publisher, Base { path, checksum }, fs::read(v2).unwrap())
}

fn checksum_of(bytes: &[u8]) -> Checksum {
    let mut sum = voripos_domain_sync::litefs::Checksummer::new();
    sum.update(bytes);
    sum.finish().checksum
}

#[test]
fn a_corrupted_changed_page_of_a_clone_is_caught_and_not_published() {
    let root = tempfile::tempdir().unwrap();
    let xfs = match Xfs::mount(root.path(), "512M") {
        Ok(xfs) => xfs,
        Err(reason) => return skip(&reason),
    };
    let dir = xfs.path.join("pub");
    let list = root.path().join("published-versions.txt");
    let (publisher, base, v2) = first_and_second(&dir, &list);

    let (staged, mut target) = publisher.stage_for(Some(&base)).unwrap();
    assert!(matches!(target, Target::Patch { .. }), "XFS clones");
    target.write_all(&v2).unwrap();
    // The disk spoils a page that was written (the first that differs from the base).
    let old = fs::read(&base.path).unwrap();
    let at = old
        .chunks(4096)
        .zip(v2.chunks(4096))
        .position(|(a, b)| a != b)
        .expect("a changed page") as u64
        * 4096;
    OpenOptions::new()
        .write(true)
        .open(staged.path())
        .unwrap()
        .write_all_at(b"spoilt", at + 1000)
        .unwrap();
    let written = target.finish().unwrap();
    assert!(matches!(written.how, How::Patched { .. }));
    let err = publisher
        .verify_written(&staged, &written, checksum_of(&v2))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ChecksumMismatch, "{err}");
    let temp = staged.path().to_path_buf();
    drop(staged);
    assert!(!temp.exists(), "the spoilt clone is removed");
    assert_eq!(publisher.newest().unwrap(), Some(base.path.clone()));
    assert_eq!(
        fs::read(&base.path).unwrap(),
        old,
        "the published file is untouched"
    );

    // The next version is written whole: the chain's record was dropped.
    let (_, target) = publisher.stage_for(Some(&base)).unwrap();
    assert!(matches!(
        target,
        Target::Whole {
            why: Whole::UnknownChain,
            ..
        }
    ));
}

#[test]
fn without_clones_a_new_version_is_written_whole() {
    // tmpfs has no FICLONE (nor has ext4, where the rest of the suite runs).
    let shm = Path::new("/dev/shm");
    if !shm.is_dir() {
        return skip("no tmpfs at /dev/shm");
    }
    let root = tempfile::tempdir_in(shm).unwrap();
    let list = root.path().join("published-versions.txt");
    let (publisher, base, v2) = first_and_second(&root.path().join("pub"), &list);

    let (staged, mut target) = publisher.stage_for(Some(&base)).unwrap();
    assert!(matches!(
        target,
        Target::Whole {
            why: Whole::CloneUnsupported,
            ..
        }
    ));
    target.write_all(&v2).unwrap();
    let written = target.finish().unwrap();
    assert_eq!(written.how, How::Whole(Whole::CloneUnsupported));
    assert_eq!(written.bytes, v2.len() as u64);
    publisher
        .verify_written(&staged, &written, checksum_of(&v2))
        .unwrap();
    let path = publisher.publish(staged, SystemTime::now()).unwrap().path;
    assert_eq!(fs::read(path).unwrap(), v2);
}
