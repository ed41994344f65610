//! What a peer has been told, and the UPDATEs that bring it to what it should be told.
//!
//! The speaker computes the routes it wants a peer to have; [`AdjRibOut::sync`] compares them
//! with what was sent, groups the differences by attribute set and packs each group into as few
//! UPDATE messages as the 4096-byte limit allows.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::message::Update;
use crate::prefix::{Family, Prefix};
use crate::route::Route;

/// The session facts that shape the attributes of every UPDATE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateContext {
    pub local_as: u32,
    pub ibgp: bool,
    pub four_octet_as: bool,
    pub next_hop_v4: Option<Ipv4Addr>,
    pub next_hop_v6: Option<Ipv6Addr>,
    /// The families negotiated with the peer.
    pub families: BTreeSet<Family>,
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
    /// distinct attribute set and family, as many prefixes per message as fit in 4096 bytes.
    /// Prefixes of a family not negotiated, or without a next hop for their family, are
    /// skipped and not recorded. Records what it returns as sent.
    pub fn sync(
        &mut self,
        desired: &BTreeMap<Prefix, Route>,
        context: &UpdateContext,
    ) -> Vec<Update> {
        let _ = (desired, context);
        unimplemented!()
    }

    /// Every route of `family` again, for a peer's ROUTE-REFRESH.
    pub fn resend(
        &mut self,
        family: Family,
        desired: &BTreeMap<Prefix, Route>,
        context: &UpdateContext,
    ) -> Vec<Update> {
        let _ = (family, desired, context);
        unimplemented!()
    }
}
