use super::*;
use proptest::prelude::*;

const CLIENT: Mac = Mac([0x02, 0, 0, 0, 0, 0x10]);
const SPEAKER: Mac = Mac([0x02, 0, 0, 0, 0, 0x01]);

fn client_ip() -> Ipv6Addr {
    "2001:db8::100".parse().unwrap()
}

fn owned_ip() -> Ipv6Addr {
    "2001:db8::a:10".parse().unwrap()
}

/// A solicitation built by hand the way a host sends it, with a source link-address option.
fn solicitation(source: Ipv6Addr, destination: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
    let mut icmp = vec![TYPE_NEIGHBOR_SOLICITATION, 0, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&target.octets());
    if !source.is_unspecified() {
        icmp.extend_from_slice(&[OPTION_SOURCE_LINK_ADDRESS, 1]);
        icmp.extend_from_slice(&CLIENT.0);
    }
    let sum = checksum(source, destination, &icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut frame = Vec::new();
    let ethernet_destination = if destination.is_multicast() {
        multicast_mac(destination)
    } else {
        SPEAKER
    };
    push_ethernet(&mut frame, ethernet_destination, CLIENT, ETHERTYPE_IPV6);
    frame.extend_from_slice(&[0x60, 0, 0, 0]);
    frame.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    frame.extend_from_slice(&[NEXT_HEADER_ICMPV6, 255]);
    frame.extend_from_slice(&source.octets());
    frame.extend_from_slice(&destination.octets());
    frame.extend_from_slice(&icmp);
    frame
}

#[test]
fn the_solicited_node_address_keeps_the_last_24_bits() {
    assert_eq!(
        solicited_node("2001:db8::1234:5678".parse().unwrap()),
        "ff02::1:ff34:5678".parse::<Ipv6Addr>().unwrap()
    );
    assert_eq!(
        multicast_mac("ff02::1:ff34:5678".parse().unwrap()),
        Mac([0x33, 0x33, 0xff, 0x34, 0x56, 0x78])
    );
}

#[test]
fn a_message_carrying_its_checksum_sums_to_zero() {
    // The receiver's check (RFC 1071): summing a message that carries its own checksum
    // yields zero, which only holds when the pseudo-header and fold are right on both sides.
    let source: Ipv6Addr = "fe80::1".parse().unwrap();
    let destination: Ipv6Addr = "ff02::1:ff00:2".parse().unwrap();
    let mut icmp = vec![TYPE_NEIGHBOR_SOLICITATION, 0, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&"fe80::2".parse::<Ipv6Addr>().unwrap().octets());
    let sum = checksum(source, destination, &icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    assert_eq!(checksum(source, destination, &icmp), 0);
    assert_ne!(sum, 0);
}

#[test]
fn a_multicast_solicitation_parses_with_its_source_link_address() {
    let frame = solicitation(client_ip(), solicited_node(owned_ip()), owned_ip());
    assert_eq!(
        parse(&frame),
        Some(Message::Solicitation {
            ethernet_source: CLIENT,
            source: client_ip(),
            target: owned_ip(),
            source_link_address: Some(CLIENT),
        })
    );
}

#[test]
fn the_reply_is_solicited_and_override_unicast_to_the_solicitor() {
    let ns = parse(&solicitation(
        client_ip(),
        solicited_node(owned_ip()),
        owned_ip(),
    ))
    .unwrap();
    let frame = reply(&ns, SPEAKER).unwrap();
    assert_eq!(&frame[0..6], &CLIENT.0);
    assert_eq!(&frame[6..12], &SPEAKER.0);
    assert_eq!(
        parse(&frame),
        Some(Message::Advertisement {
            source: owned_ip(),
            target: owned_ip(),
            flags: Flags {
                router: false,
                solicited: true,
                override_: true
            },
            target_link_address: Some(SPEAKER),
        })
    );
}

#[test]
fn a_unicast_reachability_probe_is_answered_like_a_multicast_one() {
    let ns = parse(&solicitation(client_ip(), owned_ip(), owned_ip())).unwrap();
    let frame = reply(&ns, SPEAKER).unwrap();
    assert_eq!(&frame[0..6], &CLIENT.0);
    assert!(matches!(
        parse(&frame),
        Some(Message::Advertisement {
            flags: Flags {
                solicited: true,
                ..
            },
            ..
        })
    ));
}

#[test]
fn a_duplicate_address_probe_is_answered_to_all_nodes_without_the_solicited_flag() {
    let ns = parse(&solicitation(
        Ipv6Addr::UNSPECIFIED,
        solicited_node(owned_ip()),
        owned_ip(),
    ))
    .unwrap();
    let frame = reply(&ns, SPEAKER).unwrap();
    assert_eq!(&frame[0..6], &multicast_mac(ALL_NODES).0);
    let Some(Message::Advertisement { flags, .. }) = parse(&frame) else {
        panic!("the answer to a probe is not an advertisement");
    };
    assert!(!flags.solicited && flags.override_);
}

#[test]
fn the_unsolicited_advertisement_goes_to_all_nodes_with_override() {
    let frame = unsolicited(owned_ip(), SPEAKER);
    assert_eq!(&frame[0..6], &[0x33, 0x33, 0, 0, 0, 1]);
    assert_eq!(
        parse(&frame),
        Some(Message::Advertisement {
            source: owned_ip(),
            target: owned_ip(),
            flags: Flags {
                router: false,
                solicited: false,
                override_: true
            },
            target_link_address: Some(SPEAKER),
        })
    );
}

#[test]
fn a_wrong_checksum_a_low_hop_limit_or_a_zero_length_option_is_rejected() {
    let frame = solicitation(client_ip(), solicited_node(owned_ip()), owned_ip());
    let icmp = ETHERNET_HEADER + IPV6_HEADER;
    let mut bad_sum = frame.clone();
    bad_sum[icmp + 2] ^= 0xff;
    assert_eq!(parse(&bad_sum), None);
    let mut forwarded = frame.clone();
    forwarded[ETHERNET_HEADER + 7] = 64;
    assert_eq!(parse(&forwarded), None);
    let mut zero_option = frame;
    zero_option[icmp + 25] = 0;
    assert_eq!(parse(&zero_option), None);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_the_parser(bytes in proptest::collection::vec(any::<u8>(), 0..160)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn a_valid_solicitation_with_random_bytes_flipped_never_panics(
        flips in proptest::collection::vec((0usize..86, any::<u8>()), 0..8),
        cut in 0usize..=86,
    ) {
        let mut frame = solicitation(client_ip(), solicited_node(owned_ip()), owned_ip());
        for (at, value) in flips {
            frame[at] = value;
        }
        frame.truncate(cut);
        let _ = parse(&frame);
    }
}

#[test]
fn checksum_matches_an_independently_computed_value() {
    // Computed with a separate Python implementation of the RFC 8200 pseudo-header sum.
    let mut icmp = vec![TYPE_NEIGHBOR_SOLICITATION, 0, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&"fe80::2".parse::<Ipv6Addr>().unwrap().octets());
    assert_eq!(
        checksum(
            "fe80::1".parse().unwrap(),
            "ff02::1:ff00:2".parse().unwrap(),
            &icmp
        ),
        0x7da1
    );
}
