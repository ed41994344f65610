//! One BGP session at work: a task that owns the session state machine of
//! [`ferrolb_bgp::Session`], its TCP connection and timers, and the Adj-RIB-Out of the peer.
//!
//! The task feeds the machine what happens (connection results, bytes decoded into messages,
//! timer expiries) and carries out the actions it returns. The routes it should advertise
//! arrive on a watch channel; whenever they change while the session is established, the
//! Adj-RIB-Out turns the difference into packed UPDATEs, and once established after the
//! initial routes an End-of-RIB per family tells the peer the table is complete (with
//! graceful restart, that is when the peer drops what stayed stale). Stopping for good
//! withdraws every route first, then closes the session with a Cease NOTIFICATION, so the
//! peer moves traffic away before the connection goes; stopping for a restart, on a session
//! that negotiated graceful restart, only closes the connection, so the peer keeps the
//! routes for the restart time (see [`super::restart`]).
//!
//! What the session is configured with (TTL, router ID, graceful restart, timers, next hops)
//! is decided by [`super::session_params`]; this task only applies it. A session over a BFD
//! session follows its status as [`bfd`] decides.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use ferrolb_bgp::{
    Action, AdjRibOut, Decoder, Event, Message, Prefix, Route, Session, State, Timer,
    UpdateContext, encode,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::next_hop;
use super::peers::PeerSession;
use super::session_params::{self, Restart};
use super::transport::{self, Dial};
use crate::bfd::BfdStatus;
use crate::metrics::{Metrics, PeerLabel};
use crate::publish_if_changed;
use bfd::BfdGate;

pub mod bfd;

/// The routes of one peer, shared between the planner and the session task.
pub type Routes = Arc<BTreeMap<Prefix, Route>>;

/// How long a write to the peer may take before the connection counts as broken.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// A running session, as the manager holds it.
pub struct SessionHandle {
    /// The session as configured, with the password it was started with.
    pub session: PeerSession,
    pub password: Option<String>,
    routes: watch::Sender<Routes>,
    /// Carries whether the stop is for a restart.
    stop: oneshot::Sender<bool>,
    task: JoinHandle<()>,
}

impl SessionHandle {
    /// Starts the session of `session` on `node`, advertising `routes` once established and
    /// following the BFD session whose status `bfd` carries, if any, and taking part in
    /// graceful restart as `restart` says.
    pub fn spawn(
        session: PeerSession,
        password: Option<String>,
        node: &str,
        metrics: Arc<Metrics>,
        routes: Routes,
        bfd: Option<watch::Receiver<BfdStatus>>,
        restart: Restart,
    ) -> SessionHandle {
        let (routes_tx, routes_rx) = watch::channel(routes);
        let (stop_tx, stop_rx) = oneshot::channel();
        let connection = Connection::new(&session, password.clone(), node, metrics, bfd, restart);
        let task = tokio::spawn(connection.run(routes_rx, stop_rx));
        SessionHandle {
            session,
            password,
            routes: routes_tx,
            stop: stop_tx,
            task,
        }
    }

    /// Replaces the routes to advertise.
    pub fn advertise(&self, routes: Routes) {
        publish_if_changed(&self.routes, routes);
    }

    /// Withdraws everything, closes the session and waits for the task, at most `grace`.
    /// `for_restart` leaves the routes with a peer that negotiated graceful restart and
    /// closes without a NOTIFICATION.
    pub async fn stop(self, grace: Duration, for_restart: bool) {
        let _ = self.stop.send(for_restart);
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            task.abort();
        }
    }
}

type Connecting = Pin<Box<dyn Future<Output = std::io::Result<TcpStream>> + Send>>;

struct Connection {
    fsm: Session,
    dial: Dial,
    label: PeerLabel,
    peer_name: String,
    local_as: u32,
    metrics: Arc<Metrics>,
    timers: HashMap<Timer, Instant>,
    connecting: Option<Connecting>,
    reader: Option<OwnedReadHalf>,
    writer: Option<OwnedWriteHalf>,
    local: Option<SocketAddr>,
    decoder: Decoder,
    rib: AdjRibOut,
    context: Option<UpdateContext>,
    desired: Routes,
    events: VecDeque<Event>,
    bfd: Option<watch::Receiver<BfdStatus>>,
    gate: BfdGate,
    /// Why the session goes down, when the machine cannot know (BFD closed it).
    down_reason: Option<String>,
}

impl Connection {
    fn new(
        session: &PeerSession,
        password: Option<String>,
        node: &str,
        metrics: Arc<Metrics>,
        mut bfd: Option<watch::Receiver<BfdStatus>>,
        restart: Restart,
    ) -> Self {
        let router_id = session_params::router_id(session, node, transport::local_ipv4_towards);
        let fsm = Session::new(session_params::session_config(session, router_id, restart));
        let label = PeerLabel {
            peer: session.label(),
        };
        metrics.bgp.session_up.get_or_create(&label).set(0);
        let gate = BfdGate::new(
            &bfd.as_mut()
                .map_or(BfdStatus::INITIAL, |b| *b.borrow_and_update()),
        );
        Connection {
            fsm,
            dial: session_params::dial(session, password),
            label,
            peer_name: session.name.clone(),
            local_as: session.local_as,
            metrics,
            timers: HashMap::new(),
            connecting: None,
            reader: None,
            writer: None,
            local: None,
            decoder: Decoder::new(),
            rib: AdjRibOut::new(),
            context: None,
            desired: Arc::new(BTreeMap::new()),
            events: VecDeque::new(),
            bfd,
            gate,
            down_reason: None,
        }
    }

    async fn run(mut self, mut routes: watch::Receiver<Routes>, mut stop: oneshot::Receiver<bool>) {
        self.desired = routes.borrow_and_update().clone();
        self.count_pending();
        self.events.push_back(Event::Start);
        let mut buffer = vec![0u8; 64 * 1024];
        let mut for_restart = false;
        loop {
            self.drain().await;
            let deadline = self.timers.values().min().copied();
            tokio::select! {
                stopped = &mut stop => {
                    for_restart = stopped.unwrap_or(false);
                    break;
                }
                result = async { self.connecting.as_mut().expect("guarded").await },
                    if self.connecting.is_some() =>
                {
                    self.connecting = None;
                    self.connected(result);
                }
                read = async { self.reader.as_mut().expect("guarded").read(&mut buffer).await },
                    if self.reader.is_some() =>
                {
                    match read {
                        Ok(0) | Err(_) => {
                            // The connection is gone: drop it, or the closed socket reports
                            // end-of-file again and again, and a stale close would reach the
                            // next connection's handshake.
                            self.reader = None;
                            self.writer = None;
                            self.events.push_back(Event::TcpClosed);
                        }
                        Ok(n) => self.received(&buffer[..n]),
                    }
                }
                _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)),
                    if deadline.is_some() =>
                {
                    let now = Instant::now();
                    let expired: Vec<Timer> =
                        self.timers.iter().filter(|(_, at)| **at <= now).map(|(t, _)| *t).collect();
                    for timer in expired {
                        self.timers.remove(&timer);
                        self.events.push_back(Event::Expired(timer));
                    }
                }
                changed = routes.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    self.desired = routes.borrow_and_update().clone();
                    self.sync().await;
                }
                changed = async { self.bfd.as_mut().expect("guarded").changed().await },
                    if self.bfd.is_some() =>
                {
                    let status = match changed {
                        Ok(()) => self.bfd.as_mut().map(|b| *b.borrow_and_update()),
                        Err(_) => None,
                    };
                    self.bfd_changed(status).await;
                }
            }
        }
        self.shutdown(for_restart).await;
    }

    /// Withdraws every route, then lets the machine close the session; `for_restart`, on a
    /// session that negotiated graceful restart, closes it without withdrawing anything.
    async fn shutdown(&mut self, for_restart: bool) {
        let keep_routes = for_restart
            && self.fsm.state() == State::Established
            && self.fsm.negotiated().is_some_and(|n| n.graceful_restart);
        if keep_routes {
            tracing::info!(
                peer = %self.peer_name, address = %self.dial.peer,
                "closing for a graceful restart: the peer keeps the routes as stale"
            );
            self.events.push_back(Event::StopForRestart);
        } else {
            self.desired = Arc::new(BTreeMap::new());
            self.sync().await;
            self.events.push_back(Event::Stop);
        }
        self.drain().await;
        if let Some(mut writer) = self.writer.take() {
            let _ = writer.shutdown().await;
        }
        self.metrics.bgp.remove(&self.label);
    }

    fn connected(&mut self, result: std::io::Result<TcpStream>) {
        match result {
            Ok(stream) => {
                self.local = stream.local_addr().ok();
                let (reader, writer) = stream.into_split();
                self.reader = Some(reader);
                self.writer = Some(writer);
                self.decoder = Decoder::new();
                self.events.push_back(Event::TcpConnected);
            }
            Err(e) => {
                tracing::debug!(peer = %self.peer_name, "cannot connect to {}: {e}", self.dial.peer);
                self.events.push_back(Event::TcpFailed);
            }
        }
    }

    fn received(&mut self, bytes: &[u8]) {
        self.decoder.feed(bytes);
        loop {
            match self.decoder.next_message(self.fsm.codec()) {
                Ok(Some(message)) => self.events.push_back(Event::Received(message)),
                Ok(None) => break,
                Err(e) => {
                    self.events.push_back(Event::Malformed(e));
                    break;
                }
            }
        }
    }

    /// Feeds every queued event to the machine and carries out what it asks.
    async fn drain(&mut self) {
        while let Some(event) = self.events.pop_front() {
            for action in self.fsm.handle(event) {
                self.act(action).await;
            }
        }
    }

    async fn act(&mut self, action: Action) {
        match action {
            Action::Connect => {
                let dial = self.dial.clone();
                self.connecting = Some(Box::pin(async move { transport::connect(&dial).await }));
            }
            Action::Send(message) => self.send(&message).await,
            Action::Disconnect => {
                self.connecting = None;
                self.reader = None;
                if let Some(mut writer) = self.writer.take() {
                    let _ = writer.shutdown().await;
                }
            }
            Action::StartTimer(timer, after) => {
                self.timers.insert(timer, Instant::now() + after);
            }
            Action::StopTimer(timer) => {
                self.timers.remove(&timer);
            }
            Action::Established(negotiated) => {
                tracing::info!(
                    peer = %self.peer_name, address = %self.dial.peer,
                    peer_as = negotiated.peer_as, hold = ?negotiated.hold_time,
                    "session established"
                );
                let (next_hop_v4, next_hop_v6) = session_params::next_hops(
                    self.local.map(|l| l.ip()),
                    self.dial.peer.ip(),
                    next_hop::for_ipv4_session,
                );
                self.context = Some(UpdateContext {
                    local_as: self.local_as,
                    ibgp: negotiated.ibgp,
                    four_octet_as: negotiated.four_octet_as,
                    next_hop_v4,
                    next_hop_v6,
                    families: negotiated.families.clone(),
                });
                self.metrics
                    .bgp
                    .session_up
                    .get_or_create(&self.label)
                    .set(1);
                self.sync().await;
                // End-of-RIB (RFC 4724) tells the peer the initial table is complete.
                for family in &negotiated.families {
                    let end = ferrolb_bgp::Update::end_of_rib(*family);
                    self.send(&Message::Update(end)).await;
                }
            }
            Action::Down(reason) => {
                let reason = self.down_reason.take().unwrap_or(reason);
                if self.context.take().is_some() {
                    tracing::warn!(peer = %self.peer_name, address = %self.dial.peer, "session down: {reason}");
                } else {
                    tracing::debug!(peer = %self.peer_name, "session not established: {reason}");
                }
                self.rib.clear();
                self.metrics
                    .bgp
                    .session_up
                    .get_or_create(&self.label)
                    .set(0);
                self.count_pending();
            }
            Action::RouteRefreshRequested(family) => {
                if let Some(context) = self.context.clone() {
                    let updates = self.rib.resend(family, &self.desired, &context);
                    self.send_updates(updates).await;
                }
            }
        }
    }

    async fn send(&mut self, message: &Message) {
        let Some(writer) = self.writer.as_mut() else {
            return;
        };
        let bytes = encode(message, self.fsm.codec());
        match tokio::time::timeout(WRITE_TIMEOUT, writer.write_all(&bytes)).await {
            Ok(Ok(())) => {}
            _ => {
                self.reader = None;
                self.writer = None;
                self.events.push_back(Event::TcpClosed);
            }
        }
    }

    /// Brings the peer to the desired routes, if the session is up.
    async fn sync(&mut self) {
        if self.fsm.state() != State::Established {
            self.count_pending();
            return;
        }
        let Some(context) = self.context.clone() else {
            return;
        };
        let updates = self.rib.sync(&self.desired, &context);
        self.send_updates(updates).await;
    }

    async fn send_updates(&mut self, updates: Vec<ferrolb_bgp::Update>) {
        let count = updates.len() as u64;
        for update in updates {
            self.send(&Message::Update(update)).await;
        }
        if count > 0 {
            self.metrics
                .bgp
                .updates
                .get_or_create(&self.label)
                .inc_by(count);
        }
        self.metrics
            .bgp
            .announced_prefixes
            .get_or_create(&self.label)
            .set(self.rib.sent().len() as i64);
        self.count_pending();
    }

    fn count_pending(&self) {
        let sent = self.rib.sent();
        let pending = self
            .desired
            .iter()
            .filter(|(prefix, route)| sent.get(prefix) != Some(route))
            .count();
        self.metrics
            .bgp
            .pending_prefixes
            .get_or_create(&self.label)
            .set(pending as i64);
    }
}
