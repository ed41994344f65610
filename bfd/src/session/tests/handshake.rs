//! The three-way handshake, the peer's way of taking the session down, what the packets say,
//! and packets for another session.

use super::*;

#[test]
fn a_started_session_sends_down_at_once_with_no_peer_known() {
    let t0 = Instant::now();
    let mut a = session_of(SessionConfig::default());
    let actions = a.start(t0);
    assert_eq!(
        actions,
        [
            Action::Send(ControlPacket {
                diagnostic: Diagnostic::None,
                state: State::Down,
                poll: false,
                final_: false,
                control_plane_independent: false,
                demand: false,
                detect_multiplier: 3,
                my_discriminator: A,
                your_discriminator: 0,
                // Slow start: 1 s while not Up, whatever the profile says.
                desired_min_tx_interval: 1_000_000,
                required_min_rx_interval: 300_000,
                required_min_echo_rx_interval: 0,
            }),
            Action::WakeAt(Some(t0 + ms(1000))),
        ]
    );
}

#[test]
fn a_session_not_started_sends_nothing() {
    let t0 = Instant::now();
    let mut a = session_of(SessionConfig::default());
    assert_eq!(a.tick(t0 + ms(5000)), [Action::WakeAt(None)]);
    // Receiving still runs the state machine; transmission waits for start.
    let actions = receive(&mut a, from_b(State::Down), t0);
    assert_eq!(a.state(), State::Init);
    assert!(sent(&actions).is_empty(), "{actions:?}");
}

#[test]
fn down_answers_down_with_init() {
    let t0 = Instant::now();
    let mut a = started(t0);
    let hello = ControlPacket {
        your_discriminator: 0,
        ..from_b(State::Down)
    };
    let actions = receive(&mut a, hello, t0 + ms(10));
    assert_eq!(a.state(), State::Init);
    assert!(events(&actions).is_empty());
    let init = only_sent(&actions);
    assert_eq!(init.state, State::Init);
    assert_eq!(init.your_discriminator, B);
    assert_eq!(init.diagnostic, Diagnostic::None);
    assert_eq!(a.remote().discriminator, B);
}

#[test]
fn down_goes_up_on_init() {
    let t0 = Instant::now();
    let mut a = started(t0);
    let actions = receive(&mut a, from_b(State::Init), t0);
    assert_eq!(a.state(), State::Up);
    assert_eq!(events(&actions), [Action::Up]);
    assert_eq!(only_sent(&actions).state, State::Up);
}

#[test]
fn init_goes_up_on_init_or_up() {
    for peer in [State::Init, State::Up] {
        let t0 = Instant::now();
        let mut a = started(t0);
        receive(&mut a, from_b(State::Down), t0);
        assert_eq!(a.state(), State::Init);
        let actions = receive(&mut a, from_b(peer), t0 + ms(5));
        assert_eq!(a.state(), State::Up, "peer {peer}");
        assert_eq!(events(&actions), [Action::Up]);
    }
}

#[test]
fn down_ignores_up() {
    let t0 = Instant::now();
    let mut a = started(t0);
    let actions = receive(&mut a, from_b(State::Up), t0);
    assert_eq!(a.state(), State::Down);
    assert!(events(&actions).is_empty());
    assert!(sent(&actions).is_empty(), "{actions:?}");
}

#[test]
fn init_stays_init_on_down() {
    let t0 = Instant::now();
    let mut a = started(t0);
    receive(&mut a, from_b(State::Down), t0);
    let actions = receive(&mut a, from_b(State::Down), t0 + ms(5));
    assert_eq!(a.state(), State::Init);
    assert!(events(&actions).is_empty());
}

#[test]
fn up_stays_up_on_init_and_up() {
    let t0 = Instant::now();
    let mut a = up(t0);
    for peer in [State::Init, State::Up] {
        let actions = receive(&mut a, from_b(peer), t0 + ms(10));
        assert_eq!(a.state(), State::Up);
        assert!(events(&actions).is_empty(), "{actions:?}");
    }
}

#[test]
fn up_goes_down_when_the_peer_says_down() {
    let t0 = Instant::now();
    let mut a = up(t0);
    let actions = receive(&mut a, from_b(State::Down), t0 + ms(10));
    assert_eq!(a.state(), State::Down);
    assert_eq!(a.diagnostic(), Diagnostic::NeighborSignaledDown);
    assert_eq!(
        events(&actions),
        [Action::Down {
            diagnostic: Diagnostic::NeighborSignaledDown,
            remote_admin_down: false,
        }]
    );
    let down = only_sent(&actions);
    assert_eq!(
        (down.state, down.diagnostic, down.desired_min_tx_interval),
        (State::Down, Diagnostic::NeighborSignaledDown, 1_000_000)
    );
}

#[test]
fn the_peer_going_admin_down_takes_up_down_without_blaming_the_path() {
    let t0 = Instant::now();
    let mut a = up(t0);
    let actions = receive(&mut a, from_b(State::AdminDown), t0 + ms(10));
    assert_eq!(a.state(), State::Down);
    assert_eq!(
        events(&actions),
        [Action::Down {
            diagnostic: Diagnostic::NeighborSignaledDown,
            remote_admin_down: true,
        }]
    );
    assert_eq!(
        only_sent(&actions).diagnostic,
        Diagnostic::NeighborSignaledDown
    );
}

#[test]
fn the_peer_going_admin_down_takes_init_down() {
    let t0 = Instant::now();
    let mut a = started(t0);
    receive(&mut a, from_b(State::Down), t0);
    let actions = receive(&mut a, from_b(State::AdminDown), t0 + ms(5));
    assert_eq!(a.state(), State::Down);
    assert_eq!(a.diagnostic(), Diagnostic::NeighborSignaledDown);
    // Never Up, so never reported down.
    assert!(events(&actions).is_empty());
}

#[test]
fn admin_down_from_the_peer_leaves_down_as_it_is() {
    let t0 = Instant::now();
    let mut a = started(t0);
    let actions = receive(&mut a, from_b(State::AdminDown), t0 + ms(5));
    assert_eq!(a.state(), State::Down);
    assert_eq!(a.diagnostic(), Diagnostic::None);
    assert!(sent(&actions).is_empty(), "{actions:?}");
    // And the next Down from the peer still starts the handshake.
    receive(&mut a, from_b(State::Down), t0 + ms(10));
    assert_eq!(a.state(), State::Init);
}

#[test]
fn coming_back_clears_the_diagnostic_of_the_last_fall() {
    let t0 = Instant::now();
    let mut a = up(t0);
    receive(&mut a, from_b(State::Down), t0 + ms(10));
    assert_eq!(a.diagnostic(), Diagnostic::NeighborSignaledDown);
    receive(&mut a, from_b(State::Down), t0 + ms(20));
    assert_eq!(a.state(), State::Init);
    assert_eq!(a.diagnostic(), Diagnostic::None);
    receive(&mut a, from_b(State::Up), t0 + ms(30));
    assert_eq!(a.state(), State::Up);
    assert_eq!(a.diagnostic(), Diagnostic::None);
}

#[test]
fn a_packet_for_another_discriminator_is_discarded() {
    let t0 = Instant::now();
    let mut a = started(t0);
    let stray = ControlPacket {
        your_discriminator: 999,
        ..from_b(State::Init)
    };
    let error = a.receive(&stray, t0).unwrap_err();
    assert_eq!(
        error,
        Discarded::YourDiscriminator {
            received: 999,
            local: A,
        }
    );
    assert_eq!(
        error.to_string(),
        "bfd packet for your discriminator 999 does not belong to the session of local \
         discriminator 168427521"
    );
    assert_eq!(a.state(), State::Down);
    assert_eq!(a.remote().discriminator, 0);
}

#[test]
fn two_sessions_come_up_through_the_codec() {
    let t0 = Instant::now();
    let mut a = session_of(SessionConfig::default());
    let mut b = Session::new(
        SessionConfig::default(),
        NonZeroU32::new(B).unwrap(),
        Draw(0),
    );
    let from_a = a.start(t0);
    let from_b = b.start(t0);
    // Both said Down with no discriminator; each answers the other with Init.
    let a_init = deliver(&from_b, &mut a, t0);
    let b_init = deliver(&from_a, &mut b, t0);
    assert_eq!((a.state(), b.state()), (State::Init, State::Init));
    // Each sees the other's Init and comes Up.
    let a_up = deliver(&b_init, &mut a, t0);
    let b_up = deliver(&a_init, &mut b, t0);
    assert_eq!(events(&a_up), [Action::Up]);
    assert_eq!(events(&b_up), [Action::Up]);
    // Each Up packet polls for the faster rate; each answers the other's Poll with a Final.
    let a_final = deliver(&b_up, &mut a, t0);
    let b_final = deliver(&a_up, &mut b, t0);
    assert!(only_sent(&a_final).final_ && only_sent(&b_final).final_);
    deliver(&a_final, &mut b, t0);
    deliver(&b_final, &mut a, t0);
    assert!(!a.poll_active() && !b.poll_active());
    assert_eq!(a.remote().discriminator, B);
    assert_eq!(b.remote().discriminator, A);
    assert_eq!(a.transmit_interval(), ms(300));
    assert_eq!(b.detection_time(), Some(ms(900)));
}
