use std::net::SocketAddr;

use ferrolb_bfd::{Diagnostic, State, encode};

use super::*;

const PEER: &str = "192.0.2.100";
const LOCAL: &str = "192.0.2.1";

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn key(hop: Hop, peer: &str) -> SessionKey {
    SessionKey {
        hop,
        peer: ip(peer),
        source: None,
    }
}

fn packet(your_discriminator: u32) -> ControlPacket {
    ControlPacket {
        diagnostic: Diagnostic::None,
        state: if your_discriminator == 0 {
            State::Down
        } else {
            State::Up
        },
        poll: false,
        final_: false,
        control_plane_independent: false,
        demand: false,
        detect_multiplier: 3,
        my_discriminator: 0xb0b,
        your_discriminator,
        desired_min_tx_interval: 100_000,
        required_min_rx_interval: 100_000,
        required_min_echo_rx_interval: 0,
    }
}

fn datagram(from: &str, to: Option<&str>, ttl: Option<u8>, packet: &ControlPacket) -> Datagram {
    Datagram {
        payload: encode(packet).to_vec(),
        source: SocketAddr::new(ip(from), 49200),
        destination: to.map(ip),
        ttl,
    }
}

/// A table with the given sessions, each with its inbox.
fn table(
    sessions: &[(u32, SessionKey, Option<&str>)],
) -> (Table, Vec<mpsc::Receiver<ControlPacket>>) {
    let mut table = Table::default();
    let mut inboxes = Vec::new();
    for (discriminator, key, local) in sessions {
        let (inbox, packets) = mpsc::channel(4);
        table.insert(
            *discriminator,
            Entry {
                key: *key,
                local: local.map(ip),
                minimum_ttl: 254,
                inbox,
            },
        );
        inboxes.push(packets);
    }
    (table, inboxes)
}

#[test]
fn your_discriminator_selects_the_session() {
    let (table, mut inboxes) = table(&[
        (1, key(Hop::Single, PEER), Some(LOCAL)),
        (2, key(Hop::Single, "192.0.2.101"), Some(LOCAL)),
    ]);
    let sent = packet(1);
    let delivered = table.deliver(Hop::Single, &datagram(PEER, Some(LOCAL), Some(255), &sent));
    assert_eq!(delivered, Ok(1));
    assert_eq!(inboxes[0].try_recv().unwrap(), sent);
    assert!(inboxes[1].try_recv().is_err());
}

#[test]
fn a_zero_your_discriminator_selects_by_peer_and_local_address() {
    let (table, _inboxes) = table(&[
        (1, key(Hop::Single, PEER), Some(LOCAL)),
        (2, key(Hop::Single, PEER), Some("192.0.2.2")),
        (3, key(Hop::Single, "192.0.2.101"), Some(LOCAL)),
    ]);
    let route = |to| {
        table
            .route(Hop::Single, &datagram(PEER, to, Some(255), &packet(0)))
            .map(|(d, _, _)| d)
    };
    assert_eq!(route(Some("192.0.2.2")), Ok(2));
    assert_eq!(route(Some(LOCAL)), Ok(1));
    assert!(
        matches!(route(Some("192.0.2.3")), Err(Dropped::NoSession { .. })),
        "no session has that local address"
    );
    assert!(
        matches!(route(None), Err(Dropped::NoSession { .. })),
        "two sessions to the peer, no destination to choose"
    );
}

#[test]
fn a_zero_your_discriminator_falls_back_to_the_only_session_without_a_local_address() {
    let (table, _inboxes) = table(&[(7, key(Hop::Single, PEER), None)]);
    let routed = table.route(
        Hop::Single,
        &datagram(PEER, Some(LOCAL), Some(255), &packet(0)),
    );
    assert_eq!(routed.map(|(d, _, _)| d), Ok(7));
    let routed = table.route(Hop::Single, &datagram(PEER, None, Some(255), &packet(0)));
    assert_eq!(routed.map(|(d, _, _)| d), Ok(7));
}

#[test]
fn single_hop_packets_need_ttl_255() {
    let (table, _inboxes) = table(&[(1, key(Hop::Single, PEER), Some(LOCAL))]);
    for ttl in [Some(254), Some(64), None] {
        let routed = table.route(Hop::Single, &datagram(PEER, Some(LOCAL), ttl, &packet(1)));
        assert!(
            matches!(routed, Err(Dropped::Ttl { .. })),
            "{ttl:?}: {routed:?}"
        );
    }
}

#[test]
fn multi_hop_packets_need_the_minimum_ttl_of_their_session() {
    let (mut table, _inboxes) = table(&[(1, key(Hop::Multi, PEER), Some(LOCAL))]);
    let route = |table: &Table, ttl| {
        table
            .route(
                Hop::Multi,
                &datagram(PEER, Some(LOCAL), Some(ttl), &packet(1)),
            )
            .map(|(d, _, _)| d)
    };
    assert_eq!(route(&table, 254), Ok(1));
    assert!(matches!(route(&table, 253), Err(Dropped::Ttl { .. })));
    table.set_minimum_ttl(1, 250);
    assert_eq!(route(&table, 250), Ok(1));
    assert!(matches!(route(&table, 249), Err(Dropped::Ttl { .. })));
}

#[test]
fn a_discriminator_of_the_other_hop_kind_or_from_another_peer_is_refused() {
    let (table, _inboxes) = table(&[
        (1, key(Hop::Single, PEER), Some(LOCAL)),
        (2, key(Hop::Multi, PEER), Some(LOCAL)),
    ]);
    let on_multi = table.route(
        Hop::Multi,
        &datagram(PEER, Some(LOCAL), Some(255), &packet(1)),
    );
    assert!(matches!(
        on_multi,
        Err(Dropped::UnknownDiscriminator { .. })
    ));
    let stranger = table.route(
        Hop::Single,
        &datagram("192.0.2.66", Some(LOCAL), Some(255), &packet(1)),
    );
    assert!(matches!(stranger, Err(Dropped::WrongSource { .. })));
    let unknown = table.route(
        Hop::Single,
        &datagram(PEER, Some(LOCAL), Some(255), &packet(9)),
    );
    assert!(matches!(unknown, Err(Dropped::UnknownDiscriminator { .. })));
}

#[test]
fn malformed_packets_are_dropped_with_the_codec_error() {
    let (table, _inboxes) = table(&[(1, key(Hop::Single, PEER), Some(LOCAL))]);
    let mut short = datagram(PEER, Some(LOCAL), Some(255), &packet(1));
    short.payload.truncate(20);
    let routed = table.route(Hop::Single, &short);
    assert!(matches!(
        routed,
        Err(Dropped::Malformed {
            error: DecodeError::Truncated { payload: 20 },
            ..
        })
    ));
}

#[test]
fn ipv4_mapped_sources_match_ipv4_sessions_and_ipv6_works_alike() {
    let (table, _inboxes) = table(&[
        (1, key(Hop::Single, PEER), Some(LOCAL)),
        (2, key(Hop::Single, "2001:db8::100"), Some("2001:db8::1")),
    ]);
    let mapped = table.route(
        Hop::Single,
        &datagram("::ffff:192.0.2.100", Some(LOCAL), Some(255), &packet(0)),
    );
    assert_eq!(mapped.map(|(d, _, _)| d), Ok(1));
    let v6 = table.route(
        Hop::Single,
        &datagram("2001:db8::100", Some("2001:db8::1"), Some(255), &packet(0)),
    );
    assert_eq!(v6.map(|(d, _, _)| d), Ok(2));
}

#[test]
fn a_full_inbox_drops_the_packet() {
    let (table, _inboxes) = table(&[(1, key(Hop::Single, PEER), Some(LOCAL))]);
    let datagram = datagram(PEER, Some(LOCAL), Some(255), &packet(1));
    for _ in 0..4 {
        assert_eq!(table.deliver(Hop::Single, &datagram), Ok(1));
    }
    assert!(matches!(
        table.deliver(Hop::Single, &datagram),
        Err(Dropped::Busy { .. })
    ));
}

#[tokio::test]
async fn the_receive_loop_delivers_what_the_listener_reads() {
    let (network, wire) = crate::bfd::fake::FakeNetwork::new(ip(LOCAL));
    let (table, mut inboxes) = table(&[(1, key(Hop::Single, PEER), Some(LOCAL))]);
    let listener = super::super::socket::Network::listen(
        &network,
        super::super::socket::Family::Ipv4,
        Hop::Single,
    )
    .unwrap();
    let task = tokio::spawn(receive(listener, Hop::Single, Arc::new(Mutex::new(table))));
    wire.inject(Hop::Single, ip(PEER), &packet(1), 64);
    wire.from_peer(ip(PEER), &packet(1));
    let received = inboxes[0].recv().await.unwrap();
    assert_eq!(
        received,
        packet(1),
        "the packet with TTL 255, after the one with 64"
    );
    assert!(inboxes[0].try_recv().is_err());
    task.abort();
}
