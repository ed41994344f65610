//! Which IPs this node holds, acquires and releases: the whole election as one pure function.
//!
//! Inputs are the claims (candidates per IP), the holder each per-IP Lease names, the live
//! speakers and the IPs another node was seen announcing on the link. The rules:
//! - a holder keeps an IP while it stays a candidate, even when it cannot reach the API server
//!   (nobody can take over without writing the Lease, so nothing flaps);
//! - a holder that stops being a candidate releases the IP; so does a holder when a more
//!   preferred candidate has been live for the settle period, which rebalances IPs after a
//!   node returns without moving them back and forth;
//! - an IP whose Lease is missing, released, or names a dead holder is acquired by its most
//!   preferred live candidate, and only while this node is live itself.
//!
//! The Lease writes that carry out `acquire` and `release` are guarded by resourceVersion, so
//! two nodes acting on different views can never both win.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::candidates::{Claim, Interfaces};
use super::preference;

/// What this node sees.
#[derive(Clone, Copy, Debug)]
pub struct OwnershipInputs<'a> {
    pub me: &'a str,
    pub claims: &'a BTreeMap<IpAddr, Claim>,
    /// The holder each existing per-IP Lease names; `None` when released.
    pub holders: &'a BTreeMap<IpAddr, Option<String>>,
    /// Live speakers and since when ([`super::liveness`]).
    pub live: &'a BTreeMap<String, Instant>,
    /// IPs this node holds but saw another node announce; not answered until the Lease is
    /// read again.
    pub yielded: &'a BTreeSet<IpAddr>,
    pub now: Instant,
    /// How long a more preferred node must have been live before a holder hands it an IP.
    pub settle: Duration,
}

/// What this node should do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnershipPlan {
    /// IPs to announce now, with their interfaces.
    pub announce: BTreeMap<IpAddr, Interfaces>,
    /// IPs to acquire by writing their Lease.
    pub acquire: BTreeSet<IpAddr>,
    /// IPs held that must be released.
    pub release: BTreeSet<IpAddr>,
}

impl OwnershipInputs<'_> {
    fn is_live(&self, node: &str) -> bool {
        self.live.contains_key(node)
    }

    fn settled(&self, node: &str) -> bool {
        self.live
            .get(node)
            .is_some_and(|since| self.now.saturating_duration_since(*since) >= self.settle)
    }

    /// The most preferred live candidate of `claim`.
    fn winner<'c>(&self, ip: IpAddr, claim: &'c Claim) -> Option<&'c str> {
        preference::most_preferred(
            ip,
            claim
                .candidates
                .iter()
                .filter(|(node, _)| self.is_live(node))
                .map(|(node, c)| (node.as_str(), c.weight)),
        )
    }

    /// Whether a settled live candidate is preferred over this node.
    fn should_hand_over(&self, ip: IpAddr, claim: &Claim) -> bool {
        let Some(mine) = claim.candidates.get(self.me) else {
            return true;
        };
        claim.candidates.iter().any(|(node, c)| {
            node != self.me
                && self.settled(node)
                && preference::prefers(ip, (node, c.weight), (self.me, mine.weight))
        })
    }
}

/// Decides, for every IP with a claim or a Lease naming this node.
pub fn decide(view: &OwnershipInputs<'_>) -> OwnershipPlan {
    let mut plan = OwnershipPlan::default();
    let i_am_live = view.is_live(view.me);
    for (&ip, holder) in view.holders {
        if holder.as_deref() != Some(view.me) {
            continue;
        }
        let Some(claim) = view.claims.get(&ip) else {
            plan.release.insert(ip);
            continue;
        };
        let Some(mine) = claim.candidates.get(view.me) else {
            plan.release.insert(ip);
            continue;
        };
        if i_am_live && view.should_hand_over(ip, claim) {
            plan.release.insert(ip);
            continue;
        }
        if !view.yielded.contains(&ip) {
            plan.announce.insert(ip, mine.interfaces.clone());
        }
    }
    if !i_am_live {
        return plan;
    }
    for (&ip, claim) in view.claims {
        let free = match view.holders.get(&ip) {
            None | Some(None) => true,
            Some(Some(holder)) => holder != view.me && !view.is_live(holder),
        };
        if free && view.winner(ip, claim) == Some(view.me) {
            plan.acquire.insert(ip);
        }
    }
    plan
}

#[cfg(test)]
mod tests;
