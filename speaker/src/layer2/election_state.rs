//! What the election loop knows, and the decision it makes from it: the Leases as watched and
//! written, the heartbeats observed, this node's contact with the API server, the IPs it
//! yielded to another MAC and the interfaces each node can announce on.
//!
//! Reports from the Lease watch and the heartbeat go in through [`ElectionState::on_lease_event`]
//! and [`ElectionState::on_beat`]; [`ElectionState::plan`] turns the state and the claims into an
//! [`OwnershipPlan`] with [`crate::election::ownership::decide`]. Nothing here does I/O: the
//! Lease writes that carry a plan out are in [`super::lease_writes`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;

use super::api_contact::ApiContact;
use super::heartbeat::Beat;
use super::lease_watch::LeaseEvent;
use crate::election::candidates::Claim;
use crate::election::lease_name;
use crate::election::liveness::Liveness;
use crate::election::ownership::{OwnershipInputs, OwnershipPlan, decide};
use crate::election::usable::{Usable, UsableHistory, restrict};
use crate::lease::LeaseBook;

/// The state of the election loop of one node.
pub struct ElectionState {
    pub node: String,
    pub heartbeat_timeout: Duration,
    /// `--rebalance-after`.
    pub settle: Duration,
    pub book: LeaseBook,
    pub liveness: Liveness,
    pub contact: ApiContact,
    /// IPs this node holds but saw another MAC announce; not answered until their Lease is
    /// read again.
    pub yielded: BTreeSet<IpAddr>,
    /// This node's heartbeat Lease as last renewed.
    pub last_heartbeat: Option<Lease>,
    /// The interfaces this node can announce on, once the announcer has read them, as far as
    /// the claims tell them apart.
    pub usable_here: Option<Usable>,
    pub usable_history: UsableHistory,
}

impl ElectionState {
    /// A node that knows nothing yet, started at `now`.
    pub fn new(node: &str, heartbeat_timeout: Duration, settle: Duration, now: Instant) -> Self {
        ElectionState {
            node: node.to_owned(),
            heartbeat_timeout,
            settle,
            book: LeaseBook::default(),
            liveness: Liveness::default(),
            contact: ApiContact::new(now),
            yielded: BTreeSet::new(),
            last_heartbeat: None,
            usable_here: None,
            usable_history: UsableHistory::default(),
        }
    }

    fn observe_heartbeats(&mut self, now: Instant) {
        let timeout = self.heartbeat_timeout;
        let beats: Vec<(String, String, bool)> = self
            .book
            .heartbeats()
            .map(|(n, v, r)| (n.to_owned(), v.to_owned(), r))
            .collect();
        for (node, version, released) in beats {
            self.liveness
                .observe(&node, &version, released, now, timeout);
        }
    }

    pub fn on_lease_event(&mut self, event: LeaseEvent, now: Instant) {
        match event {
            LeaseEvent::Applied(lease) => self.book.record_watched(*lease),
            LeaseEvent::Deleted(name) => {
                if let Some(node) = lease_name::heartbeat_node(&name) {
                    self.liveness.forget(node);
                }
                self.book.remove(&name);
            }
            LeaseEvent::Relisted(leases) => {
                self.book.relist(leases);
                self.yielded.clear();
                self.contact.record(None, Some(true), now);
            }
            LeaseEvent::Broken => self.contact.record(None, Some(false), now),
        }
        self.observe_heartbeats(now);
    }

    pub fn on_beat(&mut self, beat: Beat, now: Instant) {
        match beat {
            Some(lease) => {
                self.last_heartbeat = Some(lease.clone());
                self.book.record_own(lease);
                self.contact.record(Some(true), None, now);
                self.observe_heartbeats(now);
            }
            None => self.contact.record(Some(false), None, now),
        }
    }

    /// Decides over `claims`, without the candidates that cannot announce on any interface
    /// they are allowed: this node by its own links, the others by their heartbeats.
    pub fn plan(&mut self, claims: &BTreeMap<IpAddr, Claim>, now: Instant) -> OwnershipPlan {
        let mut usable = self.book.published_usable();
        if let Some(here) = &self.usable_here {
            usable.insert(self.node.clone(), here.clone());
        }
        for (node, interfaces) in &usable {
            self.usable_history.observe(node, interfaces, now);
        }
        let mut claims = claims.clone();
        restrict(&mut claims, &usable);
        let mut live = self
            .liveness
            .live(now, self.heartbeat_timeout, self.contact.since);
        self.usable_history.settling_since(&mut live);
        if !self.contact.counts_itself_live(now, self.heartbeat_timeout) {
            live.remove(&self.node);
        }
        decide(&OwnershipInputs {
            me: &self.node,
            claims: &claims,
            holders: &self.book.holders(),
            live: &live,
            yielded: &self.yielded,
            now,
            settle: self.settle,
        })
    }

    /// The IPs whose Lease names this node.
    pub fn held(&self) -> BTreeSet<IpAddr> {
        self.book
            .holders()
            .into_iter()
            .filter(|(_, h)| h.as_deref() == Some(self.node.as_str()))
            .map(|(ip, _)| ip)
            .collect()
    }
}

#[cfg(test)]
mod tests;
