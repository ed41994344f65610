//! The parameters a session derives from its BGPPeer and from where it runs: the TTL of its
//! packets, its router ID, its graceful-restart time and Restart State, its timers, how it is dialled, and the
//! next hops of its routes once it is established.
//!
//! Every rule is a pure function; what they need from the host (the IPv4 address towards the
//! peer, the IPv6 address of the session's interface) is passed in as a lookup that is only
//! called when the rule needs it. [`super::connection`] applies them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use ferrolb_bgp::SessionConfig;

use super::peers::PeerSession;
use super::transport::Dial;

/// TTL of a session's packets towards an iBGP peer: it may be several hops away.
pub const IBGP_TTL: u32 = 64;
/// TTL with `ebgpMultiHop`: the most the peer can be away.
pub const MULTIHOP_TTL: u32 = 255;
/// TTL towards a directly connected eBGP peer, which never accepts packets from further away.
pub const DIRECT_EBGP_TTL: u32 = 1;

/// The restart time announced with graceful restart (RFC 4724), MetalLB's value.
pub const GRACEFUL_RESTART_TIME: Duration = Duration::from_secs(120);

/// How this speaker process takes part in graceful restart: the restart time it announces
/// (`--graceful-restart-time`) and whether it starts again after a graceful stop (see
/// [`super::restart`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Restart {
    pub time: Duration,
    pub restarting: bool,
}

impl Default for Restart {
    fn default() -> Restart {
        Restart {
            time: GRACEFUL_RESTART_TIME,
            restarting: false,
        }
    }
}

/// The longest pause between connection attempts before the first, and the shortest time a
/// connection attempt is given.
const FIRST_RETRY_AT_MOST: Duration = Duration::from_secs(1);
const DIAL_TIMEOUT_AT_LEAST: Duration = Duration::from_secs(3);

/// The TTL of the session's packets.
pub fn ttl(session: &PeerSession) -> u32 {
    if session.ibgp() {
        IBGP_TTL
    } else if session.ebgp_multihop {
        MULTIHOP_TTL
    } else {
        DIRECT_EBGP_TTL
    }
}

/// A stable router ID derived from the node name, for a session that has none configured
/// and no IPv4 address towards its peer. The bit set in its first octet keeps it non-zero.
pub fn router_id_from_node(node: &str) -> Ipv4Addr {
    let hash = node.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    Ipv4Addr::from(hash | 0x0100_0000)
}

/// The router ID of the session: the configured one, else its IPv4 source address, else the
/// IPv4 address this host uses towards the peer (`towards_peer`, asked only then), else one
/// derived from the node name.
pub fn router_id(
    session: &PeerSession,
    node: &str,
    towards_peer: impl FnOnce(IpAddr) -> Option<Ipv4Addr>,
) -> Ipv4Addr {
    session
        .router_id
        .or_else(|| match session.source {
            Some(IpAddr::V4(v4)) => Some(v4),
            _ => towards_peer(session.address),
        })
        .unwrap_or_else(|| router_id_from_node(node))
}

/// The restart time to announce: `restart`'s when the peer asks for graceful restart, none
/// otherwise.
pub fn graceful_restart_time(session: &PeerSession, restart: Restart) -> Option<Duration> {
    session.graceful_restart.then_some(restart.time)
}

/// The configuration of the session's state machine, with `router_id`; with graceful
/// restart, its OPEN carries the Restart State bit when this process is `restart`ing.
pub fn session_config(
    session: &PeerSession,
    router_id: Ipv4Addr,
    restart: Restart,
) -> SessionConfig {
    SessionConfig {
        local_as: session.local_as,
        peer_as: session.peer_as,
        router_id,
        hold_time: session.hold_time,
        keepalive_time: session.keepalive_time,
        connect_retry: FIRST_RETRY_AT_MOST.min(session.connect_time),
        max_connect_retry: session.connect_time,
        families: session.families.clone(),
        graceful_restart: graceful_restart_time(session, restart),
        restarting: session.graceful_restart && restart.restarting,
    }
}

/// How the session's TCP connection is opened.
pub fn dial(session: &PeerSession, password: Option<String>) -> Dial {
    Dial {
        peer: SocketAddr::new(session.address, session.port),
        source: session.source,
        password,
        ttl: ttl(session),
        timeout: session.connect_time.max(DIAL_TIMEOUT_AT_LEAST),
    }
}

/// The IPv4 and IPv6 next hops of the routes of a session whose connection runs from `local`
/// to `peer`. An IPv4 session uses its local address for IPv4 routes and, for IPv6 routes,
/// the address `ipv6_of_interface` gives for its interface (from the local address and the
/// peer's, or the local address twice when the peer is IPv6); an IPv6 session carries IPv6
/// routes only, with its local address. Without a local address there is no next hop.
pub fn next_hops(
    local: Option<IpAddr>,
    peer: IpAddr,
    ipv6_of_interface: impl FnOnce(Ipv4Addr, Ipv4Addr) -> Option<Ipv6Addr>,
) -> (Option<Ipv4Addr>, Option<Ipv6Addr>) {
    match local {
        Some(IpAddr::V4(v4)) => {
            let peer = match peer {
                IpAddr::V4(peer) => peer,
                IpAddr::V6(_) => v4,
            };
            (Some(v4), ipv6_of_interface(v4, peer))
        }
        Some(IpAddr::V6(v6)) => (None, Some(v6)),
        None => (None, None),
    }
}

#[cfg(test)]
mod tests;
