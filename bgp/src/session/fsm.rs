//! The session states and their transitions.

use std::fmt;
use std::time::Duration;

use super::config::SessionConfig;
use super::negotiate::Negotiated;
use crate::message::{Codec, DecodeError, Message};
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
    Stop,
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

/// One peering.
#[derive(Clone, Debug)]
pub struct Session {
    config: SessionConfig,
    state: State,
    negotiated: Option<Negotiated>,
}

impl Session {
    pub fn new(config: SessionConfig) -> Session {
        Session {
            config,
            state: State::Idle,
            negotiated: None,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// What was agreed, while the session is established.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// How to encode and decode messages on this session now.
    pub fn codec(&self) -> Codec {
        Codec {
            four_octet_as: self.negotiated.as_ref().is_some_and(|n| n.four_octet_as),
        }
    }

    /// Applies one event and returns what to do.
    pub fn handle(&mut self, event: Event) -> Vec<Action> {
        let _ = (event, &self.config);
        unimplemented!()
    }
}
