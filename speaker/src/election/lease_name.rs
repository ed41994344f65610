//! The names of ferrolb's Leases: one per announced IP, one heartbeat per node.
//!
//! An IP's Lease name is derived from the address alone, so Services sharing an IP share its
//! Lease. IPv4 addresses read as dotted decimals with dashes (`ip4-192-0-2-10`); IPv6
//! addresses are spelled out in full as 32 hex digits (`ip6-20010db8…0001`), so no two
//! addresses of either family map to one name and every name is a valid object name.

use std::net::IpAddr;

/// Prefix of every per-IP Lease name.
pub const IP_PREFIX: &str = "ferrolb-";
/// Prefix of every node heartbeat Lease name.
pub const HEARTBEAT_PREFIX: &str = "ferrolb-speaker-";

/// The name of the Lease deciding who announces `ip`.
pub fn for_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{IP_PREFIX}ip4-{a}-{b}-{c}-{d}")
        }
        IpAddr::V6(v6) => format!("{IP_PREFIX}ip6-{:032x}", u128::from(v6)),
    }
}

/// The IP a Lease name stands for, if it is a per-IP Lease name.
pub fn ip_of(name: &str) -> Option<IpAddr> {
    let rest = name.strip_prefix(IP_PREFIX)?;
    if let Some(v4) = rest.strip_prefix("ip4-") {
        let octets: Vec<u8> = v4
            .split('-')
            .map(|o| o.parse().ok().filter(|_| !o.starts_with('+')))
            .collect::<Option<_>>()?;
        let octets: [u8; 4] = octets.try_into().ok()?;
        let ip = IpAddr::from(octets);
        return (for_ip(ip) == name).then_some(ip);
    }
    let hex = rest.strip_prefix("ip6-")?;
    if hex.len() != 32
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    Some(IpAddr::from(
        u128::from_str_radix(hex, 16).ok()?.to_be_bytes(),
    ))
}

/// The name of a node's heartbeat Lease.
pub fn heartbeat(node: &str) -> String {
    format!("{HEARTBEAT_PREFIX}{node}")
}

/// The node a heartbeat Lease name belongs to.
pub fn heartbeat_node(name: &str) -> Option<&str> {
    name.strip_prefix(HEARTBEAT_PREFIX)
        .filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ipv4_and_ipv6_names_are_readable_and_distinct() {
        assert_eq!(
            for_ip("192.0.2.10".parse().unwrap()),
            "ferrolb-ip4-192-0-2-10"
        );
        assert_eq!(
            for_ip("2001:db8::1".parse().unwrap()),
            "ferrolb-ip6-20010db8000000000000000000000001"
        );
        // The IPv4-mapped IPv6 form of an IPv4 address gets its own Lease.
        assert_ne!(
            for_ip("192.0.2.10".parse().unwrap()),
            for_ip("::ffff:192.0.2.10".parse().unwrap())
        );
    }

    #[test]
    fn names_that_are_not_ip_leases_have_no_ip() {
        for name in [
            "ferrolb-ip4-192-0-2",
            "ferrolb-ip4-192-0-2-256",
            "ferrolb-ip4-192-0-02-1",
            "ferrolb-ip6-2001",
            "ferrolb-ip6-20010DB8000000000000000000000001",
            "ferrolb-speaker-node-a",
            "kube-scheduler",
        ] {
            assert_eq!(ip_of(name), None, "{name}");
        }
    }

    #[test]
    fn heartbeat_names_carry_the_node() {
        assert_eq!(heartbeat_node(&heartbeat("node-a")), Some("node-a"));
        assert_eq!(heartbeat_node("ferrolb-ip4-192-0-2-1"), None);
    }

    proptest! {
        #[test]
        fn every_ip_maps_to_a_valid_name_that_maps_back(v4 in any::<u32>(), v6 in any::<u128>(), pick_v6 in any::<bool>()) {
            let ip = if pick_v6 { IpAddr::from(v6.to_be_bytes()) } else { IpAddr::from(v4.to_be_bytes()) };
            let name = for_ip(ip);
            prop_assert!(name.len() <= 63);
            prop_assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            prop_assert_eq!(ip_of(&name), Some(ip));
        }

        #[test]
        fn distinct_ips_get_distinct_names(a in any::<u128>(), b in any::<u128>(), a4 in any::<u32>()) {
            let v6a = IpAddr::from(a.to_be_bytes());
            let v6b = IpAddr::from(b.to_be_bytes());
            let v4 = IpAddr::from(a4.to_be_bytes());
            prop_assert_eq!(for_ip(v6a) == for_ip(v6b), a == b);
            prop_assert_ne!(for_ip(v4), for_ip(v6a));
        }
    }
}
