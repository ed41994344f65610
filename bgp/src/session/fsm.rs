//! The session states and their transitions (RFC 4271 §8.2.2, simplified for a speaker that
//! only initiates connections).
//!
//! Idle means stopped. Connect waits for an outgoing TCP connection, Active waits for the
//! ConnectRetry timer before the next attempt; every failure doubles that wait up to the
//! configured maximum, and reaching Established resets it. Once connected, OPENs are exchanged
//! (OpenSent, OpenConfirm) and the first KEEPALIVE brings the session up. Every way down from a
//! connected state stops the session's timers and, unless the operator stopped it, schedules
//! the next attempt.

use std::fmt;
use std::time::Duration;

use super::config::SessionConfig;
use super::negotiate::{Negotiated, negotiate};
use crate::message::{Codec, DecodeError, Message, Notification};
use crate::prefix::Family;

/// The states of RFC 4271 §8.2.2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    Idle,
    Connect,
    Active,
    OpenSent,
    OpenConfirm,
    Established,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Idle => "idle",
            State::Connect => "connect",
            State::Active => "active",
            State::OpenSent => "open-sent",
            State::OpenConfirm => "open-confirm",
            State::Established => "established",
        })
    }
}

/// The timers the speaker runs for a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    ConnectRetry,
    Hold,
    Keepalive,
}

/// Something that happened to the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Start,
    /// Stop for good: the peer is told with a Cease NOTIFICATION and drops our routes.
    Stop,
    /// Stop for a restart (RFC 4724 §4): when both sides negotiated graceful restart, the
    /// connection is closed without a NOTIFICATION, so the peer keeps our routes as stale for
    /// our restart time; otherwise the same as [`Event::Stop`].
    StopForRestart,
    TcpConnected,
    TcpFailed,
    TcpClosed,
    Received(Message),
    Malformed(DecodeError),
    Expired(Timer),
}

/// Something the speaker must do, in the order returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Open the TCP connection; report `TcpConnected` or `TcpFailed`.
    Connect,
    Send(Message),
    /// Close the connection after sending whatever was queued before.
    Disconnect,
    /// (Re)start a timer: an earlier deadline of the same timer is replaced.
    StartTimer(Timer, Duration),
    StopTimer(Timer),
    /// The session came up: start sending routes.
    Established(Negotiated),
    /// The session went down or failed to come up; the reason is lowercase.
    Down(String),
    /// The peer asked for every route of this family again.
    RouteRefreshRequested(Family),
}

/// The hold time while waiting for the peer's OPEN: RFC 4271 §8.2.2 suggests 4 minutes.
pub const OPEN_HOLD_TIME: Duration = Duration::from_secs(240);

/// One peering.
#[derive(Clone, Debug)]
pub struct Session {
    config: SessionConfig,
    state: State,
    /// Set from the peer's OPEN on, cleared when the connection goes.
    negotiated: Option<Negotiated>,
    /// Failed attempts since the session was last established or started.
    failures: u32,
}

impl Session {
    pub fn new(config: SessionConfig) -> Session {
        Session {
            config,
            state: State::Idle,
            negotiated: None,
            failures: 0,
        }
    }

    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// What was agreed, from the peer's accepted OPEN (OpenConfirm) until the connection goes.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// How to encode and decode messages on this session now.
    pub fn codec(&self) -> Codec {
        Codec {
            four_octet_as: self.negotiated.as_ref().is_some_and(|n| n.four_octet_as),
        }
    }

    /// Applies one event and returns what to do, in order.
    pub fn handle(&mut self, event: Event) -> Vec<Action> {
        use State::*;
        match (self.state, event) {
            (Idle, Event::Start) => self.connect(),
            (_, Event::Start) => Vec::new(),
            (_, Event::Stop) => self.stop(),
            (Established, Event::StopForRestart) if self.graceful_restart() => {
                self.stop_for_restart()
            }
            (_, Event::StopForRestart) => self.stop(),
            (Idle, _) => Vec::new(),
            (Connect, Event::TcpConnected) => {
                self.state = OpenSent;
                vec![
                    Action::Send(Message::Open(self.config.open())),
                    Action::StartTimer(Timer::Hold, OPEN_HOLD_TIME),
                ]
            }
            (Connect, Event::TcpFailed | Event::TcpClosed) => self.retry(Vec::new()),
            (Active, Event::Expired(Timer::ConnectRetry)) => self.connect(),
            // Nothing is connected in these states: anything else is stale.
            (Connect | Active, _) => Vec::new(),
            (_, Event::TcpFailed | Event::TcpClosed) => {
                let mut actions = self.stop_timers();
                if self.state == Established {
                    actions.push(Action::Down("connection closed by peer".into()));
                }
                self.retry(actions)
            }
            (_, Event::Expired(Timer::Hold)) => self.fail(
                Notification::hold_timer_expired(),
                "hold timer expired".into(),
            ),
            (OpenConfirm | Established, Event::Expired(Timer::Keepalive)) => {
                self.keepalive_timer(vec![Action::Send(Message::Keepalive)])
            }
            (_, Event::Malformed(error)) if error.is_ignorable() => Vec::new(),
            (_, Event::Malformed(error)) => self.fail(
                error.notification(),
                format!("malformed message from peer: {error}"),
            ),
            (_, Event::Received(message)) => self.receive(message),
            (_, Event::TcpConnected | Event::Expired(_)) => Vec::new(),
        }
    }

    fn connect(&mut self) -> Vec<Action> {
        self.state = State::Connect;
        vec![Action::Connect]
    }

    fn receive(&mut self, message: Message) -> Vec<Action> {
        match (self.state, message) {
            (_, Message::Notification(notification)) => {
                let mut actions = vec![Action::Disconnect];
                actions.extend(self.stop_timers());
                actions.push(Action::Down(format!(
                    "peer sent notification: {notification}"
                )));
                self.retry(actions)
            }
            (State::OpenSent, Message::Open(open)) => match negotiate(&self.config, &open) {
                Ok(negotiated) => {
                    self.state = State::OpenConfirm;
                    let mut actions = vec![Action::Send(Message::Keepalive)];
                    if negotiated.hold_time.is_zero() {
                        actions.push(Action::StopTimer(Timer::Hold));
                        self.negotiated = Some(negotiated);
                        return actions;
                    }
                    actions.push(Action::StartTimer(Timer::Hold, negotiated.hold_time));
                    self.negotiated = Some(negotiated);
                    self.keepalive_timer(actions)
                }
                Err(rejection) => self.fail(rejection.notification, rejection.reason),
            },
            (State::OpenConfirm, Message::Keepalive) => {
                self.state = State::Established;
                self.failures = 0;
                // The restart is over once a session came up again: later OPENs are a
                // reconnection, not a restart.
                self.config.restarting = false;
                let negotiated = self.negotiated.clone();
                let mut actions: Vec<Action> =
                    negotiated.into_iter().map(Action::Established).collect();
                actions.extend(self.hold_timer());
                self.keepalive_timer(actions)
            }
            (State::Established, Message::Keepalive | Message::Update(_)) => self.hold_timer(),
            (State::Established, Message::RouteRefresh { family }) => {
                let mut actions = self.hold_timer();
                if self
                    .negotiated
                    .as_ref()
                    .is_some_and(|n| n.families.contains(&family))
                {
                    actions.push(Action::RouteRefreshRequested(family));
                }
                actions
            }
            (state, message) => {
                let subcode = match state {
                    State::OpenSent => Notification::FSM_IN_OPEN_SENT,
                    State::OpenConfirm => Notification::FSM_IN_OPEN_CONFIRM,
                    _ => Notification::FSM_IN_ESTABLISHED,
                };
                let reason = format!("unexpected {} message in {state} state", kind(&message));
                self.fail(Notification::fsm_error(subcode), reason)
            }
        }
    }

    /// Restarts the hold timer with the negotiated value, if one runs.
    fn hold_timer(&self) -> Vec<Action> {
        match &self.negotiated {
            Some(n) if !n.hold_time.is_zero() => vec![Action::StartTimer(Timer::Hold, n.hold_time)],
            _ => Vec::new(),
        }
    }

    /// `actions`, then a restart of the keepalive timer if keepalives are sent.
    fn keepalive_timer(&self, mut actions: Vec<Action>) -> Vec<Action> {
        if let Some(n) = self.negotiated.as_ref().filter(|n| !n.keepalive.is_zero()) {
            actions.push(Action::StartTimer(Timer::Keepalive, n.keepalive));
        }
        actions
    }

    /// Sends `notification`, closes the connection, reports the session down and retries.
    fn fail(&mut self, notification: Notification, reason: String) -> Vec<Action> {
        let mut actions = vec![
            Action::Send(Message::Notification(notification)),
            Action::Disconnect,
        ];
        actions.extend(self.stop_timers());
        actions.push(Action::Down(reason));
        self.retry(actions)
    }

    /// The timers of a connected state, stopped.
    fn stop_timers(&self) -> Vec<Action> {
        match self.state {
            State::OpenSent => vec![Action::StopTimer(Timer::Hold)],
            State::OpenConfirm | State::Established => vec![
                Action::StopTimer(Timer::Hold),
                Action::StopTimer(Timer::Keepalive),
            ],
            _ => Vec::new(),
        }
    }

    /// `actions`, then the wait before the next attempt; the connection is gone.
    fn retry(&mut self, mut actions: Vec<Action>) -> Vec<Action> {
        self.failures = self.failures.saturating_add(1);
        self.state = State::Active;
        self.negotiated = None;
        actions.push(Action::StartTimer(
            Timer::ConnectRetry,
            self.config.retry_delay(self.failures),
        ));
        actions
    }

    /// Both sides of the established session negotiated graceful restart.
    fn graceful_restart(&self) -> bool {
        self.negotiated.as_ref().is_some_and(|n| n.graceful_restart)
    }

    /// Closes the established connection without a NOTIFICATION.
    fn stop_for_restart(&mut self) -> Vec<Action> {
        let mut actions = vec![Action::Disconnect];
        actions.extend(self.stop_timers());
        actions.push(Action::Down("stopped for a graceful restart".into()));
        self.state = State::Idle;
        self.negotiated = None;
        self.failures = 0;
        actions
    }

    fn stop(&mut self) -> Vec<Action> {
        let mut actions = Vec::new();
        match self.state {
            State::Idle => {}
            State::Connect => actions.push(Action::Disconnect),
            State::Active => actions.push(Action::StopTimer(Timer::ConnectRetry)),
            State::OpenSent | State::OpenConfirm | State::Established => {
                let cease = Notification::administrative_shutdown();
                actions.push(Action::Send(Message::Notification(cease)));
                actions.push(Action::Disconnect);
                actions.extend(self.stop_timers());
                if self.state == State::Established {
                    actions.push(Action::Down("administratively stopped".into()));
                }
            }
        }
        self.state = State::Idle;
        self.negotiated = None;
        self.failures = 0;
        actions
    }
}

fn kind(message: &Message) -> &'static str {
    match message {
        Message::Open(_) => "open",
        Message::Update(_) => "update",
        Message::Notification(_) => "notification",
        Message::Keepalive => "keepalive",
        Message::RouteRefresh { .. } => "route refresh",
    }
}
