//! The roles a session can be put in: AdminDown by its operator (§6.8.16) and passive
//! (§6.1, §6.8.7).

use super::*;

#[test]
fn admin_down_takes_up_down_and_says_so_with_diagnostic_7() {
    let t0 = Instant::now();
    let mut a = up(t0);
    let actions = a.admin_down(t0 + ms(100));
    assert_eq!(a.state(), State::AdminDown);
    assert_eq!(a.diagnostic(), Diagnostic::AdministrativelyDown);
    let packet = ControlPacket {
        diagnostic: Diagnostic::AdministrativelyDown,
        state: State::AdminDown,
        poll: false,
        final_: false,
        control_plane_independent: false,
        demand: false,
        detect_multiplier: 3,
        my_discriminator: A,
        your_discriminator: B,
        desired_min_tx_interval: 1_000_000,
        required_min_rx_interval: 300_000,
        required_min_echo_rx_interval: 0,
    };
    // No detection timer runs in AdminDown: the only wake-up is the next packet.
    assert_eq!(
        actions,
        [
            Action::Down {
                diagnostic: Diagnostic::AdministrativelyDown,
                remote_admin_down: false,
            },
            Action::Send(packet),
            Action::WakeAt(Some(t0 + ms(1100))),
        ]
    );
}

#[test]
fn admin_down_keeps_telling_the_peer() {
    let t0 = Instant::now();
    let mut a = up(t0);
    a.admin_down(t0 + ms(100));
    for at in [1100, 2100, 3100] {
        let packet = only_sent(&a.tick(t0 + ms(at)));
        assert_eq!(packet.state, State::AdminDown);
        assert_eq!(packet.diagnostic, Diagnostic::AdministrativelyDown);
    }
}

#[test]
fn admin_down_ignores_what_it_receives() {
    let t0 = Instant::now();
    let mut a = up(t0);
    a.admin_down(t0 + ms(100));
    let poll = ControlPacket {
        poll: true,
        ..from_b(State::Up)
    };
    for packet in [poll, from_b(State::Down), from_b(State::Init)] {
        let actions = receive(&mut a, packet, t0 + ms(200));
        assert_eq!(actions, [Action::WakeAt(Some(t0 + ms(1100)))]);
        assert_eq!(a.state(), State::AdminDown);
    }
    // Silence for many detection times changes nothing either.
    let actions = a.tick(t0 + ms(10_000));
    assert!(events(&actions).is_empty());
    assert_eq!(a.diagnostic(), Diagnostic::AdministrativelyDown);
}

#[test]
fn admin_down_from_down_reports_nothing() {
    let t0 = Instant::now();
    let mut a = started(t0);
    let actions = a.admin_down(t0 + ms(10));
    assert!(events(&actions).is_empty());
    assert_eq!(only_sent(&actions).state, State::AdminDown);
}

#[test]
fn admin_down_twice_and_admin_up_when_enabled_do_nothing() {
    let t0 = Instant::now();
    let mut a = up(t0);
    assert_eq!(
        a.admin_up(t0 + ms(10)),
        [Action::WakeAt(Some(t0 + ms(300)))]
    );
    assert_eq!(a.state(), State::Up);
    a.admin_down(t0 + ms(20));
    assert_eq!(
        a.admin_down(t0 + ms(30)),
        [Action::WakeAt(Some(t0 + ms(1020)))]
    );
}

#[test]
fn admin_up_starts_over_from_down() {
    let t0 = Instant::now();
    let mut a = up(t0);
    a.admin_down(t0 + ms(100));
    let actions = a.admin_up(t0 + ms(5000));
    assert_eq!(a.state(), State::Down);
    assert_eq!(a.diagnostic(), Diagnostic::None);
    let down = only_sent(&actions);
    assert_eq!(
        (down.state, down.diagnostic),
        (State::Down, Diagnostic::None)
    );
    receive(&mut a, from_b(State::Down), t0 + ms(5010));
    let actions = receive(&mut a, from_b(State::Up), t0 + ms(5020));
    assert_eq!(events(&actions), [Action::Up]);
}

#[test]
fn passive_sends_nothing_until_the_peer_speaks() {
    let t0 = Instant::now();
    let mut a = session_of(SessionConfig::default().with_passive(true));
    assert_eq!(a.start(t0), [Action::WakeAt(None)]);
    assert_eq!(a.tick(t0 + ms(5000)), [Action::WakeAt(None)]);
    let hello = ControlPacket {
        your_discriminator: 0,
        ..from_b(State::Down)
    };
    let actions = receive(&mut a, hello, t0 + ms(6000));
    let init = only_sent(&actions);
    assert_eq!((init.state, init.your_discriminator), (State::Init, B));
    // From then on it sends like an active session.
    assert_eq!(wake(&actions), Some(t0 + ms(6900)));
    receive(&mut a, from_b(State::Init), t0 + ms(6100));
    assert_eq!(a.state(), State::Up);
}

#[test]
fn passive_falls_silent_again_once_the_peer_is_forgotten() {
    let t0 = Instant::now();
    let mut a = session_of(SessionConfig::default().with_passive(true));
    a.start(t0);
    receive(&mut a, from_b(State::Down), t0);
    receive(&mut a, from_b(State::Up), t0);
    assert_eq!(a.state(), State::Up);
    let actions = a.tick(t0 + ms(900));
    assert_eq!(a.state(), State::Down);
    assert_eq!(events(&actions).len(), 1);
    assert!(sent(&actions).is_empty(), "{actions:?}");
    assert_eq!(wake(&actions), None);
}

#[test]
fn turning_passive_off_starts_sending_at_once() {
    let t0 = Instant::now();
    let mut a = session_of(SessionConfig::default().with_passive(true));
    a.start(t0);
    let actions = a.reconfigure(SessionConfig::default(), t0 + ms(10));
    assert_eq!(only_sent(&actions).your_discriminator, 0);
    assert_eq!(wake(&actions), Some(t0 + ms(1010)));
}
