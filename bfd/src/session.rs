//! One BFD session in Asynchronous mode as a pure state machine (RFC 5880 §6.2, §6.8).
//!
//! The caller owns the socket and the clock. It hands a [`Session`] each decoded packet that
//! belongs to it ([`Session::receive`]) and wakes it when asked ([`Session::tick`]), passing
//! the current [`Instant`] every time; the session never reads a clock. Each call returns the
//! [`Action`]s to carry out in order, the last always [`Action::WakeAt`], the one timer the
//! caller keeps for the session.
//!
//! The rules, by section of RFC 5880: the three-way handshake Down → Init → Up and the way
//! back to Down when the peer says so (§6.2, §6.8.6); the detection time, the peer's
//! multiplier times the larger of our Required Min RX and its Desired Min TX, whose expiry
//! takes the session down with diagnostic 1 and forgets the peer's discriminator (§6.8.1,
//! §6.8.4); the transmission interval, the larger of our Desired Min TX and the peer's
//! Required Min RX less per-packet jitter, and no periodic packet at all when the peer
//! requires 0, is in Demand mode while both are Up, or when we are passive and know no peer
//! (§6.8.7); a Desired Min TX of at least 1 s while not Up, and a Poll Sequence whenever our
//! intervals change while Up, holding a longer transmit interval or a shorter receive interval
//! back until the peer's Final (§6.5, §6.8.3); an immediate Final for every received Poll; and
//! AdminDown, sent with diagnostic 7, during which received packets change nothing (§6.8.16).
//! A change of local state is sent at once rather than at the next periodic transmission.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use crate::config::SessionConfig;
use crate::jitter::{RandomSource, jittered};
use crate::packet::{ControlPacket, Diagnostic, State};

/// The least Desired Min TX Interval while the session is not Up, in microseconds (§6.8.3).
pub const SLOW_TX_INTERVAL: u32 = 1_000_000;

/// Something the caller must do, in the order returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send this packet to the peer now.
    Send(ControlPacket),
    /// The session came Up.
    Up,
    /// The session left Up. `remote_admin_down` says the peer went AdminDown, which RFC 5882
    /// §3.2 asks not to treat as a failure of the path.
    Down {
        diagnostic: Diagnostic,
        remote_admin_down: bool,
    },
    /// Call [`Session::tick`] at this instant, replacing any earlier wake-up; `None` cancels
    /// it. Always the last action.
    WakeAt(Option<Instant>),
}

/// Why a received packet was not taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Discarded {
    #[error(
        "bfd packet for your discriminator {received} does not belong to the session of local discriminator {local}"
    )]
    YourDiscriminator { received: u32, local: u32 },
}

/// What the peer last told us (bfd.Remote* of §6.8.1). Intervals are in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Remote {
    /// Zero until a packet arrives, and again after a detection time without one.
    pub discriminator: u32,
    pub state: State,
    pub demand: bool,
    /// 1 until a packet arrives, so that an active session sends from the start.
    pub required_min_rx: u32,
    pub desired_min_tx: u32,
    /// Zero until a packet arrives.
    pub detect_multiplier: u8,
}

impl Remote {
    /// The initial values of §6.8.1.
    pub const UNKNOWN: Remote = Remote {
        discriminator: 0,
        state: State::Down,
        demand: false,
        required_min_rx: 1,
        desired_min_tx: 0,
        detect_multiplier: 0,
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Poll {
    Idle,
    /// Packets carry P until a Final arrives. `again`: the intervals changed once more after
    /// the sequence began, so the Final that ends it starts another.
    Active {
        again: bool,
    },
}

/// One session.
#[derive(Clone, Debug)]
pub struct Session<R> {
    config: SessionConfig,
    local_discriminator: u32,
    state: State,
    diagnostic: Diagnostic,
    remote: Remote,
    /// bfd.DesiredMinTxInterval, as sent.
    desired_min_tx: u32,
    /// bfd.RequiredMinRxInterval, as sent.
    required_min_rx: u32,
    /// The Desired Min TX our transmissions follow: lags behind an increase during a Poll.
    tx_in_use: u32,
    /// The Required Min RX our detection time follows: lags behind a decrease during a Poll.
    rx_in_use: u32,
    poll: Poll,
    started: bool,
    last_tx: Option<Instant>,
    next_tx: Option<Instant>,
    /// The last accepted packet; none while the detection timer does not run.
    last_rx: Option<Instant>,
    random: R,
}

impl<R: RandomSource> Session<R> {
    /// A session in Down that sends nothing until [`Session::start`].
    pub fn new(config: SessionConfig, local_discriminator: NonZeroU32, random: R) -> Session<R> {
        let desired_min_tx = config.desired_min_tx().max(SLOW_TX_INTERVAL);
        Session {
            config,
            local_discriminator: local_discriminator.get(),
            state: State::Down,
            diagnostic: Diagnostic::None,
            remote: Remote::UNKNOWN,
            desired_min_tx,
            required_min_rx: config.required_min_rx(),
            tx_in_use: desired_min_tx,
            rx_in_use: config.required_min_rx(),
            poll: Poll::Idle,
            started: false,
            last_tx: None,
            next_tx: None,
            last_rx: None,
            random,
        }
    }

    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// bfd.LocalDiag: the reason for the last change of state.
    pub fn diagnostic(&self) -> Diagnostic {
        self.diagnostic
    }

    pub fn local_discriminator(&self) -> u32 {
        self.local_discriminator
    }

    pub fn remote(&self) -> &Remote {
        &self.remote
    }

    /// Whether sent packets carry P.
    pub fn poll_active(&self) -> bool {
        self.poll != Poll::Idle
    }

    /// The interval between periodic packets before jitter, once sending is allowed.
    pub fn transmit_interval(&self) -> Duration {
        Duration::from_micros(self.tx_interval().into())
    }

    /// The time without a packet after which the session goes down; none before the peer's
    /// first packet.
    pub fn detection_time(&self) -> Option<Duration> {
        (self.remote.detect_multiplier != 0).then(|| {
            let interval = self.rx_in_use.max(self.remote.desired_min_tx);
            Duration::from_micros(u64::from(self.remote.detect_multiplier) * u64::from(interval))
        })
    }

    /// When the session next needs [`Session::tick`].
    pub fn next_wakeup(&self) -> Option<Instant> {
        match (self.next_tx, self.detection_deadline()) {
            (Some(tx), Some(detect)) => Some(tx.min(detect)),
            (tx, detect) => tx.or(detect),
        }
    }

    /// Begins transmitting, unless passive. Call once.
    pub fn start(&mut self, now: Instant) -> Vec<Action> {
        let before = self.timing();
        self.started = true;
        self.retime(before, now, false);
        self.finish(now, Vec::new(), false)
    }

    /// Applies a packet whose Your Discriminator is ours, or zero and matched to this session
    /// by the caller from its addresses (§6.8.6).
    pub fn receive(
        &mut self,
        packet: &ControlPacket,
        now: Instant,
    ) -> Result<Vec<Action>, Discarded> {
        if packet.your_discriminator != 0 && packet.your_discriminator != self.local_discriminator {
            return Err(Discarded::YourDiscriminator {
                received: packet.your_discriminator,
                local: self.local_discriminator,
            });
        }
        let before = self.timing();
        let mut actions = Vec::new();
        let mut force = false;
        self.remote = Remote {
            discriminator: packet.my_discriminator,
            state: packet.state,
            demand: packet.demand,
            required_min_rx: packet.required_min_rx_interval,
            desired_min_tx: packet.desired_min_tx_interval,
            detect_multiplier: packet.detect_multiplier,
        };
        if packet.final_ {
            self.end_poll();
        }
        if self.state == State::AdminDown {
            self.retime(before, now, false);
            return Ok(self.finish(now, actions, false));
        }
        let next = match (self.state, packet.state) {
            (State::Down, State::AdminDown) => None,
            (_, State::AdminDown) => Some((State::Down, Diagnostic::NeighborSignaledDown)),
            (State::Down, State::Down) => Some((State::Init, Diagnostic::None)),
            (State::Down, State::Init) | (State::Init, State::Init | State::Up) => {
                Some((State::Up, Diagnostic::None))
            }
            (State::Up, State::Down) => Some((State::Down, Diagnostic::NeighborSignaledDown)),
            _ => None,
        };
        if let Some((state, diagnostic)) = next {
            self.set_state(state, diagnostic, &mut actions, &mut force);
        }
        self.last_rx = Some(now);
        self.retime(before, now, force);
        Ok(self.finish(now, actions, packet.poll))
    }

    /// Runs what is due at `now`: the detection timer and the next periodic packet.
    pub fn tick(&mut self, now: Instant) -> Vec<Action> {
        let before = self.timing();
        let mut actions = Vec::new();
        let mut force = false;
        if self
            .detection_deadline()
            .is_some_and(|deadline| now >= deadline)
        {
            self.last_rx = None;
            self.remote = Remote::UNKNOWN;
            self.poll = Poll::Idle;
            if matches!(self.state, State::Init | State::Up) {
                let diagnostic = Diagnostic::ControlDetectionTimeExpired;
                self.set_state(State::Down, diagnostic, &mut actions, &mut force);
            }
        }
        self.retime(before, now, force);
        self.finish(now, actions, false)
    }

    /// Disables the session (§6.8.16): it sends AdminDown with diagnostic 7 and ignores what
    /// it receives until [`Session::admin_up`].
    pub fn admin_down(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.state != State::AdminDown {
            let before = self.timing();
            let mut force = false;
            let diagnostic = Diagnostic::AdministrativelyDown;
            self.set_state(State::AdminDown, diagnostic, &mut actions, &mut force);
            self.last_rx = None;
            self.retime(before, now, force);
        }
        self.finish(now, actions, false)
    }

    /// Enables a disabled session: it goes to Down and starts over.
    pub fn admin_up(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.state == State::AdminDown {
            let before = self.timing();
            let mut force = false;
            self.set_state(State::Down, Diagnostic::None, &mut actions, &mut force);
            self.retime(before, now, force);
        }
        self.finish(now, actions, false)
    }

    /// Takes a new configuration: changed intervals start a Poll Sequence while Up (§6.8.3),
    /// a changed multiplier goes out with the next packet (§6.8.12).
    pub fn reconfigure(&mut self, config: SessionConfig, now: Instant) -> Vec<Action> {
        let before = self.timing();
        let mut force = false;
        self.config = config;
        self.apply_intervals(&mut force);
        self.retime(before, now, force);
        self.finish(now, Vec::new(), false)
    }

    fn set_state(
        &mut self,
        state: State,
        diagnostic: Diagnostic,
        actions: &mut Vec<Action>,
        force: &mut bool,
    ) {
        let old = self.state;
        self.state = state;
        self.diagnostic = diagnostic;
        if old == State::Up {
            self.poll = Poll::Idle;
            actions.push(Action::Down {
                diagnostic,
                remote_admin_down: diagnostic == Diagnostic::NeighborSignaledDown
                    && self.remote.state == State::AdminDown,
            });
        }
        if state == State::Up {
            actions.push(Action::Up);
        }
        self.apply_intervals(force);
        *force = true;
    }
}

mod timing;

#[cfg(test)]
mod tests;
