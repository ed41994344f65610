//! The detection time and its expiry, the transmission interval as each side states it, the
//! jitter, slow start, and the cases where no periodic packet may be sent.

use super::*;

#[test]
fn detection_time_is_the_peer_multiplier_times_the_slower_of_our_rx_and_its_tx() {
    let t0 = Instant::now();
    // The peer sends slower than we can receive: its interval counts, with its multiplier.
    let mut a = started(t0);
    assert_eq!(a.detection_time(), None);
    receive(&mut a, b_with(State::AdminDown, 800, 300, 5), t0);
    assert_eq!(a.detection_time(), Some(ms(4000)));
    // We receive slower than the peer would send: our interval counts, with its multiplier.
    let mut a = session_of(config(300, 2000, 3));
    a.start(t0);
    receive(&mut a, b_with(State::AdminDown, 300, 300, 4), t0);
    assert_eq!(a.detection_time(), Some(ms(8000)));
}

#[test]
fn detection_time_follows_the_peer_changing_its_timers() {
    let t0 = Instant::now();
    let mut a = up(t0);
    assert_eq!(a.detection_time(), Some(ms(900)));
    receive(&mut a, b_with(State::Up, 500, 300, 2), t0 + ms(10));
    assert_eq!(a.detection_time(), Some(ms(1000)));
    let actions = a.tick(t0 + ms(1009));
    assert!(events(&actions).is_empty(), "{actions:?}");
    let actions = a.tick(t0 + ms(1010));
    assert_eq!(a.state(), State::Down, "{actions:?}");
}

#[test]
fn detection_expiry_takes_up_down_with_diagnostic_1() {
    let t0 = Instant::now();
    let mut a = up(t0);
    // B's Final at t0 + 1 ms was the last packet: the deadline is 900 ms later.
    let actions = a.tick(t0 + ms(900));
    assert!(events(&actions).is_empty(), "{actions:?}");
    assert_eq!(a.state(), State::Up);
    assert_eq!(wake(&actions), Some(t0 + ms(901)));
    let actions = a.tick(t0 + ms(901));
    assert_eq!(a.state(), State::Down);
    assert_eq!(a.diagnostic(), Diagnostic::ControlDetectionTimeExpired);
    assert_eq!(
        events(&actions),
        [Action::Down {
            diagnostic: Diagnostic::ControlDetectionTimeExpired,
            remote_admin_down: false,
        }]
    );
    let down = only_sent(&actions);
    assert_eq!(down.state, State::Down);
    assert_eq!(down.diagnostic, Diagnostic::ControlDetectionTimeExpired);
    // The peer is forgotten (§6.8.1) and the detection timer stops.
    assert_eq!(down.your_discriminator, 0);
    assert_eq!(*a.remote(), Remote::UNKNOWN);
    assert_eq!(a.detection_time(), None);
    assert_eq!(wake(&actions), Some(t0 + ms(1901)));
}

#[test]
fn each_packet_restarts_the_detection_timer() {
    let t0 = Instant::now();
    let mut a = up(t0);
    for at in [800, 1600, 2400] {
        receive(&mut a, from_b(State::Up), t0 + ms(at));
        let actions = a.tick(t0 + ms(at + 899));
        assert!(events(&actions).is_empty(), "{actions:?}");
    }
    assert_eq!(a.state(), State::Up);
    a.tick(t0 + ms(2400 + 900));
    assert_eq!(a.state(), State::Down);
}

#[test]
fn detection_expiry_takes_init_down_without_reporting_it() {
    let t0 = Instant::now();
    let mut a = started(t0);
    receive(&mut a, from_b(State::Down), t0);
    assert_eq!(a.state(), State::Init);
    let actions = a.tick(t0 + ms(900));
    assert_eq!(a.state(), State::Down);
    assert_eq!(a.diagnostic(), Diagnostic::ControlDetectionTimeExpired);
    assert!(events(&actions).is_empty(), "{actions:?}");
    assert_eq!(only_sent(&actions).your_discriminator, 0);
}

#[test]
fn detection_expiry_in_down_forgets_the_peer_and_its_request_not_to_send() {
    let t0 = Instant::now();
    let mut a = started(t0);
    // B, in AdminDown, asks for no packets: A stops sending.
    let actions = receive(&mut a, b_with(State::AdminDown, 1000, 0, 3), t0 + ms(10));
    assert_eq!(wake(&actions), Some(t0 + ms(3010)));
    assert!(periodic(&mut a, t0, t0 + ms(3009)).is_empty());
    // B falls silent: A forgets it, still Down, and sends again, to no discriminator.
    let actions = a.tick(t0 + ms(3010));
    assert_eq!(a.state(), State::Down);
    assert_eq!(a.diagnostic(), Diagnostic::None);
    assert_eq!(a.remote().discriminator, 0);
    assert_eq!(only_sent(&actions).your_discriminator, 0);
}

#[test]
fn the_interval_is_the_peer_rx_when_that_is_slower() {
    let t0 = Instant::now();
    let mut a = up(t0);
    // We want 300 ms; B can only take 500 ms (and sends every 10 s, so stays up).
    receive(&mut a, b_with(State::Up, 10_000, 500, 3), t0 + ms(10));
    assert_eq!(a.transmit_interval(), ms(500));
    let sends = periodic(&mut a, t0, t0 + ms(2000));
    assert_eq!(offsets(t0, &sends), [500, 1000, 1500, 2000]);
}

#[test]
fn the_interval_is_our_tx_when_that_is_slower() {
    let t0 = Instant::now();
    let mut a = up_with(config(700, 300, 3), t0);
    receive(&mut a, b_with(State::Up, 10_000, 500, 3), t0 + ms(10));
    assert_eq!(a.transmit_interval(), ms(700));
    let sends = periodic(&mut a, t0, t0 + ms(2100));
    assert_eq!(offsets(t0, &sends), [700, 1400, 2100]);
}

#[test]
fn a_faster_peer_is_served_at_once_when_the_new_interval_has_passed() {
    let t0 = Instant::now();
    let mut a = up(t0);
    // The Up packet left at t0; B now wants one every 5 s.
    let actions = receive(&mut a, b_with(State::Up, 10_000, 5000, 3), t0 + ms(10));
    assert_eq!(wake(&actions), Some(t0 + ms(5000)));
    // Then every 300 ms: 300 ms have passed since t0, so a packet leaves now.
    let actions = receive(&mut a, b_with(State::Up, 10_000, 300, 3), t0 + ms(2000));
    assert_eq!(only_sent(&actions).state, State::Up);
    assert_eq!(wake(&actions), Some(t0 + ms(2300)));
}

#[test]
fn not_up_sends_once_a_second_whatever_the_profile_says() {
    let t0 = Instant::now();
    let mut a = started(t0);
    let sends = periodic(&mut a, t0, t0 + ms(3000));
    assert_eq!(offsets(t0, &sends), [1000, 2000, 3000]);
    let packet = only_sent(&a.tick(t0 + ms(4000)));
    assert_eq!(packet.desired_min_tx_interval, 1_000_000);
    assert_eq!(packet.required_min_rx_interval, 300_000);
}

#[test]
fn a_profile_slower_than_a_second_is_sent_as_it_is() {
    let t0 = Instant::now();
    let mut a = session_of(config(2000, 300, 3));
    let packet = only_sent(&a.start(t0));
    assert_eq!(packet.desired_min_tx_interval, 2_000_000);
    receive(&mut a, from_b(State::Down), t0);
    let actions = receive(&mut a, from_b(State::Up), t0);
    let up = only_sent(&actions);
    assert_eq!(up.desired_min_tx_interval, 2_000_000);
    // Nothing changed by going Up, so nothing to poll for.
    assert!(!up.poll && !a.poll_active());
}

#[test]
fn a_peer_requiring_no_packets_gets_none_but_its_finals() {
    let t0 = Instant::now();
    let mut a = up(t0);
    let actions = receive(&mut a, b_with(State::Up, 10_000, 0, 3), t0 + ms(10));
    assert!(sent(&actions).is_empty());
    // Only the detection timer is left.
    assert_eq!(wake(&actions), Some(t0 + ms(30_010)));
    assert!(periodic(&mut a, t0, t0 + ms(6000)).is_empty());
    let poll = ControlPacket {
        poll: true,
        ..b_with(State::Up, 10_000, 0, 3)
    };
    let actions = receive(&mut a, poll, t0 + ms(6000));
    let final_ = only_sent(&actions);
    assert!(final_.final_ && !final_.poll);
    // Asked again, A resumes at once: its last periodic packet is long past.
    let actions = receive(&mut a, b_with(State::Up, 10_000, 300, 3), t0 + ms(7000));
    assert!(!only_sent(&actions).final_);
    assert_eq!(wake(&actions), Some(t0 + ms(7300)));
}

#[test]
fn a_peer_in_demand_mode_gets_no_periodic_packets_while_both_are_up() {
    let t0 = Instant::now();
    let mut a = up(t0);
    let demand = ControlPacket {
        demand: true,
        ..b_with(State::Up, 10_000, 300, 3)
    };
    let actions = receive(&mut a, demand, t0 + ms(10));
    assert_eq!(wake(&actions), Some(t0 + ms(30_010)));
    assert!(periodic(&mut a, t0, t0 + ms(3000)).is_empty());
    let actions = receive(&mut a, b_with(State::Up, 10_000, 300, 3), t0 + ms(3000));
    assert_eq!(sent(&actions).len(), 1);
}

#[test]
fn demand_mode_does_not_stop_a_session_that_is_not_up() {
    let t0 = Instant::now();
    let mut a = started(t0);
    let demand = ControlPacket {
        demand: true,
        ..b_with(State::Down, 10_000, 300, 3)
    };
    let actions = receive(&mut a, demand, t0 + ms(10));
    assert_eq!(only_sent(&actions).state, State::Init);
    assert_eq!(wake(&actions), Some(t0 + ms(1010)));
    assert_eq!(only_sent(&a.tick(t0 + ms(1010))).state, State::Init);
}

#[test]
fn periodic_packets_are_jittered_by_the_injected_source() {
    let t0 = Instant::now();
    let cases = [
        (3, 0, 1000),
        (3, u32::MAX, 750),
        (1, 0, 900),
        (1, u32::MAX, 750),
    ];
    for (multiplier, draw, after) in cases {
        let mut a = Session::new(
            config(300, 300, multiplier),
            NonZeroU32::new(A).unwrap(),
            Draw(draw),
        );
        let actions = a.start(t0);
        assert_eq!(
            wake(&actions),
            Some(t0 + ms(after)),
            "multiplier {multiplier}, draw {draw:#x}"
        );
    }
}

#[test]
fn every_gap_between_periodic_packets_is_within_the_jitter_bounds() {
    for (multiplier, lowest, highest) in [(3u8, 750, 1000), (1, 750, 900)] {
        let t0 = Instant::now();
        let mut state = 0x2545_f491_u32;
        let xorshift = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        let mut a = Session::new(
            config(300, 300, multiplier),
            NonZeroU32::new(A).unwrap(),
            xorshift,
        );
        let mut last = t0;
        let mut at = wake(&a.start(t0)).unwrap();
        let (mut shortest, mut longest) = (u128::MAX, 0);
        for _ in 0..500 {
            let gap = (at - last).as_millis();
            shortest = shortest.min(gap);
            longest = longest.max(gap);
            assert!(
                (lowest..=highest).contains(&gap),
                "multiplier {multiplier}: {gap} ms"
            );
            let actions = a.tick(at);
            assert_eq!(sent(&actions).len(), 1);
            last = at;
            at = wake(&actions).unwrap();
        }
        assert!(
            shortest < lowest + 20 && longest > highest - 20,
            "{shortest} {longest}"
        );
    }
}

#[test]
fn the_wake_up_is_the_earlier_of_the_next_packet_and_the_detection_deadline() {
    let t0 = Instant::now();
    // Detection 2 x 300 ms from t0 + 100 ms comes before the next packet at t0 + 1 s.
    let mut a = started(t0);
    let actions = receive(&mut a, b_with(State::AdminDown, 100, 300, 2), t0 + ms(100));
    assert_eq!(wake(&actions), Some(t0 + ms(700)));
    assert_eq!(a.next_wakeup(), Some(t0 + ms(700)));
    // Detection 5 x 300 ms comes after it.
    let mut a = started(t0);
    let actions = receive(&mut a, b_with(State::AdminDown, 100, 300, 5), t0 + ms(100));
    assert_eq!(wake(&actions), Some(t0 + ms(1000)));
}

#[test]
fn a_late_tick_sends_once_and_counts_the_next_interval_from_then() {
    let t0 = Instant::now();
    let mut a = started(t0);
    let actions = a.tick(t0 + ms(3500));
    assert_eq!(sent(&actions).len(), 1);
    assert_eq!(wake(&actions), Some(t0 + ms(4500)));
    // Early ticks do nothing.
    assert_eq!(a.tick(t0 + ms(4000)), [Action::WakeAt(Some(t0 + ms(4500)))]);
}
