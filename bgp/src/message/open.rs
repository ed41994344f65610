//! OPEN messages (RFC 4271 §4.2) with their optional parameters.

use std::net::Ipv4Addr;

use super::capability::Capability;

/// An OPEN message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Open {
    pub version: u8,
    /// The two-octet AS, or AS_TRANS when the sender's AS needs four octets.
    pub my_as: u16,
    /// Proposed hold time in seconds.
    pub hold_time: u16,
    pub bgp_id: Ipv4Addr,
    pub capabilities: Vec<Capability>,
}
