//! Which interfaces each node can announce on, and the rule that a node unable to announce
//! an IP on any interface its advertisements allow is no candidate for that IP.
//!
//! Each speaker reads its own interfaces ([`Usable::from_links`]) and publishes them on its
//! heartbeat Lease ([`Usable::annotations`]), so every speaker applies the rule to every node
//! from the same inputs: the owner of an IP whose link went down hands it over, and the next
//! candidate takes it without waiting for a timeout. A node whose heartbeat carries no such
//! annotations (an older speaker) is taken to be able to announce anywhere.
//!
//! A node whose interfaces changed has its rebalance clock restarted ([`UsableHistory`]), so
//! an IP moves back to it only after `--rebalance-after`, as after a restart.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Instant;

use super::candidates::{Claim, Interfaces};
use crate::link::{Link, suitable};

/// Annotation of a heartbeat Lease listing the interfaces the node can announce on when an
/// advertisement names them, comma-separated.
pub const INTERFACES_ANNOTATION: &str = "ferrolb.io/interfaces";
/// Annotation of a heartbeat Lease listing the interfaces the node announces on when an
/// advertisement names none, comma-separated.
pub const DEFAULT_INTERFACES_ANNOTATION: &str = "ferrolb.io/default-interfaces";

/// The interfaces a node can announce on now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Usable {
    /// Up interfaces, usable when an advertisement names them.
    pub named: BTreeSet<String>,
    /// Interfaces used when an advertisement names none ([`crate::link::suitable`]).
    pub default: BTreeSet<String>,
}

fn names(list: &str) -> BTreeSet<String> {
    list.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

fn list(names: &BTreeSet<String>) -> String {
    names.iter().cloned().collect::<Vec<_>>().join(",")
}

impl Usable {
    pub fn from_links(links: &[Link]) -> Usable {
        Usable {
            named: links
                .iter()
                .filter(|l| suitable(l, Some(&|_: &str| true)))
                .map(|l| l.name.clone())
                .collect(),
            default: links
                .iter()
                .filter(|l| suitable(l, None))
                .map(|l| l.name.clone())
                .collect(),
        }
    }

    /// Whether the node can announce on at least one interface of `allowed`.
    pub fn can_announce(&self, allowed: &Interfaces) -> bool {
        match allowed {
            Interfaces::Any => !self.default.is_empty(),
            Interfaces::Named(allowed) => allowed.iter().any(|n| self.named.contains(n)),
        }
    }

    /// These interfaces as far as `claims` can tell them apart: the default ones, and the
    /// named ones some claim allows. Interfaces no advertisement names (a Pod's veth coming
    /// and going) then neither rewrite the heartbeat nor restart the rebalance clock.
    pub fn relevant(&self, claims: &BTreeMap<IpAddr, Claim>) -> Usable {
        let mut allowed = BTreeSet::new();
        for claim in claims.values() {
            for candidate in claim.candidates.values() {
                if let Interfaces::Named(names) = &candidate.interfaces {
                    allowed.extend(names.iter().filter(|n| self.named.contains(*n)));
                }
            }
        }
        Usable {
            named: allowed.into_iter().cloned().collect(),
            default: self.default.clone(),
        }
    }

    /// The heartbeat annotations that publish these interfaces.
    pub fn annotations(&self) -> [(&'static str, String); 2] {
        [
            (INTERFACES_ANNOTATION, list(&self.named)),
            (DEFAULT_INTERFACES_ANNOTATION, list(&self.default)),
        ]
    }

    /// The interfaces a heartbeat's annotations publish, or `None` when it publishes none.
    pub fn from_annotations(annotations: &BTreeMap<String, String>) -> Option<Usable> {
        Some(Usable {
            named: names(annotations.get(INTERFACES_ANNOTATION)?),
            default: names(annotations.get(DEFAULT_INTERFACES_ANNOTATION)?),
        })
    }
}

/// Removes from `claims` every candidate that cannot announce the IP on any interface the
/// advertisements allow it, and the claims left without candidates. Nodes missing from
/// `usable` are kept.
pub fn restrict(claims: &mut BTreeMap<IpAddr, Claim>, usable: &BTreeMap<String, Usable>) {
    for claim in claims.values_mut() {
        claim.candidates.retain(|node, candidate| {
            usable
                .get(node)
                .is_none_or(|u| u.can_announce(&candidate.interfaces))
        });
    }
    claims.retain(|_, claim| !claim.candidates.is_empty());
}

/// When each node's usable interfaces last changed, as this node observed them.
#[derive(Clone, Debug, Default)]
pub struct UsableHistory {
    /// Each node's interfaces, and when they last changed (`None`: not since first seen).
    seen: BTreeMap<String, (Usable, Option<Instant>)>,
}

impl UsableHistory {
    /// Records `node`'s interfaces at `now`; a first sighting is no change.
    pub fn observe(&mut self, node: &str, usable: &Usable, now: Instant) {
        match self.seen.get_mut(node) {
            Some((seen, _)) if seen == usable => {}
            Some(entry) => *entry = (usable.clone(), Some(now)),
            None => {
                self.seen.insert(node.to_owned(), (usable.clone(), None));
            }
        }
    }

    /// `live` (each node with the instant it became live) with each instant moved to the
    /// last change of the node's interfaces when that is later: the rebalance period counts
    /// from when the node could announce again.
    pub fn settling_since(&self, live: &mut BTreeMap<String, Instant>) {
        for (node, since) in live.iter_mut() {
            if let Some((_, Some(changed))) = self.seen.get(node) {
                *since = (*since).max(*changed);
            }
        }
    }
}

#[cfg(test)]
mod tests;
