//! BFD for ferrolb, without sockets: packets and instants in, packets and actions out.
//!
//! [`packet`] encodes and decodes the Control packet of RFC 5880 §4.1 and makes the reception
//! checks that need only the packet. [`session`] is the state machine of one session in
//! Asynchronous mode (RFC 5880 §6): the caller feeds it decoded packets and wake-ups, each
//! with the current instant, and carries out the actions it returns. [`config`] turns the
//! fields of a MetalLB BFDProfile into a session's parameters, and [`jitter`] spaces the
//! periodic packets with the randomness the caller injects. The UDP sockets of RFC 5881
//! (single hop, port 3784, TTL 255) and RFC 5883 (multi-hop, port 4784, minimum TTL) belong
//! to the caller, as does finding the session a packet is for. Echo mode, Demand mode on our
//! side and authentication are not implemented.
//!
//! ```
//! use std::num::NonZeroU32;
//! use std::time::Instant;
//! use ferrolb_bfd::{Action, Session, SessionConfig, State, decode, encode};
//!
//! let now = Instant::now();
//! let mut a = Session::new(SessionConfig::default(), NonZeroU32::new(1).unwrap(), || 0);
//! let mut b = Session::new(SessionConfig::default(), NonZeroU32::new(2).unwrap(), || 0);
//! let Action::Send(hello) = a.start(now)[0] else { unreachable!() };
//! b.start(now);
//! // b answers a's Down with Init, and a's Up follows.
//! let answer = b.receive(&decode(&encode(&hello)).unwrap(), now).unwrap();
//! let Action::Send(init) = answer[0] else { unreachable!() };
//! assert_eq!(init.state, State::Init);
//! assert!(a.receive(&init, now).unwrap().contains(&Action::Up));
//! ```

pub mod config;
pub mod jitter;
pub mod packet;
pub mod session;

pub use config::{ConfigError, Profile, SessionConfig};
pub use jitter::RandomSource;
pub use packet::{ControlPacket, DecodeError, Diagnostic, State, decode, encode};
pub use session::{Action, Discarded, Remote, SLOW_TX_INTERVAL, Session};
