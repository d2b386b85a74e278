//! Publisher tests on a real filesystem. The disk-full and read-only tests
//! mount a small tmpfs when run as root (Linux); without root they use
//! permission bits (read-only) or are skipped (disk full), except in CI
//! (`CI=true`), where a missing tmpfs is a failure.

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tempfile::TempDir;

use super::*;
use crate::error_kind::ErrorKind;

const DB: &str = "Domain.sqlite3";

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

fn publisher(dir: &Path, mode: PublishMode, keep: usize) -> Publisher {
    let publisher = Publisher::new(dir.to_path_buf(), mode, DB, keep).unwrap();
    publisher.prepare().unwrap();
    publisher
}

fn stage_with(publisher: &Publisher, content: &[u8]) -> Staged {
    let mut staged = publisher.stage().unwrap();
    staged.file_mut().write_all(content).unwrap();
    staged
}

fn publish(publisher: &Publisher, content: &[u8], seconds: u64) -> Published {
    let staged = stage_with(publisher, content);
    publisher.publish(staged, at(seconds)).unwrap()
}

/// The folder's file names, but for the publisher's own list of what it wrote.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name != ours::HIDDEN_LIST)
        .collect();
    names.sort();
    names
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// A tmpfs mounted for one test, unmounted on drop.
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs with `options` on `path`. `None` (skip) only when not
    /// root and not in CI; otherwise a failure to mount fails the test.
    fn mount(path: &Path, options: &str) -> Option<Tmpfs> {
        fs::create_dir_all(path).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(path)
            .status();
        if status.as_ref().is_ok_and(|status| status.success()) {
            return Some(Tmpfs {
                path: path.to_path_buf(),
            });
        }
        assert!(
            !is_root(),
            "cannot mount a tmpfs on {} ({status:?})",
            path.display()
        );
        crate::test_skip::skip("cannot mount a tmpfs without root");
        None
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(&self.path)
            .status()
            .is_ok_and(|status| status.success());
        if !unmounted {
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

#[test]
fn keep_below_two_is_an_error() {
    let err = Publisher::new(PathBuf::from("/x"), PublishMode::Versioned, DB, 1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
    assert!(err.to_string().contains("keep must be >= 2"), "{err}");
    assert!(Publisher::new(PathBuf::from("/x"), PublishMode::Single, DB, 2).is_ok());
}

#[test]
fn hidden_or_nested_database_names_are_an_error() {
    for name in ["", ".Domain.sqlite3", "../Domain.sqlite3"] {
        let err = Publisher::new(PathBuf::from("/x"), PublishMode::Versioned, name, 5).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
    }
}

#[test]
fn mode_is_versioned_by_default_and_snake_case() {
    assert_eq!(PublishMode::default(), PublishMode::Versioned);
    assert_eq!(
        serde_json::to_string(&PublishMode::Single).unwrap(),
        "\"single\""
    );
    let mode: PublishMode = serde_json::from_str("\"versioned\"").unwrap();
    assert_eq!(mode, PublishMode::Versioned);
}

#[test]
fn the_final_name_appears_only_on_publish() {
    let tmp = TempDir::new().unwrap();
    let publisher = publisher(tmp.path(), PublishMode::Versioned, 5);
    let staged = stage_with(&publisher, b"new database");
    let temp = staged.path().to_path_buf();

    let before = names(tmp.path());
    assert_eq!(before.len(), 1);
    assert!(before[0].starts_with(&format!(".{DB}.")), "{before:?}");
    assert_eq!(temp.parent(), Some(tmp.path()));
    assert_eq!(publisher.newest().unwrap(), None);

    let published = publisher.publish(staged, at(1_700_000_000)).unwrap();
    assert_eq!(published.path, tmp.path().join("1700000000-Domain.sqlite3"));
    assert!(publisher.retain().is_empty());
    assert_eq!(fs::read(&published.path).unwrap(), b"new database");
    assert!(!temp.exists());
    assert_eq!(names(tmp.path()), ["1700000000-Domain.sqlite3"]);
    assert_eq!(publisher.newest().unwrap(), Some(published.path));
}

#[test]
fn staged_file_can_be_read_back() {
    let tmp = TempDir::new().unwrap();
    let publisher = publisher(tmp.path(), PublishMode::Versioned, 5);
    let staged = stage_with(&publisher, b"abc");
    let mut file = staged.file();
    file.seek(SeekFrom::Start(0)).unwrap();
    let mut back = String::new();
    file.read_to_string(&mut back).unwrap();
    assert_eq!(back, "abc");
}

#[test]
fn names_strictly_increase_when_the_clock_stalls_or_goes_back() {
    let tmp = TempDir::new().unwrap();
    let publisher = publisher(tmp.path(), PublishMode::Versioned, 10);
    let paths: Vec<PathBuf> = [1000, 1000, 900, 1000, 5000]
        .into_iter()
        .map(|seconds| publish(&publisher, b"x", seconds).path)
        .collect();
    let expected: Vec<PathBuf> = [1000, 1001, 1002, 1003, 5000]
        .into_iter()
        .map(|seconds| tmp.path().join(format!("{seconds}-{DB}")))
        .collect();
    assert_eq!(paths, expected);
    assert_eq!(publisher.newest().unwrap(), Some(expected[4].clone()));
}

#[test]
fn never_overwrites_an_existing_name() {
    let tmp = TempDir::new().unwrap();
    let publisher = publisher(tmp.path(), PublishMode::Versioned, 10);
    fs::write(tmp.path().join("1000-Domain.sqlite3"), b"someone else's").unwrap();
    // Not a regular file, so not a version: only the link itself finds it taken.
    fs::create_dir(tmp.path().join("1001-Domain.sqlite3")).unwrap();

    let published = publish(&publisher, b"ours", 1000);

    assert_eq!(published.path, tmp.path().join("1002-Domain.sqlite3"));
    assert_eq!(fs::read(&published.path).unwrap(), b"ours");
    assert_eq!(
        fs::read(tmp.path().join("1000-Domain.sqlite3")).unwrap(),
        b"someone else's"
    );
    assert!(tmp.path().join("1001-Domain.sqlite3").is_dir());
}

#[test]
fn retention_keeps_the_newest_and_leaves_foreign_files_alone() {
    let tmp = TempDir::new().unwrap();
    let foreign = [
        "Domain.sqlite3",
        "notes.txt",
        "12-Other.sqlite3",
        "12-Domain.sqlite3-wal",
        ".DS_Store",
        ".Domain.sqlite3.tmp",
    ];
    for name in foreign {
        fs::write(tmp.path().join(name), name).unwrap();
    }
    let publisher = publisher(tmp.path(), PublishMode::Versioned, 3);

    let first = publish(&publisher, b"v1", 100);
    let mut reader = fs::File::open(&first.path).unwrap();
    let mut removed = Vec::new();
    // What a POS reader's SQLite leaves beside the versions it opened.
    let sidecar =
        |version: u64, suffix: &str| tmp.path().join(format!("{version}-Domain.sqlite3{suffix}"));
    for (i, seconds) in [101, 102, 103, 104].into_iter().enumerate() {
        for suffix in ["-wal", "-shm", "-journal"] {
            fs::write(sidecar(seconds - 1, suffix), suffix).unwrap();
        }
        publish(&publisher, format!("v{}", i + 2).as_bytes(), seconds);
        removed.extend(publisher.retain());
    }

    assert_eq!(
        removed,
        [
            tmp.path().join("100-Domain.sqlite3"),
            tmp.path().join("101-Domain.sqlite3")
        ]
    );
    let mut expected: Vec<String> = foreign.iter().map(|name| name.to_string()).collect();
    expected.extend(
        [
            "102-Domain.sqlite3",
            "103-Domain.sqlite3",
            "104-Domain.sqlite3",
        ]
        .map(String::from),
    );
    // The retired versions' sidecars went with them; the kept ones' stay.
    for version in [102, 103] {
        for suffix in ["-wal", "-shm", "-journal"] {
            expected.push(format!("{version}-Domain.sqlite3{suffix}"));
        }
    }
    expected.sort();
    assert_eq!(names(tmp.path()), expected);
    for name in foreign {
        assert_eq!(fs::read_to_string(tmp.path().join(name)).unwrap(), name);
    }
    // A reader that had the deleted version open still reads it.
    let mut content = String::new();
    reader.read_to_string(&mut content).unwrap();
    assert_eq!(content, "v1");
}

#[test]
fn a_staged_file_dropped_without_publish_is_removed() {
    let tmp = TempDir::new().unwrap();
    let publisher = publisher(tmp.path(), PublishMode::Versioned, 5);
    let staged = stage_with(&publisher, b"abandoned");
    let temp = staged.path().to_path_buf();
    assert!(temp.exists());
    drop(staged);
    assert!(!temp.exists());
    assert!(names(tmp.path()).is_empty());
}

#[test]
fn a_failed_publish_removes_the_temp_and_names_the_target() {
    let tmp = TempDir::new().unwrap();
    let publisher = publisher(tmp.path(), PublishMode::Single, 5);
    let target = tmp.path().join(DB);
    fs::create_dir(&target).unwrap();
    fs::write(target.join("keep"), b"x").unwrap();

    let staged = stage_with(&publisher, b"new");
    let temp = staged.path().to_path_buf();
    let err = publisher.publish(staged, at(1)).unwrap_err();

    assert!(
        err.to_string().contains(&target.display().to_string()),
        "{err}"
    );
    assert!(!temp.exists());
    assert_eq!(names(tmp.path()), [DB]);
}

#[test]
fn prepare_sweeps_our_temps_only() {
    let tmp = TempDir::new().unwrap();
    let ours = [
        ".Domain.sqlite3.123-abc.tmp",
        ".Domain.sqlite3.999-0123456789abcdef.tmp",
    ];
    let others = [
        ".Other.sqlite3.1-ab.tmp",
        ".Domain.sqlite3.tmp",
        ".DS_Store",
        "x.tmp",
        "5-Domain.sqlite3",
    ];
    for name in ours.iter().chain(&others) {
        fs::write(tmp.path().join(name), b"x").unwrap();
    }
    let publisher =
        Publisher::new(tmp.path().to_path_buf(), PublishMode::Versioned, DB, 5).unwrap();

    assert_eq!(publisher.prepare().unwrap(), 2);

    let mut expected = others.map(String::from).to_vec();
    expected.sort();
    assert_eq!(names(tmp.path()), expected);
    assert_eq!(publisher.prepare().unwrap(), 0);
}

#[test]
fn prepare_creates_a_missing_folder() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("Application Support").join("Domain");
    let publisher = Publisher::new(dir.clone(), PublishMode::Versioned, DB, 5).unwrap();
    assert_eq!(publisher.newest().unwrap(), None);
    assert_eq!(publisher.prepare().unwrap(), 0);
    assert!(dir.is_dir());
    assert!(names(&dir).is_empty());
    assert_eq!(publisher.dir(), dir);
}

#[test]
fn prepare_rejects_a_file_where_the_folder_should_be() {
    let tmp = TempDir::new().unwrap();
    let path = tmp.path().join("Domain");
    fs::write(&path, b"not a folder").unwrap();
    let err = Publisher::new(path.clone(), PublishMode::Versioned, DB, 5)
        .unwrap()
        .prepare()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotAFolder);
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("set [publish] dir"), "{message}");

    let below = path.join("sub");
    let err = Publisher::new(below.clone(), PublishMode::Versioned, DB, 5)
        .unwrap()
        .prepare()
        .unwrap_err();
    assert!(
        err.to_string().contains(&below.display().to_string()),
        "{err}"
    );
}

/// An existing folder nobody can write to: permission bits when not root; as
/// root (who ignores them), a read-only tmpfs.
#[test]
fn prepare_reports_an_unwritable_folder() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("Domain");
    fs::create_dir(&dir).unwrap();
    let _mount = if is_root() {
        let Some(mount) = Tmpfs::mount(&dir, "ro,size=1m") else {
            return;
        };
        Some(mount)
    } else {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o555)).unwrap();
        None
    };

    let publisher = Publisher::new(dir.clone(), PublishMode::Versioned, DB, 5).unwrap();
    let err = publisher.prepare().unwrap_err();

    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "cannot write to publish folder {}:",
            dir.display()
        )),
        "{message}"
    );
    assert!(
        message.contains("check the folder's owner and permissions"),
        "{message}"
    );
    assert_eq!(
        publisher.stage().unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
}

#[test]
fn single_mode_replaces_atomically_and_old_readers_keep_reading() {
    let tmp = TempDir::new().unwrap();
    let publisher = publisher(tmp.path(), PublishMode::Single, 5);
    let target = tmp.path().join(DB);

    let first = publish(&publisher, b"old content", 100);
    assert_eq!(first.path, target);
    let mut reader = fs::File::open(&target).unwrap();

    let second = publish(&publisher, b"new content", 50);
    assert_eq!(
        second,
        Published {
            path: target.clone()
        }
    );

    let mut old = String::new();
    reader.read_to_string(&mut old).unwrap();
    assert_eq!(old, "old content");
    assert_eq!(fs::read(&target).unwrap(), b"new content");
    assert_eq!(names(tmp.path()), [DB]);
    assert_eq!(publisher.newest().unwrap(), Some(target));
}

#[test]
fn disk_full_is_recognised_and_leaves_the_published_file_intact() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("small");
    let Some(_mount) = Tmpfs::mount(&dir, "size=1m") else {
        return;
    };
    let publisher = publisher(&dir, PublishMode::Versioned, 2);
    let previous_content = vec![0x5a_u8; 64 * 1024];
    let previous = publish(&publisher, &previous_content, 1000).path;

    let mut staged = publisher.stage().unwrap();
    let temp = staged.path().to_path_buf();
    let chunk = vec![0xa5_u8; 64 * 1024];
    let write_err = (0..32)
        .find_map(|_| staged.file_mut().write_all(&chunk).err())
        .expect("writing 2 MiB to a 1 MiB tmpfs must fail");
    let err = classify_io(&write_err, staged.path());
    drop(staged);

    assert_eq!(err.kind(), ErrorKind::DiskFull, "{err}");
    let message = err.to_string();
    assert!(message.contains(&temp.display().to_string()), "{message}");
    assert!(message.contains("free space"), "{message}");
    assert!(!temp.exists());
    assert_eq!(fs::read(&previous).unwrap(), previous_content);
    assert_eq!(publisher.newest().unwrap(), Some(previous));
    assert_eq!(names(&dir), ["1000-Domain.sqlite3"]);
}

#[test]
fn names_follow_the_clock_not_a_file_planted_far_in_the_future() {
    let tmp = TempDir::new().unwrap();
    let publisher = publisher(tmp.path(), PublishMode::Versioned, 3);
    let now = SystemTime::now();
    let now_secs = now.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let planted = [
        "18446744073709551615-Domain.sqlite3",
        "99999999999-Domain.sqlite3",
    ];
    for name in planted {
        fs::write(tmp.path().join(name), b"planted").unwrap();
    }
    // A planted name is not what the POS should read as the newest.
    assert_eq!(publisher.newest().unwrap(), None);

    let first = publish(&publisher, b"ours", now_secs);
    assert_eq!(first.path, tmp.path().join(format!("{now_secs}-{DB}")));
    let second = publish(&publisher, b"ours again", now_secs);
    assert_eq!(
        second.path,
        tmp.path().join(format!("{}-{DB}", now_secs + 1))
    );
    assert_eq!(publisher.newest().unwrap(), Some(second.path.clone()));

    // What the POS app sees: our two versions, and the planted ones set aside, not lost.
    let visible: Vec<String> = names(tmp.path())
        .into_iter()
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(
        visible,
        vec![format!("{now_secs}-{DB}"), format!("{}-{DB}", now_secs + 1)]
    );
    for name in planted {
        let aside = tmp.path().join(format!(".{name}.ahead-of-clock"));
        assert_eq!(fs::read(&aside).unwrap(), b"planted", "{name} was kept");
    }
}

#[test]
fn a_version_a_few_hours_ahead_is_still_followed() {
    // A clock that went back an hour: names stay strictly increasing.
    let tmp = TempDir::new().unwrap();
    let publisher = publisher(tmp.path(), PublishMode::Versioned, 3);
    let now_secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let ahead = publish(&publisher, b"v1", now_secs + 3600);
    let next = publish(&publisher, b"v2", now_secs);
    assert_eq!(
        next.path,
        tmp.path().join(format!("{}-{DB}", now_secs + 3601))
    );
    assert!(ahead.path.exists());
}

#[test]
fn a_folder_deleted_while_running_is_created_again() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("Domain");
    let publisher = publisher(&dir, PublishMode::Versioned, 3);
    publish(&publisher, b"v1", 1000);
    fs::remove_dir_all(&dir).unwrap();
    assert_eq!(publisher.newest().unwrap(), None);
    let again = publish(&publisher, b"v2", 1001);
    assert_eq!(fs::read(&again.path).unwrap(), b"v2");
    assert_eq!(publisher.newest().unwrap(), Some(again.path));
}

#[test]
fn retention_never_deletes_files_someone_else_wrote() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("Domain");
    fs::create_dir(&dir).unwrap();
    // The provisioning tool's downloads, one that failed its hash check, and an older
    // tool's copy: versioned names, but not ours.
    let foreign = [
        "1000-Domain.sqlite3",
        "1001-BAD-HASH-Domain.sqlite3",
        "999-Domain.sqlite3",
    ];
    for name in foreign {
        fs::write(dir.join(name), name).unwrap();
    }
    let list = tmp.path().join("data").join(ours::LIST);
    let publisher = Publisher::new(dir.clone(), PublishMode::Versioned, DB, 2)
        .unwrap()
        .with_list(list.clone());
    publisher.prepare().unwrap();
    let mut removed = Vec::new();
    for seconds in 2000..2005 {
        publish(&publisher, b"ours", seconds);
        removed.extend(publisher.retain());
    }
    assert_eq!(
        removed,
        (2000..2003)
            .map(|s| dir.join(format!("{s}-{DB}")))
            .collect::<Vec<_>>()
    );
    for name in foreign {
        assert_eq!(fs::read(dir.join(name)).unwrap(), name.as_bytes(), "{name}");
    }
    assert!(publisher.is_ours(&dir.join("2004-Domain.sqlite3")));
    assert!(!publisher.is_ours(&dir.join("1000-Domain.sqlite3")));
    // The list lives where it was put: the POS's folder holds only databases.
    assert_eq!(
        ours::read(&list).unwrap(),
        [2003, 2004].map(|s| dir.join(format!("{s}-{DB}"))).into()
    );
    assert!(
        names(&dir).iter().all(|n| n.ends_with(DB)),
        "{:?}",
        names(&dir)
    );
}

#[test]
fn a_clock_behind_then_corrected_leaves_no_hidden_copies() {
    let tmp = TempDir::new().unwrap();
    let publisher = publisher(tmp.path(), PublishMode::Versioned, 3);
    let day = 24 * 60 * 60;
    let mut real = 1_800_000_000;
    for _ in 0..3 {
        // The clock is right, then 3 days behind: the right-named versions are set
        // aside so the POS reads the one named by the wrong clock.
        publish(&publisher, b"right", real);
        publish(&publisher, b"behind", real - 3 * day);
        assert!(hidden_copies(tmp.path()) >= 1);
        // Corrected: the next publish (or start) sweeps what the wrong clock set aside.
        real += 10;
        publish(&publisher, b"corrected", real);
        publisher.sweep_set_aside(at(real));
        assert_eq!(hidden_copies(tmp.path()), 0, "{:?}", names(tmp.path()));
        real += 4 * day;
    }
}

fn hidden_copies(dir: &Path) -> usize {
    names(dir)
        .iter()
        .filter(|n| n.ends_with(".ahead-of-clock"))
        .count()
}
