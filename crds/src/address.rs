//! Address entries of an IPAddressPool (`10.0.0.0/24`, `10.0.0.5-10.0.0.9`, IPv6 alike),
//! parsed into inclusive ranges over integers, with their sizes, overlaps and CIDR covers.
//!
//! Pure functions shared by the operator (allocation, pool status) and the webhook (validation):
//! every malformed entry yields an [`AddressError`] that quotes the entry and says what is wrong.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::rules::pool::{
    ADDRESS_INVALID, ADDRESS_MISSING, EMPTY, FAMILIES_DIFFER, NOT_AN_ENTRY, NOT_AN_IP,
    PREFIX_NOT_A_NUMBER, PREFIX_TOO_LONG, SINGLE_ADDRESS, START_AFTER_END,
};

/// The address family of an IP or a range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    /// The family of one address.
    pub fn of(ip: IpAddr) -> Family {
        match ip {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// Address width in bits: 32 or 128.
    pub fn bits(self) -> u8 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        })
    }
}

/// An address as an integer, so ranges can be compared and counted without allocation.
pub fn ip_to_int(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The address of `family` whose integer value is `n` (truncated to 32 bits for IPv4).
pub fn int_to_ip(family: Family, n: u128) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::from(n as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(n)),
    }
}

/// Whether an IPv4 address ends in .0 or .255, which some clients and network gear mistake
/// for a network or broadcast address (`avoidBuggyIPs`). IPv6 addresses never are.
pub fn is_buggy_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => matches!(v4.octets()[3], 0 | 255),
        IpAddr::V6(_) => false,
    }
}

/// One address entry of a pool: an inclusive range of addresses of one family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AddressRange {
    family: Family,
    first: u128,
    last: u128,
}

/// Why an address entry does not parse, in the words of [`crate::rules::pool`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", ADDRESS_INVALID.fill(&[&self.entry, &self.reason]))]
pub struct AddressError {
    /// The entry as the user wrote it.
    pub entry: String,
    /// What is wrong with it.
    pub reason: String,
}

impl AddressRange {
    /// The range from `first` to `last`, both included; they must be of one family, in order.
    pub fn new(first: IpAddr, last: IpAddr) -> Result<Self, String> {
        if Family::of(first) != Family::of(last) {
            return Err(FAMILIES_DIFFER.fill(&[
                &first,
                &Family::of(first),
                &last,
                &Family::of(last),
            ]));
        }
        let (a, b) = (ip_to_int(first), ip_to_int(last));
        if a > b {
            return Err(START_AFTER_END.fill(&[&first, &last]));
        }
        Ok(Self {
            family: Family::of(first),
            first: a,
            last: b,
        })
    }

    /// The CIDR `network/prefix`; host bits set in `network` are ignored, as MetalLB does.
    pub fn cidr(network: IpAddr, prefix: u8) -> Result<Self, String> {
        let family = Family::of(network);
        if prefix > family.bits() {
            return Err(PREFIX_TOO_LONG.fill(&[&prefix, &family.bits()]));
        }
        let host_bits = u32::from(family.bits() - prefix);
        let host_mask = if host_bits == 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        let first = ip_to_int(network) & !host_mask;
        Ok(Self {
            family,
            first,
            last: first | host_mask,
        })
    }

    pub fn family(&self) -> Family {
        self.family
    }

    pub fn first(&self) -> IpAddr {
        int_to_ip(self.family, self.first)
    }

    pub fn last(&self) -> IpAddr {
        int_to_ip(self.family, self.last)
    }

    /// First and last address as integers, both included.
    pub fn bounds(&self) -> (u128, u128) {
        (self.first, self.last)
    }

    /// How many addresses the range holds; saturates at `u128::MAX` for the whole IPv6 space.
    pub fn size(&self) -> u128 {
        (self.last - self.first).saturating_add(1)
    }

    /// How many addresses ending in .0 or .255 the range holds (always 0 for IPv6).
    pub fn buggy_count(&self) -> u128 {
        if self.family == Family::V6 {
            return 0;
        }
        // Addresses up to n (included) whose last octet is 0, plus those whose last octet is 255.
        let up_to = |n: u128| n / 256 + 1 + (n + 1) / 256;
        let below_first = if self.first == 0 {
            0
        } else {
            up_to(self.first - 1)
        };
        up_to(self.last) - below_first
    }

    /// How many addresses may be assigned from the range, with `avoid_buggy_ips` applied.
    pub fn usable_count(&self, avoid_buggy_ips: bool) -> u128 {
        if avoid_buggy_ips {
            self.size() - self.buggy_count()
        } else {
            self.size()
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        Family::of(ip) == self.family && (self.first..=self.last).contains(&ip_to_int(ip))
    }

    /// Whether the two ranges share at least one address.
    pub fn overlaps(&self, other: &AddressRange) -> bool {
        self.family == other.family && self.first <= other.last && other.first <= self.last
    }

    /// The smallest list of CIDRs that covers exactly this range, in address order.
    pub fn cidrs(&self) -> Vec<(IpAddr, u8)> {
        let bits = self.family.bits();
        let mut out = Vec::new();
        let mut start = self.first;
        loop {
            // The largest aligned block starting at `start` that stays within the range.
            let mut host_bits = if start == 0 {
                u32::from(bits)
            } else {
                start.trailing_zeros().min(u32::from(bits))
            };
            while host_bits > 0 && block_last(start, host_bits) > self.last {
                host_bits -= 1;
            }
            out.push((int_to_ip(self.family, start), bits - host_bits as u8));
            let end = block_last(start, host_bits);
            if end >= self.last {
                return out;
            }
            start = end + 1;
        }
    }
}

/// The last address of the aligned block of `2^host_bits` addresses starting at `start`.
fn block_last(start: u128, host_bits: u32) -> u128 {
    if host_bits >= 128 {
        u128::MAX
    } else {
        start | ((1u128 << host_bits) - 1)
    }
}

impl FromStr for AddressRange {
    type Err = AddressError;

    /// Parses a CIDR (`10.0.0.0/24`) or a range (`10.0.0.1-10.0.0.9`, spaces allowed around
    /// the dash), IPv4 or IPv6, with surrounding white space ignored.
    fn from_str(entry: &str) -> Result<Self, AddressError> {
        let fail = |reason: String| AddressError {
            entry: entry.to_owned(),
            reason,
        };
        let text = entry.trim();
        if text.is_empty() {
            return Err(fail(EMPTY.fill(&[])));
        }
        if let Some((network, prefix)) = text.split_once('/') {
            let network = parse_ip(network.trim()).map_err(fail)?;
            let prefix = prefix.trim();
            let prefix: u8 = prefix
                .parse()
                .map_err(|_| fail(PREFIX_NOT_A_NUMBER.fill(&[&prefix])))?;
            return AddressRange::cidr(network, prefix).map_err(fail);
        }
        if let Some((start, end)) = split_range(text) {
            let first = parse_ip(start.trim()).map_err(fail)?;
            let last = parse_ip(end.trim()).map_err(fail)?;
            return AddressRange::new(first, last).map_err(fail);
        }
        match parse_ip(text) {
            Ok(_) => Err(fail(SINGLE_ADDRESS.fill(&[]))),
            Err(reason) => Err(fail(NOT_AN_ENTRY.fill(&[&reason]))),
        }
    }
}

/// Splits `a-b` at its dash; IPv6 addresses never contain one.
fn split_range(text: &str) -> Option<(&str, &str)> {
    let (start, end) = text.split_once('-')?;
    Some((start, end))
}

fn parse_ip(text: &str) -> Result<IpAddr, String> {
    if text.is_empty() {
        return Err(ADDRESS_MISSING.fill(&[]));
    }
    parse_kubernetes_ip(text).ok_or_else(|| NOT_AN_IP.fill(&[&text]))
}

/// An IP address as Kubernetes reads one (its CEL `ip()`, so the CRDs and the webhook agree):
/// an IPv4 or IPv6 address without zone, and not an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`),
/// which names an IPv4 address in the IPv6 family.
pub fn parse_kubernetes_ip(text: &str) -> Option<IpAddr> {
    match text.parse::<IpAddr>().ok()? {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => None,
        ip => Some(ip),
    }
}

impl fmt::Display for AddressRange {
    /// A CIDR when the range is exactly one, `first-last` otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cidrs().as_slice() {
            [(network, prefix)] => write!(f, "{network}/{prefix}"),
            _ => write!(f, "{}-{}", self.first(), self.last()),
        }
    }
}

#[cfg(test)]
mod tests;
