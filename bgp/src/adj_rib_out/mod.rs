//! What a peer has been told, and the UPDATEs that bring it to what it should be told.
//!
//! The speaker computes the routes it wants a peer to have and calls [`AdjRibOut::sync`]
//! whenever they may have changed. The Adj-RIB-Out compares them with what was sent, withdraws
//! what is gone, and announces what is new or changed, grouping prefixes that share an
//! attribute set so [`pack`] can fit as many as possible into each 4096-byte UPDATE. Only what
//! it returns is recorded as sent, so a prefix that cannot be advertised yet (its family was not
//! negotiated, or there is no next hop for it) is tried again on the next call.

mod pack;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::message::Update;
use crate::prefix::{Family, Prefix};
use crate::route::Route;
use crate::session::Negotiated;

/// The session facts that shape the attributes of every UPDATE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateContext {
    pub local_as: u32,
    pub ibgp: bool,
    /// Must match the codec the UPDATEs are encoded with: without four-octet AS support a
    /// local AS beyond 65535 goes in AS_PATH as AS_TRANS, with the real one in AS4_PATH.
    pub four_octet_as: bool,
    pub next_hop_v4: Option<Ipv4Addr>,
    pub next_hop_v6: Option<Ipv6Addr>,
    /// The families negotiated with the peer.
    pub families: BTreeSet<Family>,
}

impl UpdateContext {
    /// The context of an established session.
    pub fn from_negotiated(
        local_as: u32,
        negotiated: &Negotiated,
        next_hop_v4: Option<Ipv4Addr>,
        next_hop_v6: Option<Ipv6Addr>,
    ) -> UpdateContext {
        UpdateContext {
            local_as,
            ibgp: negotiated.ibgp,
            four_octet_as: negotiated.four_octet_as,
            next_hop_v4,
            next_hop_v6,
            families: negotiated.families.clone(),
        }
    }

    /// Whether `prefix` can be advertised on this session.
    pub fn can_advertise(&self, prefix: &Prefix) -> bool {
        let family = prefix.family();
        self.families.contains(&family)
            && match family {
                Family::Ipv4Unicast => self.next_hop_v4.is_some(),
                Family::Ipv6Unicast => self.next_hop_v6.is_some(),
            }
    }
}

/// The routes a peer has been sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AdjRibOut {
    sent: BTreeMap<Prefix, Route>,
}

impl AdjRibOut {
    pub fn new() -> AdjRibOut {
        AdjRibOut::default()
    }

    pub fn sent(&self) -> &BTreeMap<Prefix, Route> {
        &self.sent
    }

    /// The session went down: the peer forgot everything.
    pub fn clear(&mut self) {
        self.sent.clear();
    }

    /// The UPDATEs that take the peer from what it was told to `desired`, packed: one group per
    /// distinct attribute set and family, as many prefixes per message as fit in 4096 bytes,
    /// withdrawals first. Prefixes of a family not negotiated, or without a next hop for their
    /// family, are skipped and not recorded (and withdrawn if they had been sent). Records what
    /// it returns as sent.
    pub fn sync(
        &mut self,
        desired: &BTreeMap<Prefix, Route>,
        context: &UpdateContext,
    ) -> Vec<Update> {
        self.reconcile(desired, context, None)
    }

    /// Every route of `family` again, for a peer's ROUTE-REFRESH, along with the withdrawals of
    /// that family that [`sync`](Self::sync) would send.
    pub fn resend(
        &mut self,
        family: Family,
        desired: &BTreeMap<Prefix, Route>,
        context: &UpdateContext,
    ) -> Vec<Update> {
        self.reconcile(desired, context, Some(family))
    }

    fn reconcile(
        &mut self,
        desired: &BTreeMap<Prefix, Route>,
        context: &UpdateContext,
        refresh: Option<Family>,
    ) -> Vec<Update> {
        let in_scope = |prefix: &Prefix| refresh.is_none_or(|family| prefix.family() == family);
        let mut withdrawals: BTreeMap<Family, Vec<Prefix>> = BTreeMap::new();
        let mut forgotten = Vec::new();
        for prefix in self.sent.keys().filter(|p| in_scope(p)) {
            if desired.contains_key(prefix) && context.can_advertise(prefix) {
                continue;
            }
            // A family the peer does not carry cannot be withdrawn from it either.
            if context.families.contains(&prefix.family()) {
                withdrawals
                    .entry(prefix.family())
                    .or_default()
                    .push(*prefix);
            }
            forgotten.push(*prefix);
        }
        let mut announcements: BTreeMap<(Family, &Route), Vec<Prefix>> = BTreeMap::new();
        for (prefix, route) in desired.iter().filter(|(p, _)| in_scope(p)) {
            let changed = refresh.is_some() || self.sent.get(prefix) != Some(route);
            if changed && context.can_advertise(prefix) {
                announcements
                    .entry((prefix.family(), route))
                    .or_default()
                    .push(*prefix);
            }
        }

        let mut updates = Vec::new();
        for (family, prefixes) in &withdrawals {
            updates.extend(pack::withdrawals(*family, prefixes));
        }
        for ((family, route), prefixes) in &announcements {
            updates.extend(pack::announcements(*family, route, prefixes, context));
        }
        for prefix in forgotten {
            self.sent.remove(&prefix);
        }
        for ((_, route), prefixes) in announcements {
            for prefix in prefixes {
                self.sent.insert(prefix, route.clone());
            }
        }
        updates
    }
}
