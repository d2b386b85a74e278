//! A streamed HTTP body read under two bounds: no gap longer than the stall timeout,
//! and the minimum rate of [`Pace`] over every such window. What LiteFS's `/export` and
//! LiteFS Cloud's `/db/snapshot` are both read with; each client names the failures in
//! its own error type.

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

/// A body being received under the stall and rate bounds.
pub struct PacedBody {
    resp: reqwest::Response,
    stall: Duration,
    pace: Pace,
    received: u64,
}

impl PacedBody {
    /// Starts reading `resp` now: no gap over `stall`, at least `min_rate` bytes per
    /// second over every `stall` window.
    pub fn new(resp: reqwest::Response, stall: Duration, min_rate: u64) -> PacedBody {
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
        match tokio::time::timeout_at(stall_at.min(pace_at), self.resp.chunk()).await {
            Err(_) if dripping(pace_at, stall_at, self.stall) => Err(Slow::TooSlow {
                per_window: self.pace.per_window(),
                window: self.pace.window(),
            }),
            Err(_) => Err(Slow::Stalled(self.stall)),
            Ok(Err(e)) => Err(Slow::Broken(error_chain(&e))),
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
