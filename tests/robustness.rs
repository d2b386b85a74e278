//! What must hold whatever happens: readers never see a broken file, a killed daemon
//! leaves only complete files, and a full disk loses nothing.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use voripos_domain_sync::status::{State, Status};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_in_another_process_never_sees_a_broken_database() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let mut config = DaemonConfig::new(root.path(), &sim.url);
    config.keep = 3;
    let mut daemon = Daemon::start(root.path(), &config);
    daemon.wait_synced_to(&sim.sim.position()).await;

    let stop = root.path().join("stop-reader");
    let reader = Command::new(example_binary("pos-reader"))
        .arg(&config.publish_dir)
        .arg(&stop)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let publishes = 200;
    for _ in 0..publishes {
        let pos = sim.sim.commit(1).await.unwrap();
        daemon.wait_synced_to(&pos).await;
    }
    std::fs::write(&stop, b"").unwrap();
    let out = reader.wait_with_output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["errors"], 0,
        "reader saw a broken database: {report}"
    );
    assert!(
        report["reads"].as_u64().unwrap() >= publishes,
        "the reader kept reading: {report}"
    );
    // Retention runs just after each publish; once the daemon has stopped it is done.
    daemon.stop();
    assert_eq!(published(&config.publish_dir).len(), 3, "retention keeps 3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_publishes_leaves_only_complete_files() {
    /// Whether `s` shows a file this daemon published: a last sync after `started` (the
    /// file's times are whole seconds, so one from the second `started` falls in is not
    /// counted; the next second's is).
    fn published_since(s: &Status, started: chrono::DateTime<chrono::Utc>) -> bool {
        s.last_sync_at.is_some_and(|t| t > started)
    }

    let root = tempfile::tempdir().unwrap();
    // A transaction every 20 ms keeps the daemon exporting and publishing.
    let sim = SimServer::start(
        &root.path().join("litefs"),
        4,
        Some(Duration::from_millis(20)),
    )
    .await;
    let mut config = DaemonConfig::new(root.path(), &sim.url);
    config.keep = 1000;
    let mut temps_seen = 0;
    for round in 0..20 {
        let left_over = hidden(&config.publish_dir);
        let started = chrono::Utc::now();
        let mut daemon = Daemon::start(root.path(), &config);
        // Its first status is written after the start-up sweep: from then on, what the
        // last kill left must be gone (asked of the folder: a log line can be lost to
        // kill -9).
        daemon.wait_for("the first status", WAIT, |_| true).await;
        let not_swept: Vec<_> = left_over.iter().filter(|t| t.exists()).collect();
        assert!(
            not_swept.is_empty(),
            "round {round}: temps were not swept at start: {not_swept:?}"
        );
        // It publishes (seen in its status, whatever the load: with a transaction every
        // 20 ms a loaded machine goes straight from one sync to the next, and up to date
        // may never last long enough to be written), and keeps publishing when it is
        // killed.
        daemon
            .wait_for("a publish", WAIT, |s| published_since(s, started))
            .await;
        tokio::time::sleep(Duration::from_millis(fastrand::u64(..600))).await;
        daemon.kill9();
        temps_seen += hidden(&config.publish_dir).len();
        for file in published(&config.publish_dir) {
            integrity_check(&file)
                .unwrap_or_else(|e| panic!("round {round}: {} is broken: {e}", file.display()));
            let out = Command::new(env!("CARGO_BIN_EXE_voripos-domain-sync"))
                .arg("verify")
                .arg(&file)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "round {round}: {} is incomplete",
                file.display()
            );
        }
    }
    // A kill that left a temp file landed in the middle of a publish.
    assert!(temps_seen > 0, "no kill landed in the middle of a publish");
    eprintln!("temp files left by kills: {temps_seen}");

    // The next start sweeps what the kills left and carries on.
    let started = chrono::Utc::now();
    let mut daemon = Daemon::start(root.path(), &config);
    daemon
        .wait_for("a publish after restart", WAIT, |s| {
            published_since(s, started)
        })
        .await;
    daemon.stop();
    assert!(
        hidden(&config.publish_dir).is_empty(),
        "temps were swept: {:?}",
        hidden(&config.publish_dir)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_loses_nothing_and_recovers() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 2, None).await;
    let mut config = DaemonConfig::new(root.path(), &sim.url);
    config.publish_dir = root.path().join("small-disk");
    config.keep = 2;
    let Some(_disk) = Tmpfs::mount(&config.publish_dir, "16m") else {
        return;
    };
    let mut daemon = Daemon::start(root.path(), &config);
    daemon.wait_synced_to(&sim.sim.position()).await;
    let good = published(&config.publish_dir);
    let good_checksum = checksum_of(&good[0]);

    // Fill the disk, leaving far less room than one database.
    let filler = config.publish_dir.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let len = f.metadata().unwrap().len();
        f.set_len(len.saturating_sub(256 * 1024)).unwrap();
    }
    sim.sim.commit(1).await.unwrap();
    let status = daemon
        .wait_for("disk_full", WAIT, |s| {
            s.state == State::Error
                && s.error
                    .as_ref()
                    .is_some_and(|e| e.kind.as_str() == "disk_full")
        })
        .await;
    assert!(
        status.error.unwrap().message.contains("small-disk"),
        "the error names the folder"
    );
    assert_eq!(
        published(&config.publish_dir),
        good,
        "nothing new, nothing lost"
    );
    assert_eq!(checksum_of(&good[0]), good_checksum);
    integrity_check(&good[0]).unwrap();
    assert!(
        hidden(&config.publish_dir).is_empty(),
        "the partial temp was removed"
    );

    std::fs::remove_file(&filler).unwrap();
    let status = daemon.wait_synced_to(&sim.sim.position()).await;
    assert!(status.error.is_none());
    daemon.stop();
    assert_eq!(published(&config.publish_dir).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_folder_deleted_while_running_is_recreated_and_watched_again() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let config = DaemonConfig::new(root.path(), &sim.url);
    let mut daemon = Daemon::start(root.path(), &config);
    daemon.wait_synced_to(&sim.sim.position()).await;

    // What deleting or reinstalling the VoriPOS app does; nothing new comes from LiteFS.
    for round in 0..2 {
        remove_folder(&config.publish_dir);
        let status = daemon
            .wait_for(&format!("republish {round}"), WAIT, |s| {
                s.state == State::UpToDate && s.published_path.as_ref().is_some_and(|p| p.exists())
            })
            .await;
        let files = published(&config.publish_dir);
        assert_eq!(files.len(), 1, "round {round}: {files:?}");
        assert_eq!(
            checksum_of(&files[0]),
            sim.sim.position().checksum,
            "round {round}"
        );
        integrity_check(&files[0]).unwrap();
        assert_eq!(status.published_path.as_deref(), Some(files[0].as_path()));
    }
    // Still watched after being recreated: a file removed behind our back comes back.
    let files = published(&config.publish_dir);
    std::fs::remove_file(&files[0]).unwrap();
    daemon
        .wait_for("republish after a removal", WAIT, |s| {
            s.published_path.as_ref().is_some_and(|p| p.exists())
        })
        .await;
    // And new transactions still arrive.
    let pos = sim.sim.commit(1).await.unwrap();
    daemon.wait_synced_to(&pos).await;
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_folder_unusable_at_start_is_retried_until_it_works() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let mut config = DaemonConfig::new(root.path(), &sim.url);
    // A file where the folder's parent should be: like a volume that is not mounted yet,
    // and unusable even for root (who ignores permission bits).
    let blocker = root.path().join("Volume");
    std::fs::write(&blocker, b"not a folder").unwrap();
    config.publish_dir = blocker.join("Domain");
    let mut daemon = Daemon::start(root.path(), &config);
    let status = daemon
        .wait_for("the failed start", WAIT, |s| s.state == State::Error)
        .await;
    let error = status.error.clone().expect("the error is named");
    assert_eq!(error.kind.as_str(), "start_failed");
    assert!(
        error.message.contains(&*blocker.to_string_lossy()),
        "{}",
        error.message
    );
    assert!(
        status
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("retrying")),
        "{status:?}"
    );

    std::fs::remove_file(&blocker).unwrap();
    daemon.wait_synced_to(&sim.sim.position()).await;
    daemon.stop();
}

/// Deletes `dir` as a person would, trying again while the app is writing into it
/// (deleting races with a file being created: "Directory not empty").
fn remove_folder(dir: &std::path::Path) {
    for _ in 0..50 {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => return,
            Err(e) if e.kind() == std::io::ErrorKind::DirectoryNotEmpty => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("deleting {}: {e}", dir.display()),
        }
    }
    panic!("{} could not be deleted", dir.display());
}

/// Runs the daemon where no inotify instance is left: a user namespace whose limit is 0
/// (what a user who reached `max_user_instances` gets).
fn without_inotify() -> Vec<String> {
    ["unshare", "--user", "--map-root-user", "sh", "-c"]
        .map(String::from)
        .into_iter()
        .chain([
            "echo 0 > /proc/sys/user/max_inotify_instances && exec \"$@\"".to_string(),
            "sh".to_string(),
        ])
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_file_watcher_an_edited_file_is_noticed_and_the_status_says_why() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let mut config = DaemonConfig::new(root.path(), &sim.url);
    config.wrap = without_inotify();
    let mut daemon = Daemon::start(root.path(), &config);
    let position = sim.sim.position();
    let synced = daemon.wait_synced_to(&position).await;
    let problem = synced
        .folder_watch_problem
        .expect("the status says the folder is not watched");
    assert!(problem.contains("watch"), "{problem}");

    // Someone edits the newest file in place (same size).
    let edited = synced.published_path.clone().unwrap();
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(&edited)
            .unwrap();
        file.seek(SeekFrom::Start(4096 + 100)).unwrap();
        file.write_all(b"edited behind the app's back").unwrap();
    }
    assert_ne!(checksum_of(&edited), position.checksum);
    // The periodic look notices it: the right content is published again.
    let fixed = daemon
        .wait_for("the edited file replaced", WAIT, |s| {
            s.state == State::UpToDate && s.published_path.as_ref() != Some(&edited)
        })
        .await;
    let newest = published(&config.publish_dir).pop().unwrap();
    assert_eq!(fixed.published_path.as_ref(), Some(&newest));
    assert_eq!(checksum_of(&newest), position.checksum);
    assert!(fixed.folder_watch_problem.is_some(), "still not watched");
    daemon.stop();
}
