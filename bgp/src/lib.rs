//! BGP-4 for ferrolb, without sockets: bytes and events in, bytes and actions out.
//!
//! [`message`] encodes and decodes the wire format of RFC 4271 with the extensions a
//! MetalLB-compatible speaker needs (multiprotocol NLRI, four-octet AS numbers, communities,
//! large communities, route refresh, graceful restart). [`session`] is the finite state
//! machine of one peering: the speaker feeds it connection events, received messages and timer
//! expiries and carries out the actions it returns. [`adj_rib_out`] remembers what a peer was
//! told and turns a desired set of routes into the fewest UPDATE messages that bring the peer
//! there. [`prefix`] and [`route`] are the values those layers exchange.
//!
//! ```
//! use std::net::Ipv4Addr;
//! use ferrolb_bgp::{Action, Event, Message, PeerAs, Session, SessionConfig, decode, encode};
//!
//! let config = SessionConfig::new(64512, PeerAs::External, Ipv4Addr::new(192, 0, 2, 10));
//! let mut session = Session::new(config);
//! assert_eq!(session.handle(Event::Start), [Action::Connect]);
//! // The speaker connects, then reports the outcome; the session answers with its OPEN.
//! let actions = session.handle(Event::TcpConnected);
//! let Action::Send(open) = &actions[0] else { unreachable!() };
//! let bytes = encode(open, session.codec());
//! assert!(matches!(decode(&bytes, session.codec()), Ok((Message::Open(_), n)) if n == bytes.len()));
//! ```

pub mod adj_rib_out;
pub mod message;
pub mod prefix;
pub mod route;
pub mod session;

pub use adj_rib_out::{AdjRibOut, UpdateContext};
pub use message::{
    AS_TRANS, AsSegment, Attribute, Capability, Codec, DecodeError, DecodeErrorKind, Decoder,
    MAX_MESSAGE_LEN, Message, Notification, Open, Origin, Update, decode, encode,
};
pub use prefix::{Family, Prefix, PrefixError};
pub use route::{LargeCommunity, Route};
pub use session::{
    Action, Event, Negotiated, OPEN_HOLD_TIME, PeerAs, Session, SessionConfig, State, Timer,
};
