//! ARP and NDP frames, built and parsed as plain functions over byte slices.
//!
//! Frames come in raw from a packet socket ([`crate::socket`]) and leave as owned byte vectors;
//! nothing here touches a socket. [`arp`] covers IPv4 (requests, replies, gratuitous ARP),
//! [`ndp`] covers IPv6 (Neighbor Solicitation and Advertisement, with the ICMPv6 checksum and
//! solicited-node multicast addresses). Parsers return `None` for anything malformed, never
//! panic, whatever the bytes.

pub mod arp;
pub mod ndp;

use std::fmt;

/// An Ethernet MAC address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: Mac = Mac([0xff; 6]);
    /// 00:00:00:00:00:00.
    pub const ZERO: Mac = Mac([0; 6]);

    /// Reads a MAC from the first six bytes of `bytes`.
    pub fn from_slice(bytes: &[u8]) -> Option<Mac> {
        Some(Mac(bytes.get(..6)?.try_into().ok()?))
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl std::str::FromStr for Mac {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.trim().split(':').collect();
        if parts.len() != 6 {
            return Err(format!("MAC address {s:?} is invalid: expected six octets"));
        }
        let mut mac = [0u8; 6];
        for (slot, part) in mac.iter_mut().zip(parts) {
            *slot = u8::from_str_radix(part, 16)
                .map_err(|_| format!("MAC address {s:?} is invalid: octet {part:?} is not hex"))?;
        }
        Ok(Mac(mac))
    }
}

/// Ethertype of ARP, in frames and as the protocol of the ARP packet socket.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// Ethertype of IPv6, in frames and as the protocol of the Neighbor Discovery socket.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// Length of an Ethernet II header.
pub const ETHERNET_HEADER: usize = 14;

/// The destination, source and ethertype of an Ethernet II frame.
pub fn ethernet_header(frame: &[u8]) -> Option<(Mac, Mac, u16)> {
    let header = frame.get(..ETHERNET_HEADER)?;
    Some((
        Mac::from_slice(&header[0..6])?,
        Mac::from_slice(&header[6..12])?,
        u16::from_be_bytes([header[12], header[13]]),
    ))
}

fn push_ethernet(out: &mut Vec<u8>, dst: Mac, src: Mac, ethertype: u16) {
    out.extend_from_slice(&dst.0);
    out.extend_from_slice(&src.0);
    out.extend_from_slice(&ethertype.to_be_bytes());
}
