//! The Layer 2 election loop: takes in what the Lease watch, the heartbeat, the announcer and
//! the cluster watches report, decides with [`ElectionState::plan`] and carries the plan out:
//! the announce table first (so released IPs stop being answered before their Lease is
//! written), then the Lease writes, the heartbeat's published interfaces, the metrics and
//! the desired ServiceL2Status.
//!
//! The loop decides on values it is given: this node's links arrive from the announcer, which
//! reads them from sysfs whenever netlink reports a change; the loop itself reads nothing.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc, watch};

use super::announced_metrics::AnnouncedMetrics;
use super::election_state::ElectionState;
use super::heartbeat::Beat;
use super::lease_watch::LeaseEvent;
use super::lease_writes::LeaseWrites;
use super::service_status::desired_status;
use crate::announcer::Conflict;
use crate::election::candidates::Claim;
use crate::election::usable::Usable;
use crate::link::Link;
use crate::publish_if_changed;
use crate::responder::Table;
use crate::status::StatusPublisher;
use crate::watches::ClusterWatch;

/// The links of this node as the announcer last read them; `None` until it first has.
pub type Links = Option<Arc<Vec<Link>>>;

/// What the loop listens to.
pub struct LoopInputs {
    pub lease_events: mpsc::Receiver<LeaseEvent>,
    pub beats: mpsc::Receiver<Beat>,
    pub conflicts: mpsc::Receiver<Conflict>,
    pub links: watch::Receiver<Links>,
}

/// Where the loop's decisions go.
pub struct LoopOutputs {
    /// The announce table of the interface tasks.
    pub table: watch::Sender<Arc<Table>>,
    /// The interfaces the heartbeat publishes.
    pub published_usable: watch::Sender<Option<Usable>>,
    pub status: StatusPublisher,
}

/// The election of one node: its state, its Lease writes and its announcement metrics.
pub struct Election {
    pub state: ElectionState,
    pub writes: LeaseWrites,
    pub announced: AnnouncedMetrics,
}

impl Election {
    fn on_lease_event(&mut self, event: LeaseEvent, synced: &mut bool) {
        *synced |= matches!(event, LeaseEvent::Relisted(_));
        self.state.on_lease_event(event, Instant::now());
    }

    /// Decides over `claims` and this node's `links`, and carries the plan out.
    async fn decide_and_act(
        &mut self,
        claims: &BTreeMap<IpAddr, Claim>,
        links: Option<&[Link]>,
        outputs: &LoopOutputs,
    ) {
        self.state.usable_here = links.map(|l| Usable::from_links(l).relevant(claims));
        outputs.published_usable.send_if_modified(|published| {
            let changed = *published != self.state.usable_here;
            if changed {
                published.clone_from(&self.state.usable_here);
            }
            changed
        });
        let now = Instant::now();
        let mut plan = self.state.plan(claims, now);
        // Stop answering for released IPs before writing their Leases.
        publish_if_changed(&outputs.table, Arc::new(plan.announce.clone()));
        if !plan.release.is_empty() {
            self.writes
                .release(&mut self.state.book, &plan.release)
                .await;
        }
        if !plan.acquire.is_empty() {
            self.announced.trying(&plan.acquire, now);
            if self
                .writes
                .acquire(&mut self.state.book, &plan.acquire)
                .await
            {
                plan = self.state.plan(claims, Instant::now());
                outputs.table.send_replace(Arc::new(plan.announce.clone()));
            }
        }
        self.announced.account(&plan.announce, claims);
        let desired = desired_status(&plan.announce, claims, links.unwrap_or_default());
        outputs.status.show(desired);
    }
}

/// Runs the election until `shutdown` completes, deciding on every report, every cluster
/// change (`wake`) and every `evaluate_every`. Nothing is decided before the Lease watch has
/// delivered its first listing.
pub async fn run(
    election: &mut Election,
    inputs: &mut LoopInputs,
    outputs: &LoopOutputs,
    watches: &ClusterWatch,
    wake: &Notify,
    evaluate_every: Duration,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut ticker = tokio::time::interval(evaluate_every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut synced = false;
    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            Some(event) = inputs.lease_events.recv() => election.on_lease_event(event, &mut synced),
            Some(beat) = inputs.beats.recv() => election.state.on_beat(beat, Instant::now()),
            Some(conflict) = inputs.conflicts.recv() => {
                let state = &mut election.state;
                election.writes.recheck_conflict(&mut state.book, &mut state.yielded, conflict).await;
            }
            Ok(()) = inputs.links.changed() => {}
            _ = wake.notified() => {}
            _ = ticker.tick() => {}
        }
        // Take in everything already queued before deciding, so a burst of events costs one
        // decision and heartbeats are observed when they arrive.
        while let Ok(event) = inputs.lease_events.try_recv() {
            election.on_lease_event(event, &mut synced);
        }
        while let Ok(beat) = inputs.beats.try_recv() {
            election.state.on_beat(beat, Instant::now());
        }
        let links = inputs.links.borrow_and_update().clone();
        if !synced {
            continue;
        }
        election
            .decide_and_act(
                &watches.claims(),
                links.as_deref().map(Vec::as_slice),
                outputs,
            )
            .await;
    }
}
