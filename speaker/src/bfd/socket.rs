//! The sockets of BFD as traits, so the session tasks and the demultiplexer are tested over
//! fakes: a [`Listener`] receives every Control packet of one address family and hop kind with
//! the TTL and destination address of its IP header, a [`Transmitter`] sends one session's
//! packets from its own source port, and a [`Network`] opens both. [`super::udp`] implements
//! them over the kernel's UDP sockets.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};

use super::{Hop, SessionKey};

/// An IP version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    pub fn of(address: IpAddr) -> Family {
        match address {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }
}

/// One received UDP datagram with what its IP header said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    pub payload: Vec<u8>,
    pub source: SocketAddr,
    /// The address the packet was sent to, when the kernel reported it.
    pub destination: Option<IpAddr>,
    /// The received TTL or hop limit, when the kernel reported it.
    pub ttl: Option<u8>,
}

/// Receives the Control packets of one family on one hop kind's port.
pub trait Listener: Send + Sync + 'static {
    fn recv(&self) -> impl Future<Output = io::Result<Datagram>> + Send;
}

/// Sends one session's packets to its peer.
pub trait Transmitter: Send + Sync + 'static {
    fn send(&self, payload: &[u8]) -> impl Future<Output = io::Result<()>> + Send;

    /// The address the packets leave from, which the peer sends back to.
    fn local_address(&self) -> IpAddr;
}

/// Opens listeners and transmitters.
pub trait Network: Send + Sync + 'static {
    type Listener: Listener;
    type Transmitter: Transmitter;

    fn listen(&self, family: Family, hop: Hop) -> io::Result<Self::Listener>;

    /// A transmitter for the session of `key`, from a source port of its own.
    fn transmitter(&self, key: &SessionKey) -> io::Result<Self::Transmitter>;
}
