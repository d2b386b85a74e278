//! The transactions LiteFS announced recently, for matching an export's checksum.
//!
//! The listener appends each `tx` event for our database; a sync whose snapshot matches
//! none of them may wait briefly for one (the transaction may have committed during the
//! export and its event still be on the way). The ledger also knows whether events may
//! have been missed: from start-up, and from every (re)connection or loss of the stream,
//! until the next announcement arrives.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::litefs::Checksum;
use crate::verify::{match_checksum, Announced, Provenance};

/// How many announcements are remembered.
const CAPACITY: usize = 1024;

/// A shared, bounded list of announced transactions.
#[derive(Clone)]
pub struct Ledger {
    entries: Arc<Mutex<Entries>>,
    generation: watch::Sender<u64>,
}

struct Entries {
    list: VecDeque<Announced>,
    /// Events may have been missed since the newest entry.
    gap: bool,
}

impl Default for Entries {
    fn default() -> Self {
        Entries {
            list: VecDeque::new(),
            gap: true,
        }
    }
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger {
            entries: Arc::default(),
            generation: watch::Sender::new(0),
        }
    }
}

impl Ledger {
    /// Records an announced transaction.
    pub fn push(&self, announced: Announced) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.list.len() == CAPACITY {
                entries.list.pop_front();
            }
            entries.list.push_back(announced);
            entries.gap = false;
        }
        self.generation.send_modify(|g| *g += 1);
    }

    /// Marks that events may have been missed (the stream connected anew or broke).
    pub fn mark_gap(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.gap = true;
        }
    }

    /// The remembered announcements, oldest first, and whether there is a gap after them.
    pub fn snapshot(&self) -> (Vec<Announced>, bool) {
        self.entries
            .lock()
            .map(|e| (e.list.iter().copied().collect(), e.gap))
            .unwrap_or_default()
    }

    /// Matches `checksum`, waiting up to `grace` for a matching announcement to arrive.
    pub async fn wait_for_match(
        &self,
        checksum: Checksum,
        grace: Duration,
    ) -> Result<Provenance, Vec<Announced>> {
        let mut changes = self.generation.subscribe();
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            changes.mark_unchanged();
            let (announced, gap) = self.snapshot();
            if let Some(p) = match_checksum(checksum, &announced, gap) {
                return Ok(p);
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => continue,
                _ => return Err(announced),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(txid: u64, c: u64) -> Announced {
        Announced {
            txid,
            checksum: Checksum(c),
        }
    }

    #[tokio::test]
    async fn after_a_gap_an_unknown_state_is_unconfirmed() {
        let l = Ledger::default();
        l.push(a(1, 10));
        l.mark_gap();
        assert_eq!(
            l.wait_for_match(Checksum(99), Duration::ZERO).await,
            Ok(Provenance::Unconfirmed)
        );
        l.push(a(2, 20));
        assert!(l
            .wait_for_match(Checksum(99), Duration::ZERO)
            .await
            .is_err());
    }

    #[tokio::test]
    async fn an_empty_ledger_cannot_confirm() {
        let l = Ledger::default();
        assert_eq!(
            l.wait_for_match(Checksum(1), Duration::ZERO).await,
            Ok(Provenance::Unconfirmed)
        );
    }

    #[tokio::test]
    async fn a_late_announcement_within_the_grace_matches() {
        let l = Ledger::default();
        l.push(a(1, 10));
        let l2 = l.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            l2.push(a(2, 20));
        });
        assert_eq!(
            l.wait_for_match(Checksum(20), Duration::from_secs(5)).await,
            Ok(Provenance::Tx(2))
        );
    }

    #[tokio::test]
    async fn no_match_after_the_grace_returns_what_was_announced() {
        let l = Ledger::default();
        l.push(a(1, 10));
        let err = l
            .wait_for_match(Checksum(99), Duration::from_millis(20))
            .await
            .unwrap_err();
        assert_eq!(err, vec![a(1, 10)]);
    }

    #[test]
    fn capacity_is_bounded() {
        let l = Ledger::default();
        for i in 0..(CAPACITY as u64 + 10) {
            l.push(a(i, i));
        }
        let (list, gap) = l.snapshot();
        assert_eq!(list.len(), CAPACITY);
        assert_eq!(
            list.last(),
            Some(&a(CAPACITY as u64 + 9, CAPACITY as u64 + 9))
        );
        assert!(!gap);
    }
}
