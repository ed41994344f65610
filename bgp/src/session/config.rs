//! What the operator configured for one peering.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::prefix::Family;

/// The AS the peer must be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerAs {
    Fixed(u32),
    /// Any peer in our own AS (MetalLB `dynamicASN: internal`).
    Internal,
    /// Any peer in another AS (MetalLB `dynamicASN: external`).
    External,
}

/// The parameters of one peering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    pub local_as: u32,
    pub peer_as: PeerAs,
    pub router_id: Ipv4Addr,
    /// Proposed hold time; zero disables keepalives and the hold timer.
    pub hold_time: Duration,
    /// `None` sends keepalives at a third of the negotiated hold time.
    pub keepalive_time: Option<Duration>,
    /// The delay before the first reconnection; doubles per consecutive failure.
    pub connect_retry: Duration,
    pub max_connect_retry: Duration,
    /// Families offered with Multiprotocol capabilities.
    pub families: Vec<Family>,
    /// Advertise the graceful restart capability with this restart time.
    pub graceful_restart: Option<Duration>,
}
