//! BGP-4 for ferrolb, without sockets: bytes and events in, bytes and actions out.
//!
//! [`message`] encodes and decodes the wire format of RFC 4271 with the extensions a
//! MetalLB-compatible speaker needs (multiprotocol NLRI, four-octet AS numbers, communities,
//! large communities, route refresh, graceful restart). [`session`] is the finite state
//! machine of one peering: the speaker feeds it connection events, received messages and timer
//! expiries and carries out the actions it returns. [`adj_rib_out`] remembers what a peer was
//! told and turns a desired set of routes into the fewest UPDATE messages that bring the peer
//! there. [`prefix`] and [`route`] are the values those layers exchange.

pub mod adj_rib_out;
pub mod message;
pub mod prefix;
pub mod route;
pub mod session;

pub use adj_rib_out::{AdjRibOut, UpdateContext};
pub use message::{
    AsSegment, Attribute, Capability, Codec, DecodeError, Decoder, Message, Notification, Open,
    Origin, Update, decode, encode,
};
pub use prefix::{Family, Prefix, PrefixError};
pub use route::{LargeCommunity, Route};
pub use session::{Action, Event, Negotiated, PeerAs, Session, SessionConfig, State, Timer};
