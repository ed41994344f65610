//! IP prefixes and the address families BGP carries them in.
//!
//! A [`Prefix`] always has its host bits cleared, so two prefixes that cover the same addresses
//! compare equal and the Adj-RIB-Out can key on them. [`Family`] names the AFI/SAFI pair of
//! RFC 4760 a prefix travels under: IPv4 unicast in the classic UPDATE fields, IPv6 unicast in
//! the multiprotocol attributes.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An address family and subsequent address family a session can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    Ipv4Unicast,
    Ipv6Unicast,
}

impl Family {
    /// The Address Family Identifier (IANA): 1 for IPv4, 2 for IPv6.
    pub fn afi(self) -> u16 {
        match self {
            Family::Ipv4Unicast => 1,
            Family::Ipv6Unicast => 2,
        }
    }

    /// The Subsequent Address Family Identifier: 1 (unicast).
    pub fn safi(self) -> u8 {
        1
    }

    /// The family of an AFI/SAFI pair, if it is one this crate carries.
    pub fn from_afi_safi(afi: u16, safi: u8) -> Option<Family> {
        match (afi, safi) {
            (1, 1) => Some(Family::Ipv4Unicast),
            (2, 1) => Some(Family::Ipv6Unicast),
            _ => None,
        }
    }

    /// The family of an address.
    pub fn of(addr: IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Ipv4Unicast,
            IpAddr::V6(_) => Family::Ipv6Unicast,
        }
    }

    /// The number of bits in an address of this family.
    pub fn max_len(self) -> u8 {
        match self {
            Family::Ipv4Unicast => 32,
            Family::Ipv6Unicast => 128,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Ipv4Unicast => "ipv4-unicast",
            Family::Ipv6Unicast => "ipv6-unicast",
        })
    }
}

/// Why a prefix could not be built or parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    #[error("prefix length {len} of {addr} exceeds {max}")]
    LengthTooLong { addr: IpAddr, len: u8, max: u8 },
    #[error("prefix {text:?} is invalid: {reason}")]
    Syntax { text: String, reason: &'static str },
}

/// An IP prefix whose host bits are zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

impl Prefix {
    /// The prefix of `len` bits containing `addr`; the host bits of `addr` are cleared.
    pub fn new(addr: IpAddr, len: u8) -> Result<Prefix, PrefixError> {
        let max = Family::of(addr).max_len();
        if len > max {
            return Err(PrefixError::LengthTooLong { addr, len, max });
        }
        let addr = match addr {
            IpAddr::V4(v4) => {
                let mask = u32::MAX.checked_shl(u32::from(32 - len)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX.checked_shl(u32::from(128 - len)).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
        };
        Ok(Prefix { addr, len })
    }

    /// The prefix holding exactly one address: a /32 or a /128.
    pub fn host(addr: IpAddr) -> Prefix {
        Prefix {
            addr,
            len: Family::of(addr).max_len(),
        }
    }

    /// The network address, host bits zero.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u8 {
        self.len
    }

    /// The family this prefix is advertised in.
    pub fn family(&self) -> Family {
        Family::of(self.addr)
    }

    /// Whether `addr` lies within this prefix (never for an address of the other family).
    pub fn contains(&self, addr: IpAddr) -> bool {
        Family::of(addr) == self.family()
            && Prefix::new(addr, self.len).is_ok_and(|p| p.addr == self.addr)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for Prefix {
    type Err = PrefixError;

    /// Parses `addr/len`; a bare address is a host prefix. Host bits are cleared.
    fn from_str(text: &str) -> Result<Prefix, PrefixError> {
        let syntax = |reason| PrefixError::Syntax {
            text: text.to_owned(),
            reason,
        };
        let (addr, len) = match text.split_once('/') {
            Some((addr, len)) => (addr, Some(len)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| syntax("not an IP address"))?;
        match len {
            None => Ok(Prefix::host(addr)),
            Some(len) => {
                let len = len.parse().map_err(|_| syntax("length is not a number"))?;
                Prefix::new(addr, len)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Prefix {
        text.parse().unwrap()
    }

    #[test]
    fn host_bits_are_cleared_so_equal_networks_compare_equal() {
        assert_eq!(p("10.1.2.3/8"), p("10.0.0.0/8"));
        assert_eq!(p("10.1.2.3/8").to_string(), "10.0.0.0/8");
        assert_eq!(p("2001:db8::1/32").to_string(), "2001:db8::/32");
    }

    #[test]
    fn bare_addresses_parse_as_host_prefixes() {
        assert_eq!(p("203.0.113.10").to_string(), "203.0.113.10/32");
        assert_eq!(p("2001:db8::1").to_string(), "2001:db8::1/128");
    }

    #[test]
    fn zero_length_prefixes_cover_the_whole_family() {
        let default = p("192.0.2.1/0");
        assert_eq!(default.to_string(), "0.0.0.0/0");
        assert!(default.contains("198.51.100.7".parse().unwrap()));
        assert!(!default.contains("::1".parse().unwrap()));
        assert_eq!(p("::1/0").to_string(), "::/0");
    }

    #[test]
    fn too_long_lengths_are_refused_with_the_limit_named() {
        let err = Prefix::new("10.0.0.1".parse().unwrap(), 33).unwrap_err();
        assert_eq!(err.to_string(), "prefix length 33 of 10.0.0.1 exceeds 32");
        assert!(Prefix::new("::".parse().unwrap(), 129).is_err());
        assert!(Prefix::new("::".parse().unwrap(), 128).is_ok());
    }

    #[test]
    fn malformed_text_is_refused_with_the_text_quoted() {
        let err = "10.0.0/8".parse::<Prefix>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "prefix \"10.0.0/8\" is invalid: not an IP address"
        );
        assert!("10.0.0.0/x".parse::<Prefix>().is_err());
    }

    #[test]
    fn contains_checks_the_network_bits_only() {
        let net = p("198.51.100.0/24");
        assert!(net.contains("198.51.100.255".parse().unwrap()));
        assert!(!net.contains("198.51.101.0".parse().unwrap()));
        assert_eq!(net.family(), Family::Ipv4Unicast);
        assert_eq!(p("2001:db8::/64").family(), Family::Ipv6Unicast);
    }

    #[test]
    fn families_map_to_their_afi_and_safi() {
        for family in [Family::Ipv4Unicast, Family::Ipv6Unicast] {
            assert_eq!(
                Family::from_afi_safi(family.afi(), family.safi()),
                Some(family)
            );
        }
        assert_eq!(Family::from_afi_safi(1, 2), None);
    }
}
