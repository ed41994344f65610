//! Path attributes of UPDATE messages (RFC 4271 §4.3, §5; RFC 4760, 6793, 1997, 8092).

use std::net::{IpAddr, Ipv4Addr};

use crate::prefix::{Family, Prefix};
use crate::route::LargeCommunity;

/// ORIGIN values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    Igp,
    Egp,
    Incomplete,
}

/// One segment of an AS path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AsSegment {
    Set(Vec<u32>),
    Sequence(Vec<u32>),
}

/// A path attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attribute {
    Origin(Origin),
    AsPath(Vec<AsSegment>),
    NextHop(Ipv4Addr),
    MultiExitDisc(u32),
    LocalPref(u32),
    Communities(Vec<u32>),
    LargeCommunities(Vec<LargeCommunity>),
    MpReach {
        family: Family,
        next_hops: Vec<IpAddr>,
        nlri: Vec<Prefix>,
    },
    MpUnreach {
        family: Family,
        withdrawn: Vec<Prefix>,
    },
    As4Path(Vec<AsSegment>),
    Unknown {
        flags: u8,
        code: u8,
        data: Vec<u8>,
    },
}
