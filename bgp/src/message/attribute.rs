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

fn read_one(
    flags: u8,
    code: u8,
    value: &[u8],
    raw: &[u8],
    four_octet_as: bool,
) -> Result<Attribute, DecodeError> {
    let attribute = || raw.to_vec();
    let Some(expected) = expected_flags(code) else {
        if flags & OPTIONAL == 0 && code != ATOMIC_AGGREGATE {
            return Err(DecodeErrorKind::UnrecognizedWellKnown {
                code,
                attribute: attribute(),
            }
            .into());
        }
        return Ok(Attribute::Unknown {
            flags: flags & (OPTIONAL | TRANSITIVE | PARTIAL),
            code,
            data: value.to_vec(),
        });
    };
    let well_known = expected & OPTIONAL == 0;
    if flags & (OPTIONAL | TRANSITIVE) != expected || (well_known && flags & PARTIAL != 0) {
        return Err(DecodeErrorKind::AttributeFlags {
            code,
            flags,
            attribute: attribute(),
        }
        .into());
    }
    let fixed_length = |length: usize| -> Result<(), DecodeError> {
        if value.len() == length {
            Ok(())
        } else {
            Err(DecodeErrorKind::AttributeLength {
                code,
                length: value.len(),
                attribute: attribute(),
            }
            .into())
        }
    };
    let optional = |reason: String| -> DecodeError {
        DecodeErrorKind::OptionalAttribute {
            code,
            reason,
            attribute: attribute(),
        }
        .into()
    };
    let u32_at =
        |i: usize| u32::from_be_bytes([value[i], value[i + 1], value[i + 2], value[i + 3]]);
    Ok(match code {
        ORIGIN => {
            fixed_length(1)?;
            Attribute::Origin(match value[0] {
                0 => Origin::Igp,
                1 => Origin::Egp,
                2 => Origin::Incomplete,
                other => {
                    return Err(DecodeErrorKind::InvalidOrigin {
                        value: other,
                        attribute: attribute(),
                    }
                    .into());
                }
            })
        }
        AS_PATH => Attribute::AsPath(
            as_path::read(value, four_octet_as)
                .map_err(|reason| DecodeError::new(DecodeErrorKind::MalformedAsPath { reason }))?,
        ),
        NEXT_HOP => {
            fixed_length(4)?;
            let addr = Ipv4Addr::new(value[0], value[1], value[2], value[3]);
            if addr.is_unspecified() || addr.is_broadcast() || addr.is_multicast() {
                return Err(DecodeErrorKind::InvalidNextHop {
                    reason: format!("{addr} is not a unicast address"),
                    attribute: attribute(),
                }
                .into());
            }
            Attribute::NextHop(addr)
        }
        MULTI_EXIT_DISC => {
            fixed_length(4)?;
            Attribute::MultiExitDisc(u32_at(0))
        }
        LOCAL_PREF => {
            fixed_length(4)?;
            Attribute::LocalPref(u32_at(0))
        }
        COMMUNITIES => {
            if !value.len().is_multiple_of(4) {
                return Err(optional(format!(
                    "length {} is not a multiple of 4",
                    value.len()
                )));
            }
            Attribute::Communities((0..value.len()).step_by(4).map(u32_at).collect())
        }
        LARGE_COMMUNITIES => {
            if !value.len().is_multiple_of(12) {
                return Err(optional(format!(
                    "length {} is not a multiple of 12",
                    value.len()
                )));
            }
            let communities = (0..value.len()).step_by(12).map(|i| LargeCommunity {
                global: u32_at(i),
                local1: u32_at(i + 4),
                local2: u32_at(i + 8),
            });
            Attribute::LargeCommunities(communities.collect())
        }
        AS4_PATH => Attribute::As4Path(as_path::read(value, true).map_err(optional)?),
        MP_REACH => multiprotocol::read_reach(value)
            .map_err(optional)?
            .unwrap_or_else(|| unknown(flags, code, value)),
        MP_UNREACH => multiprotocol::read_unreach(value)
            .map_err(optional)?
            .unwrap_or_else(|| unknown(flags, code, value)),
        _ => unknown(flags, code, value),
    })
}

fn unknown(flags: u8, code: u8, value: &[u8]) -> Attribute {
    Attribute::Unknown {
        flags: flags & (OPTIONAL | TRANSITIVE | PARTIAL),
        code,
        data: value.to_vec(),
    }
}
