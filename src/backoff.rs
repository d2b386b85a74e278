//! Capped exponential backoff with jitter, for reconnecting to LiteFS and retrying syncs.

use std::time::Duration;

/// Retry delays: `base · 2^n`, capped at `max`, each multiplied by a random factor in
/// [0.5, 1.0] so a fleet of Macs does not retry in lockstep.
#[derive(Clone, Debug)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Self {
        Backoff {
            base,
            max,
            attempt: 0,
        }
    }

    /// The delay before the next attempt (before jitter), then advances.
    pub fn next_ceiling(&mut self) -> Duration {
        let factor = 2u32.saturating_pow(self.attempt.min(16));
        self.attempt = self.attempt.saturating_add(1);
        self.base.saturating_mul(factor).min(self.max)
    }

    /// The jittered delay to sleep before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        self.next_ceiling().mul_f64(0.5 + fastrand::f64() / 2.0)
    }

    /// Forgets past failures (call after a success).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// How many failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let ceilings: Vec<_> = (0..6).map(|_| b.next_ceiling().as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.failures(), 6);
        b.reset();
        assert_eq!(b.next_ceiling(), Duration::from_millis(100));
    }

    #[test]
    fn jitter_stays_between_half_and_full_ceiling() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(100));
        for _ in 0..1000 {
            let d = b.next_delay();
            assert!(
                d >= Duration::from_millis(50) && d <= Duration::from_millis(100),
                "{d:?}"
            );
        }
    }

    #[test]
    fn never_overflows() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        for _ in 0..100 {
            assert!(b.next_ceiling() <= Duration::from_secs(60));
        }
    }
}
