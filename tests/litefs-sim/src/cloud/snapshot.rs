//! A version of the database as the backup service sends it: one LTX file holding every
//! page (`GET /db/snapshot`), encoded by Fly's own LTX crate (`litetx`).
//!
//! As lfsb sends it: LZ4-compressed pages in order from 1, the lock page left out,
//! MinTXID 1 and MaxTXID the version's TXID, the header's timestamp the commit time, and
//! a trailer with the post-apply checksum (the LiteFS checksum of the pages) and the file
//! checksum.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};

use anyhow::{ensure, Context};
use litetx::{Checksum, Encoder, Header, HeaderFlags, PageNum, PageSize, TXID};

use super::source::Version;
use crate::checksum::{lock_page, page_checksum};

/// Writes `version` of the database open as `file` to `out` as an LTX snapshot.
///
/// The pages are checksummed as they are encoded; if they no longer give the version's
/// checksum (the file was changed in place), the snapshot is abandoned with an error
/// rather than sent with a trailer that lies.
pub fn write_ltx(file: &mut File, version: &Version, out: impl Write) -> anyhow::Result<()> {
    let header = Header {
        flags: HeaderFlags::COMPRESS_LZ4,
        page_size: PageSize::new(version.page_size).context("page size")?,
        commit: PageNum::new(version.pages).context("an empty database has no snapshot")?,
        min_txid: TXID::ONE,
        max_txid: TXID::new(version.txid).context("TXID 0")?,
        timestamp: version.timestamp,
        pre_apply_checksum: None,
    };
    let mut encoder = Encoder::new(out, &header).context("writing the LTX header")?;
    file.seek(SeekFrom::Start(0))?;
    let mut reader = BufReader::with_capacity(1 << 20, &mut *file);
    let mut page = vec![0u8; version.page_size as usize];
    let lock = lock_page(version.page_size);
    let mut sum = 0u64;
    for pgno in 1..=version.pages {
        reader
            .read_exact(&mut page)
            .with_context(|| format!("reading page {pgno}"))?;
        if pgno == lock {
            continue;
        }
        sum ^= page_checksum(pgno, &page);
        let num = PageNum::new(pgno).context("page 0")?;
        encoder
            .encode_page(num, &page)
            .with_context(|| format!("encoding page {pgno}"))?;
    }
    let post_apply = (1 << 63) | sum;
    ensure!(
        post_apply == version.checksum,
        "the database changed while its snapshot was written"
    );
    encoder
        .finish(Checksum::new(post_apply))
        .context("writing the LTX trailer")?;
    Ok(())
}
