//! Streams one LiteFS export into a staged file, checksumming it on the way.
//!
//! The network side runs on the async runtime; a blocking thread writes each chunk and
//! feeds the checksum, so the file is read exactly once (by the network) and memory
//! stays bounded by the small channel between the two, whatever the database's size. A
//! disk that takes nothing for the stall timeout ends the download (see [`handoff`]).

use std::convert::Infallible;
use std::io::Write;
use std::path::PathBuf;

use bytes::Bytes;

use crate::handoff::{self, Failed, SideError};
use crate::litefs::checksum::Summary;
use crate::litefs::client::{Client, Export, LiteFsError};
use crate::litefs::Checksummer;
use crate::publish::{Target, Written};

/// Chunks in flight between the network and the writer (chunks are at most a few
/// hundred KiB, so this bounds memory to a few MiB whatever the database's size).
const QUEUE: usize = 8;

/// What a finished download saw.
#[derive(Clone, Debug)]
pub struct Downloaded {
    pub summary: Summary,
    /// The first 100 bytes (the SQLite header), or fewer when the export was shorter.
    pub header: Vec<u8>,
    /// The length LiteFS announced, if any.
    pub announced_len: Option<u64>,
    /// What was written (whole, or a patched clone with its checksum).
    pub written: Written,
}

/// Why a download failed.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error(transparent)]
    LiteFs(#[from] LiteFsError),
    #[error("writing the snapshot to {path} failed: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Downloads the export into `target` (at `path`, for messages).
pub async fn download(
    client: &Client,
    target: Target,
    path: PathBuf,
) -> Result<Downloaded, DownloadError> {
    let mut export = client.export().await?;
    let announced_len = export.expected_len();
    let written = handoff::transfer(&mut export, QUEUE, client.stall_timeout(), move |rx| {
        write_all(target, rx).map_err(SideError::<Infallible>::Write)
    })
    .await;
    // The export's connection is closed on return (dropped), releasing LiteFS.
    match written {
        Ok(((summary, header, written), _)) => Ok(Downloaded {
            summary,
            header,
            announced_len,
            written,
        }),
        Err(Failed::Write(source)) => Err(DownloadError::Write { path, source }),
        Err(Failed::Source(e)) => Err(e.into()),
        Err(Failed::Refused(never)) => match never {},
    }
}

impl handoff::Source for Export {
    type Error = LiteFsError;

    async fn chunk(&mut self) -> Result<Option<Bytes>, LiteFsError> {
        Export::chunk(self).await
    }
}

fn write_all(
    mut target: Target,
    rx: handoff::Receiver,
) -> std::io::Result<(Summary, Vec<u8>, Written)> {
    let mut sum = Checksummer::new();
    let mut header = Vec::with_capacity(100);
    for chunk in rx {
        if header.len() < 100 {
            let take = (100 - header.len()).min(chunk.len());
            header.extend_from_slice(&chunk[..take]);
        }
        sum.update(&chunk);
        target.write_all(&chunk)?;
    }
    Ok((sum.finish(), header, target.finish()?))
}
