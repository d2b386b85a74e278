//! The patch writer on real SQLite files (a plain copy stands in for the clone: what
//! is written and verified is the same; the clone itself is tested on XFS/btrfs in
//! `tests/clone_publish.rs`).

use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

use rusqlite::Connection;

use super::*;
use crate::litefs::checksum::checksum_file;

/// A database of about `rows` × 1 KiB, page size 4096.
fn database(path: &Path, rows: u32) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA page_size = 4096; CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);")
        .unwrap();
    let tx = conn.unchecked_transaction().unwrap();
    for id in 0..rows {
        tx.execute(
            "INSERT INTO t VALUES (?1, randomblob(1000))",
            rusqlite::params![id],
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

fn edit(path: &Path, sql: &str) {
    Connection::open(path).unwrap().execute_batch(sql).unwrap();
}

struct Case {
    _dir: tempfile::TempDir,
    base: Base,
    new: std::path::PathBuf,
    out: std::path::PathBuf,
}

/// A base of 5,000 rows (about 1,400 pages), and a new version made from it by `sql`.
fn case(sql: &str) -> Case {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    database(&base, 5_000);
    let new = dir.path().join("new");
    fs::copy(&base, &new).unwrap();
    edit(&new, sql);
    let out = dir.path().join("out");
    fs::copy(&base, &out).unwrap();
    let checksum = checksum_file(&base).unwrap().checksum;
    Case {
        base: Base {
            path: base,
            checksum,
        },
        new,
        out,
        _dir: dir,
    }
}

/// Streams `case.new` through a writer into `case.out` in chunks of `chunk` bytes.
fn stream(case: &Case, chunk: usize) -> (PatchStats, Option<Checksum>) {
    let out = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&case.out)
        .unwrap();
    let mut writer = PatchWriter::open(out, &case.base).unwrap();
    for part in fs::read(&case.new).unwrap().chunks(chunk) {
        writer.write_all(part).unwrap();
    }
    writer.finish().unwrap()
}

fn checksum(path: &Path) -> Checksum {
    checksum_file(path).unwrap().checksum
}

#[test]
fn a_few_changed_rows_write_a_few_pages_and_the_result_is_the_new_database() {
    let case = case("UPDATE t SET v = randomblob(1000) WHERE id IN (5, 900, 4500);");
    for chunk in [1, 100, 4096, 5000, 65536] {
        fs::copy(&case.base.path, &case.out).unwrap();
        let (stats, sum) = stream(&case, chunk);
        assert_eq!(
            fs::read(&case.out).unwrap(),
            fs::read(&case.new).unwrap(),
            "chunk {chunk}"
        );
        assert_eq!(sum, Some(checksum(&case.new)), "chunk {chunk}");
        assert!(stats.pages_written <= 8, "{stats:?}");
        assert_eq!(stats.bytes_written, stats.pages_written * 4096);
        assert_eq!(
            stats.compared * 4096,
            fs::metadata(&case.new).unwrap().len()
        );
    }
}

#[test]
fn the_same_database_writes_nothing() {
    let case = case("");
    let (stats, sum) = stream(&case, 65536);
    assert_eq!(stats.pages_written, 0);
    assert_eq!(sum, Some(case.base.checksum));
}

#[test]
fn a_grown_or_shrunk_database_is_patched_and_cut_to_length() {
    for sql in [
        "INSERT INTO t SELECT id + 10000, randomblob(1000) FROM t WHERE id < 300;",
        "DELETE FROM t WHERE id >= 4000; VACUUM;",
    ] {
        let case = case(sql);
        let (_, sum) = stream(&case, 65536);
        assert_eq!(
            fs::read(&case.out).unwrap(),
            fs::read(&case.new).unwrap(),
            "{sql}"
        );
        assert_eq!(sum, Some(checksum(&case.new)), "{sql}");
    }
}

#[test]
fn a_changed_page_corrupted_after_it_was_written_is_caught() {
    let case = case("UPDATE t SET v = randomblob(1000) WHERE id = 900;");
    let out = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&case.out)
        .unwrap();
    let mut writer = PatchWriter::open(out, &case.base).unwrap();
    writer.write_all(&fs::read(&case.new).unwrap()).unwrap();
    let changed = *writer.changed.last().expect("a page changed");
    let spoiler = OpenOptions::new().write(true).open(&case.out).unwrap();
    spoiler
        .write_all_at(b"\xff", u64::from(changed - 1) * 4096 + 2000)
        .unwrap();
    let (_, sum) = writer.finish().unwrap();
    assert_ne!(sum, Some(checksum(&case.new)));
}

#[test]
fn a_base_that_is_not_what_its_checksum_says_is_caught() {
    let mut case = case("UPDATE t SET v = randomblob(1000) WHERE id = 900;");
    case.base.checksum = Checksum(case.base.checksum.0 ^ 1);
    let (_, sum) = stream(&case, 65536);
    assert_ne!(sum, Some(checksum(&case.new)));
}

#[test]
fn a_base_changed_during_the_stream_fails_the_patch() {
    let case = case("UPDATE t SET v = randomblob(1000) WHERE id = 900;");
    let out = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&case.out)
        .unwrap();
    let mut writer = PatchWriter::open(out, &case.base).unwrap();
    writer.write_all(&fs::read(&case.new).unwrap()).unwrap();
    edit(
        &case.base.path,
        "UPDATE t SET v = randomblob(1000) WHERE id = 1;",
    );
    let err = writer.finish().unwrap_err();
    assert!(err.to_string().contains("changed while"), "{err}");
}

#[test]
fn another_page_size_is_written_whole_and_verified_by_the_stream() {
    let case = case("PRAGMA page_size = 8192; VACUUM;");
    let (stats, sum) = stream(&case, 65536);
    assert_eq!(sum, None);
    assert_eq!(fs::read(&case.out).unwrap(), fs::read(&case.new).unwrap());
    assert_eq!(stats.bytes_written, fs::metadata(&case.new).unwrap().len());
}

#[test]
fn a_stream_that_changes_most_pages_is_written_whole_after_a_while() {
    let case = case("UPDATE t SET v = randomblob(1000);");
    let (stats, sum) = stream(&case, 65536);
    assert_eq!(sum, None, "no longer verified page by page");
    assert_eq!(fs::read(&case.out).unwrap(), fs::read(&case.new).unwrap());
    let pages = fs::metadata(&case.new).unwrap().len() / 4096;
    assert!(stats.compared < pages, "{stats:?} of {pages} pages");
}
