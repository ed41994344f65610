//! Native BFD beside the BGP sessions: the UDP edge around the pure state machine of the
//! `ferrolb-bfd` crate, so a router learns within a fraction of a second that this node is
//! gone, without a routing daemon on the node.
//!
//! [`udp`] opens the sockets of RFC 5881 (single hop: port 3784, TTL 255 sent and required)
//! and RFC 5883 (multi-hop: port 4784, a received TTL of at least the profile's `minimumTtl`),
//! for IPv4 and IPv6, behind the traits of [`socket`]. [`demux`] hands each received packet to
//! its session, by Your Discriminator or, while the peer sends 0, by the peer's and the local
//! address (RFC 5880 §6.3). [`driver`] is the task of one session: it feeds the state machine
//! packets and wake-ups, sends what it asks and publishes its state on a watch channel.
//! [`service`] keeps one session per [`SessionKey`] in line with what the BGP sessions need,
//! and [`profile`] reads a BFDProfile into a session's configuration. Echo mode, Demand mode
//! on our side and authentication are not implemented.

pub mod demux;
pub mod driver;
#[cfg(test)]
pub mod fake;
pub mod profile;
pub mod random;
pub mod service;
pub mod socket;
pub mod udp;

use std::fmt;
use std::net::IpAddr;

use ferrolb_bfd::{Diagnostic, State};

pub use service::Service;

/// The BFD of the speaker, over real UDP sockets.
pub type Bfd = Service<udp::Udp>;

/// The UDP port of single-hop Control packets (RFC 5881 §4).
pub const SINGLE_HOP_PORT: u16 = 3784;
/// The UDP port of multi-hop Control packets (RFC 5883 §5).
pub const MULTI_HOP_PORT: u16 = 4784;
/// The TTL (hop limit) every packet is sent with, and the only one a single-hop session takes.
pub const TTL: u8 = 255;

/// Whether a session runs to a directly connected peer (RFC 5881) or across routers
/// (RFC 5883); each has its own port and TTL rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hop {
    Single,
    Multi,
}

impl Hop {
    /// The destination port of the session's packets.
    pub fn port(self) -> u16 {
        match self {
            Hop::Single => SINGLE_HOP_PORT,
            Hop::Multi => MULTI_HOP_PORT,
        }
    }
}

impl fmt::Display for Hop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Hop::Single => "single-hop",
            Hop::Multi => "multi-hop",
        })
    }
}

/// What identifies a session: one per peer, local address and hop kind, shared by every BGP
/// session to that peer from this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionKey {
    pub hop: Hop,
    pub peer: IpAddr,
    /// The configured source address; the kernel picks one from the route when `None`.
    pub source: Option<IpAddr>,
}

impl fmt::Display for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} session to {}", self.hop, self.peer)?;
        if let Some(source) = self.source {
            write!(f, " from {source}")?;
        }
        Ok(())
    }
}

/// A session's state, as the BGP sessions that rely on it see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BfdStatus {
    pub state: State,
    /// The reason of the last change of state.
    pub diagnostic: Diagnostic,
    /// How often the session went down from Up because the path failed: not counted when the
    /// peer disabled the session (AdminDown), which RFC 5882 §3.2 asks not to treat as a
    /// failure. A BGP session that sees this grow closes at once.
    pub failures: u64,
}

impl BfdStatus {
    /// A session that has not come up yet.
    pub const INITIAL: BfdStatus = BfdStatus {
        state: State::Down,
        diagnostic: Diagnostic::None,
        failures: 0,
    };
}
