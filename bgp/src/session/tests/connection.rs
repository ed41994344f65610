//! Starting, connecting, backing off, stopping, and events that arrive in a state with no
//! connection to apply them to.

use super::*;

#[test]
fn start_connects_at_once() {
    let mut session = Session::new(config());
    assert_eq!(session.state(), State::Idle);
    assert_eq!(session.handle(Event::Start), [Action::Connect]);
    assert_eq!(session.state(), State::Connect);
    assert_eq!(session.handle(Event::Start), []);
}

#[test]
fn a_connection_sends_our_open_and_waits_four_minutes_for_theirs() {
    let mut session = Session::new(config());
    session.handle(Event::Start);
    let actions = session.handle(Event::TcpConnected);
    assert_eq!(
        actions,
        [
            Action::Send(Message::Open(config().open())),
            Action::StartTimer(Timer::Hold, secs(240)),
        ]
    );
    let Action::Send(Message::Open(open)) = &actions[0] else {
        unreachable!()
    };
    assert_eq!(
        (open.my_as, open.hold_time, open.bgp_id),
        (65001, 90, ROUTER_ID)
    );
    assert!(
        open.capabilities
            .contains(&Capability::FourOctetAs(LOCAL_AS))
    );
    assert!(open.capabilities.contains(&Capability::RouteRefresh));
    assert!(
        open.capabilities
            .contains(&Capability::Multiprotocol(Family::Ipv6Unicast))
    );
}

#[test]
fn a_four_octet_local_as_is_sent_as_as_trans_with_the_real_one_in_the_capability() {
    let mut session = Session::new(SessionConfig {
        local_as: 4_200_000_000,
        ..config()
    });
    session.handle(Event::Start);
    let actions = session.handle(Event::TcpConnected);
    let Action::Send(Message::Open(open)) = &actions[0] else {
        panic!("expected an open first, got {actions:?}");
    };
    assert_eq!(open.my_as, 23456);
    assert!(
        open.capabilities
            .contains(&Capability::FourOctetAs(4_200_000_000))
    );
}

#[test]
fn connection_failures_back_off_doubling_up_to_the_maximum() {
    let mut session = Session::new(config());
    session.handle(Event::Start);
    let mut delays = Vec::new();
    for _ in 0..6 {
        let actions = session.handle(Event::TcpFailed);
        assert_eq!(session.state(), State::Active);
        assert_eq!(down_reason(&actions), None);
        delays.push(retry_delay(&actions).unwrap().as_secs());
        assert_eq!(
            session.handle(Event::Expired(Timer::ConnectRetry)),
            [Action::Connect]
        );
        assert_eq!(session.state(), State::Connect);
    }
    assert_eq!(delays, [2, 4, 8, 16, 20, 20]);
}

#[test]
fn establishing_resets_the_backoff() {
    let mut session = Session::new(config());
    session.handle(Event::Start);
    for _ in 0..3 {
        session.handle(Event::TcpFailed);
        session.handle(Event::Expired(Timer::ConnectRetry));
    }
    session.handle(Event::TcpConnected);
    session.handle(received(peer_open(PEER_AS, 90)));
    session.handle(Event::Received(Message::Keepalive));
    let actions = session.handle(Event::TcpClosed);
    assert_eq!(down_reason(&actions), Some("connection closed by peer"));
    assert_eq!(retry_delay(&actions), Some(secs(2)));
}

#[test]
fn stopping_an_established_session_sends_a_cease_and_does_not_retry() {
    let mut session = established(config());
    let actions = session.handle(Event::Stop);
    assert_eq!(
        actions,
        [
            Action::Send(Message::Notification(Notification::new(6, 2, vec![]))),
            Action::Disconnect,
            Action::StopTimer(Timer::Hold),
            Action::StopTimer(Timer::Keepalive),
            Action::Down("administratively stopped".into()),
        ]
    );
    assert_eq!(session.state(), State::Idle);
    assert_eq!(session.handle(Event::Expired(Timer::ConnectRetry)), []);
    assert_eq!(session.handle(Event::Start), [Action::Connect]);
}

#[test]
fn stopping_before_establishment_reports_no_session_down() {
    let mut session = open_sent(config());
    let actions = session.handle(Event::Stop);
    assert_eq!(
        sent_notification(&actions),
        Some(&Notification::new(6, 2, vec![]))
    );
    assert_eq!(down_reason(&actions), None);

    let mut session = Session::new(config());
    session.handle(Event::Start);
    assert_eq!(session.handle(Event::Stop), [Action::Disconnect]);
    session.handle(Event::Start);
    session.handle(Event::TcpFailed);
    assert_eq!(
        session.handle(Event::Stop),
        [Action::StopTimer(Timer::ConnectRetry)]
    );
    assert_eq!(session.state(), State::Idle);
    assert_eq!(session.handle(Event::Stop), []);
}

#[test]
fn a_connection_lost_before_establishment_retries_quietly() {
    let mut session = open_sent(config());
    let actions = session.handle(Event::TcpClosed);
    assert_eq!(
        actions,
        [
            Action::StopTimer(Timer::Hold),
            Action::StartTimer(Timer::ConnectRetry, secs(2))
        ]
    );
    assert_eq!(session.state(), State::Active);
}

#[test]
fn stale_events_in_waiting_states_change_nothing() {
    let mut session = Session::new(config());
    assert_eq!(session.handle(Event::TcpConnected), []);
    assert_eq!(session.handle(Event::Received(Message::Keepalive)), []);
    session.handle(Event::Start);
    assert_eq!(session.handle(Event::Expired(Timer::Hold)), []);
    assert_eq!(session.handle(Event::Received(Message::Keepalive)), []);
    assert_eq!(session.state(), State::Connect);
}

#[test]
fn states_display_in_lowercase() {
    assert_eq!(State::OpenConfirm.to_string(), "open-confirm");
    assert_eq!(State::Established.to_string(), "established");
}
