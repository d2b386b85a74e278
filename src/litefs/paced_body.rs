//! A streamed HTTP body read under two bounds: no gap longer than the stall timeout,
//! and the minimum rate of [`Pace`] over every such window. What LiteFS's `/export` and
//! LiteFS Cloud's `/db/snapshot` are both read with; each client names the failures in
//! its own error type. The chunks come from a [`Chunks`] source (an HTTP response, or a
//! test's script under tokio's paused clock).

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use crate::error_chain::error_chain;

use super::pace::{dripping, Pace};

/// Why the next chunk did not come.
#[derive(Debug)]
pub enum Slow {
    /// Nothing arrived for this long.
    Stalled(Duration),
    /// Bytes kept coming, but fewer than `per_window` in `window`.
    TooSlow { per_window: u64, window: Duration },
    /// The connection broke (the reason, with its causes).
    Broken(String),
}

/// Where a paced body's chunks come from.
pub trait Chunks {
    /// The next chunk; `None` at the end; `Err` with the reason (and its causes) when the
    /// connection broke.
    fn next_chunk(&mut self) -> impl Future<Output = Result<Option<Bytes>, String>> + Send;
}

impl Chunks for reqwest::Response {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, String> {
        self.chunk().await.map_err(|e| error_chain(&e))
    }
}

/// A body being received under the stall and rate bounds.
pub struct PacedBody<B = reqwest::Response> {
    resp: B,
    stall: Duration,
    pace: Pace,
    received: u64,
}

impl<B: Chunks> PacedBody<B> {
    /// Starts reading `resp` now: no gap over `stall`, at least `min_rate` bytes per
    /// second over every `stall` window.
    pub fn new(resp: B, stall: Duration, min_rate: u64) -> PacedBody<B> {
        PacedBody {
            resp,
            stall,
            pace: Pace::new(Instant::now(), stall, min_rate),
            received: 0,
        }
    }

    /// The next chunk; `None` at the end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Slow> {
        let stall_at = Instant::now() + self.stall;
        let pace_at = self.pace.deadline();
        match tokio::time::timeout_at(stall_at.min(pace_at), self.resp.next_chunk()).await {
            Err(_) if dripping(pace_at, stall_at, self.stall) => Err(Slow::TooSlow {
                per_window: self.pace.per_window(),
                window: self.pace.window(),
            }),
            Err(_) => Err(Slow::Stalled(self.stall)),
            Ok(Err(reason)) => Err(Slow::Broken(reason)),
            Ok(Ok(chunk)) => {
                if let Some(chunk) = &chunk {
                    self.received += chunk.len() as u64;
                    self.pace.advance(self.received, Instant::now());
                }
                Ok(chunk)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    const STALL: Duration = Duration::from_secs(30);
    /// LiteFS's export bound: 256 KiB/s, 7.5 MiB per 30 s window.
    const RATE: u64 = 256 * 1024;
    const KIB: usize = 1024;

    /// A body that sends each scripted chunk after its pause, then ends.
    struct Script(VecDeque<(Duration, usize)>);

    impl Chunks for Script {
        async fn next_chunk(&mut self) -> Result<Option<Bytes>, String> {
            match self.0.pop_front() {
                Some((pause, len)) => {
                    tokio::time::sleep(pause).await;
                    Ok(Some(Bytes::from(vec![0u8; len])))
                }
                None => Ok(None),
            }
        }
    }

    /// Reads the scripted body to its end or its failure; the bytes received and how.
    async fn read(script: impl IntoIterator<Item = (Duration, usize)>) -> (u64, Result<(), Slow>) {
        let mut body = PacedBody::new(Script(script.into_iter().collect()), STALL, RATE);
        let mut received = 0;
        loop {
            match body.chunk().await {
                Ok(Some(chunk)) => received += chunk.len() as u64,
                Ok(None) => return (received, Ok(())),
                Err(slow) => return (received, Err(slow)),
            }
        }
    }

    const SEC: Duration = Duration::from_secs(1);

    #[tokio::test(start_paused = true)]
    async fn a_pause_just_under_the_stall_timeout_is_waited_for() {
        let start = Instant::now();
        // 8 MiB at once, then 29 s of silence, then the rest: within both bounds.
        let (received, end) = read([(SEC, 8192 * KIB), (29 * SEC, 64 * KIB)]).await;
        assert!(end.is_ok(), "{end:?}");
        assert_eq!(received, (8192 + 64) * 1024);
        assert_eq!(start.elapsed(), 30 * SEC);
    }

    #[tokio::test(start_paused = true)]
    async fn silence_for_the_stall_timeout_is_a_stall_at_exactly_that_moment() {
        let start = Instant::now();
        let (received, end) = read([(SEC, 8192 * KIB), (31 * SEC, 64 * KIB)]).await;
        assert!(
            matches!(end, Err(Slow::Stalled(s)) if s == STALL),
            "{end:?}"
        );
        assert_eq!(received, 8192 * 1024);
        assert_eq!(
            start.elapsed(),
            SEC + STALL,
            "given up when the gap reached 30 s"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_drip_that_never_stalls_is_too_slow_at_the_end_of_its_window() {
        let start = Instant::now();
        // 64 KiB every 4 s: never a gap near 30 s, but 0.5 MiB per window, not 7.5.
        let (received, end) = read((0..100).map(|_| (4 * SEC, 64 * KIB))).await;
        match end {
            Err(Slow::TooSlow { per_window, window }) => {
                assert_eq!((per_window, window), (RATE * 30, STALL));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            start.elapsed(),
            STALL,
            "given up when the first window ended"
        );
        assert_eq!(received, 7 * 64 * 1024, "the chunks of the first 28 s");
    }

    #[tokio::test(start_paused = true)]
    async fn a_steady_export_just_over_the_minimum_rate_is_never_given_up() {
        let start = Instant::now();
        // 2 MiB every 7 s (just over 256 KiB/s) for three and a half minutes: every
        // window brings its 7.5 MiB.
        let (received, end) = read((0..30).map(|_| (7 * SEC, 2048 * KIB))).await;
        assert!(end.is_ok(), "{end:?}");
        assert_eq!(received, 30 * 2048 * 1024);
        assert_eq!(start.elapsed(), 210 * SEC);
    }
}
