//! Graceful restart (RFC 4724): what is negotiated, the Restart State bit of a restarted
//! speaker, and a stop that leaves the routes with the peer.

use super::*;

fn with_restart(restarting: bool) -> SessionConfig {
    SessionConfig {
        graceful_restart: Some(secs(120)),
        restarting,
        ..config()
    }
}

/// The peer's OPEN with the graceful restart capability of a helper (no families).
fn helper_open() -> Open {
    let mut open = peer_open(PEER_AS, 90);
    open.capabilities.push(Capability::GracefulRestart {
        restart_time: 90,
        restarting: false,
        families: Vec::new(),
    });
    open
}

fn established_with(config: SessionConfig, open: Open) -> Session {
    let mut session = open_sent(config);
    session.handle(received(open));
    session.handle(Event::Received(Message::Keepalive));
    assert_eq!(session.state(), State::Established);
    session
}

fn sent_open(actions: &[Action]) -> &Open {
    actions
        .iter()
        .find_map(|action| match action {
            Action::Send(Message::Open(open)) => Some(open),
            _ => None,
        })
        .expect("an OPEN is sent")
}

fn restart_state(open: &Open) -> Option<bool> {
    open.capabilities.iter().find_map(|c| match c {
        Capability::GracefulRestart { restarting, .. } => Some(*restarting),
        _ => None,
    })
}

#[test]
fn graceful_restart_is_negotiated_only_when_both_sides_advertise_it() {
    let both = established_with(with_restart(false), helper_open());
    assert!(both.negotiated().unwrap().graceful_restart);
    let peer_without = established_with(with_restart(false), peer_open(PEER_AS, 90));
    assert!(!peer_without.negotiated().unwrap().graceful_restart);
    let us_without = established_with(config(), helper_open());
    assert!(!us_without.negotiated().unwrap().graceful_restart);
}

#[test]
fn a_stop_for_restart_closes_without_a_notification_when_negotiated() {
    let mut session = established_with(with_restart(false), helper_open());
    let actions = session.handle(Event::StopForRestart);
    assert_eq!(
        actions,
        [
            Action::Disconnect,
            Action::StopTimer(Timer::Hold),
            Action::StopTimer(Timer::Keepalive),
            Action::Down("stopped for a graceful restart".into()),
        ]
    );
    assert_eq!(session.state(), State::Idle);
    assert_eq!(session.negotiated(), None);
    // Stopped is stopped: nothing else happens, and Start connects again.
    assert_eq!(session.handle(Event::Expired(Timer::Hold)), []);
    assert_eq!(session.handle(Event::Start), [Action::Connect]);
}

#[test]
fn without_graceful_restart_a_stop_for_restart_is_a_cease() {
    let mut session = established_with(with_restart(false), peer_open(PEER_AS, 90));
    let actions = session.handle(Event::StopForRestart);
    assert_eq!(
        sent_notification(&actions),
        Some(&Notification::administrative_shutdown())
    );
    assert_eq!(down_reason(&actions), Some("administratively stopped"));
    // Before the session is up there are no routes to keep either.
    let mut opening = open_sent(with_restart(false));
    let actions = opening.handle(Event::StopForRestart);
    assert_eq!(
        sent_notification(&actions),
        Some(&Notification::administrative_shutdown())
    );
    assert_eq!(opening.state(), State::Idle);
}

#[test]
fn the_restart_state_bit_is_set_until_a_session_came_up() {
    let mut session = Session::new(with_restart(true));
    session.handle(Event::Start);
    let first = session.handle(Event::TcpConnected);
    assert_eq!(restart_state(sent_open(&first)), Some(true));
    // A connection that fails before Established is still part of the restart.
    session.handle(Event::TcpClosed);
    session.handle(Event::Expired(Timer::ConnectRetry));
    let second = session.handle(Event::TcpConnected);
    assert_eq!(restart_state(sent_open(&second)), Some(true));
    session.handle(received(helper_open()));
    session.handle(Event::Received(Message::Keepalive));
    assert!(!session.config().restarting);
    // Once up, a later reconnection is no restart.
    session.handle(Event::TcpClosed);
    session.handle(Event::Expired(Timer::ConnectRetry));
    let third = session.handle(Event::TcpConnected);
    assert_eq!(restart_state(sent_open(&third)), Some(false));
}

#[test]
fn every_offered_family_claims_its_forwarding_state_preserved() {
    let mut session = Session::new(with_restart(false));
    session.handle(Event::Start);
    let actions = session.handle(Event::TcpConnected);
    let families = sent_open(&actions)
        .capabilities
        .iter()
        .find_map(|c| match c {
            Capability::GracefulRestart { families, .. } => Some(families.clone()),
            _ => None,
        });
    assert_eq!(
        families,
        Some(vec![
            (Family::Ipv4Unicast, true),
            (Family::Ipv6Unicast, true)
        ])
    );
}
