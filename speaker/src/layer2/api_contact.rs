//! Whether this node is in touch with the API server, and the rule that makes it a live
//! candidate: its heartbeat renewals go through and its Lease watch is synced, and both have
//! held for a whole heartbeat timeout.
//!
//! The heartbeat task and the Lease watch report to the election loop, which records their
//! reports here ([`ApiContact::record`]); the loop asks [`ApiContact::counts_itself_live`]
//! before every decision. By the time the rule holds, this node has seen the heartbeats of
//! every live peer, so a node starting next to others does not grab every free IP before it
//! knows they exist.

use std::time::{Duration, Instant};

/// This node's contact with the API server, as its heartbeat and Lease watch report it.
#[derive(Clone, Copy, Debug)]
pub struct ApiContact {
    /// The last heartbeat renewal went through.
    pub heartbeat_ok: bool,
    /// The Lease watch holds a complete listing and has not broken since.
    pub watch_synced: bool,
    /// When both last became true (or when this node started, until they do).
    pub since: Instant,
}

impl ApiContact {
    /// Out of touch since `now`.
    pub fn new(now: Instant) -> ApiContact {
        ApiContact {
            heartbeat_ok: false,
            watch_synced: false,
            since: now,
        }
    }

    /// Whether the heartbeat and the watch both say this node is in touch.
    pub fn in_touch(&self) -> bool {
        self.heartbeat_ok && self.watch_synced
    }

    /// Records a heartbeat report and/or a watch report (`None`: no news) at `now`; the clock
    /// restarts when contact is regained.
    pub fn record(&mut self, heartbeat_ok: Option<bool>, watch_synced: Option<bool>, now: Instant) {
        let was = self.in_touch();
        self.heartbeat_ok = heartbeat_ok.unwrap_or(self.heartbeat_ok);
        self.watch_synced = watch_synced.unwrap_or(self.watch_synced);
        if !was && self.in_touch() {
            self.since = now;
        }
    }

    /// Whether this node counts as a live candidate at `now`: in touch, and for at least
    /// `heartbeat_timeout`.
    pub fn counts_itself_live(&self, now: Instant, heartbeat_timeout: Duration) -> bool {
        self.in_touch() && now.saturating_duration_since(self.since) >= heartbeat_timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_millis(1200);

    fn ms(base: Instant, n: u64) -> Instant {
        base + Duration::from_millis(n)
    }

    #[test]
    fn a_node_is_not_live_before_it_has_been_in_touch_for_a_heartbeat_timeout() {
        let t0 = Instant::now();
        let mut contact = ApiContact::new(t0);
        contact.record(Some(true), None, ms(t0, 100));
        assert!(!contact.counts_itself_live(ms(t0, 5000), TIMEOUT));
        contact.record(None, Some(true), ms(t0, 300));
        assert!(!contact.counts_itself_live(ms(t0, 1499), TIMEOUT));
        assert!(contact.counts_itself_live(ms(t0, 1500), TIMEOUT));
    }

    #[test]
    fn a_failed_renewal_or_a_broken_watch_makes_the_node_not_live_at_once() {
        let t0 = Instant::now();
        let mut contact = ApiContact::new(t0);
        contact.record(Some(true), Some(true), t0);
        assert!(contact.counts_itself_live(ms(t0, 2000), TIMEOUT));
        contact.record(Some(false), None, ms(t0, 2000));
        assert!(!contact.counts_itself_live(ms(t0, 2001), TIMEOUT));
        contact.record(Some(true), Some(false), ms(t0, 2100));
        assert!(!contact.counts_itself_live(ms(t0, 2101), TIMEOUT));
    }

    #[test]
    fn regaining_contact_restarts_the_clock_but_further_good_reports_do_not() {
        let t0 = Instant::now();
        let mut contact = ApiContact::new(t0);
        contact.record(Some(true), Some(true), t0);
        contact.record(None, Some(false), ms(t0, 5000));
        contact.record(None, Some(true), ms(t0, 6000));
        assert!(!contact.counts_itself_live(ms(t0, 7000), TIMEOUT));
        contact.record(Some(true), None, ms(t0, 7000));
        assert!(contact.counts_itself_live(ms(t0, 7200), TIMEOUT));
    }
}
