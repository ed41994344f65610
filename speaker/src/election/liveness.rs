//! Which speakers are alive, from the heartbeat Leases as this node observed them.
//!
//! A speaker is live while its heartbeat Lease keeps changing: each new resourceVersion seen
//! (through the watch, or from this node's own successful renewal) restarts its clock, and it
//! counts as dead once no change was seen for the heartbeat timeout. Only local clocks are
//! compared, so clock skew between nodes does not matter. A heartbeat released on shutdown
//! means dead at once. After this node was cut off from the API server, clocks restart from
//! the moment it was back in touch, and every peer gets a whole heartbeat timeout more to be
//! seen renewing: nobody is judged dead for renewals this node could not see, nor for a peer
//! regaining contact a moment later than this node (after an API server outage each node's
//! first renewal goes through at its own time).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
struct Seen {
    version: String,
    changed_at: Instant,
    live_since: Instant,
    released: bool,
}

/// The heartbeats observed so far.
#[derive(Clone, Debug, Default)]
pub struct Liveness {
    seen: BTreeMap<String, Seen>,
}

impl Liveness {
    /// Records `node`'s heartbeat at `version` (released when its holder was cleared).
    pub fn observe(
        &mut self,
        node: &str,
        version: &str,
        released: bool,
        now: Instant,
        timeout: Duration,
    ) {
        match self.seen.get_mut(node) {
            Some(seen) if seen.version == version && seen.released == released => {}
            Some(seen) => {
                let was_live = !seen.released && now.duration_since(seen.changed_at) < timeout;
                if !was_live {
                    seen.live_since = now;
                }
                seen.version = version.to_owned();
                seen.changed_at = now;
                seen.released = released;
            }
            None => {
                self.seen.insert(
                    node.to_owned(),
                    Seen {
                        version: version.to_owned(),
                        changed_at: now,
                        live_since: now,
                        released,
                    },
                );
            }
        }
    }

    /// Forgets a node whose heartbeat Lease was deleted.
    pub fn forget(&mut self, node: &str) {
        self.seen.remove(node);
    }

    /// The live nodes with the instant each became live, given that this node has been in
    /// touch with the API server since `in_touch_since`.
    pub fn live(
        &self,
        now: Instant,
        timeout: Duration,
        in_touch_since: Instant,
    ) -> BTreeMap<String, Instant> {
        self.seen
            .iter()
            .filter(|(_, seen)| {
                let reference = seen.changed_at.max(in_touch_since + timeout);
                !seen.released && now.saturating_duration_since(reference) < timeout
            })
            .map(|(node, seen)| (node.clone(), seen.live_since.max(in_touch_since)))
            .collect()
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
    fn a_heartbeat_that_keeps_changing_stays_live() {
        let t0 = Instant::now();
        let mut liveness = Liveness::default();
        for (i, at) in [0, 400, 800, 1200, 1600].into_iter().enumerate() {
            liveness.observe("node-a", &i.to_string(), false, ms(t0, at), TIMEOUT);
        }
        let live = liveness.live(ms(t0, 2000), TIMEOUT, t0);
        assert_eq!(live.get("node-a"), Some(&t0));
    }

    #[test]
    fn a_heartbeat_unchanged_for_the_timeout_is_dead() {
        let t0 = Instant::now();
        let mut liveness = Liveness::default();
        // In touch since t0; the heartbeat was seen changing last at 5 s.
        liveness.observe("node-a", "1", false, ms(t0, 5000), TIMEOUT);
        liveness.observe("node-a", "1", false, ms(t0, 6000), TIMEOUT);
        assert!(
            liveness
                .live(ms(t0, 6199), TIMEOUT, t0)
                .contains_key("node-a")
        );
        assert!(liveness.live(ms(t0, 6200), TIMEOUT, t0).is_empty());
    }

    #[test]
    fn a_released_heartbeat_is_dead_at_once() {
        let t0 = Instant::now();
        let mut liveness = Liveness::default();
        liveness.observe("node-a", "1", false, t0, TIMEOUT);
        liveness.observe("node-a", "2", true, ms(t0, 10), TIMEOUT);
        assert!(liveness.live(ms(t0, 20), TIMEOUT, t0).is_empty());
    }

    #[test]
    fn nobody_is_judged_dead_for_renewals_missed_while_out_of_touch() {
        let t0 = Instant::now();
        let mut liveness = Liveness::default();
        liveness.observe("node-a", "1", false, t0, TIMEOUT);
        // Out of touch from 500 ms to 60 s; back in touch at 60 s.
        let back = ms(t0, 60_000);
        assert!(
            liveness
                .live(ms(t0, 60_500), TIMEOUT, back)
                .contains_key("node-a")
        );
        // A peer regaining contact later than this node still has a whole timeout to renew.
        assert!(
            liveness
                .live(ms(t0, 62_300), TIMEOUT, back)
                .contains_key("node-a")
        );
        assert!(liveness.live(ms(t0, 62_400), TIMEOUT, back).is_empty());
    }

    #[test]
    fn a_node_coming_back_after_death_is_live_since_its_return() {
        let t0 = Instant::now();
        let mut liveness = Liveness::default();
        liveness.observe("node-a", "1", false, t0, TIMEOUT);
        liveness.observe("node-a", "2", false, ms(t0, 5000), TIMEOUT);
        assert_eq!(
            liveness.live(ms(t0, 5100), TIMEOUT, t0).get("node-a"),
            Some(&ms(t0, 5000))
        );
    }
}
