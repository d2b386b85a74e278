//! How slowly an export may arrive: a bound that a dripping server cannot dodge.
//!
//! A per-chunk stall timeout alone lets a server that sends one byte a second hold an
//! export (and LiteFS's lock) forever. [`Pace`] adds a progress deadline: after every
//! `window`, at least `window × min_rate` more bytes must have arrived, or the export
//! is given up. Each time that much has arrived, the next window starts. Pure: the
//! caller passes the clock in.

use std::time::Duration;

use tokio::time::Instant;

/// The progress deadline of one export.
#[derive(Clone, Debug)]
pub struct Pace {
    window: Duration,
    per_window: u64,
    /// Total bytes that end the current window early.
    next_mark: u64,
    deadline: Instant,
}

impl Pace {
    /// An export starting at `start` that must average at least `min_rate` bytes per
    /// second over every `window`.
    pub fn new(start: Instant, window: Duration, min_rate: u64) -> Pace {
        let per_window = ((min_rate as f64) * window.as_secs_f64()).ceil().max(1.0) as u64;
        Pace {
            window,
            per_window,
            next_mark: per_window,
            deadline: start + window,
        }
    }

    /// Records that `total` bytes have arrived by `now`.
    pub fn advance(&mut self, total: u64, now: Instant) {
        if total >= self.next_mark {
            self.next_mark = total.saturating_add(self.per_window);
            self.deadline = now + self.window;
        }
    }

    /// When the export is too slow unless more bytes arrive first.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The bytes each window must bring, for messages.
    pub fn per_window(&self) -> u64 {
        self.per_window
    }

    /// The window, for messages.
    pub fn window(&self) -> Duration {
        self.window
    }
}

/// Whether an export given up at `pace_at` was still sending (too slow) rather than
/// silent (stalled): its stall deadline, counted from its last byte, was well ahead.
pub fn dripping(pace_at: Instant, stall_at: Instant, stall: Duration) -> bool {
    stall_at.saturating_duration_since(pace_at) >= stall / 10
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn a_steady_export_keeps_moving_the_deadline() {
        let t0 = Instant::now();
        let mut pace = Pace::new(t0, 10 * SEC, 1000);
        assert_eq!(pace.per_window(), 10_000);
        assert_eq!(pace.deadline(), t0 + 10 * SEC);
        pace.advance(10_000, t0 + 4 * SEC);
        assert_eq!(pace.deadline(), t0 + 14 * SEC);
        pace.advance(25_000, t0 + 9 * SEC);
        assert_eq!(pace.deadline(), t0 + 19 * SEC);
    }

    #[test]
    fn a_drip_never_moves_the_deadline() {
        let t0 = Instant::now();
        let mut pace = Pace::new(t0, 10 * SEC, 1000);
        // One byte a second: every chunk arrives well within any stall timeout.
        for s in 1..=30 {
            pace.advance(s, t0 + s as u32 * SEC);
        }
        assert_eq!(pace.deadline(), t0 + 10 * SEC);
    }

    #[test]
    fn a_fast_start_buys_one_window_not_forever() {
        let t0 = Instant::now();
        let mut pace = Pace::new(t0, 10 * SEC, 1000);
        pace.advance(1_000_000, t0 + SEC);
        assert_eq!(pace.deadline(), t0 + 11 * SEC);
        // Then a drip: the deadline stays where the fast part left it.
        pace.advance(1_000_005, t0 + 6 * SEC);
        assert_eq!(pace.deadline(), t0 + 11 * SEC);
    }

    #[test]
    fn a_tiny_rate_still_needs_a_byte() {
        let pace = Pace::new(Instant::now(), Duration::from_millis(1), 1);
        assert_eq!(pace.per_window(), 1);
    }

    #[test]
    fn silence_is_a_stall_and_a_trickle_is_too_slow() {
        let t0 = Instant::now();
        let stall = Duration::from_secs(30);
        // The last byte came just after the window opened: the server went quiet.
        assert!(!dripping(
            t0 + stall,
            t0 + stall + Duration::from_millis(5),
            stall
        ));
        assert!(!dripping(t0 + stall, t0 + stall, stall));
        // The last byte came late in the window: it is still sending, slowly.
        assert!(dripping(
            t0 + stall,
            t0 + stall + Duration::from_secs(29),
            stall
        ));
        // The stall deadline came first.
        assert!(!dripping(t0 + stall, t0 + Duration::from_secs(10), stall));
    }
}
