//! The service over a fake network: sessions started, shared listeners, a packet routed from
//! the wire to its session, reconfiguration in place, stopping with AdminDown, and the
//! problems of a taken port and a transmitter that cannot open yet.

use std::net::IpAddr;

use ferrolb_bfd::{ControlPacket, Diagnostic, State};

use super::*;
use crate::bfd::fake::{FakeNetwork, Wire};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn key(peer: &str) -> SessionKey {
    SessionKey {
        hop: Hop::Single,
        peer: ip(peer),
        source: None,
    }
}

fn fast() -> SessionConfig {
    SessionConfig::new(ms(100), ms(100), 3).unwrap()
}

fn service() -> (Service<FakeNetwork>, Wire) {
    let (network, wire) = FakeNetwork::new(ip("192.0.2.1"));
    (Service::new(network, Metrics::new()), wire)
}

fn wanted(list: &[(SessionKey, SessionConfig)]) -> BTreeMap<SessionKey, SessionConfig> {
    list.iter().copied().collect()
}

/// The peer's answer to `ours`: Down to a Down, Up to an Init.
fn answer(ours: &ControlPacket) -> ControlPacket {
    ControlPacket {
        diagnostic: Diagnostic::None,
        state: match ours.state {
            State::Down => State::Init,
            _ => State::Up,
        },
        poll: false,
        final_: ours.poll,
        control_plane_independent: false,
        demand: false,
        detect_multiplier: 3,
        my_discriminator: 0xb0b,
        your_discriminator: ours.my_discriminator,
        desired_min_tx_interval: 100_000,
        required_min_rx_interval: 100_000,
        required_min_echo_rx_interval: 0,
    }
}

#[tokio::test(start_paused = true)]
async fn a_session_comes_up_through_the_listener_and_publishes_up() {
    let (mut service, mut wire) = service();
    let router = key("192.0.2.100");
    assert!(service.start(&wanted(&[(router, fast())])).is_empty());
    let mut status = service.status(&router).unwrap();
    let first = wire.next_sent().await;
    assert_eq!(first.key, router);
    assert_eq!(first.packet.state, State::Down);
    wire.from_peer(router.peer, &answer(&first.packet));
    let status = status.wait_for(|s| s.state == State::Up).await.unwrap();
    assert_eq!(status.failures, 0);
}

#[tokio::test(start_paused = true)]
async fn sessions_get_distinct_discriminators_and_share_a_listener() {
    let (mut service, mut wire) = service();
    let sessions = wanted(&[(key("192.0.2.100"), fast()), (key("192.0.2.101"), fast())]);
    assert!(service.start(&sessions).is_empty());
    let a = wire.next_sent().await;
    let b = wire.next_sent().await;
    assert_ne!(a.key, b.key);
    assert_ne!(a.packet.my_discriminator, b.packet.my_discriminator);
    assert_eq!(service.listeners.len(), 1, "one IPv4 single-hop listener");
    assert_eq!(wire.opened_transmitters(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_changed_profile_reconfigures_the_running_session() {
    let (mut service, mut wire) = service();
    let router = key("192.0.2.100");
    service.start(&wanted(&[(router, fast())]));
    let first = wire.next_sent().await;
    let discriminator = first.packet.my_discriminator;
    let slower = SessionConfig::new(ms(100), ms(500), 3).unwrap();
    service.start(&wanted(&[(router, slower)]));
    let next = loop {
        let sent = wire.next_sent().await;
        if sent.packet.required_min_rx_interval == 500_000 {
            break sent;
        }
    };
    assert_eq!(
        next.packet.my_discriminator, discriminator,
        "the same session"
    );
    assert_eq!(wire.opened_transmitters(), 1);
}

#[tokio::test(start_paused = true)]
async fn retain_stops_the_others_with_admin_down_and_forgets_them() {
    let (mut service, mut wire) = service();
    let (kept, dropped) = (key("192.0.2.100"), key("192.0.2.101"));
    let all = wanted(&[(kept, fast()), (dropped, fast())]);
    service.start(&all);
    let mut dropped_discriminator = None;
    while dropped_discriminator.is_none() {
        let sent = wire.next_sent().await;
        if sent.key == dropped {
            dropped_discriminator = Some(sent.packet.my_discriminator);
        }
    }
    service.retain(&wanted(&[(kept, fast())])).await;
    assert!(service.status(&dropped).is_none());
    assert!(service.status(&kept).is_some());
    let admin_down = loop {
        let sent = wire.next_sent().await;
        if sent.key == dropped {
            break sent;
        }
    };
    assert_eq!(admin_down.packet.state, State::AdminDown);
    assert!(!service.table().contains(dropped_discriminator.unwrap()));
    service.stop_all().await;
    assert!(service.sessions.is_empty() && service.listeners.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_taken_port_is_reported_and_tried_again() {
    let (mut service, wire) = service();
    wire.refuse_listener(Family::Ipv4, Hop::Single, true);
    let router = key("192.0.2.100");
    let problems = service.start(&wanted(&[(router, fast())]));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0]
            .starts_with("cannot listen for single-hop BFD packets over Ipv4 on UDP port 3784"),
        "{}",
        problems[0]
    );
    assert!(
        service.status(&router).is_some(),
        "the session runs meanwhile"
    );
    wire.refuse_listener(Family::Ipv4, Hop::Single, false);
    assert!(service.start(&wanted(&[(router, fast())])).is_empty());
    assert_eq!(service.listeners.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_transmitter_that_cannot_open_yet_is_tried_every_second() {
    let (mut service, mut wire) = service();
    wire.fail_transmitters(2);
    let started = tokio::time::Instant::now();
    service.start(&wanted(&[(key("192.0.2.100"), fast())]));
    let first = wire.next_sent().await;
    assert_eq!(first.at - started, ms(2000));
    assert_eq!(wire.opened_transmitters(), 1);
}
