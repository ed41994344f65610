//! The session's rules, each driven through its public calls and checked by the actions it
//! returns.
//!
//! The submodules group the rules: the handshake and the peer's states, the timers (detection
//! time, transmission interval, jitter, slow start), the Poll Sequence, and the roles
//! (passive, AdminDown). This module holds the local session "A" and the packets of its
//! peer "B".

mod admin;
mod handshake;
mod poll;
mod timers;

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use super::*;
use crate::packet::{decode, encode};

const A: u32 = 0x0a0a_0001;
const B: u32 = 0x0b0b_0002;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A random source that always draws the same value: 0 means no jitter.
#[derive(Clone, Copy, Debug)]
struct Draw(u32);

impl RandomSource for Draw {
    fn next_u32(&mut self) -> u32 {
        self.0
    }
}

fn config(tx_ms: u64, rx_ms: u64, multiplier: u8) -> SessionConfig {
    SessionConfig::new(ms(tx_ms), ms(rx_ms), multiplier).unwrap()
}

/// Session A of `config`, without jitter, not started.
fn session_of(config: SessionConfig) -> Session<Draw> {
    Session::new(config, NonZeroU32::new(A).unwrap(), Draw(0))
}

/// Session A with MetalLB's defaults, started at `t0`.
fn started(t0: Instant) -> Session<Draw> {
    let mut a = session_of(SessionConfig::default());
    a.start(t0);
    a
}

/// B's packet in `state`, addressed to A, 300 ms each way, multiplier 3.
fn from_b(state: State) -> ControlPacket {
    ControlPacket {
        diagnostic: Diagnostic::None,
        state,
        poll: false,
        final_: false,
        control_plane_independent: false,
        demand: false,
        detect_multiplier: 3,
        my_discriminator: B,
        your_discriminator: A,
        desired_min_tx_interval: 300_000,
        required_min_rx_interval: 300_000,
        required_min_echo_rx_interval: 0,
    }
}

/// B's packet in `state` with these timers (milliseconds) and multiplier.
fn b_with(state: State, tx_ms: u32, rx_ms: u32, multiplier: u8) -> ControlPacket {
    ControlPacket {
        desired_min_tx_interval: tx_ms * 1000,
        required_min_rx_interval: rx_ms * 1000,
        detect_multiplier: multiplier,
        ..from_b(state)
    }
}

/// The packets among `actions`.
fn sent(actions: &[Action]) -> Vec<ControlPacket> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::Send(packet) => Some(*packet),
            _ => None,
        })
        .collect()
}

/// The one packet among `actions`.
fn only_sent(actions: &[Action]) -> ControlPacket {
    let packets = sent(actions);
    assert_eq!(packets.len(), 1, "{actions:?}");
    packets[0]
}

/// The wake-up `actions` end with.
fn wake(actions: &[Action]) -> Option<Instant> {
    match actions.last() {
        Some(Action::WakeAt(at)) => *at,
        _ => panic!("actions do not end with a wake-up: {actions:?}"),
    }
}

/// `actions` without packets and the final wake-up: the changes of state.
fn events(actions: &[Action]) -> Vec<Action> {
    assert!(
        matches!(actions.last(), Some(Action::WakeAt(_))),
        "{actions:?}"
    );
    actions
        .iter()
        .filter(|action| matches!(action, Action::Up | Action::Down { .. }))
        .copied()
        .collect()
}

fn receive(a: &mut Session<Draw>, packet: ControlPacket, at: Instant) -> Vec<Action> {
    a.receive(&packet, at).unwrap()
}

/// Session A started at `t0` and brought Up by B at `t0` (B in Down, then Up), with the Poll
/// Sequence of going Up answered by B's Final at `t0 + 1 ms`.
fn up(t0: Instant) -> Session<Draw> {
    up_with(SessionConfig::default(), t0)
}

fn up_with(config: SessionConfig, t0: Instant) -> Session<Draw> {
    let mut a = session_of(config);
    a.start(t0);
    receive(&mut a, from_b(State::Down), t0);
    receive(&mut a, from_b(State::Up), t0);
    assert_eq!(a.state(), State::Up);
    let final_ = ControlPacket {
        final_: true,
        ..from_b(State::Up)
    };
    receive(&mut a, final_, t0 + ms(1));
    assert!(!a.poll_active());
    a
}

/// The instants of the periodic packets A sends when woken whenever it asks, from `from`
/// until `until`, with B silent (each tick also checks nothing else happens).
fn periodic(a: &mut Session<Draw>, from: Instant, until: Instant) -> Vec<Instant> {
    let mut at = a.next_wakeup();
    let mut instants = Vec::new();
    let mut now = from;
    while let Some(next) = at.filter(|&next| next <= until) {
        now = next.max(now);
        let actions = a.tick(now);
        assert!(events(&actions).is_empty(), "{actions:?}");
        if !sent(&actions).is_empty() {
            instants.push(now);
        }
        at = wake(&actions);
    }
    instants
}

/// Milliseconds from `t0` to each of `instants`.
fn offsets(t0: Instant, instants: &[Instant]) -> Vec<u128> {
    instants.iter().map(|at| (*at - t0).as_millis()).collect()
}

/// Delivers each packet `from` sends to `to` through the codec.
fn deliver(actions: &[Action], to: &mut Session<Draw>, at: Instant) -> Vec<Action> {
    let mut replies = Vec::new();
    for packet in sent(actions) {
        let packet = decode(&encode(&packet)).unwrap();
        replies.extend(to.receive(&packet, at).unwrap());
    }
    replies
}
