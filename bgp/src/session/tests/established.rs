//! An established session: keepalives, the hold timer, notifications, malformed and unexpected
//! messages, and route refresh.

use super::*;

#[test]
fn keepalives_and_updates_restart_the_hold_timer() {
    let mut session = established(config());
    let hold = [Action::StartTimer(Timer::Hold, secs(90))];
    assert_eq!(session.handle(Event::Received(Message::Keepalive)), hold);
    assert_eq!(
        session.handle(Event::Received(Message::Update(Update::default()))),
        hold
    );
    assert_eq!(
        session.handle(Event::Expired(Timer::Keepalive)),
        [
            Action::Send(Message::Keepalive),
            Action::StartTimer(Timer::Keepalive, secs(30))
        ]
    );
}

#[test]
fn hold_timer_expiry_notifies_the_peer_and_retries() {
    let mut session = established(config());
    let actions = session.handle(Event::Expired(Timer::Hold));
    assert_eq!(
        actions,
        [
            Action::Send(Message::Notification(Notification::new(4, 0, vec![]))),
            Action::Disconnect,
            Action::StopTimer(Timer::Hold),
            Action::StopTimer(Timer::Keepalive),
            Action::Down("hold timer expired".into()),
            Action::StartTimer(Timer::ConnectRetry, secs(2)),
        ]
    );
    assert_eq!(session.state(), State::Active);
    assert_eq!(session.negotiated(), None);
}

#[test]
fn a_notification_from_the_peer_closes_the_session_and_names_it() {
    let mut session = established(config());
    let cease = Notification::administrative_shutdown();
    let actions = session.handle(Event::Received(Message::Notification(cease)));
    assert_eq!(actions[0], Action::Disconnect);
    assert_eq!(sent_notification(&actions), None);
    assert_eq!(
        down_reason(&actions),
        Some("peer sent notification: cease: administrative shutdown")
    );
    assert_eq!(retry_delay(&actions), Some(secs(2)));
}

#[test]
fn a_malformed_message_is_answered_with_its_notification() {
    let mut session = established(config());
    let error = DecodeError::new(DecodeErrorKind::MissingWellKnown { code: 3 });
    let actions = session.handle(Event::Malformed(error));
    assert_eq!(
        sent_notification(&actions),
        Some(&Notification::new(3, 3, vec![3]))
    );
    assert!(actions.contains(&Action::Disconnect));
    assert_eq!(
        down_reason(&actions),
        Some("malformed message from peer: well-known attribute 3 is missing")
    );
    assert_eq!(session.state(), State::Active);
}

#[test]
fn a_route_refresh_for_a_foreign_family_is_ignored() {
    let mut session = established(config());
    let error = DecodeError::new(DecodeErrorKind::RouteRefreshFamily { afi: 25, safi: 70 });
    assert_eq!(session.handle(Event::Malformed(error)), []);
    assert_eq!(session.state(), State::Established);
}

#[test]
fn route_refresh_requests_are_passed_on_for_negotiated_families() {
    let mut session = established(config());
    let ipv4 = Message::RouteRefresh {
        family: Family::Ipv4Unicast,
    };
    assert_eq!(
        session.handle(Event::Received(ipv4)),
        [
            Action::StartTimer(Timer::Hold, secs(90)),
            Action::RouteRefreshRequested(Family::Ipv4Unicast)
        ]
    );
    // The peer offered IPv4 only, so IPv6 was not negotiated.
    let ipv6 = Message::RouteRefresh {
        family: Family::Ipv6Unicast,
    };
    assert_eq!(
        session.handle(Event::Received(ipv6)),
        [Action::StartTimer(Timer::Hold, secs(90))]
    );
}

#[test]
fn unexpected_messages_are_finite_state_machine_errors_naming_the_state() {
    let mut session = open_sent(config());
    let actions = session.handle(Event::Received(Message::Update(Update::default())));
    assert_eq!(
        sent_notification(&actions),
        Some(&Notification::new(5, 1, vec![]))
    );
    assert_eq!(
        down_reason(&actions),
        Some("unexpected update message in open-sent state")
    );

    let mut session = open_sent(config());
    session.handle(received(peer_open(PEER_AS, 90)));
    let actions = session.handle(Event::Received(Message::Update(Update::default())));
    assert_eq!(
        sent_notification(&actions),
        Some(&Notification::new(5, 2, vec![]))
    );

    let mut session = established(config());
    let actions = session.handle(received(peer_open(PEER_AS, 90)));
    assert_eq!(
        sent_notification(&actions),
        Some(&Notification::new(5, 3, vec![]))
    );
    assert_eq!(session.state(), State::Active);
}

#[test]
fn hold_expiry_while_waiting_for_the_open_fails_the_attempt() {
    let mut session = open_sent(config());
    let actions = session.handle(Event::Expired(Timer::Hold));
    assert_eq!(
        sent_notification(&actions),
        Some(&Notification::hold_timer_expired())
    );
    assert_eq!(down_reason(&actions), Some("hold timer expired"));
    assert_eq!(session.state(), State::Active);
}
