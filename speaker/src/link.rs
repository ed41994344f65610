//! The network interfaces of this node and which of them may carry announcements.
//!
//! [`suitable`] is the pure filter: an interface named by the advertisement is always used
//! when it is up; otherwise an interface must be up, broadcast-capable, ARP-enabled, not
//! enslaved to a bond or bridge, and not match the default exclusion list of virtual and
//! container interfaces; [`suitable_for`] applies it to what an IP's advertisements allow.
//! [`read_links`] reads the current interfaces from sysfs; the netlink
//! watch in [`crate::socket`] says when to read them again.

use std::path::Path;

use crate::election::candidates::Interfaces;
use crate::packet::Mac;

/// Name prefixes of interfaces never used unless an advertisement names them: loopback,
/// container and overlay plumbing, and kube-proxy's dummy device.
pub const EXCLUDED_PREFIXES: &[&str] = &[
    "lo",
    "veth",
    "docker",
    "cali",
    "flannel",
    "cni",
    "kube-ipvs",
    "cilium_",
    "lxc",
    "vxlan",
    "tunl",
    "tun",
    "tap",
    "virbr",
    "weave",
    "genev",
    "kube-bridge",
    "nodelocaldns",
    "dummy",
];

const IFF_UP: u32 = 0x1;
const IFF_BROADCAST: u32 = 0x2;
const IFF_LOOPBACK: u32 = 0x8;
const IFF_NOARP: u32 = 0x80;
const IFF_SLAVE: u32 = 0x800;

/// One network interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub name: String,
    pub index: u32,
    pub mac: Mac,
    /// The `IFF_*` flags.
    pub flags: u32,
    /// Enslaved to a bond, bridge or team (has a master).
    pub enslaved: bool,
}

impl Link {
    pub fn is_up(&self) -> bool {
        self.flags & IFF_UP != 0
    }
}

/// Whether announcements may go out on `link`. `named` holds the interfaces the
/// advertisements name for this IP, if any.
pub fn suitable(link: &Link, named: Option<&dyn Fn(&str) -> bool>) -> bool {
    if !link.is_up() || link.mac == Mac::ZERO || link.flags & IFF_LOOPBACK != 0 {
        return false;
    }
    if let Some(named) = named {
        return named(&link.name);
    }
    link.flags & IFF_BROADCAST != 0
        && link.flags & (IFF_NOARP | IFF_SLAVE) == 0
        && !link.enslaved
        && !EXCLUDED_PREFIXES.iter().any(|p| link.name.starts_with(p))
}

/// Whether `link` may carry an IP whose advertisements allow `allowed`: by the default rules
/// when they name no interface, by name (and up) when they do.
pub fn suitable_for(link: &Link, allowed: &Interfaces) -> bool {
    match allowed {
        Interfaces::Any => suitable(link, None),
        Interfaces::Named(names) => suitable(link, Some(&|n: &str| names.contains(n))),
    }
}

/// Parses one interface from the contents of its sysfs files.
pub fn parse_link(
    name: &str,
    ifindex: &str,
    address: &str,
    flags: &str,
    has_master: bool,
) -> Option<Link> {
    Some(Link {
        name: name.to_owned(),
        index: ifindex.trim().parse().ok()?,
        mac: address.parse().ok()?,
        flags: u32::from_str_radix(flags.trim().trim_start_matches("0x"), 16).ok()?,
        enslaved: has_master,
    })
}

/// The Ethernet interfaces of this network namespace, from `/sys/class/net`.
pub fn read_links() -> std::io::Result<Vec<Link>> {
    let mut links = Vec::new();
    for entry in std::fs::read_dir("/sys/class/net")? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let read = |file: &str| std::fs::read_to_string(path.join(file)).unwrap_or_default();
        // Type 1 is ARPHRD_ETHER; others carry no Ethernet frames.
        if read("type").trim() != "1" {
            continue;
        }
        let has_master = Path::new(&path).join("master").exists();
        if let Some(link) = parse_link(
            name,
            &read("ifindex"),
            &read("address"),
            &read("flags"),
            has_master,
        ) {
            links.push(link);
        }
    }
    links.sort_by_key(|l| l.index);
    Ok(links)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(name: &str, flags: u32) -> Link {
        Link {
            name: name.into(),
            index: 2,
            mac: Mac([2, 0, 0, 0, 0, 1]),
            flags,
            enslaved: false,
        }
    }

    const ETHERNET_UP: u32 = 0x1003;

    #[test]
    fn an_up_broadcast_ethernet_interface_is_suitable() {
        assert!(suitable(&link("eth0", ETHERNET_UP), None));
        assert!(suitable(&link("ens3", ETHERNET_UP), None));
    }

    #[test]
    fn down_noarp_enslaved_or_excluded_interfaces_are_not() {
        assert!(!suitable(&link("eth0", ETHERNET_UP & !IFF_UP), None));
        assert!(!suitable(&link("eth0", ETHERNET_UP | IFF_NOARP), None));
        assert!(!suitable(&link("eth0", ETHERNET_UP & !IFF_BROADCAST), None));
        let mut bonded = link("eth1", ETHERNET_UP);
        bonded.enslaved = true;
        assert!(!suitable(&bonded, None));
        for name in [
            "veth12ab",
            "docker0",
            "cali123",
            "flannel.1",
            "cni0",
            "kube-ipvs0",
            "lo",
        ] {
            assert!(!suitable(&link(name, ETHERNET_UP), None), "{name}");
        }
    }

    #[test]
    fn a_named_interface_is_used_even_if_excluded_by_default_but_others_are_not() {
        let named = |n: &str| n == "veth-lab";
        assert!(suitable(&link("veth-lab", ETHERNET_UP), Some(&named)));
        assert!(!suitable(&link("eth0", ETHERNET_UP), Some(&named)));
        // Named or not, a down interface carries nothing.
        assert!(!suitable(&link("veth-lab", 0), Some(&named)));
    }

    #[test]
    fn an_ip_allowed_anywhere_uses_the_default_rules_and_a_named_one_its_names() {
        let lab = link("veth-lab", ETHERNET_UP);
        let eth0 = link("eth0", ETHERNET_UP);
        assert!(suitable_for(&eth0, &Interfaces::Any));
        assert!(!suitable_for(&lab, &Interfaces::Any));
        let named = Interfaces::Named(["veth-lab".to_owned()].into());
        assert!(suitable_for(&lab, &named));
        assert!(!suitable_for(&eth0, &named));
    }

    #[test]
    fn sysfs_contents_parse_into_a_link() {
        let link = parse_link("eth0", "3\n", "02:00:00:00:00:0a\n", "0x1003\n", false).unwrap();
        assert_eq!(link.index, 3);
        assert_eq!(link.mac, Mac([2, 0, 0, 0, 0, 0x0a]));
        assert!(link.is_up());
        assert_eq!(
            parse_link("eth0", "x", "02:00:00:00:00:0a", "0x1003", false),
            None
        );
    }
}
