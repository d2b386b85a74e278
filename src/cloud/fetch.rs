//! Streams one cloud snapshot into a staged file, decoding the LTX as it arrives.
//!
//! The network side runs on the async runtime; a blocking thread decodes (LZ4, checksums)
//! and writes each page. A small channel between them bounds memory to a few chunks,
//! whatever the database's size, and a disk that takes nothing for the stall timeout
//! ends the fetch, as for a LiteFS export (see [`handoff`]).

use std::io::{BufWriter, Read};
use std::path::PathBuf;

use bytes::{Buf, Bytes};

use crate::handoff::{self, Pumped};
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
    let (tx, rx) = handoff::channel(QUEUE, client.stall_timeout());
    let decoder = tokio::task::spawn_blocking(move || {
        let decoded = decode_snapshot(
            ChannelReader::new(rx),
            BufWriter::with_capacity(WRITE_BUFFER, &mut target),
        )?;
        let written = target.finish().map_err(LtxError::Write)?;
        Ok::<_, LtxError>((decoded, written))
    });
    let (received, network_error) = match handoff::pump(&mut stream, tx).await {
        Pumped::Ended { received } => (received, None), // a decoder that failed reports why below
        Pumped::Failed { error, received } => (received, Some(error)),
        Pumped::Stuck(patience) => {
            // The decoder is stuck in a write; the snapshot's connection is closed now.
            return Err(FetchError::Write {
                path,
                source: handoff::stuck_io(patience),
            });
        }
    };
    let decoded = decoder.await.map_err(|e| FetchError::Write {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    match (decoded, network_error) {
        (Err(LtxError::Write(source)), _) => Err(FetchError::Write { path, source }),
        (_, Some(e)) => Err(e.into()),
        (Err(e), None) => Err(CloudError::Snapshot(e).into()),
        (Ok((decoded, written)), None) => Ok(Fetched {
            decoded,
            received,
            written,
        }),
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
