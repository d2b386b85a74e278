//! The bounded hand-off of network chunks to a blocking thread (the disk writer of a
//! LiteFS export, the decoder of a cloud snapshot).
//!
//! The async side waits for room in the queue without blocking a runtime thread, and
//! for at most its patience: a disk that accepts nothing for that long ends the transfer
//! with [`Stuck`](SendError::Stuck) instead of keeping the connection open, which would hold the server
//! up (an unread LiteFS export holds LiteFS's lock, so its writers and cloud restores
//! wait) for as long as the disk is stuck. The blocking side reads the chunks as an
//! iterator that ends when the sender is gone. [`transfer`] is the whole hand-off, with
//! its outcome decided once for every source.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

/// A queue of at most `capacity` chunks; the sender waits at most `patience` for room.
fn channel(capacity: usize, patience: Duration) -> (Sender, Receiver) {
    let (tx, rx) = mpsc::channel(capacity);
    (Sender { tx, patience }, Receiver { rx })
}

/// The network's end.
struct Sender {
    tx: mpsc::Sender<Bytes>,
    patience: Duration,
}

/// Why a chunk was not handed over.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
enum SendError {
    /// The blocking side stopped (it failed; its own error says why).
    #[error("the writer stopped")]
    Closed,
    /// The blocking side took nothing for this long.
    #[error("the disk accepted nothing for {0:?}")]
    Stuck(Duration),
}

/// [`SendError::Stuck`] as the I/O error a stuck write would have given.
fn stuck_io(patience: Duration) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        SendError::Stuck(patience).to_string(),
    )
}

impl Sender {
    /// Hands `chunk` over, waiting at most the patience for room.
    pub async fn send(&self, chunk: Bytes) -> Result<(), SendError> {
        match tokio::time::timeout(self.patience, self.tx.send(chunk)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(SendError::Closed),
            Err(_) => Err(SendError::Stuck(self.patience)),
        }
    }
}

/// Where the chunks come from: a LiteFS export, a LiteFS Cloud snapshot.
pub trait Source {
    type Error;

    /// The next chunk; `None` at the end.
    fn chunk(&mut self) -> impl Future<Output = Result<Option<Bytes>, Self::Error>> + Send;
}

/// How [`pump`] ended.
#[derive(Debug)]
enum Pumped<E> {
    /// The source ended, or the blocking side stopped (its own error says why);
    /// `received` bytes came from the source.
    Ended { received: u64 },
    /// The source failed after `received` bytes.
    Failed { error: E, received: u64 },
    /// The blocking side took nothing for this long: it is left to finish on its own,
    /// and the source (its connection) is to be dropped now.
    Stuck(Duration),
}

/// Hands every chunk of `source` over through `tx` until one side ends; `tx` is dropped
/// on return, which ends the blocking side's iteration.
async fn pump<S: Source>(source: &mut S, tx: Sender) -> Pumped<S::Error> {
    let mut received = 0u64;
    loop {
        match source.chunk().await {
            Ok(Some(chunk)) => {
                received += chunk.len() as u64;
                match tx.send(chunk).await {
                    Ok(()) => {}
                    Err(SendError::Closed) => return Pumped::Ended { received },
                    Err(SendError::Stuck(patience)) => return Pumped::Stuck(patience),
                }
            }
            Ok(None) => return Pumped::Ended { received },
            Err(error) => return Pumped::Failed { error, received },
        }
    }
}

/// Why the blocking side of a [`transfer`] stopped.
#[derive(Debug)]
pub enum SideError<X> {
    /// Writing to the disk failed.
    Write(std::io::Error),
    /// It refused the bytes it was given (a decoder's format error).
    Refused(X),
}

/// Why a [`transfer`] failed, the disk's trouble first (it is the cause when both sides
/// stopped), then the source's, then what the blocking side refused.
#[derive(Debug)]
pub enum Failed<E, X> {
    /// A write failed, the disk took nothing for the patience, or the blocking side died.
    Write(std::io::Error),
    /// The source failed.
    Source(E),
    /// The blocking side refused the bytes.
    Refused(X),
}

/// Moves every chunk of `source` to `side`, which runs on the blocking pool reading them
/// from a queue of `capacity` chunks (a disk that takes nothing for `patience` ends the
/// transfer: the source, its connection, is dropped by the caller at once). Returns what
/// `side` made and how many bytes came from the source.
pub async fn transfer<S, T, X>(
    source: &mut S,
    capacity: usize,
    patience: Duration,
    side: impl FnOnce(Receiver) -> Result<T, SideError<X>> + Send + 'static,
) -> Result<(T, u64), Failed<S::Error, X>>
where
    S: Source,
    T: Send + 'static,
    X: Send + 'static,
{
    let (tx, rx) = channel(capacity, patience);
    let side = tokio::task::spawn_blocking(move || side(rx));
    let (received, source_error) = match pump(source, tx).await {
        // A blocking side that stopped reports why below.
        Pumped::Ended { received } => (received, None),
        Pumped::Failed { error, received } => (received, Some(error)),
        Pumped::Stuck(patience) => return Err(Failed::Write(stuck_io(patience))),
    };
    let made = side
        .await
        .map_err(|e| Failed::Write(std::io::Error::other(e)))?;
    match (made, source_error) {
        (Err(SideError::Write(e)), _) => Err(Failed::Write(e)),
        (_, Some(e)) => Err(Failed::Source(e)),
        (Err(SideError::Refused(x)), None) => Err(Failed::Refused(x)),
        (Ok(made), None) => Ok((made, received)),
    }
}

/// The blocking thread's end: the chunks in order, until the sender is gone.
pub struct Receiver {
    rx: mpsc::Receiver<Bytes>,
}

impl Iterator for Receiver {
    type Item = Bytes;

    /// Blocks until the next chunk (call it on a blocking thread, never on the runtime).
    fn next(&mut self) -> Option<Bytes> {
        self.rx.blocking_recv()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_reader_that_takes_nothing_ends_the_transfer_after_the_patience() {
        let (tx, _rx) = channel(2, Duration::from_secs(30));
        tx.send(Bytes::from_static(b"a")).await.unwrap();
        tx.send(Bytes::from_static(b"b")).await.unwrap();
        let started = tokio::time::Instant::now();
        assert_eq!(
            tx.send(Bytes::from_static(b"c")).await,
            Err(SendError::Stuck(Duration::from_secs(30)))
        );
        assert_eq!(started.elapsed(), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stopped_reader_is_closed_not_stuck() {
        let (tx, rx) = channel(2, Duration::from_secs(30));
        drop(rx);
        assert_eq!(
            tx.send(Bytes::from_static(b"a")).await,
            Err(SendError::Closed)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_blocking_side_reads_every_chunk_in_order_until_the_sender_is_gone() {
        let (tx, rx) = channel(1, Duration::from_secs(30));
        let reader = tokio::task::spawn_blocking(move || rx.collect::<Vec<_>>());
        for chunk in [&b"one"[..], b"two", b"three"] {
            tx.send(Bytes::from_static(chunk)).await.unwrap();
        }
        drop(tx);
        assert_eq!(
            reader.await.unwrap(),
            [&b"one"[..], b"two", b"three"].map(Bytes::from_static)
        );
    }
}
