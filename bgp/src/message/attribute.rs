//! Path attributes of UPDATE messages (RFC 4271 §4.3 and §5, RFC 4760, 6793, 1997, 8092).
//!
//! Each attribute is written as flags, type code, a one- or two-byte length (the
//! extended-length flag is set exactly when the value exceeds 255 bytes) and its value. On
//! reading, the flags and length of every recognized attribute are checked against its type
//! before its value is interpreted, and every failure names the RFC 4271 §6.3 subcode to send.

use std::net::{IpAddr, Ipv4Addr};

use super::reader::Reader;
use super::{DecodeError, DecodeErrorKind, as_path, multiprotocol};
use crate::prefix::{Family, Prefix};
use crate::route::LargeCommunity;

pub(crate) const OPTIONAL: u8 = 0x80;
pub(crate) const TRANSITIVE: u8 = 0x40;
pub(crate) const PARTIAL: u8 = 0x20;
pub(crate) const EXTENDED_LENGTH: u8 = 0x10;

pub(crate) const ORIGIN: u8 = 1;
pub(crate) const AS_PATH: u8 = 2;
pub(crate) const NEXT_HOP: u8 = 3;
pub(crate) const MULTI_EXIT_DISC: u8 = 4;
pub(crate) const LOCAL_PREF: u8 = 5;
pub(crate) const ATOMIC_AGGREGATE: u8 = 6;
pub(crate) const COMMUNITIES: u8 = 8;
pub(crate) const MP_REACH: u8 = 14;
pub(crate) const MP_UNREACH: u8 = 15;
pub(crate) const AS4_PATH: u8 = 17;
pub(crate) const LARGE_COMMUNITIES: u8 = 32;

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
    /// RFC 4760: `next_hops` is one address, or an IPv6 global and link-local pair.
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
    /// Any other attribute, kept as received; `flags` holds only the optional, transitive and
    /// partial bits.
    Unknown {
        flags: u8,
        code: u8,
        data: Vec<u8>,
    },
}

impl Attribute {
    /// The attribute type code.
    pub fn code(&self) -> u8 {
        match self {
            Attribute::Origin(_) => ORIGIN,
            Attribute::AsPath(_) => AS_PATH,
            Attribute::NextHop(_) => NEXT_HOP,
            Attribute::MultiExitDisc(_) => MULTI_EXIT_DISC,
            Attribute::LocalPref(_) => LOCAL_PREF,
            Attribute::Communities(_) => COMMUNITIES,
            Attribute::LargeCommunities(_) => LARGE_COMMUNITIES,
            Attribute::MpReach { .. } => MP_REACH,
            Attribute::MpUnreach { .. } => MP_UNREACH,
            Attribute::As4Path(_) => AS4_PATH,
            Attribute::Unknown { code, .. } => *code,
        }
    }

    /// The optional, transitive and partial flags this attribute is sent with.
    pub fn flags(&self) -> u8 {
        match self {
            Attribute::Unknown { flags, .. } => flags & (OPTIONAL | TRANSITIVE | PARTIAL),
            other => expected_flags(other.code()).unwrap_or(OPTIONAL),
        }
    }

    /// Appends flags, type, length and value.
    pub(crate) fn write(&self, four_octet_as: bool, out: &mut Vec<u8>) {
        let mut value = Vec::new();
        match self {
            Attribute::Origin(origin) => value.push(match origin {
                Origin::Igp => 0,
                Origin::Egp => 1,
                Origin::Incomplete => 2,
            }),
            Attribute::AsPath(segments) => as_path::write(segments, four_octet_as, &mut value),
            Attribute::NextHop(addr) => value.extend_from_slice(&addr.octets()),
            Attribute::MultiExitDisc(n) | Attribute::LocalPref(n) => {
                value.extend_from_slice(&n.to_be_bytes())
            }
            Attribute::Communities(communities) => {
                for community in communities {
                    value.extend_from_slice(&community.to_be_bytes());
                }
            }
            Attribute::LargeCommunities(communities) => {
                for community in communities {
                    for part in [community.global, community.local1, community.local2] {
                        value.extend_from_slice(&part.to_be_bytes());
                    }
                }
            }
            Attribute::MpReach {
                family,
                next_hops,
                nlri,
            } => multiprotocol::write_reach(*family, next_hops, nlri, &mut value),
            Attribute::MpUnreach { family, withdrawn } => {
                multiprotocol::write_unreach(*family, withdrawn, &mut value)
            }
            Attribute::As4Path(segments) => as_path::write(segments, true, &mut value),
            Attribute::Unknown { data, .. } => value.extend_from_slice(data),
        }
        value.truncate(usize::from(u16::MAX));
        if value.len() > usize::from(u8::MAX) {
            out.extend_from_slice(&[self.flags() | EXTENDED_LENGTH, self.code()]);
            out.extend_from_slice(&(value.len() as u16).to_be_bytes());
        } else {
            out.extend_from_slice(&[self.flags(), self.code(), value.len() as u8]);
        }
        out.extend_from_slice(&value);
    }
}

/// The optional and transitive bits RFC 4271 and its extensions fix for a recognized type.
fn expected_flags(code: u8) -> Option<u8> {
    Some(match code {
        ORIGIN | AS_PATH | NEXT_HOP | LOCAL_PREF => TRANSITIVE,
        MULTI_EXIT_DISC | MP_REACH | MP_UNREACH => OPTIONAL,
        COMMUNITIES | AS4_PATH | LARGE_COMMUNITIES => OPTIONAL | TRANSITIVE,
        _ => return None,
    })
}

/// Every attribute of an UPDATE's path attribute field, in wire order.
pub(crate) fn read_all(bytes: &[u8], four_octet_as: bool) -> Result<Vec<Attribute>, DecodeError> {
    let mut reader = Reader::new(bytes);
    let mut seen = [false; 256];
    let mut attributes = Vec::new();
    while !reader.is_empty() {
        let start = bytes.len() - reader.remaining();
        let (Some(flags), Some(code)) = (reader.u8(), reader.u8()) else {
            return Err(list_error("attribute header is truncated".into()));
        };
        let length = if flags & EXTENDED_LENGTH != 0 {
            reader.u16().map(usize::from)
        } else {
            reader.u8().map(usize::from)
        };
        let Some(value) = length.and_then(|length| reader.take(length)) else {
            return Err(list_error(format!(
                "attribute {code} overruns the attribute list"
            )));
        };
        if std::mem::replace(&mut seen[usize::from(code)], true) {
            return Err(list_error(format!("attribute {code} appears twice")));
        }
        let raw = &bytes[start..bytes.len() - reader.remaining()];
        attributes.push(read_one(flags, code, value, raw, four_octet_as)?);
    }
    Ok(attributes)
}

fn list_error(reason: String) -> DecodeError {
    DecodeErrorKind::MalformedAttributeList { reason }.into()
}

/// One attribute as it arrived: its header, its value, and its whole encoding, which every
/// error carries as the NOTIFICATION's data.
struct Received<'a> {
    flags: u8,
    code: u8,
    value: &'a [u8],
    raw: &'a [u8],
}

impl Received<'_> {
    /// The attribute's whole encoding, for the NOTIFICATION.
    fn attribute(&self) -> Vec<u8> {
        self.raw.to_vec()
    }

    /// An attribute of a type not recognized here: kept when optional (or ATOMIC_AGGREGATE,
    /// which carries nothing to interpret), refused when it claims to be well-known.
    fn unrecognized(&self) -> Result<Attribute, DecodeError> {
        if self.flags & OPTIONAL == 0 && self.code != ATOMIC_AGGREGATE {
            return Err(DecodeErrorKind::UnrecognizedWellKnown {
                code: self.code,
                attribute: self.attribute(),
            }
            .into());
        }
        Ok(self.unknown())
    }

    /// The flags match the `expected` optional and transitive bits of the type, and a
    /// well-known attribute is not marked partial.
    fn check_flags(&self, expected: u8) -> Result<(), DecodeError> {
        let well_known = expected & OPTIONAL == 0;
        let flags = self.flags;
        if flags & (OPTIONAL | TRANSITIVE) != expected || (well_known && flags & PARTIAL != 0) {
            return Err(DecodeErrorKind::AttributeFlags {
                code: self.code,
                flags,
                attribute: self.attribute(),
            }
            .into());
        }
        Ok(())
    }

    /// The value is exactly `length` bytes long.
    fn fixed_length(&self, length: usize) -> Result<(), DecodeError> {
        if self.value.len() == length {
            Ok(())
        } else {
            Err(DecodeErrorKind::AttributeLength {
                code: self.code,
                length: self.value.len(),
                attribute: self.attribute(),
            }
            .into())
        }
    }

    /// A malformed optional attribute, for `reason`.
    fn optional_error(&self, reason: String) -> DecodeError {
        DecodeErrorKind::OptionalAttribute {
            code: self.code,
            reason,
            attribute: self.attribute(),
        }
        .into()
    }

    /// The big-endian number at byte `i` of the value.
    fn u32_at(&self, i: usize) -> u32 {
        let value = self.value;
        u32::from_be_bytes([value[i], value[i + 1], value[i + 2], value[i + 3]])
    }

    /// The value, when it is exactly one four-byte number.
    fn single_u32(&self) -> Result<u32, DecodeError> {
        self.fixed_length(4)?;
        Ok(self.u32_at(0))
    }

    /// The value length is a multiple of `size`, the size of one list element.
    fn multiple_of(&self, size: usize) -> Result<(), DecodeError> {
        if self.value.len().is_multiple_of(size) {
            Ok(())
        } else {
            Err(self.optional_error(format!(
                "length {} is not a multiple of {size}",
                self.value.len()
            )))
        }
    }

    /// The attribute kept as received.
    fn unknown(&self) -> Attribute {
        Attribute::Unknown {
            flags: self.flags & (OPTIONAL | TRANSITIVE | PARTIAL),
            code: self.code,
            data: self.value.to_vec(),
        }
    }
}

fn read_one(
    flags: u8,
    code: u8,
    value: &[u8],
    raw: &[u8],
    four_octet_as: bool,
) -> Result<Attribute, DecodeError> {
    let received = Received {
        flags,
        code,
        value,
        raw,
    };
    let Some(expected) = expected_flags(code) else {
        return received.unrecognized();
    };
    received.check_flags(expected)?;
    Ok(match code {
        ORIGIN => read_origin(&received)?,
        AS_PATH => Attribute::AsPath(
            as_path::read(value, four_octet_as)
                .map_err(|reason| DecodeError::new(DecodeErrorKind::MalformedAsPath { reason }))?,
        ),
        NEXT_HOP => read_next_hop(&received)?,
        MULTI_EXIT_DISC => Attribute::MultiExitDisc(received.single_u32()?),
        LOCAL_PREF => Attribute::LocalPref(received.single_u32()?),
        COMMUNITIES => read_communities(&received)?,
        LARGE_COMMUNITIES => read_large_communities(&received)?,
        AS4_PATH => Attribute::As4Path(
            as_path::read(value, true).map_err(|reason| received.optional_error(reason))?,
        ),
        MP_REACH => read_multiprotocol(&received, multiprotocol::read_reach)?,
        MP_UNREACH => read_multiprotocol(&received, multiprotocol::read_unreach)?,
        _ => received.unknown(),
    })
}

/// ORIGIN: one byte, IGP, EGP or INCOMPLETE.
fn read_origin(received: &Received<'_>) -> Result<Attribute, DecodeError> {
    received.fixed_length(1)?;
    Ok(Attribute::Origin(match received.value[0] {
        0 => Origin::Igp,
        1 => Origin::Egp,
        2 => Origin::Incomplete,
        other => {
            return Err(DecodeErrorKind::InvalidOrigin {
                value: other,
                attribute: received.attribute(),
            }
            .into());
        }
    }))
}

/// NEXT_HOP: a unicast IPv4 address.
fn read_next_hop(received: &Received<'_>) -> Result<Attribute, DecodeError> {
    received.fixed_length(4)?;
    let value = received.value;
    let addr = Ipv4Addr::new(value[0], value[1], value[2], value[3]);
    if addr.is_unspecified() || addr.is_broadcast() || addr.is_multicast() {
        return Err(DecodeErrorKind::InvalidNextHop {
            reason: format!("{addr} is not a unicast address"),
            attribute: received.attribute(),
        }
        .into());
    }
    Ok(Attribute::NextHop(addr))
}

/// COMMUNITIES: a list of four-byte communities.
fn read_communities(received: &Received<'_>) -> Result<Attribute, DecodeError> {
    received.multiple_of(4)?;
    let communities = (0..received.value.len()).step_by(4);
    Ok(Attribute::Communities(
        communities.map(|i| received.u32_at(i)).collect(),
    ))
}

/// LARGE_COMMUNITIES: a list of twelve-byte communities.
fn read_large_communities(received: &Received<'_>) -> Result<Attribute, DecodeError> {
    received.multiple_of(12)?;
    let communities = (0..received.value.len())
        .step_by(12)
        .map(|i| LargeCommunity {
            global: received.u32_at(i),
            local1: received.u32_at(i + 4),
            local2: received.u32_at(i + 8),
        });
    Ok(Attribute::LargeCommunities(communities.collect()))
}

/// MP_REACH_NLRI or MP_UNREACH_NLRI by `read`; one of a family not known here is kept as
/// received.
fn read_multiprotocol(
    received: &Received<'_>,
    read: fn(&[u8]) -> Result<Option<Attribute>, String>,
) -> Result<Attribute, DecodeError> {
    Ok(read(received.value)
        .map_err(|reason| received.optional_error(reason))?
        .unwrap_or_else(|| received.unknown()))
}
