//! The multiprotocol attributes MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760 §3, §4).
//!
//! They carry prefixes of families other than IPv4 unicast, which the classic UPDATE fields
//! cannot hold. An attribute naming a family this crate does not carry reads as `Ok(None)`, and
//! the caller keeps it as an unknown attribute.

use std::net::{IpAddr, Ipv4Addr};

use super::attribute::Attribute;
use super::nlri;
use super::reader::Reader;
use crate::prefix::{Family, Prefix};

/// AFI, SAFI, next hop length and addresses, a reserved byte, then the prefixes.
pub(crate) fn write_reach(
    family: Family,
    next_hops: &[IpAddr],
    prefixes: &[Prefix],
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(&family.afi().to_be_bytes());
    out.push(family.safi());
    let length = out.len();
    out.push(0);
    for next_hop in next_hops {
        match next_hop {
            IpAddr::V4(v4) => out.extend_from_slice(&v4.octets()),
            IpAddr::V6(v6) => out.extend_from_slice(&v6.octets()),
        }
    }
    out[length] = (out.len() - length - 1) as u8;
    out.push(0);
    nlri::write_all(family, prefixes, out);
}

/// AFI, SAFI, then the withdrawn prefixes.
pub(crate) fn write_unreach(family: Family, prefixes: &[Prefix], out: &mut Vec<u8>) {
    out.extend_from_slice(&family.afi().to_be_bytes());
    out.push(family.safi());
    nlri::write_all(family, prefixes, out);
}

/// The bytes an MP_REACH_NLRI value takes before its prefixes, with one next hop of `family`.
pub(crate) fn reach_overhead(family: Family) -> usize {
    let next_hop = match family {
        Family::Ipv4Unicast => 4,
        Family::Ipv6Unicast => 16,
    };
    2 + 1 + 1 + next_hop + 1
}

/// The bytes an MP_UNREACH_NLRI value takes before its prefixes.
pub(crate) const UNREACH_OVERHEAD: usize = 3;

pub(crate) fn read_reach(value: &[u8]) -> Result<Option<Attribute>, String> {
    let mut reader = Reader::new(value);
    let Some(family) = read_family(&mut reader)? else {
        return Ok(None);
    };
    let length = reader.u8().ok_or("next hop length is missing")?;
    let hops = reader
        .take(length.into())
        .ok_or("next hop overruns the attribute")?;
    let mut hops = Reader::new(hops);
    let next_hops = match length {
        4 => vec![IpAddr::V4(hops.ipv4().unwrap_or(Ipv4Addr::UNSPECIFIED))],
        16 | 32 => std::iter::from_fn(|| hops.ipv6()).map(IpAddr::V6).collect(),
        other => return Err(format!("next hop length {other} is not 4, 16 or 32")),
    };
    if next_hops
        .iter()
        .any(|hop: &IpAddr| hop.is_unspecified() || hop.is_multicast())
    {
        return Err("next hop is not a unicast address".into());
    }
    reader.u8().ok_or("reserved byte is missing")?;
    let nlri = nlri::read_all(family, reader.rest()).map_err(|fault| fault.reason(family))?;
    Ok(Some(Attribute::MpReach {
        family,
        next_hops,
        nlri,
    }))
}

pub(crate) fn read_unreach(value: &[u8]) -> Result<Option<Attribute>, String> {
    let mut reader = Reader::new(value);
    let Some(family) = read_family(&mut reader)? else {
        return Ok(None);
    };
    let withdrawn = nlri::read_all(family, reader.rest()).map_err(|fault| fault.reason(family))?;
    Ok(Some(Attribute::MpUnreach { family, withdrawn }))
}

fn read_family(reader: &mut Reader<'_>) -> Result<Option<Family>, String> {
    match (reader.u16(), reader.u8()) {
        (Some(afi), Some(safi)) => Ok(Family::from_afi_safi(afi, safi)),
        _ => Err("address family is truncated".into()),
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use super::*;

    #[test]
    fn ipv6_reach_carries_afi_safi_next_hop_and_prefixes() {
        let hop: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let prefix: Prefix = "2001:db8:1::/48".parse().unwrap();
        let mut out = Vec::new();
        write_reach(Family::Ipv6Unicast, &[IpAddr::V6(hop)], &[prefix], &mut out);
        let mut expected = vec![0, 2, 1, 16];
        expected.extend_from_slice(&hop.octets());
        expected.extend_from_slice(&[0, 48, 0x20, 0x01, 0x0d, 0xb8, 0, 1]);
        assert_eq!(out, expected);
        assert_eq!(out.len(), reach_overhead(Family::Ipv6Unicast) + 7);
        assert_eq!(
            read_reach(&out).unwrap(),
            Some(Attribute::MpReach {
                family: Family::Ipv6Unicast,
                next_hops: vec![IpAddr::V6(hop)],
                nlri: vec![prefix]
            })
        );
    }

    #[test]
    fn a_global_and_link_local_next_hop_pair_is_read() {
        let mut value = vec![0, 2, 1, 32];
        value.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
        value.extend_from_slice(&"fe80::1".parse::<Ipv6Addr>().unwrap().octets());
        value.push(0);
        let Some(Attribute::MpReach { next_hops, .. }) = read_reach(&value).unwrap() else {
            panic!("expected MP_REACH_NLRI");
        };
        assert_eq!(next_hops.len(), 2);
    }

    #[test]
    fn foreign_families_are_left_to_the_caller() {
        // L2VPN EVPN (AFI 25, SAFI 70).
        assert_eq!(read_reach(&[0, 25, 70, 0, 0]), Ok(None));
        assert_eq!(read_unreach(&[0, 25, 70]), Ok(None));
    }

    #[test]
    fn malformed_values_name_the_fault() {
        assert_eq!(
            read_reach(&[0, 2, 1, 5, 0, 0, 0, 0, 0, 0]).unwrap_err(),
            "next hop length 5 is not 4, 16 or 32"
        );
        assert_eq!(
            read_unreach(&[0, 2, 1, 129]).unwrap_err(),
            "ipv6-unicast prefix length 129 exceeds 128"
        );
        assert!(read_reach(&[0, 2]).is_err());
    }
}
