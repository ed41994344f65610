//! The kernel's UDP sockets for BFD, the speaker's third piece of `unsafe` besides
//! [`crate::socket`] and [`crate::bgp::transport`]: the standard library cannot ask for the
//! received TTL and destination address (`IP_RECVTTL`, `IP_PKTINFO`, `IPV6_RECVHOPLIMIT`,
//! `IPV6_RECVPKTINFO`), read them from `recvmsg`'s control messages, set a hop limit, or bind
//! a socket it did not create. Everything else goes through std's and tokio's `UdpSocket`.
//!
//! A listener per family and port receives every session's packets (IPv6 listeners are
//! IPv6-only, so IPv4 has its own). Each session sends from a socket of its own, bound to its
//! source address (or any) and to a port of 49152–65535 picked at random (RFC 5881 §4: one
//! port per session, for its whole life), connected to the peer so the kernel picks the local
//! address the peer will answer to, and sending with TTL 255 and the precedence of network
//! control traffic. The system calls themselves, and all of the `unsafe`, are in [`sys`].

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::Mutex;

use tokio::io::Interest;
use tokio::net::UdpSocket;

use super::random::Xorshift;
use super::socket::{Datagram, Family, Listener, Network, Transmitter};
use super::{Hop, SessionKey, TTL};
use sys::{bind, new_socket, receive, set_int};

mod sys;

/// The source ports of RFC 5881 §4.
pub const SOURCE_PORTS: std::ops::RangeInclusive<u16> = 49152..=65535;

/// IP precedence 6 (internetwork control), as routing protocols send.
const TOS_NETWORK_CONTROL: libc::c_int = 0xc0;

/// The kernel's sockets.
pub struct Udp {
    random: Mutex<Xorshift>,
}

impl Default for Udp {
    fn default() -> Self {
        Udp {
            random: Mutex::new(Xorshift::from_entropy()),
        }
    }
}

impl Network for Udp {
    type Listener = UdpListener;
    type Transmitter = UdpTransmitter;

    fn listen(&self, family: Family, hop: Hop) -> io::Result<UdpListener> {
        UdpListener::open(family, hop.port())
    }

    fn transmitter(&self, key: &SessionKey) -> io::Result<UdpTransmitter> {
        let start = self
            .random
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .next_u64();
        UdpTransmitter::open(key, start)
    }
}

/// The socket of one family and port that every session's packets arrive on.
pub struct UdpListener {
    socket: UdpSocket,
}

impl UdpListener {
    pub fn open(family: Family, port: u16) -> io::Result<UdpListener> {
        let fd = new_socket(family)?;
        let any = match family {
            Family::Ipv4 => {
                set_int(&fd, libc::IPPROTO_IP, libc::IP_RECVTTL, 1)?;
                set_int(&fd, libc::IPPROTO_IP, libc::IP_PKTINFO, 1)?;
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            }
            Family::Ipv6 => {
                set_int(&fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1)?;
                set_int(&fd, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, 1)?;
                set_int(&fd, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)?;
                IpAddr::V6(Ipv6Addr::UNSPECIFIED)
            }
        };
        bind(&fd, SocketAddr::new(any, port))?;
        let socket = UdpSocket::from_std(std::net::UdpSocket::from(fd))?;
        Ok(UdpListener { socket })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }
}

impl Listener for UdpListener {
    async fn recv(&self) -> io::Result<Datagram> {
        let fd = self.socket.as_raw_fd();
        self.socket
            .async_io(Interest::READABLE, || receive(fd))
            .await
    }
}

/// One session's sending socket.
pub struct UdpTransmitter {
    socket: UdpSocket,
    local: SocketAddr,
}

impl UdpTransmitter {
    /// A socket for `key`'s packets, on the first free source port from a position `start`
    /// picks in [`SOURCE_PORTS`].
    pub fn open(key: &SessionKey, start: u64) -> io::Result<UdpTransmitter> {
        Self::open_to(key, SocketAddr::new(key.peer, key.hop.port()), start)
    }

    /// As [`UdpTransmitter::open`], sending to `peer` (tests use another port).
    fn open_to(key: &SessionKey, peer: SocketAddr, start: u64) -> io::Result<UdpTransmitter> {
        let family = Family::of(key.peer);
        let fd = new_socket(family)?;
        match family {
            Family::Ipv4 => {
                set_int(&fd, libc::IPPROTO_IP, libc::IP_TTL, TTL.into())?;
                set_int(&fd, libc::IPPROTO_IP, libc::IP_TOS, TOS_NETWORK_CONTROL)?;
            }
            Family::Ipv6 => {
                set_int(&fd, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, TTL.into())?;
                set_int(
                    &fd,
                    libc::IPPROTO_IPV6,
                    libc::IPV6_TCLASS,
                    TOS_NETWORK_CONTROL,
                )?;
            }
        }
        let source = key.source.unwrap_or(match family {
            Family::Ipv4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Family::Ipv6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        });
        let first = *SOURCE_PORTS.start();
        let count = u64::from(SOURCE_PORTS.end() - first) + 1;
        let mut bound = Err(io::Error::from(io::ErrorKind::AddrInUse));
        for offset in 0..count {
            let port = first + ((start.wrapping_add(offset)) % count) as u16;
            bound = bind(&fd, SocketAddr::new(source, port));
            match &bound {
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
                _ => break,
            }
        }
        bound?;
        let socket = std::net::UdpSocket::from(fd);
        socket.connect(peer)?;
        let local = socket.local_addr()?;
        Ok(UdpTransmitter {
            socket: UdpSocket::from_std(socket)?,
            local,
        })
    }

    /// The address and port the packets leave from.
    pub fn local(&self) -> SocketAddr {
        self.local
    }
}

impl Transmitter for UdpTransmitter {
    async fn send(&self, payload: &[u8]) -> io::Result<()> {
        self.socket.send(payload).await.map(|_| ())
    }

    fn local_address(&self) -> IpAddr {
        self.local.ip()
    }
}

#[cfg(test)]
#[path = "udp_tests.rs"]
mod tests;
