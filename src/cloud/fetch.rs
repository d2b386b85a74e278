//! Streams one cloud snapshot into a staged file, decoding the LTX as it arrives.
//!
//! The network side runs on the async runtime; a blocking thread decodes (LZ4, checksums)
//! and writes each page. A small channel between them bounds memory to a few chunks,
//! whatever the database's size, and a disk that takes nothing for the stall timeout
//! ends the fetch, as for a LiteFS export (see [`handoff`]).

use std::io::{BufWriter, Read};
use std::path::PathBuf;

use bytes::{Buf, Bytes};

use crate::handoff::{self, Failed, SideError};
use crate::publish::{Target, Written};

use super::client::{CloudClient, CloudError, SnapshotStream};
use super::ltx::{decode_snapshot, Decoded, LtxError};

/// Chunks in flight between the network and the decoder.
const QUEUE: usize = 8;
/// The decoder's write buffer.
const WRITE_BUFFER: usize = 256 * 1024;

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Cloud(#[from] CloudError),
    #[error("writing the snapshot to {path} failed: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A decoded snapshot, how many bytes came over the network, and what was written.
#[derive(Debug)]
pub struct Fetched {
    pub decoded: Decoded,
    pub received: u64,
    pub written: Written,
}

/// Fetches the snapshot into `target` (at `path`, for messages).
pub async fn fetch(
    client: &CloudClient,
    mut target: Target,
    path: PathBuf,
) -> Result<Fetched, FetchError> {
    let mut stream = client.snapshot().await?;
    let decoded = handoff::transfer(&mut stream, QUEUE, client.stall_timeout(), move |rx| {
        let out = BufWriter::with_capacity(WRITE_BUFFER, &mut target);
        let decoded = decode_snapshot(ChannelReader::new(rx), out).map_err(|e| match e {
            LtxError::Write(source) => SideError::Write(source),
            other => SideError::Refused(other),
        })?;
        let written = target.finish().map_err(SideError::Write)?;
        Ok((decoded, written))
    })
    .await;
    // The snapshot's connection is closed on return (dropped).
    match decoded {
        Ok(((decoded, written), received)) => Ok(Fetched {
            decoded,
            received,
            written,
        }),
        Err(Failed::Write(source)) => Err(FetchError::Write { path, source }),
        Err(Failed::Source(e)) => Err(e.into()),
        Err(Failed::Refused(e)) => Err(CloudError::Snapshot(e).into()),
    }
}

impl handoff::Source for SnapshotStream {
    type Error = CloudError;

    async fn chunk(&mut self) -> Result<Option<Bytes>, CloudError> {
        SnapshotStream::chunk(self).await
    }
}

/// Reads the chunks of a channel as one byte stream; the sender going away is its end.
struct ChannelReader {
    rx: handoff::Receiver,
    current: Bytes,
}

impl ChannelReader {
    fn new(rx: handoff::Receiver) -> Self {
        ChannelReader {
            rx,
            current: Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while !self.current.has_remaining() {
            match self.rx.next() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}
