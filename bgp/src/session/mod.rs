//! One BGP peering as a pure finite state machine (RFC 4271 §8).
//!
//! The speaker owns the TCP connection and the timers; a [`Session`] owns the decisions. Each
//! [`Event`] the speaker observes (a connection outcome, a received message, a timer expiry, an
//! operator start or stop) goes into [`Session::handle`], which returns the [`Action`]s to carry
//! out in order. [`config`] holds what the operator chose, [`negotiate`] checks a peer's OPEN
//! against it, [`fsm`] holds the transitions.

mod config;
mod fsm;
mod negotiate;
#[cfg(test)]
mod tests;

pub use config::{PeerAs, SessionConfig};
pub use fsm::{Action, Event, OPEN_HOLD_TIME, Session, State, Timer};
pub use negotiate::Negotiated;
