//! Neighbor Discovery for IPv6 (RFC 4861): parse Neighbor Solicitations and Advertisements
//! carried in Ethernet frames, build solicited and unsolicited Neighbor Advertisements with the
//! ICMPv6 checksum, and derive solicited-node multicast addresses and their MACs.
//!
//! Only messages an owner must act on are parsed: a packet without the hop limit 255 that
//! RFC 4861 requires, with a wrong checksum or with malformed options yields `None`.

use std::net::Ipv6Addr;

use super::{ETHERNET_HEADER, ETHERTYPE_IPV6, Mac, ethernet_header, push_ethernet};

const IPV6_HEADER: usize = 40;
const NEXT_HEADER_ICMPV6: u8 = 58;
const TYPE_NEIGHBOR_SOLICITATION: u8 = 135;
const TYPE_NEIGHBOR_ADVERTISEMENT: u8 = 136;
const OPTION_SOURCE_LINK_ADDRESS: u8 = 1;
const OPTION_TARGET_LINK_ADDRESS: u8 = 2;
/// The all-nodes multicast address, destination of unsolicited advertisements.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// The flags of a Neighbor Advertisement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flags {
    pub router: bool,
    pub solicited: bool,
    pub override_: bool,
}

/// A Neighbor Discovery message this speaker acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message {
    /// Who has `target`? Sent by `source` (`::` while it probes for duplicates).
    Solicitation {
        ethernet_source: Mac,
        source: Ipv6Addr,
        target: Ipv6Addr,
        source_link_address: Option<Mac>,
    },
    /// `target` is at `target_link_address`.
    Advertisement {
        source: Ipv6Addr,
        target: Ipv6Addr,
        flags: Flags,
        target_link_address: Option<Mac>,
    },
}

/// The solicited-node multicast address of `ip`: ff02::1:ff00:0/104 plus its last 24 bits.
pub fn solicited_node(ip: Ipv6Addr) -> Ipv6Addr {
    let o = ip.octets();
    Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, o[13], o[14], o[15],
    ])
}

/// The Ethernet multicast MAC of an IPv6 multicast address: 33:33 plus its last 32 bits.
pub fn multicast_mac(group: Ipv6Addr) -> Mac {
    let o = group.octets();
    Mac([0x33, 0x33, o[12], o[13], o[14], o[15]])
}

/// The ICMPv6 checksum of `message` (its checksum field zeroed) sent from `source` to
/// `destination` (RFC 4443 section 2.3, over the RFC 8200 pseudo-header).
pub fn checksum(source: Ipv6Addr, destination: Ipv6Addr, message: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    let mut add = |bytes: &[u8]| {
        for pair in bytes.chunks(2) {
            let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
            sum += u64::from(word);
        }
    };
    add(&source.octets());
    add(&destination.octets());
    add(&(message.len() as u32).to_be_bytes());
    add(&[0, 0, 0, NEXT_HEADER_ICMPV6]);
    add(message);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Parses an Ethernet frame holding a Neighbor Solicitation or Advertisement.
pub fn parse(frame: &[u8]) -> Option<Message> {
    let (_, ethernet_source, ethertype) = ethernet_header(frame)?;
    if ethertype != ETHERTYPE_IPV6 {
        return None;
    }
    let ip = frame.get(ETHERNET_HEADER..ETHERNET_HEADER + IPV6_HEADER)?;
    if ip[0] >> 4 != 6 || ip[6] != NEXT_HEADER_ICMPV6 || ip[7] != 255 {
        return None;
    }
    let payload_len = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
    let source = Ipv6Addr::from(<[u8; 16]>::try_from(&ip[8..24]).ok()?);
    let destination = Ipv6Addr::from(<[u8; 16]>::try_from(&ip[24..40]).ok()?);
    let start = ETHERNET_HEADER + IPV6_HEADER;
    let icmp = frame.get(start..start.checked_add(payload_len)?)?;
    if icmp.len() < 24 || icmp[1] != 0 {
        return None;
    }
    let mut zeroed = icmp.to_vec();
    zeroed[2..4].copy_from_slice(&[0, 0]);
    if checksum(source, destination, &zeroed) != u16::from_be_bytes([icmp[2], icmp[3]]) {
        return None;
    }
    let target = Ipv6Addr::from(<[u8; 16]>::try_from(&icmp[8..24]).ok()?);
    if target.is_multicast() {
        return None;
    }
    let options = parse_options(&icmp[24..])?;
    match icmp[0] {
        TYPE_NEIGHBOR_SOLICITATION => {
            let source_link_address = options.source;
            // RFC 4861 7.1.1: a probe from the unspecified address carries no source option,
            // and goes to a solicited-node group.
            if source.is_unspecified() && source_link_address.is_some() {
                return None;
            }
            Some(Message::Solicitation {
                ethernet_source,
                source,
                target,
                source_link_address,
            })
        }
        TYPE_NEIGHBOR_ADVERTISEMENT => Some(Message::Advertisement {
            source,
            target,
            flags: Flags {
                router: icmp[4] & 0x80 != 0,
                solicited: icmp[4] & 0x40 != 0,
                override_: icmp[4] & 0x20 != 0,
            },
            target_link_address: options.target,
        }),
        _ => None,
    }
}

#[derive(Default)]
struct LinkOptions {
    source: Option<Mac>,
    target: Option<Mac>,
}

/// Walks the options of an ND message; a zero length makes the whole message invalid.
fn parse_options(mut rest: &[u8]) -> Option<LinkOptions> {
    let mut found = LinkOptions::default();
    while !rest.is_empty() {
        let kind = *rest.first()?;
        let len = usize::from(*rest.get(1)?) * 8;
        if len == 0 || len > rest.len() {
            return None;
        }
        let body = &rest[2..len];
        match kind {
            OPTION_SOURCE_LINK_ADDRESS => found.source = Mac::from_slice(body),
            OPTION_TARGET_LINK_ADDRESS => found.target = Mac::from_slice(body),
            _ => {}
        }
        rest = &rest[len..];
    }
    Some(found)
}

/// Builds a Neighbor Advertisement for `target` at `mac`, from `target` to `destination`,
/// in an Ethernet frame to `ethernet_destination`.
pub fn advertisement(
    ethernet_destination: Mac,
    destination: Ipv6Addr,
    target: Ipv6Addr,
    mac: Mac,
    flags: Flags,
) -> Vec<u8> {
    let mut icmp = Vec::with_capacity(32);
    icmp.extend_from_slice(&[TYPE_NEIGHBOR_ADVERTISEMENT, 0, 0, 0]);
    let bits = (u8::from(flags.router) << 7)
        | (u8::from(flags.solicited) << 6)
        | (u8::from(flags.override_) << 5);
    icmp.extend_from_slice(&[bits, 0, 0, 0]);
    icmp.extend_from_slice(&target.octets());
    icmp.extend_from_slice(&[OPTION_TARGET_LINK_ADDRESS, 1]);
    icmp.extend_from_slice(&mac.0);
    let sum = checksum(target, destination, &icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());

    let mut out = Vec::with_capacity(ETHERNET_HEADER + IPV6_HEADER + icmp.len());
    push_ethernet(&mut out, ethernet_destination, mac, ETHERTYPE_IPV6);
    out.extend_from_slice(&[0x60, 0, 0, 0]);
    out.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    out.extend_from_slice(&[NEXT_HEADER_ICMPV6, 255]);
    out.extend_from_slice(&target.octets());
    out.extend_from_slice(&destination.octets());
    out.extend_from_slice(&icmp);
    out
}

/// The answer to a solicitation for an address this node owns: solicited and override, sent
/// to the soliciting address (or to all nodes when it probes from `::`, then not solicited).
pub fn reply(solicitation: &Message, mac: Mac) -> Option<Vec<u8>> {
    let Message::Solicitation {
        ethernet_source,
        source,
        target,
        source_link_address,
    } = *solicitation
    else {
        return None;
    };
    if source.is_unspecified() {
        return Some(unsolicited(target, mac));
    }
    Some(advertisement(
        source_link_address.unwrap_or(ethernet_source),
        source,
        target,
        mac,
        Flags {
            router: false,
            solicited: true,
            override_: true,
        },
    ))
}

/// The unsolicited advertisement a new owner multicasts to all nodes: override set, so caches
/// switch to `mac` at once.
pub fn unsolicited(target: Ipv6Addr, mac: Mac) -> Vec<u8> {
    advertisement(
        multicast_mac(ALL_NODES),
        ALL_NODES,
        target,
        mac,
        Flags {
            router: false,
            solicited: false,
            override_: true,
        },
    )
}

#[cfg(test)]
mod tests;
