//! Coalescing sync triggers: one sync in flight, at most one pending.
//!
//! A burst of LiteFS transactions must not queue a burst of exports: while a sync runs,
//! further triggers merge into a single pending one, which starts when the running one
//! ends (and not before `min_interval` after the previous start, so a burst yields a
//! handful of publishes, the last of them with the final state). A *Resync* (or *Reset*)
//! starts at once when nothing runs; asked again while a sync runs, it becomes that one
//! pending sync and waits for `min_interval` like any other, so a loop of requests
//! exports at most once per `min_interval`.
//!
//! Looks at the publish folder (is the published file still ours?) are paced the same
//! way by a [`Pacer`]: a folder where files come and go every few milliseconds asks for
//! a look at every change, and each look lists the folder.

use std::time::{Duration, Instant};

/// Why a sync was asked for. Forced reasons re-check the published file from disk
/// instead of trusting what the worker remembers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// A LiteFS transaction event for our database.
    Tx,
    /// The periodic safety check while the event stream is down.
    SafetyCheck,
    /// Retrying after a failed sync.
    Retry,
    /// First sync after start-up.
    Startup,
    /// The published file was changed or deleted behind our back.
    FileChanged,
    /// Someone pressed *Resync now*.
    Resync,
    /// Someone pressed *Reset* and no container is managed: fetch again from scratch.
    Reset,
}

impl Reason {
    /// Whether this sync must re-read the newest published file rather than trust memory.
    pub fn forced(self) -> bool {
        matches!(
            self,
            Reason::Startup | Reason::FileChanged | Reason::Resync | Reason::Reset
        )
    }
}

/// What to do after a trigger or a finished sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Start a sync now.
    Start(Reason),
    /// Start a sync once this instant is reached.
    StartAt(Instant, Reason),
    /// Nothing to do now (a sync is running or nothing is pending).
    Idle,
}

/// The coalescing state machine; pure, driven by the worker.
#[derive(Debug)]
pub struct Coalescer {
    min_interval: Duration,
    running: bool,
    pending: Option<Reason>,
    /// The pending sync was asked for while one ran.
    queued: bool,
    last_start: Option<Instant>,
}

impl Coalescer {
    pub fn new(min_interval: Duration) -> Self {
        Coalescer {
            min_interval,
            running: false,
            pending: None,
            queued: false,
            last_start: None,
        }
    }

    /// A trigger arrived at `now`.
    pub fn trigger(&mut self, reason: Reason, now: Instant) -> Decision {
        self.pending = Some(self.pending.map_or(reason, |p| p.max(reason)));
        if self.running {
            self.queued = true;
            Decision::Idle
        } else {
            self.ready(now)
        }
    }

    /// The running sync ended at `now`.
    pub fn finished(&mut self, now: Instant) -> Decision {
        self.running = false;
        self.ready(now)
    }

    /// The worker is about to start the sync a `StartAt` decision scheduled.
    pub fn due(&mut self, now: Instant) -> Decision {
        if self.running {
            Decision::Idle
        } else {
            self.ready(now)
        }
    }

    /// Whether a sync is running.
    pub fn running(&self) -> bool {
        self.running
    }

    fn ready(&mut self, now: Instant) -> Decision {
        let Some(reason) = self.pending else {
            return Decision::Idle;
        };
        // User actions and start-up go at once unless they queued behind a running
        // sync; automatic triggers respect the interval.
        let at_once =
            matches!(reason, Reason::Resync | Reason::Startup | Reason::Reset) && !self.queued;
        let earliest = self
            .last_start
            .filter(|_| !at_once)
            .map(|t| t + self.min_interval);
        match earliest {
            Some(at) if at > now => Decision::StartAt(at, reason),
            _ => {
                self.pending = None;
                self.queued = false;
                self.running = true;
                self.last_start = Some(now);
                Decision::Start(reason)
            }
        }
    }
}

/// One piece of work in flight, at most one pending, starts at least `min_interval`
/// apart; pure, driven by the worker (for looks at the publish folder).
#[derive(Debug)]
pub struct Pacer {
    min_interval: Duration,
    running: bool,
    pending: bool,
    last_start: Option<Instant>,
}

/// What to do after a request or a finished piece of work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    Start,
    StartAt(Instant),
    Idle,
}

impl Pacer {
    pub fn new(min_interval: Duration) -> Self {
        Pacer {
            min_interval,
            running: false,
            pending: false,
            last_start: None,
        }
    }

    /// The work was asked for at `now`.
    pub fn request(&mut self, now: Instant) -> Pace {
        self.pending = true;
        self.due(now)
    }

    /// The running work ended at `now`.
    pub fn finished(&mut self, now: Instant) -> Pace {
        self.running = false;
        self.due(now)
    }

    /// A `StartAt` instant was reached (or anything else may have made it ready).
    pub fn due(&mut self, now: Instant) -> Pace {
        if self.running || !self.pending {
            return Pace::Idle;
        }
        match self.last_start.map(|t| t + self.min_interval) {
            Some(at) if at > now => Pace::StartAt(at),
            _ => {
                self.pending = false;
                self.running = true;
                self.last_start = Some(now);
                Pace::Start
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storm_of_requests_gives_one_look_per_interval() {
        let mut p = Pacer::new(Duration::from_secs(1));
        let t0 = Instant::now();
        assert_eq!(p.request(t0), Pace::Start);
        let mut starts = 1;
        let mut now = t0;
        // A change every 2 ms for 10 s; each look takes 20 ms.
        let mut running_until = Some(t0 + Duration::from_millis(20));
        let mut scheduled = None;
        for _ in 0..5000 {
            now += Duration::from_millis(2);
            if running_until.is_some_and(|end| end <= now) {
                running_until = None;
                if let Pace::StartAt(at) = p.finished(now) {
                    scheduled = Some(at);
                }
            }
            if scheduled.is_some_and(|at| at <= now) {
                scheduled = None;
                if p.due(now) == Pace::Start {
                    starts += 1;
                    running_until = Some(now + Duration::from_millis(20));
                }
            }
            match p.request(now) {
                Pace::Start => {
                    starts += 1;
                    running_until = Some(now + Duration::from_millis(20));
                }
                Pace::StartAt(at) => scheduled = Some(at),
                Pace::Idle => {}
            }
        }
        assert!((10..=11).contains(&starts), "{starts} looks in 10 s");
        // The last change is looked at: one more look is still pending or scheduled.
        assert!(scheduled.is_some() || running_until.is_some());
    }

    #[test]
    fn a_lone_request_starts_at_once_and_nothing_pending_stays_idle() {
        let mut p = Pacer::new(Duration::from_secs(1));
        let t0 = Instant::now();
        assert_eq!(p.finished(t0), Pace::Idle);
        assert_eq!(p.request(t0), Pace::Start);
        assert_eq!(p.request(t0), Pace::Idle, "one in flight");
        assert_eq!(
            p.finished(t0 + Duration::from_millis(10)),
            Pace::StartAt(t0 + Duration::from_secs(1))
        );
        assert_eq!(p.due(t0 + Duration::from_secs(1)), Pace::Start);
        assert_eq!(p.finished(t0 + Duration::from_secs(5)), Pace::Idle);
        assert_eq!(p.request(t0 + Duration::from_secs(5)), Pace::Start);
    }

    const MIN: Duration = Duration::from_millis(500);

    #[test]
    fn first_trigger_starts_at_once() {
        let mut c = Coalescer::new(MIN);
        let t0 = Instant::now();
        assert_eq!(c.trigger(Reason::Tx, t0), Decision::Start(Reason::Tx));
        assert!(c.running());
    }

    #[test]
    fn triggers_during_a_sync_become_one_pending_sync() {
        let mut c = Coalescer::new(MIN);
        let t0 = Instant::now();
        c.trigger(Reason::Tx, t0);
        for i in 1..1000 {
            assert_eq!(
                c.trigger(Reason::Tx, t0 + Duration::from_micros(i)),
                Decision::Idle
            );
        }
        let done = t0 + Duration::from_secs(1);
        assert_eq!(c.finished(done), Decision::Start(Reason::Tx));
        assert_eq!(c.finished(done + MIN), Decision::Idle);
    }

    #[test]
    fn automatic_triggers_wait_for_the_minimum_interval() {
        let mut c = Coalescer::new(MIN);
        let t0 = Instant::now();
        c.trigger(Reason::Tx, t0);
        let t1 = t0 + Duration::from_millis(100);
        c.trigger(Reason::Tx, t1);
        assert_eq!(c.finished(t1), Decision::StartAt(t0 + MIN, Reason::Tx));
        assert_eq!(c.due(t0 + MIN), Decision::Start(Reason::Tx));
    }

    #[test]
    fn resync_is_not_delayed_and_wins_over_tx() {
        let mut c = Coalescer::new(MIN);
        let t0 = Instant::now();
        c.trigger(Reason::Tx, t0);
        let t1 = t0 + MIN * 2;
        assert_eq!(c.finished(t1), Decision::Idle);
        assert_eq!(
            c.trigger(Reason::Resync, t1),
            Decision::Start(Reason::Resync)
        );
        c.trigger(Reason::Tx, t1);
        c.trigger(Reason::Resync, t1);
        let t2 = t1 + MIN;
        assert_eq!(c.finished(t2), Decision::Start(Reason::Resync));
    }

    #[test]
    fn a_loop_of_resyncs_runs_at_most_once_per_interval() {
        let mut c = Coalescer::new(MIN);
        let t0 = Instant::now();
        let mut now = t0;
        let mut starts = 0;
        // A request every millisecond for ten intervals; each sync takes 5 ms.
        let mut running_until = None;
        while now < t0 + MIN * 10 {
            if running_until.is_some_and(|end| now >= end) {
                running_until = None;
                if let Decision::Start(_) = c.finished(now) {
                    starts += 1;
                    running_until = Some(now + Duration::from_millis(5));
                }
            }
            match c.trigger(Reason::Resync, now) {
                Decision::Start(_) => {
                    starts += 1;
                    running_until = Some(now + Duration::from_millis(5));
                }
                Decision::StartAt(at, _) if at <= now => unreachable!("{at:?}"),
                _ => {}
            }
            if running_until.is_none() {
                if let Decision::Start(_) = c.due(now) {
                    starts += 1;
                    running_until = Some(now + Duration::from_millis(5));
                }
            }
            now += Duration::from_millis(1);
        }
        assert!(
            (10..=11).contains(&starts),
            "{starts} syncs for 5000 requests"
        );
    }

    #[test]
    fn idle_with_nothing_pending() {
        let mut c = Coalescer::new(MIN);
        let t0 = Instant::now();
        assert_eq!(c.finished(t0), Decision::Idle);
        assert_eq!(c.due(t0), Decision::Idle);
    }

    #[test]
    fn forced_reasons_reread_the_published_file() {
        assert!(
            Reason::Resync.forced() && Reason::Startup.forced() && Reason::FileChanged.forced()
        );
        assert!(!Reason::Tx.forced() && !Reason::Retry.forced() && !Reason::SafetyCheck.forced());
    }
}
