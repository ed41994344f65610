//! The BFD sessions of this node, kept in line with what its BGP sessions need: one session
//! per [`SessionKey`], each a [`super::driver`] task with its own discriminator and source
//! port, and one listener per address family and hop kind in use, whose packets
//! [`super::demux`] routes.
//!
//! [`Service::start`] runs before the BGP sessions are brought in line (so a new BGP session
//! finds its BFD session's status) and [`Service::retain`] after them (so a BGP session closes
//! before the BFD session under it says AdminDown). A listener that cannot be opened (the port
//! is taken, say by another BFD daemon on the node) is reported and tried again at the next
//! call; a session whose transmitter cannot be opened yet (no route to the peer) tries again
//! every second by itself.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ferrolb_bfd::{Session, SessionConfig};
use futures::future::join_all;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::demux::{self, Entry, Table};
use super::driver::{Command, Driver};
use super::random::Xorshift;
use super::socket::{Family, Network, Transmitter};
use super::{BfdStatus, Hop, SessionKey};
use crate::metrics::{BfdLabels, Metrics};

/// Packets waiting for a session before more are dropped.
const INBOX: usize = 64;
/// The pause between attempts to open a session's transmitter.
const REOPEN: Duration = Duration::from_secs(1);
/// How long a stopping session may take to send AdminDown.
const STOP_GRACE: Duration = Duration::from_secs(1);

/// A running session, as the service holds it.
struct Running {
    config: SessionConfig,
    discriminator: u32,
    status: watch::Receiver<BfdStatus>,
    commands: mpsc::UnboundedSender<Command>,
    task: JoinHandle<()>,
}

/// The node's BFD sessions over `N`'s sockets.
pub struct Service<N: Network> {
    network: Arc<N>,
    table: Arc<Mutex<Table>>,
    listeners: BTreeMap<(Family, Hop), JoinHandle<()>>,
    sessions: BTreeMap<SessionKey, Running>,
    metrics: Arc<Metrics>,
    random: Xorshift,
}

impl<N: Network> Service<N> {
    pub fn new(network: N, metrics: Arc<Metrics>) -> Self {
        Service {
            network: Arc::new(network),
            table: Arc::default(),
            listeners: BTreeMap::new(),
            sessions: BTreeMap::new(),
            metrics,
            random: Xorshift::from_entropy(),
        }
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the sessions of `wanted` that do not run yet and hands a changed configuration
    /// to those that do; stops none. Returns what keeps sessions from working.
    pub fn start(&mut self, wanted: &BTreeMap<SessionKey, SessionConfig>) -> Vec<String> {
        let mut problems = Vec::new();
        for (key, config) in wanted {
            problems.extend(self.listen(Family::of(key.peer), key.hop));
            match self.sessions.get_mut(key) {
                Some(running) if running.config != *config => {
                    running.config = *config;
                    let discriminator = running.discriminator;
                    let _ = running.commands.send(Command::Reconfigure(*config));
                    self.table()
                        .set_minimum_ttl(discriminator, config.minimum_ttl());
                    tracing::info!(session = %key, "bfd session reconfigured");
                }
                Some(_) => {}
                None => self.spawn(*key, *config),
            }
        }
        problems
    }

    /// Opens the listener of `family` and `hop` unless it is open.
    fn listen(&mut self, family: Family, hop: Hop) -> Option<String> {
        if self.listeners.contains_key(&(family, hop)) {
            return None;
        }
        match self.network.listen(family, hop) {
            Ok(listener) => {
                let task = tokio::spawn(demux::receive(listener, hop, self.table.clone()));
                self.listeners.insert((family, hop), task);
                None
            }
            Err(e) => Some(format!(
                "cannot listen for {hop} BFD packets over {family:?} on UDP port {}: {e}; \
                 BFD sessions cannot come up until it is free",
                hop.port()
            )),
        }
    }

    fn spawn(&mut self, key: SessionKey, config: SessionConfig) {
        let discriminator = loop {
            let candidate = ferrolb_bfd::RandomSource::next_u32(&mut self.random);
            if candidate != 0 && !self.table().contains(candidate) {
                break candidate;
            }
        };
        let (inbox, packets) = mpsc::channel(INBOX);
        let (commands, orders) = mpsc::unbounded_channel();
        let (status_tx, status) = watch::channel(BfdStatus::INITIAL);
        self.table().insert(
            discriminator,
            Entry {
                key,
                local: None,
                minimum_ttl: config.minimum_ttl(),
                inbox,
            },
        );
        self.metrics.bfd.add(&BfdLabels::new(key.peer));
        tracing::info!(session = %key, discriminator, "starting a bfd session");
        let opening = Opening {
            network: self.network.clone(),
            table: self.table.clone(),
            key,
            config,
            discriminator,
            status: status_tx,
            metrics: self.metrics.clone(),
            random: Xorshift::seeded(self.random.next_u64()),
        };
        let task = tokio::spawn(opening.run(packets, orders));
        self.sessions.insert(
            key,
            Running {
                config,
                discriminator,
                status,
                commands,
                task,
            },
        );
    }

    /// The status of the session of `key`, while it runs.
    pub fn status(&self, key: &SessionKey) -> Option<watch::Receiver<BfdStatus>> {
        self.sessions.get(key).map(|r| r.status.clone())
    }

    /// Stops every session not in `wanted`, each sending AdminDown first.
    pub async fn retain(&mut self, wanted: &BTreeMap<SessionKey, SessionConfig>) {
        let stale: Vec<SessionKey> = self
            .sessions
            .keys()
            .filter(|key| !wanted.contains_key(key))
            .copied()
            .collect();
        let stopping: Vec<(SessionKey, Running)> = stale
            .into_iter()
            .filter_map(|key| self.sessions.remove(&key).map(|r| (key, r)))
            .collect();
        join_all(
            stopping
                .into_iter()
                .map(|(key, running)| self.stop(key, running)),
        )
        .await;
    }

    /// Stops every session.
    pub async fn stop_all(&mut self) {
        self.retain(&BTreeMap::new()).await;
        for (_, listener) in std::mem::take(&mut self.listeners) {
            listener.abort();
        }
    }

    async fn stop(&self, key: SessionKey, running: Running) {
        tracing::info!(session = %key, "stopping the bfd session");
        let _ = running.commands.send(Command::Stop);
        let mut task = running.task;
        if tokio::time::timeout(STOP_GRACE, &mut task).await.is_err() {
            task.abort();
        }
        self.table().remove(running.discriminator);
        if !self.sessions.keys().any(|k| k.peer == key.peer) {
            self.metrics.bfd.remove(&BfdLabels::new(key.peer));
        }
    }
}

impl<N: Network> Drop for Service<N> {
    fn drop(&mut self) {
        for listener in self.listeners.values() {
            listener.abort();
        }
        for running in self.sessions.values() {
            running.task.abort();
        }
    }
}

/// A session whose transmitter is not open yet.
struct Opening<N> {
    network: Arc<N>,
    table: Arc<Mutex<Table>>,
    key: SessionKey,
    config: SessionConfig,
    discriminator: u32,
    status: watch::Sender<BfdStatus>,
    metrics: Arc<Metrics>,
    random: Xorshift,
}

impl<N: Network> Opening<N> {
    /// Opens the transmitter, trying every [`REOPEN`], then runs the session.
    async fn run(
        mut self,
        packets: mpsc::Receiver<ferrolb_bfd::ControlPacket>,
        mut orders: mpsc::UnboundedReceiver<Command>,
    ) {
        let mut attempts = 0u32;
        let transmitter = loop {
            match self.network.transmitter(&self.key) {
                Ok(transmitter) => break transmitter,
                Err(e) => {
                    if attempts == 0 {
                        tracing::warn!(session = %self.key, "cannot open the bfd socket, retrying: {e}");
                    } else {
                        tracing::debug!(session = %self.key, "cannot open the bfd socket: {e}");
                    }
                    attempts += 1;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(REOPEN) => {}
                order = orders.recv() => match order {
                    Some(Command::Reconfigure(config)) => self.config = config,
                    Some(Command::Stop) | None => return,
                },
            }
        };
        self.table
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set_local(self.discriminator, transmitter.local_address());
        let discriminator = NonZeroU32::new(self.discriminator).expect("never zero");
        let session = Session::new(self.config, discriminator, self.random);
        Driver::new(session, transmitter, self.key, self.status, self.metrics)
            .run(packets, orders)
            .await;
    }
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
