//! The attributes of an advertised route, and UPDATEs filled up to the 4096-byte limit.
//!
//! Sizes are computed from the encoding itself: the fixed part of a message (header, length
//! fields, path attributes) is encoded once per group, then prefixes are added while their wire
//! length still fits. The multiprotocol attribute is always budgeted with the two-byte length
//! of the extended-length form, so a message can come out a byte short of full but never over.

use std::net::IpAddr;

use super::UpdateContext;
use crate::message::attribute::{AS4_PATH, MP_REACH};
use crate::message::multiprotocol::{UNREACH_OVERHEAD, reach_overhead};
use crate::message::nlri::encoded_len;
use crate::message::{AS_TRANS, AsSegment, Attribute, HEADER_LEN, MAX_MESSAGE_LEN, Origin, Update};
use crate::prefix::{Family, Prefix};
use crate::route::Route;

/// The LOCAL_PREF of an iBGP route whose advertisement sets none.
pub const DEFAULT_LOCAL_PREF: u32 = 100;

/// Header plus the withdrawn-routes and path-attributes length fields.
const EMPTY_UPDATE: usize = HEADER_LEN + 2 + 2;
/// Flags, type and two length bytes.
const LONG_ATTRIBUTE_HEADER: usize = 4;

/// The path attributes `route` is announced with on this session, by type code, without the
/// multiprotocol reach attribute that carries IPv6 prefixes and their next hop.
pub(crate) fn attributes(route: &Route, family: Family, context: &UpdateContext) -> Vec<Attribute> {
    let mut attributes = vec![Attribute::Origin(Origin::Igp)];
    if context.ibgp {
        attributes.push(Attribute::AsPath(Vec::new()));
    } else if context.four_octet_as || context.local_as <= u32::from(u16::MAX) {
        attributes.push(Attribute::AsPath(vec![AsSegment::Sequence(vec![
            context.local_as,
        ])]));
    } else {
        // RFC 6793 §4.2.2: an old peer sees AS_TRANS and passes the real AS along in AS4_PATH.
        let trans = u32::from(AS_TRANS);
        attributes.push(Attribute::AsPath(vec![AsSegment::Sequence(vec![trans])]));
        attributes.push(Attribute::As4Path(vec![AsSegment::Sequence(vec![
            context.local_as,
        ])]));
    }
    if let (Family::Ipv4Unicast, Some(next_hop)) = (family, context.next_hop_v4) {
        attributes.push(Attribute::NextHop(next_hop));
    }
    // RFC 4271 §5.1.5: LOCAL_PREF goes to every internal peer; 100 is the customary default.
    if context.ibgp {
        attributes.push(Attribute::LocalPref(
            route.local_pref.unwrap_or(DEFAULT_LOCAL_PREF),
        ));
    }
    if !route.communities.is_empty() {
        attributes.push(Attribute::Communities(
            route.communities.iter().copied().collect(),
        ));
    }
    if !route.large_communities.is_empty() {
        let communities = route.large_communities.iter().copied().collect();
        attributes.push(Attribute::LargeCommunities(communities));
    }
    attributes.sort_by_key(Attribute::code);
    attributes
}

/// UPDATEs announcing `prefixes`, all of `family`, with the attributes of `route`.
pub(crate) fn announcements(
    family: Family,
    route: &Route,
    prefixes: &[Prefix],
    context: &UpdateContext,
) -> Vec<Update> {
    let attributes = attributes(route, family, context);
    let mut fixed = EMPTY_UPDATE;
    for attribute in &attributes {
        let mut encoded = Vec::new();
        attribute.write(context.four_octet_as, &mut encoded);
        fixed += encoded.len();
    }
    match family {
        Family::Ipv4Unicast => chunks(prefixes, fixed)
            .map(|chunk| Update {
                withdrawn: Vec::new(),
                attributes: attributes.clone(),
                nlri: chunk.to_vec(),
            })
            .collect(),
        Family::Ipv6Unicast => {
            let next_hops: Vec<IpAddr> = context.next_hop_v6.map(IpAddr::V6).into_iter().collect();
            let fixed = fixed + LONG_ATTRIBUTE_HEADER + reach_overhead(family);
            let position = attributes.partition_point(|a| a.code() < MP_REACH);
            debug_assert!(attributes[position..].iter().all(|a| a.code() >= AS4_PATH));
            chunks(prefixes, fixed)
                .map(|chunk| {
                    let mut attributes = attributes.clone();
                    let reach = Attribute::MpReach {
                        family,
                        next_hops: next_hops.clone(),
                        nlri: chunk.to_vec(),
                    };
                    attributes.insert(position, reach);
                    Update {
                        withdrawn: Vec::new(),
                        attributes,
                        nlri: Vec::new(),
                    }
                })
                .collect()
        }
    }
}

/// UPDATEs withdrawing `prefixes`, all of `family`.
pub(crate) fn withdrawals(family: Family, prefixes: &[Prefix]) -> Vec<Update> {
    match family {
        Family::Ipv4Unicast => chunks(prefixes, EMPTY_UPDATE)
            .map(|chunk| Update {
                withdrawn: chunk.to_vec(),
                ..Update::default()
            })
            .collect(),
        Family::Ipv6Unicast => chunks(
            prefixes,
            EMPTY_UPDATE + LONG_ATTRIBUTE_HEADER + UNREACH_OVERHEAD,
        )
        .map(|chunk| Update {
            attributes: vec![Attribute::MpUnreach {
                family,
                withdrawn: chunk.to_vec(),
            }],
            ..Update::default()
        })
        .collect(),
    }
}

/// Consecutive runs of `prefixes` that fit in a message whose other parts take `fixed` bytes.
fn chunks(prefixes: &[Prefix], fixed: usize) -> impl Iterator<Item = &[Prefix]> {
    let budget = MAX_MESSAGE_LEN.saturating_sub(fixed);
    let mut rest = prefixes;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut used = 0;
        let mut count = 0;
        for prefix in rest {
            used += encoded_len(prefix);
            if used > budget {
                break;
            }
            count += 1;
        }
        // A group whose attributes alone fill a message still sends one prefix per UPDATE
        // rather than none; the speaker keeps communities far below that size.
        let (chunk, tail) = rest.split_at(count.max(1));
        rest = tail;
        Some(chunk)
    })
}
