//! The OPEN exchange: what the peer's OPEN must satisfy and what both sides settle on.

use super::*;

#[test]
fn an_acceptable_open_is_answered_with_a_keepalive_and_negotiated_timers() {
    let mut session = open_sent(config());
    let actions = session.handle(received(peer_open(PEER_AS, 30)));
    assert_eq!(
        actions,
        [
            Action::Send(Message::Keepalive),
            Action::StartTimer(Timer::Hold, secs(30)),
            Action::StartTimer(Timer::Keepalive, secs(10)),
        ]
    );
    assert_eq!(session.state(), State::OpenConfirm);
    assert!(session.codec().four_octet_as);
}

#[test]
fn a_configured_keepalive_replaces_a_third_of_the_hold_time() {
    let mut session = open_sent(SessionConfig {
        keepalive_time: Some(secs(5)),
        ..config()
    });
    let actions = session.handle(received(peer_open(PEER_AS, 180)));
    assert!(actions.contains(&Action::StartTimer(Timer::Hold, secs(90))));
    assert!(actions.contains(&Action::StartTimer(Timer::Keepalive, secs(5))));
}

#[test]
fn a_zero_hold_time_runs_neither_hold_timer_nor_keepalives() {
    let mut session = open_sent(config());
    let actions = session.handle(received(peer_open(PEER_AS, 0)));
    assert_eq!(
        actions,
        [
            Action::Send(Message::Keepalive),
            Action::StopTimer(Timer::Hold)
        ]
    );
    let actions = session.handle(Event::Received(Message::Keepalive));
    assert_eq!(actions.len(), 1, "{actions:?}");
    let negotiated = session.negotiated().unwrap();
    assert_eq!(
        (negotiated.hold_time, negotiated.keepalive),
        (Duration::ZERO, Duration::ZERO)
    );
    assert_eq!(session.handle(Event::Received(Message::Keepalive)), []);
}

#[test]
fn the_first_keepalive_establishes_the_session_with_what_was_negotiated() {
    let mut session = open_sent(config());
    session.handle(received(peer_open(PEER_AS, 90)));
    let actions = session.handle(Event::Received(Message::Keepalive));
    let negotiated = Negotiated {
        peer_as: PEER_AS,
        peer_id: PEER_ID,
        hold_time: secs(90),
        keepalive: secs(30),
        four_octet_as: true,
        families: [Family::Ipv4Unicast].into(),
        route_refresh: true,
        ibgp: false,
        graceful_restart: false,
    };
    assert_eq!(
        actions,
        [
            Action::Established(negotiated.clone()),
            Action::StartTimer(Timer::Hold, secs(90)),
            Action::StartTimer(Timer::Keepalive, secs(30)),
        ]
    );
    assert_eq!(session.state(), State::Established);
    assert_eq!(session.negotiated(), Some(&negotiated));
}

#[test]
fn a_peer_without_multiprotocol_capabilities_gets_ipv4_only() {
    let mut session = open_sent(config());
    let mut open = peer_open(PEER_AS, 90);
    open.capabilities = vec![];
    session.handle(received(open));
    let negotiated = session.negotiated().unwrap();
    assert_eq!(negotiated.families, BTreeSet::from([Family::Ipv4Unicast]));
    assert!(!negotiated.four_octet_as && !negotiated.route_refresh);
    assert!(!session.codec().four_octet_as);
}

#[test]
fn a_peer_in_the_wrong_as_is_refused_with_bad_peer_as() {
    let mut session = open_sent(config());
    let actions = session.handle(received(peer_open(65003, 90)));
    assert_eq!(
        sent_notification(&actions),
        Some(&Notification::new(2, 2, vec![]))
    );
    assert!(actions.contains(&Action::Disconnect));
    assert_eq!(
        down_reason(&actions),
        Some("peer AS 65003 does not match the configured 65002")
    );
    assert_eq!(retry_delay(&actions), Some(secs(2)));
    session.handle(Event::Expired(Timer::ConnectRetry));
    session.handle(Event::TcpConnected);
    let actions = session.handle(received(peer_open(65003, 90)));
    assert_eq!(retry_delay(&actions), Some(secs(4)));
}

#[test]
fn the_peer_as_comes_from_the_four_octet_capability() {
    let mut session = open_sent(SessionConfig {
        peer_as: PeerAs::Fixed(4_200_000_000),
        ..config()
    });
    let open = peer_open(4_200_000_000, 90);
    assert_eq!(open.my_as, AS_TRANS);
    session.handle(received(open));
    assert_eq!(session.state(), State::OpenConfirm);
    assert_eq!(session.negotiated().unwrap().peer_as, 4_200_000_000);
}

#[test]
fn a_dynamic_internal_peer_must_share_our_as() {
    let internal = SessionConfig {
        peer_as: PeerAs::Internal,
        ..config()
    };
    let mut session = open_sent(internal.clone());
    session.handle(received(peer_open(LOCAL_AS, 90)));
    assert_eq!(session.state(), State::OpenConfirm);
    assert!(session.negotiated().unwrap().ibgp);

    let mut session = open_sent(internal);
    let actions = session.handle(received(peer_open(PEER_AS, 90)));
    assert_eq!(
        sent_notification(&actions).map(|n| (n.code, n.subcode)),
        Some((2, 2))
    );
    assert_eq!(
        down_reason(&actions),
        Some("peer AS 65002 is not the local AS 65001 an internal peer must have")
    );
}

#[test]
fn a_dynamic_external_peer_must_be_in_another_as() {
    let external = SessionConfig {
        peer_as: PeerAs::External,
        ..config()
    };
    let mut session = open_sent(external.clone());
    session.handle(received(peer_open(64512, 90)));
    assert_eq!(
        session.negotiated().map(|n| (n.peer_as, n.ibgp)),
        Some((64512, false))
    );

    let mut session = open_sent(external);
    let actions = session.handle(received(peer_open(LOCAL_AS, 90)));
    assert_eq!(
        sent_notification(&actions).map(|n| (n.code, n.subcode)),
        Some((2, 2))
    );
    assert_eq!(session.state(), State::Active);
}

#[test]
fn a_hold_time_of_one_or_two_seconds_is_unacceptable() {
    for hold in [1, 2] {
        let mut session = open_sent(config());
        let actions = session.handle(received(peer_open(PEER_AS, hold)));
        assert_eq!(
            sent_notification(&actions),
            Some(&Notification::new(2, 6, vec![]))
        );
        assert_eq!(
            down_reason(&actions).unwrap(),
            format!("peer proposed a hold time of {hold} s, below the minimum of 3 s")
        );
    }
}

#[test]
fn a_zero_or_internal_duplicate_bgp_identifier_is_refused() {
    let mut session = open_sent(config());
    let mut open = peer_open(PEER_AS, 90);
    open.bgp_id = Ipv4Addr::UNSPECIFIED;
    let actions = session.handle(received(open));
    assert_eq!(
        sent_notification(&actions),
        Some(&Notification::new(2, 3, vec![]))
    );

    let mut session = open_sent(SessionConfig {
        peer_as: PeerAs::Internal,
        ..config()
    });
    let mut open = peer_open(LOCAL_AS, 90);
    open.bgp_id = ROUTER_ID;
    let actions = session.handle(received(open));
    assert_eq!(
        sent_notification(&actions),
        Some(&Notification::new(2, 3, vec![]))
    );

    // An external peer may reuse our identifier (RFC 6286 only requires AS-wide uniqueness).
    let mut session = open_sent(config());
    let mut open = peer_open(PEER_AS, 90);
    open.bgp_id = ROUTER_ID;
    session.handle(received(open));
    assert_eq!(session.state(), State::OpenConfirm);
}

#[test]
fn an_open_of_another_version_is_refused_naming_version_4() {
    let mut session = open_sent(config());
    let mut open = peer_open(PEER_AS, 90);
    open.version = 3;
    let actions = session.handle(received(open));
    assert_eq!(
        sent_notification(&actions),
        Some(&Notification::new(2, 1, vec![0, 4]))
    );
}
