//! Prefixes on the wire: a length byte and the fewest octets that hold the network bits
//! (RFC 4271 §4.3, reused by RFC 4760 for every family).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::reader::Reader;
use crate::prefix::{Family, Prefix};

/// The number of bytes `prefix` takes on the wire.
pub fn encoded_len(prefix: &Prefix) -> usize {
    1 + usize::from(prefix.len()).div_ceil(8)
}

/// Appends `prefix` to `out`.
pub(crate) fn write(prefix: &Prefix, out: &mut Vec<u8>) {
    let octets = usize::from(prefix.len()).div_ceil(8);
    out.push(prefix.len());
    match prefix.addr() {
        IpAddr::V4(v4) => out.extend_from_slice(&v4.octets()[..octets]),
        IpAddr::V6(v6) => out.extend_from_slice(&v6.octets()[..octets]),
    }
}

/// Appends every prefix of `family` in `prefixes`; prefixes of another family are skipped
/// because they cannot be told apart from this family's on the wire.
pub(crate) fn write_all(family: Family, prefixes: &[Prefix], out: &mut Vec<u8>) {
    for prefix in prefixes.iter().filter(|p| p.family() == family) {
        write(prefix, out);
    }
}

/// Why a run of prefixes failed to decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NlriFault {
    LengthTooLong(u8),
    Truncated,
}

impl NlriFault {
    pub(crate) fn reason(self, family: Family) -> String {
        match self {
            NlriFault::LengthTooLong(len) => {
                format!("{family} prefix length {len} exceeds {}", family.max_len())
            }
            NlriFault::Truncated => format!("{family} prefix is truncated"),
        }
    }
}

/// Every prefix in `bytes`, which must end exactly after the last one.
pub(crate) fn read_all(family: Family, bytes: &[u8]) -> Result<Vec<Prefix>, NlriFault> {
    let mut reader = Reader::new(bytes);
    let mut prefixes = Vec::new();
    while !reader.is_empty() {
        prefixes.push(read(family, &mut reader)?);
    }
    Ok(prefixes)
}

fn read(family: Family, reader: &mut Reader<'_>) -> Result<Prefix, NlriFault> {
    let len = reader.u8().ok_or(NlriFault::Truncated)?;
    if len > family.max_len() {
        return Err(NlriFault::LengthTooLong(len));
    }
    let bits = reader
        .take(usize::from(len).div_ceil(8))
        .ok_or(NlriFault::Truncated)?;
    let addr = match family {
        Family::Ipv4Unicast => {
            let mut octets = [0; 4];
            octets[..bits.len()].copy_from_slice(bits);
            IpAddr::V4(Ipv4Addr::from(octets))
        }
        Family::Ipv6Unicast => {
            let mut octets = [0; 16];
            octets[..bits.len()].copy_from_slice(bits);
            IpAddr::V6(Ipv6Addr::from(octets))
        }
    };
    Prefix::new(addr, len).map_err(|_| NlriFault::LengthTooLong(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Prefix {
        text.parse().unwrap()
    }

    #[test]
    fn prefixes_take_only_the_octets_their_length_needs() {
        let mut out = Vec::new();
        for prefix in ["10.0.0.0/8", "192.0.2.0/25", "0.0.0.0/0", "203.0.113.10/32"] {
            write(&p(prefix), &mut out);
        }
        assert_eq!(out, [8, 10, 25, 192, 0, 2, 0, 0, 32, 203, 0, 113, 10]);
        assert_eq!(encoded_len(&p("192.0.2.0/25")), 5);
    }

    #[test]
    fn host_bits_sent_by_a_peer_are_cleared() {
        let prefixes = read_all(Family::Ipv4Unicast, &[24, 198, 51, 100]).unwrap();
        assert_eq!(prefixes, [p("198.51.100.0/24")]);
        let prefixes = read_all(Family::Ipv4Unicast, &[4, 0xFF]).unwrap();
        assert_eq!(prefixes, [p("240.0.0.0/4")]);
    }

    #[test]
    fn ipv6_prefixes_round_trip() {
        let prefixes = [p("2001:db8::/32"), p("2001:db8::1/128"), p("::/0")];
        let mut out = Vec::new();
        write_all(Family::Ipv6Unicast, &prefixes, &mut out);
        assert_eq!(read_all(Family::Ipv6Unicast, &out).unwrap(), prefixes);
    }

    #[test]
    fn a_length_beyond_the_family_or_the_bytes_is_a_fault() {
        assert_eq!(
            read_all(Family::Ipv4Unicast, &[33, 1, 2, 3, 4, 5]),
            Err(NlriFault::LengthTooLong(33))
        );
        assert_eq!(
            read_all(Family::Ipv4Unicast, &[24, 10, 0]),
            Err(NlriFault::Truncated)
        );
        assert!(read_all(Family::Ipv6Unicast, &[128, 0x20, 1]).is_err());
    }
}
