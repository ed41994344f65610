//! The IPv6 next hop of an IPv4 session that also carries IPv6 routes: a global IPv6
//! address of the interface the session runs over, so the router can reach it on the link
//! it shares with this node.
//!
//! The interface is the one whose directly connected IPv4 route holds the session's local
//! address, else the one the IPv4 routing table sends the peer's address through. The pure
//! parts parse `/proc/net/route` and `/proc/net/if_inet6` and decide; [`for_ipv4_session`]
//! reads the two files.

use std::net::{Ipv4Addr, Ipv6Addr};

/// One IPv4 route of the main table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub interface: String,
    pub destination: Ipv4Addr,
    pub prefix_len: u32,
    /// No gateway: the destination is on the interface's link.
    pub connected: bool,
}

impl Route {
    fn contains(&self, ip: Ipv4Addr) -> bool {
        let mask = u32::MAX.checked_shl(32 - self.prefix_len).unwrap_or(0);
        u32::from(ip) & mask == u32::from(self.destination) & mask
    }
}

/// One IPv6 address of an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ipv6OnInterface {
    pub interface: String,
    pub address: Ipv6Addr,
    /// Global scope, and neither tentative nor failed duplicate address detection.
    pub usable: bool,
}

/// An address field of `/proc/net/route`: the `in_addr` bytes printed as a host-order u32.
fn route_address(hex: &str) -> Option<Ipv4Addr> {
    u32::from_str_radix(hex, 16)
        .ok()
        .map(|n| Ipv4Addr::from(n.to_ne_bytes()))
}

/// Parses `/proc/net/route`; lines that do not parse are skipped.
pub fn parse_routes(text: &str) -> Vec<Route> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [interface, destination, gateway, _flags, _, _, _, mask, ..] = fields[..] else {
                return None;
            };
            let mask = route_address(mask)?;
            Some(Route {
                interface: interface.to_owned(),
                destination: route_address(destination)?,
                prefix_len: u32::from(mask).count_ones(),
                connected: route_address(gateway)? == Ipv4Addr::UNSPECIFIED,
            })
        })
        .collect()
}

/// Flags of `/proc/net/if_inet6` that make an address unusable: `IFA_F_TENTATIVE`,
/// `IFA_F_DADFAILED`.
const UNUSABLE_FLAGS: u32 = 0x40 | 0x08;

/// Parses `/proc/net/if_inet6`; lines that do not parse are skipped.
pub fn parse_ipv6_addresses(text: &str) -> Vec<Ipv6OnInterface> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [hex, _, _, scope, flags, interface] = fields[..] else {
                return None;
            };
            let flags = u32::from_str_radix(flags, 16).ok()?;
            Some(Ipv6OnInterface {
                interface: interface.to_owned(),
                address: Ipv6Addr::from(u128::from_str_radix(hex, 16).ok()?),
                usable: scope == "00" && flags & UNUSABLE_FLAGS == 0,
            })
        })
        .collect()
}

/// The interface an IPv4 session from `local` to `peer` runs over.
pub fn session_interface(local: Ipv4Addr, peer: Ipv4Addr, routes: &[Route]) -> Option<&str> {
    let longest = |ip: Ipv4Addr, connected_only: bool| {
        routes
            .iter()
            .filter(|r| (r.connected || !connected_only) && r.contains(ip))
            .max_by_key(|r| r.prefix_len)
            .map(|r| r.interface.as_str())
    };
    longest(local, true).or_else(|| longest(peer, false))
}

/// The IPv6 next hop for an IPv4 session from `local` to `peer`: the first usable global
/// IPv6 address of the session's interface, or none when that interface has none.
pub fn ipv6_next_hop(
    local: Ipv4Addr,
    peer: Ipv4Addr,
    routes: &[Route],
    addresses: &[Ipv6OnInterface],
) -> Option<Ipv6Addr> {
    let interface = session_interface(local, peer, routes)?;
    addresses
        .iter()
        .find(|a| a.usable && a.interface == interface)
        .map(|a| a.address)
}

/// [`ipv6_next_hop`] over this host's current routes and addresses.
pub fn for_ipv4_session(local: Ipv4Addr, peer: Ipv4Addr) -> Option<Ipv6Addr> {
    let routes = std::fs::read_to_string("/proc/net/route").ok()?;
    let addresses = std::fs::read_to_string("/proc/net/if_inet6").ok()?;
    ipv6_next_hop(
        local,
        peer,
        &parse_routes(&routes),
        &parse_ipv6_addresses(&addresses),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Routes as `/proc/net/route` prints them on a little-endian host: a default route over
    /// `mgmt` and two connected subnets, 192.0.2.0/24 on `mgmt` and 198.51.100.0/24 on `data`.
    const ROUTES: &str = "\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
mgmt\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
mgmt\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
data\t006433C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
";

    /// `mgmt` is listed first with a global address; `data` has a link-local one, a tentative
    /// one and then a usable one.
    const ADDRESSES: &str = "\
00000000000000000000000000000001 01 80 10 80       lo
20010db8000000010000000000000001 02 40 00 80     mgmt
fe800000000000000000000000000002 03 40 20 80     data
20010db80000000200000000000000aa 03 40 00 c0     data
20010db8000000020000000000000002 03 40 00 80     data
";

    fn v4(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn the_routing_table_parses_into_destinations_prefixes_and_interfaces() {
        let routes = parse_routes(ROUTES);
        assert_eq!(routes.len(), 3);
        assert_eq!(
            routes[2],
            Route {
                interface: "data".into(),
                destination: v4("198.51.100.0"),
                prefix_len: 24,
                connected: true,
            }
        );
        assert!(!routes[0].connected);
        assert_eq!(routes[0].prefix_len, 0);
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn the_next_hop_comes_from_the_interface_of_the_local_address_not_the_first_listed() {
        let hop = ipv6_next_hop(
            v4("198.51.100.7"),
            v4("198.51.100.1"),
            &parse_routes(ROUTES),
            &parse_ipv6_addresses(ADDRESSES),
        );
        assert_eq!(hop, Some("2001:db8:0:2::2".parse().unwrap()));
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn a_local_address_on_no_connected_subnet_uses_the_interface_towards_the_peer() {
        let routes = parse_routes(ROUTES);
        assert_eq!(
            session_interface(v4("203.0.113.5"), v4("198.51.100.1"), &routes),
            Some("data")
        );
        assert_eq!(
            session_interface(v4("203.0.113.5"), v4("203.0.113.9"), &routes),
            Some("mgmt")
        );
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn an_interface_without_a_usable_global_ipv6_address_gives_no_next_hop() {
        let addresses = parse_ipv6_addresses(
            "fe800000000000000000000000000002 03 40 20 80     data\n\
             20010db8000000010000000000000001 02 40 00 80     mgmt\n",
        );
        assert_eq!(
            ipv6_next_hop(
                v4("198.51.100.7"),
                v4("198.51.100.1"),
                &parse_routes(ROUTES),
                &addresses
            ),
            None
        );
    }
}
