//! Each message kind from hand-written bytes, decoded and encoded back to the same bytes.

use super::*;

#[test]
fn a_keepalive_is_a_bare_header() {
    let bytes = wire(4, &[]);
    assert_eq!(bytes.len(), 19);
    decodes_to(&bytes, TWO, &Message::Keepalive);
}

#[test]
fn an_open_with_capabilities_decodes_from_its_rfc_layout() {
    let body = [
        4, 0xFD, 0xE9, 0, 90, 192, 0, 2, 1, // version, AS 65001, hold 90, id
        16, 2, 14, // optional parameters, one capabilities parameter
        1, 4, 0, 1, 0, 1, // multiprotocol ipv4 unicast
        2, 0, // route refresh
        65, 4, 0, 0, 0xFD, 0xE9, // four-octet AS 65001
    ];
    let open = Open {
        version: 4,
        my_as: 65001,
        hold_time: 90,
        bgp_id: Ipv4Addr::new(192, 0, 2, 1),
        capabilities: vec![
            Capability::Multiprotocol(Family::Ipv4Unicast),
            Capability::RouteRefresh,
            Capability::FourOctetAs(65001),
        ],
    };
    assert_eq!(open.asn(), 65001);
    decodes_to(&wire(1, &body), TWO, &Message::Open(open));
}

#[test]
fn capabilities_split_across_parameters_are_all_read() {
    let body = [
        4, 0x5B, 0xA0, 0, 0, 10, 0, 0, 1, 10, // AS_TRANS, hold 0
        2, 2, 2, 0, // route refresh alone
        2, 4, 128, 2, 0, 0, // an old private capability
    ];
    let Message::Open(open) = decode(&wire(1, &body), TWO).unwrap().0 else {
        panic!("expected an open");
    };
    assert_eq!(
        open.capabilities,
        [
            Capability::RouteRefresh,
            Capability::Unknown {
                code: 128,
                data: vec![0, 0]
            }
        ]
    );
    assert_eq!(open.asn(), u32::from(AS_TRANS));
}

#[test]
fn an_ipv4_update_decodes_from_its_rfc_layout() {
    let mut body = vec![0, 0, 0, 18];
    body.extend_from_slice(&ORIGIN_IGP);
    body.extend_from_slice(&AS_PATH_65001);
    body.extend_from_slice(&NEXT_HOP);
    body.extend_from_slice(&[32, 203, 0, 113, 10, 24, 198, 51, 100]);
    let update = Update {
        withdrawn: vec![],
        attributes: vec![
            Attribute::Origin(Origin::Igp),
            Attribute::AsPath(vec![AsSegment::Sequence(vec![65001])]),
            Attribute::NextHop(Ipv4Addr::new(192, 0, 2, 1)),
        ],
        nlri: vec![p("203.0.113.10/32"), p("198.51.100.0/24")],
    };
    decodes_to(&wire(2, &body), TWO, &Message::Update(update));
}

#[test]
fn an_update_with_communities_and_local_pref_decodes_with_four_octet_paths() {
    let mut body = vec![0, 5, 32, 10, 0, 0, 1, 0, 53];
    body.extend_from_slice(&[0x40, 1, 1, 2]); // origin incomplete
    body.extend_from_slice(&[0x40, 2, 6, 2, 1, 0xFA, 0x56, 0xEA, 0x00]);
    body.extend_from_slice(&NEXT_HOP);
    body.extend_from_slice(&[0x40, 5, 4, 0, 0, 0, 150]);
    body.extend_from_slice(&[0xC0, 8, 8, 0xFD, 0xE8, 0, 1, 0xFF, 0xFF, 0xFF, 0x01]);
    body.extend_from_slice(&[0xC0, 32, 12, 0, 0, 0xFD, 0xE8, 0, 0, 0, 1, 0, 0, 0, 2]);
    body.extend_from_slice(&[32, 203, 0, 113, 10]);
    let update = Update {
        withdrawn: vec![p("10.0.0.1/32")],
        attributes: vec![
            Attribute::Origin(Origin::Incomplete),
            Attribute::AsPath(vec![AsSegment::Sequence(vec![4_200_000_000])]),
            Attribute::NextHop(Ipv4Addr::new(192, 0, 2, 1)),
            Attribute::LocalPref(150),
            Attribute::Communities(vec![0xFDE8_0001, 0xFFFF_FF01]),
            Attribute::LargeCommunities(vec![LargeCommunity {
                global: 65000,
                local1: 1,
                local2: 2,
            }]),
        ],
        nlri: vec![p("203.0.113.10/32")],
    };
    decodes_to(&wire(2, &body), FOUR, &Message::Update(update));
}

#[test]
fn ipv6_routes_travel_in_the_multiprotocol_attributes() {
    let hop: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let update = Update {
        withdrawn: vec![],
        attributes: vec![
            Attribute::Origin(Origin::Igp),
            Attribute::AsPath(vec![]),
            Attribute::MpReach {
                family: Family::Ipv6Unicast,
                next_hops: vec![IpAddr::V6(hop)],
                nlri: vec![p("2001:db8:5::10/128")],
            },
            Attribute::MpUnreach {
                family: Family::Ipv6Unicast,
                withdrawn: vec![p("2001:db8:6::/64")],
            },
        ],
        nlri: vec![],
    };
    let bytes = encode(&Message::Update(update.clone()), FOUR);
    // MP_REACH_NLRI: optional, non-transitive, type 14, AFI 2, SAFI 1, next hop length 16.
    let reach = bytes.windows(6).position(|w| w == [0x80, 14, 38, 0, 2, 1]);
    assert!(reach.is_some(), "{bytes:02x?}");
    decodes_to(&bytes, FOUR, &Message::Update(update));
}

#[test]
fn notification_and_route_refresh_round_trip() {
    decodes_to(
        &wire(3, &[6, 2]),
        TWO,
        &Message::Notification(Notification::administrative_shutdown()),
    );
    decodes_to(
        &wire(3, &[1, 2, 0x13, 0x88]),
        TWO,
        &Message::Notification(Notification::new(1, 2, vec![0x13, 0x88])),
    );
    decodes_to(
        &wire(5, &[0, 2, 0, 1]),
        TWO,
        &Message::RouteRefresh {
            family: Family::Ipv6Unicast,
        },
    );
}

#[test]
fn long_attributes_use_the_extended_length_flag() {
    let communities: Vec<u32> = (0..100).collect();
    let update = Update {
        attributes: vec![Attribute::Communities(communities)],
        ..Update::default()
    };
    let bytes = encode(&Message::Update(update.clone()), TWO);
    assert_eq!(&bytes[23..27], [0xD0, 8, 0x01, 0x90]);
    decodes_to(&bytes, TWO, &Message::Update(update));
}

#[test]
fn unknown_optional_attributes_are_kept_with_their_flags() {
    let mut attributes = vec![0xE0, 99, 2, 7, 7];
    attributes.extend_from_slice(&[0x40, 6, 0]); // atomic aggregate
    let mut body = vec![0, 0, 0, attributes.len() as u8];
    body.extend_from_slice(&attributes);
    let Message::Update(update) = decode(&wire(2, &body), TWO).unwrap().0 else {
        panic!("expected an update");
    };
    assert_eq!(
        update.attributes,
        [
            Attribute::Unknown {
                flags: 0xE0,
                code: 99,
                data: vec![7, 7]
            },
            Attribute::Unknown {
                flags: 0x40,
                code: 6,
                data: vec![]
            }
        ]
    );
}

#[test]
fn a_withdrawal_needs_no_path_attributes() {
    let update = Update {
        withdrawn: vec![p("203.0.113.10/32")],
        ..Update::default()
    };
    decodes_to(
        &wire(2, &[0, 5, 32, 203, 0, 113, 10, 0, 0]),
        TWO,
        &Message::Update(update),
    );
}

#[test]
fn end_of_rib_markers_round_trip() {
    for family in [Family::Ipv4Unicast, Family::Ipv6Unicast] {
        let bytes = encode(&Message::Update(Update::end_of_rib(family)), FOUR);
        let Message::Update(update) = decode(&bytes, FOUR).unwrap().0 else {
            panic!("expected an update");
        };
        assert_eq!(update.end_of_rib_family(), Some(family));
    }
}
