//! A disk that stops taking writes (a stalled network volume, a dying drive) ends a
//! LiteFS export within the stall timeout: the export's connection is closed, so LiteFS
//! (whose lock an unread export holds) is not held for as long as the disk is stuck,
//! and the next export works.

mod common;

use std::fs::OpenOptions;
use std::process::Command;
use std::time::Duration;

use common::SimServer;
use voripos_domain_sync::litefs::client::{Client, Timeouts};
use voripos_domain_sync::sync::download::download;

const TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_secs(2),
    stall: Duration::from_millis(500),
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_that_takes_nothing_ends_the_export_within_the_stall_timeout() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(root.path(), 8, None).await;
    let client = Client::new(&sim.url, "Domain.sqlite3", TIMEOUTS).unwrap();

    // A FIFO nobody reads: writes block once its 64 KiB buffer is full, as on a stuck
    // disk. Opened read-write so that opening it does not wait for a reader.
    let stuck = root.path().join("stuck");
    let made = Command::new("mkfifo").arg(&stuck).status().unwrap();
    assert!(made.success(), "mkfifo");
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&stuck)
        .unwrap();
    let export = {
        let client = client.clone();
        tokio::spawn(async move { download(&client, file.into(), stuck).await })
    };
    let ended = tokio::time::timeout(Duration::from_secs(20), export)
        .await
        .expect("the export was still open 20 s after the disk stopped taking writes")
        .unwrap();
    let err = ended.expect_err("nothing was written");
    assert!(
        err.to_string().contains("accepted nothing for 500ms"),
        "{err}"
    );
    // The disk comes back: the abandoned writer finishes and lets go of the file.
    let fifo = root.path().join("stuck");
    let drained = std::thread::spawn(move || {
        std::io::copy(
            &mut std::fs::File::open(fifo).unwrap(),
            &mut std::io::sink(),
        )
    });

    // LiteFS is free: the next export, to a working disk, is the whole database.
    let good = root.path().join("good");
    let got = download(
        &client,
        std::fs::File::create(&good).unwrap().into(),
        good.clone(),
    )
    .await
    .unwrap();
    let pos = sim.sim.position();
    assert_eq!(got.summary.checksum.0, pos.checksum);
    assert_eq!(
        std::fs::metadata(&good).unwrap().len(),
        u64::from(pos.pages) * u64::from(pos.page_size)
    );
    drained.join().unwrap().unwrap();
}
