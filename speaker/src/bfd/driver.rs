//! One BFD session at work: a task that owns a [`ferrolb_bfd::Session`] and its transmitter,
//! feeds it the packets the demultiplexer routes to it and the wake-ups it asks for, sends the
//! packets it returns and publishes its state on a watch channel ([`BfdStatus`]), with the
//! session's metrics.
//!
//! Instants come from tokio's clock, so tests run the task in paused time. A reconfiguration
//! (the profile changed) is applied in place, with the Poll Sequence the state machine runs
//! while Up; stopping sends AdminDown (RFC 5880 §6.8.16), so the peer does not take the
//! removal for a failure of the path.

use std::sync::Arc;
use std::time::Instant;

use ferrolb_bfd::{Action, ControlPacket, RandomSource, Session, SessionConfig, encode};
use tokio::sync::{mpsc, watch};

use super::socket::Transmitter;
use super::{BfdStatus, SessionKey};
use crate::metrics::{BfdLabels, Metrics};

/// What the manager asks of a running session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Reconfigure(SessionConfig),
    /// Send AdminDown and end.
    Stop,
}

/// A session's task state.
pub struct Driver<T, R> {
    session: Session<R>,
    transmitter: T,
    key: SessionKey,
    status: watch::Sender<BfdStatus>,
    failures: u64,
    metrics: Arc<Metrics>,
    labels: BfdLabels,
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

impl<T: Transmitter, R: RandomSource + Send + 'static> Driver<T, R> {
    pub fn new(
        session: Session<R>,
        transmitter: T,
        key: SessionKey,
        status: watch::Sender<BfdStatus>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let failures = status.borrow().failures;
        Driver {
            session,
            transmitter,
            key,
            status,
            failures,
            metrics,
            labels: BfdLabels::new(key.peer),
        }
    }

    /// Runs the session until [`Command::Stop`] or until `commands` closes.
    pub async fn run(
        mut self,
        mut inbox: mpsc::Receiver<ControlPacket>,
        mut commands: mpsc::UnboundedReceiver<Command>,
    ) {
        let actions = self.session.start(now());
        let mut wake = self.carry_out(actions).await;
        loop {
            let sleep = wake.map(tokio::time::Instant::from_std);
            tokio::select! {
                biased;
                command = commands.recv() => match command {
                    Some(Command::Reconfigure(config)) => {
                        let actions = self.session.reconfigure(config, now());
                        wake = self.carry_out(actions).await;
                    }
                    Some(Command::Stop) | None => break,
                },
                Some(packet) = inbox.recv() => {
                    self.metrics.bfd.control_packet_input.get_or_create(&self.labels).inc();
                    match self.session.receive(&packet, now()) {
                        Ok(actions) => wake = self.carry_out(actions).await,
                        Err(discarded) => tracing::debug!(session = %self.key, "{discarded}"),
                    }
                }
                _ = tokio::time::sleep_until(sleep.unwrap_or_else(tokio::time::Instant::now)),
                    if sleep.is_some() =>
                {
                    let actions = self.session.tick(now());
                    wake = self.carry_out(actions).await;
                }
            }
        }
        let actions = self.session.admin_down(now());
        self.carry_out(actions).await;
    }

    /// Carries out `actions` in order and returns the next wake-up.
    async fn carry_out(&mut self, actions: Vec<Action>) -> Option<Instant> {
        let mut wake = None;
        for action in actions {
            match action {
                Action::Send(packet) => self.send(&packet).await,
                Action::Up => {
                    tracing::info!(
                        session = %self.key,
                        transmit = ?self.session.transmit_interval(),
                        detection = ?self.session.detection_time(),
                        "bfd session up"
                    );
                    self.metrics
                        .bfd
                        .session_up
                        .get_or_create(&self.labels)
                        .set(1);
                    let events = &self.metrics.bfd.session_up_events;
                    events.get_or_create(&self.labels).inc();
                }
                Action::Down {
                    diagnostic,
                    remote_admin_down,
                } => {
                    if remote_admin_down {
                        tracing::info!(session = %self.key, "bfd session down: the peer disabled it");
                    } else {
                        self.failures += 1;
                        tracing::warn!(session = %self.key, "bfd session down: {diagnostic}");
                    }
                    self.metrics
                        .bfd
                        .session_up
                        .get_or_create(&self.labels)
                        .set(0);
                    let events = &self.metrics.bfd.session_down_events;
                    events.get_or_create(&self.labels).inc();
                }
                Action::WakeAt(at) => wake = at,
            }
        }
        self.publish();
        wake
    }

    async fn send(&mut self, packet: &ControlPacket) {
        match self.transmitter.send(&encode(packet)).await {
            Ok(()) => {
                let sent = &self.metrics.bfd.control_packet_output;
                sent.get_or_create(&self.labels).inc();
            }
            Err(e) => tracing::debug!(session = %self.key, "cannot send a bfd packet: {e}"),
        }
    }

    fn publish(&self) {
        let now = BfdStatus {
            state: self.session.state(),
            diagnostic: self.session.diagnostic(),
            failures: self.failures,
        };
        self.status.send_if_modified(|status| {
            let changed = *status != now;
            *status = now;
            changed
        });
    }
}

#[cfg(test)]
#[path = "driver_tests.rs"]
mod tests;
