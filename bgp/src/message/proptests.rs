//! Properties of the codec over generated input: every valid message survives encoding and
//! decoding unchanged, and no byte sequence (random, or a valid message truncated or mutated)
//! makes decoding panic or answer with anything but an RFC 4271 error code.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use super::*;
use crate::prefix::Prefix;
use crate::route::LargeCommunity;

fn family() -> impl Strategy<Value = Family> {
    prop_oneof![Just(Family::Ipv4Unicast), Just(Family::Ipv6Unicast)]
}

fn prefix(family: Family) -> BoxedStrategy<Prefix> {
    match family {
        Family::Ipv4Unicast => (any::<u32>(), 0..=32u8)
            .prop_map(|(addr, len)| Prefix::new(IpAddr::V4(Ipv4Addr::from(addr)), len).unwrap())
            .boxed(),
        Family::Ipv6Unicast => (any::<u128>(), 0..=128u8)
            .prop_map(|(addr, len)| Prefix::new(IpAddr::V6(Ipv6Addr::from(addr)), len).unwrap())
            .boxed(),
    }
}

fn capability() -> impl Strategy<Value = Capability> {
    prop_oneof![
        family().prop_map(Capability::Multiprotocol),
        Just(Capability::RouteRefresh),
        any::<u32>().prop_map(Capability::FourOctetAs),
        (
            0..4096u16,
            any::<bool>(),
            vec((family(), any::<bool>()), 0..3)
        )
            .prop_map(
                |(restart_time, restarting, families)| Capability::GracefulRestart {
                    restart_time,
                    restarting,
                    families
                }
            ),
        (
            any::<u8>().prop_filter("known code", |c| ![1, 2, 64, 65].contains(c)),
            vec(any::<u8>(), 0..16)
        )
            .prop_map(|(code, data)| Capability::Unknown { code, data }),
    ]
}

fn open() -> impl Strategy<Value = Open> {
    (
        any::<u8>(),
        any::<u16>(),
        any::<u16>(),
        any::<u32>(),
        vec(capability(), 0..8),
    )
        .prop_map(|(version, my_as, hold_time, id, capabilities)| Open {
            version,
            my_as,
            hold_time,
            bgp_id: Ipv4Addr::from(id),
            capabilities,
        })
}

fn as_path(four_octet: bool) -> impl Strategy<Value = Vec<AsSegment>> {
    let max = if four_octet {
        u32::MAX
    } else {
        u32::from(u16::MAX)
    };
    let numbers = vec(0..=max, 1..10);
    vec(
        prop_oneof![
            numbers.clone().prop_map(AsSegment::Set),
            numbers.prop_map(AsSegment::Sequence)
        ],
        0..3,
    )
}

fn unicast_v4() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>()
        .prop_map(Ipv4Addr::from)
        .prop_filter("not unicast", |a| {
            !a.is_unspecified() && !a.is_broadcast() && !a.is_multicast()
        })
}

fn unicast_v6() -> impl Strategy<Value = IpAddr> {
    any::<u128>()
        .prop_map(|a| IpAddr::V6(Ipv6Addr::from(a)))
        .prop_filter("not unicast", |a| !a.is_unspecified() && !a.is_multicast())
}

fn next_hops() -> impl Strategy<Value = Vec<IpAddr>> {
    prop_oneof![
        unicast_v4().prop_map(|a| vec![IpAddr::V4(a)]),
        vec(unicast_v6(), 1..=2),
    ]
}

fn mp_reach() -> impl Strategy<Value = Attribute> {
    (family(), next_hops()).prop_flat_map(|(family, next_hops)| {
        vec(prefix(family), 0..20).prop_map(move |nlri| Attribute::MpReach {
            family,
            next_hops: next_hops.clone(),
            nlri,
        })
    })
}

fn mp_unreach() -> impl Strategy<Value = Attribute> {
    family().prop_flat_map(|family| {
        vec(prefix(family), 0..20)
            .prop_map(move |withdrawn| Attribute::MpUnreach { family, withdrawn })
    })
}

fn unknown_attribute() -> impl Strategy<Value = Attribute> {
    let known = [1, 2, 3, 4, 5, 8, 14, 15, 17, 32];
    (
        prop::sample::select(vec![0x80u8, 0xA0, 0xC0, 0xE0]),
        any::<u8>().prop_filter("known code", move |c| !known.contains(c)),
        vec(any::<u8>(), 0..300),
    )
        .prop_map(|(flags, code, data)| Attribute::Unknown { flags, code, data })
}

fn large_community() -> impl Strategy<Value = LargeCommunity> {
    (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(global, local1, local2)| LargeCommunity {
        global,
        local1,
        local2,
    })
}

fn update(four_octet: bool) -> impl Strategy<Value = Update> {
    let optional = (
        option::of(any::<u32>().prop_map(Attribute::MultiExitDisc)),
        option::of(any::<u32>().prop_map(Attribute::LocalPref)),
        option::of(vec(any::<u32>(), 0..20).prop_map(Attribute::Communities)),
        option::of(vec(large_community(), 0..10).prop_map(Attribute::LargeCommunities)),
        option::of(mp_reach()),
        option::of(mp_unreach()),
        option::of(as_path(true).prop_map(Attribute::As4Path)),
        option::of(unknown_attribute()),
    );
    let origin = prop_oneof![
        Just(Origin::Igp),
        Just(Origin::Egp),
        Just(Origin::Incomplete)
    ];
    (
        vec(prefix(Family::Ipv4Unicast), 0..20),
        vec(prefix(Family::Ipv4Unicast), 0..20),
        option::of(origin),
        option::of(as_path(four_octet)),
        option::of(unicast_v4()),
        optional,
    )
        .prop_flat_map(|(withdrawn, nlri, origin, path, next_hop, optional)| {
            let (med, local_pref, communities, large, reach, unreach, as4, unknown) = optional;
            let announces = !nlri.is_empty() || reach.is_some();
            // RFC 4271 §5: announced routes carry ORIGIN and AS_PATH, IPv4 ones NEXT_HOP too.
            let origin = origin
                .or(announces.then_some(Origin::Igp))
                .map(Attribute::Origin);
            let path = path.or(announces.then(Vec::new)).map(Attribute::AsPath);
            let next_hop = next_hop
                .or((!nlri.is_empty()).then_some(Ipv4Addr::new(192, 0, 2, 1)))
                .map(Attribute::NextHop);
            let attributes: Vec<Attribute> = [
                origin,
                path,
                next_hop,
                med,
                local_pref,
                communities,
                large,
                reach,
                unreach,
                as4,
                unknown,
            ]
            .into_iter()
            .flatten()
            .collect();
            Just(attributes)
                .prop_shuffle()
                .prop_map(move |attributes| Update {
                    withdrawn: withdrawn.clone(),
                    attributes,
                    nlri: nlri.clone(),
                })
        })
}

fn message(four_octet: bool) -> impl Strategy<Value = Message> {
    prop_oneof![
        open().prop_map(Message::Open),
        update(four_octet).prop_map(Message::Update),
        (any::<u8>(), any::<u8>(), vec(any::<u8>(), 0..64)).prop_map(|(code, subcode, data)| {
            Message::Notification(Notification::new(code, subcode, data))
        }),
        Just(Message::Keepalive),
        family().prop_map(|family| Message::RouteRefresh { family }),
    ]
}

fn codec_and_message() -> impl Strategy<Value = (Codec, Message)> {
    any::<bool>().prop_flat_map(|four_octet_as| {
        message(four_octet_as).prop_map(move |m| (Codec { four_octet_as }, m))
    })
}

/// Decoding `bytes` either yields messages or an error naming an RFC 4271 error code, both
/// through [`decode`] and through a [`Decoder`] fed in `chunk`-sized pieces.
fn decodes_or_fails_cleanly(bytes: &[u8], codec: Codec, chunk: usize) -> Result<(), TestCaseError> {
    match decode(bytes, codec) {
        Ok((_, used)) => prop_assert!((HEADER_LEN..=bytes.len()).contains(&used)),
        Err(error) => {
            let code = error.notification().code;
            prop_assert!((1..=6).contains(&code), "{error} gave code {code}");
            prop_assert!(!error.to_string().is_empty());
        }
    }
    let mut decoder = Decoder::new();
    for piece in bytes.chunks(chunk.max(1)) {
        decoder.feed(piece);
        loop {
            match decoder.next_message(codec) {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(error) => {
                    prop_assert!((1..=6).contains(&error.notification().code));
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn every_valid_message_round_trips((codec, message) in codec_and_message()) {
        let bytes = encode(&message, codec);
        prop_assert!(bytes.len() <= MAX_MESSAGE_LEN);
        prop_assert_eq!(decode(&bytes, codec)?, (message.clone(), bytes.len()));
        let mut decoder = Decoder::new();
        decoder.feed(&bytes);
        prop_assert_eq!(decoder.next_message(codec)?, Some(message));
    }

    #[test]
    fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..256), four in any::<bool>(), chunk in 1..64usize) {
        decodes_or_fails_cleanly(&bytes, Codec { four_octet_as: four }, chunk)?;
    }

    #[test]
    fn random_bodies_behind_a_valid_marker_never_panic(
        length in prop_oneof![19..=4096u16, any::<u16>()],
        message_type in 0..=6u8,
        body in vec(any::<u8>(), 0..600),
        four in any::<bool>(),
        chunk in 1..700usize,
    ) {
        let mut bytes = vec![0xFF; 16];
        bytes.extend_from_slice(&length.to_be_bytes());
        bytes.push(message_type);
        bytes.extend_from_slice(&body);
        decodes_or_fails_cleanly(&bytes, Codec { four_octet_as: four }, chunk)?;
    }

    #[test]
    fn truncated_and_mutated_messages_never_panic(
        (codec, message) in codec_and_message(),
        cut in any::<prop::sample::Index>(),
        mutations in vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        chunk in 1..300usize,
    ) {
        let bytes = encode(&message, codec);
        let mut mutated = bytes.clone();
        for (at, value) in mutations {
            // The marker is left intact so the mutation reaches the body.
            let at = HEADER_LEN - 3 + at.index(mutated.len() - HEADER_LEN + 3);
            mutated[at] = value;
        }
        decodes_or_fails_cleanly(&mutated, codec, chunk)?;
        decodes_or_fails_cleanly(&bytes[..cut.index(bytes.len())], codec, chunk)?;
    }
}
