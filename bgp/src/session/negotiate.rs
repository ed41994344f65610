//! Checking a peer's OPEN against the configuration and settling the session parameters.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Duration;

use crate::prefix::Family;

/// What both sides agreed on when the session came up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    pub peer_as: u32,
    pub peer_id: Ipv4Addr,
    /// Zero when no hold timer runs.
    pub hold_time: Duration,
    /// Zero when no keepalives are sent.
    pub keepalive: Duration,
    pub four_octet_as: bool,
    /// Families both sides offered.
    pub families: BTreeSet<Family>,
    /// The peer accepts ROUTE-REFRESH.
    pub route_refresh: bool,
    /// The peer is in our AS.
    pub ibgp: bool,
}
