//! The Poll Sequence: started when our intervals change while Up (going Up included), what
//! waits for the Final and what does not, the Final we owe a peer that polls, and the changes
//! that need no poll.

use super::*;

fn final_from_b() -> ControlPacket {
    ControlPacket {
        final_: true,
        ..from_b(State::Up)
    }
}

#[test]
fn going_up_polls_for_the_faster_rate_until_the_final() {
    let t0 = Instant::now();
    let mut a = started(t0);
    let init = only_sent(&receive(&mut a, from_b(State::Down), t0));
    assert!(!init.poll);
    let up = only_sent(&receive(&mut a, from_b(State::Up), t0));
    assert!(up.poll && !up.final_);
    assert_eq!(up.desired_min_tx_interval, 300_000);
    // Every packet polls until B answers.
    let periodic = only_sent(&a.tick(t0 + ms(300)));
    assert!(periodic.poll);
    let actions = receive(&mut a, final_from_b(), t0 + ms(350));
    assert!(sent(&actions).is_empty());
    assert!(!a.poll_active());
    assert!(!only_sent(&a.tick(t0 + ms(600))).poll);
}

#[test]
fn a_longer_transmit_interval_waits_for_the_final() {
    let t0 = Instant::now();
    let mut a = up(t0);
    let actions = a.reconfigure(config(600, 300, 3), t0 + ms(100));
    // The new value is announced at once, with P...
    let poll = only_sent(&actions);
    assert!(poll.poll);
    assert_eq!(poll.desired_min_tx_interval, 600_000);
    // ...but A keeps sending every 300 ms until B acknowledges it.
    assert_eq!(a.transmit_interval(), ms(300));
    assert_eq!(wake(&actions), Some(t0 + ms(400)));
    assert!(only_sent(&a.tick(t0 + ms(400))).poll);
    let actions = receive(&mut a, final_from_b(), t0 + ms(450));
    assert_eq!(a.transmit_interval(), ms(600));
    assert_eq!(wake(&actions), Some(t0 + ms(1000)));
    assert!(!only_sent(&a.tick(t0 + ms(1000))).poll);
}

#[test]
fn a_shorter_transmit_interval_applies_at_once() {
    let t0 = Instant::now();
    let mut a = up_with(config(600, 300, 3), t0);
    assert_eq!(a.transmit_interval(), ms(600));
    let actions = a.reconfigure(config(300, 300, 3), t0 + ms(100));
    assert!(a.poll_active());
    assert_eq!(a.transmit_interval(), ms(300));
    assert_eq!(wake(&actions), Some(t0 + ms(400)));
}

#[test]
fn a_shorter_receive_interval_waits_for_the_final_to_shorten_detection() {
    let t0 = Instant::now();
    let mut a = up(t0);
    // B could send every 50 ms; our 300 ms is the slower side.
    receive(&mut a, b_with(State::Up, 50, 300, 3), t0 + ms(10));
    assert_eq!(a.detection_time(), Some(ms(900)));
    let actions = a.reconfigure(config(300, 100, 3), t0 + ms(20));
    assert_eq!(only_sent(&actions).required_min_rx_interval, 100_000);
    assert_eq!(a.detection_time(), Some(ms(900)));
    let final_ = ControlPacket {
        final_: true,
        ..b_with(State::Up, 50, 300, 3)
    };
    receive(&mut a, final_, t0 + ms(30));
    assert_eq!(a.detection_time(), Some(ms(300)));
}

#[test]
fn a_longer_receive_interval_lengthens_detection_at_once() {
    let t0 = Instant::now();
    let mut a = up(t0);
    a.reconfigure(config(300, 600, 3), t0 + ms(10));
    assert!(a.poll_active());
    assert_eq!(a.detection_time(), Some(ms(1800)));
}

#[test]
fn a_poll_is_answered_at_once_with_a_final_that_does_not_poll() {
    let t0 = Instant::now();
    let mut a = started(t0);
    receive(&mut a, from_b(State::Down), t0);
    receive(&mut a, from_b(State::Up), t0);
    // A polls for its own change of rate, and B polls too.
    assert!(a.poll_active());
    let poll = ControlPacket {
        poll: true,
        ..from_b(State::Up)
    };
    let actions = receive(&mut a, poll, t0 + ms(10));
    let final_ = only_sent(&actions);
    assert!(final_.final_ && !final_.poll);
    assert_eq!(final_.state, State::Up);
    // The Final is not a periodic packet: the next one is still due at t0 + 300 ms, and polls.
    assert_eq!(wake(&actions), Some(t0 + ms(300)));
    let periodic = only_sent(&a.tick(t0 + ms(300)));
    assert!(periodic.poll && !periodic.final_);
}

#[test]
fn a_poll_arriving_when_a_packet_is_due_is_answered_by_that_packet() {
    let t0 = Instant::now();
    let mut a = up(t0);
    let poll = ControlPacket {
        poll: true,
        ..from_b(State::Up)
    };
    let actions = receive(&mut a, poll, t0 + ms(300));
    assert!(only_sent(&actions).final_);
    assert_eq!(wake(&actions), Some(t0 + ms(600)));
}

#[test]
fn a_change_during_a_poll_polls_again_after_the_final() {
    let t0 = Instant::now();
    let mut a = up(t0);
    a.reconfigure(config(600, 300, 3), t0 + ms(100));
    let actions = a.reconfigure(config(900, 300, 3), t0 + ms(150));
    assert_eq!(only_sent(&actions).desired_min_tx_interval, 900_000);
    // This Final may answer a Poll sent before the second change: A polls once more.
    receive(&mut a, final_from_b(), t0 + ms(200));
    assert!(a.poll_active());
    assert_eq!(a.transmit_interval(), ms(300));
    assert!(only_sent(&a.tick(t0 + ms(450))).poll);
    receive(&mut a, final_from_b(), t0 + ms(500));
    assert!(!a.poll_active());
    assert_eq!(a.transmit_interval(), ms(900));
}

#[test]
fn a_final_without_a_poll_changes_nothing() {
    let t0 = Instant::now();
    let mut a = up_with(config(600, 300, 3), t0);
    let actions = receive(&mut a, final_from_b(), t0 + ms(10));
    assert!(sent(&actions).is_empty());
    assert!(!a.poll_active());
    assert_eq!(a.transmit_interval(), ms(600));
}

#[test]
fn changes_while_not_up_apply_at_once_without_a_poll() {
    let t0 = Instant::now();
    let mut a = started(t0);
    let actions = a.reconfigure(config(300, 100, 3), t0 + ms(10));
    assert!(sent(&actions).is_empty());
    assert!(!a.poll_active());
    receive(&mut a, b_with(State::AdminDown, 50, 300, 3), t0 + ms(20));
    assert_eq!(a.detection_time(), Some(ms(300)));
    let packet = only_sent(&a.tick(t0 + ms(1000)));
    assert!(!packet.poll);
    assert_eq!(packet.required_min_rx_interval, 100_000);
}

#[test]
fn a_new_multiplier_goes_out_with_the_next_packet_without_a_poll() {
    let t0 = Instant::now();
    let mut a = up(t0);
    let actions = a.reconfigure(config(300, 300, 5), t0 + ms(10));
    assert!(sent(&actions).is_empty());
    let packet = only_sent(&a.tick(t0 + ms(300)));
    assert_eq!(packet.detect_multiplier, 5);
    assert!(!packet.poll);
}

#[test]
fn going_down_ends_a_poll() {
    let t0 = Instant::now();
    let mut a = up(t0);
    a.reconfigure(config(600, 300, 3), t0 + ms(10));
    assert!(a.poll_active());
    let actions = receive(&mut a, from_b(State::Down), t0 + ms(20));
    assert!(!a.poll_active());
    let down = only_sent(&actions);
    assert!(!down.poll);
    assert_eq!(down.desired_min_tx_interval, 1_000_000);
    assert_eq!(a.transmit_interval(), ms(1000));
}
