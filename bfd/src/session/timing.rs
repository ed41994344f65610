//! The session's timing: which intervals it advertises in each state (slow start while not
//! Up, RFC 5880 §6.8.3), the Poll sequence that changes them, when it may send and when the
//! next packet and the detection deadline fall, with the jitter of §6.8.7; and the Control
//! packet it sends. The rules of the state machine in [`super`] call these.

use std::time::{Duration, Instant};

use super::*;

impl<R: RandomSource> Session<R> {
    /// Brings the intervals we send in line with the configuration and the state.
    pub(super) fn apply_intervals(&mut self, force: &mut bool) {
        let up = self.state == State::Up;
        let desired_min_tx = if up {
            self.config.desired_min_tx()
        } else {
            self.config.desired_min_tx().max(SLOW_TX_INTERVAL)
        };
        let required_min_rx = self.config.required_min_rx();
        if !up {
            self.desired_min_tx = desired_min_tx;
            self.required_min_rx = required_min_rx;
            self.tx_in_use = desired_min_tx;
            self.rx_in_use = required_min_rx;
            return;
        }
        if (desired_min_tx, required_min_rx) == (self.desired_min_tx, self.required_min_rx) {
            return;
        }
        self.desired_min_tx = desired_min_tx;
        self.required_min_rx = required_min_rx;
        // A faster transmission and a longer detection time are safe at once; the others
        // wait until the peer acknowledged the new values.
        self.tx_in_use = self.tx_in_use.min(desired_min_tx);
        self.rx_in_use = self.rx_in_use.max(required_min_rx);
        self.poll = match self.poll {
            Poll::Idle => Poll::Active { again: false },
            Poll::Active { .. } => Poll::Active { again: true },
        };
        *force = true;
    }

    /// A Final arrived.
    pub(super) fn end_poll(&mut self) {
        match self.poll {
            Poll::Idle => {}
            Poll::Active { again: true } => self.poll = Poll::Active { again: false },
            Poll::Active { again: false } => {
                self.poll = Poll::Idle;
                self.tx_in_use = self.desired_min_tx;
                self.rx_in_use = self.required_min_rx;
            }
        }
    }

    pub(super) fn tx_interval(&self) -> u32 {
        self.tx_in_use.max(self.remote.required_min_rx)
    }

    /// Whether periodic packets may be sent (§6.8.7).
    pub(super) fn may_send(&self) -> bool {
        let remote = &self.remote;
        self.started
            && !(self.config.passive() && remote.discriminator == 0)
            && remote.required_min_rx != 0
            && !(remote.demand && self.state == State::Up && remote.state == State::Up)
    }

    pub(super) fn timing(&self) -> (bool, u32) {
        (self.may_send(), self.tx_interval())
    }

    /// Reschedules the next periodic packet if the permission to send or the interval
    /// changed since `before`, or sends one now if `force` and sending is allowed.
    pub(super) fn retime(&mut self, before: (bool, u32), now: Instant, force: bool) {
        if !force && self.timing() == before {
            return;
        }
        self.next_tx = if !self.may_send() {
            None
        } else if force {
            Some(now)
        } else {
            match self.last_tx {
                Some(last) => Some(last + self.jitter()),
                None => Some(now),
            }
        };
    }

    pub(super) fn jitter(&mut self) -> Duration {
        let interval = self.tx_interval();
        jittered(interval, self.config.detect_multiplier(), &mut self.random)
    }

    pub(super) fn detection_deadline(&self) -> Option<Instant> {
        Some(self.last_rx? + self.detection_time()?)
    }

    /// `actions`, then the periodic packet if due (carrying F if `final_owed`), a separate
    /// Final if still owed, and the next wake-up.
    pub(super) fn finish(
        &mut self,
        now: Instant,
        mut actions: Vec<Action>,
        final_owed: bool,
    ) -> Vec<Action> {
        let mut final_owed = final_owed;
        if self.next_tx.is_some_and(|at| at <= now) {
            actions.push(Action::Send(self.packet(final_owed)));
            final_owed = false;
            self.last_tx = Some(now);
            self.next_tx = Some(now + self.jitter());
        }
        if final_owed {
            actions.push(Action::Send(self.packet(true)));
        }
        actions.push(Action::WakeAt(self.next_wakeup()));
        actions
    }

    pub(super) fn packet(&self, final_: bool) -> ControlPacket {
        ControlPacket {
            diagnostic: self.diagnostic,
            state: self.state,
            poll: self.poll_active() && !final_,
            final_,
            control_plane_independent: false,
            demand: false,
            detect_multiplier: self.config.detect_multiplier(),
            my_discriminator: self.local_discriminator,
            your_discriminator: self.remote.discriminator,
            desired_min_tx_interval: self.desired_min_tx,
            required_min_rx_interval: self.required_min_rx,
            required_min_echo_rx_interval: 0,
        }
    }
}
