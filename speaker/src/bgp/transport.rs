//! The TCP connection of a BGP session: bound to the configured source address, protected
//! with TCP MD5 signatures (RFC 2385) when a password is set, and sent with the TTL the peer
//! expects (1 for a directly connected eBGP peer, 255 with `ebgpMultiHop`, 64 for iBGP).
//!
//! This is one of the speaker's few pieces of unsafe code, with [`crate::socket`],
//! [`crate::sockaddr`] and [`crate::bfd::udp`]: the kernel's `TCP_MD5SIG` option takes a C
//! struct that neither the standard library nor tokio wraps. Everything else goes through tokio's `TcpSocket`.

#![allow(unsafe_code)]

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::Duration;

use ferrolb_crds::bgppeer::{MD5_PASSWORD_MAX_BYTES, md5_password_problem};
use tokio::net::{TcpSocket, TcpStream};

use crate::sockaddr::to_storage;

/// How to reach a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dial {
    pub peer: SocketAddr,
    pub source: Option<IpAddr>,
    pub password: Option<String>,
    pub ttl: u32,
    pub timeout: Duration,
}

/// The kernel's `struct tcp_md5sig` (linux/tcp.h).
#[repr(C)]
struct TcpMd5Sig {
    address: libc::sockaddr_storage,
    flags: u8,
    prefix_length: u8,
    key_length: u16,
    interface_index: libc::c_int,
    key: [u8; MD5_PASSWORD_MAX_BYTES],
}

fn set_option<T>(
    socket: &TcpSocket,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    let size = libc::socklen_t::try_from(size_of::<T>()).map_err(io::Error::other)?;
    // SAFETY: the pointer and size describe `value`, which outlives the call.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (value as *const T).cast::<libc::c_void>(),
            size,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Requires TCP MD5 signatures with `password` on every segment to and from `peer`. A
/// password too long for the kernel never gets here (the peer gets no session); the check
/// stays so that one could not overrun the key.
fn set_md5(socket: &TcpSocket, peer: SocketAddr, password: &str) -> io::Result<()> {
    let bytes = password.as_bytes();
    if let Some(why) = md5_password_problem(password) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the TCP MD5 password {why}"),
        ));
    }
    let mut option = TcpMd5Sig {
        address: to_storage(SocketAddr::new(peer.ip(), 0)).0,
        flags: 0,
        prefix_length: 0,
        key_length: bytes.len() as u16,
        interface_index: 0,
        key: [0; MD5_PASSWORD_MAX_BYTES],
    };
    option.key[..bytes.len()].copy_from_slice(bytes);
    set_option(socket, libc::IPPROTO_TCP, libc::TCP_MD5SIG, &option)
}

/// Opens the connection described by `dial`.
pub async fn connect(dial: &Dial) -> io::Result<TcpStream> {
    let socket = match dial.peer {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    let ttl = libc::c_int::try_from(dial.ttl.clamp(1, 255)).unwrap_or(255);
    match dial.peer {
        SocketAddr::V4(_) => set_option(&socket, libc::IPPROTO_IP, libc::IP_TTL, &ttl)?,
        SocketAddr::V6(_) => {
            set_option(&socket, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, &ttl)?;
        }
    }
    if let Some(password) = &dial.password {
        set_md5(&socket, dial.peer, password)?;
    }
    if let Some(source) = dial.source {
        socket.bind(SocketAddr::new(source, 0))?;
    }
    let stream = tokio::time::timeout(dial.timeout, socket.connect(dial.peer))
        .await
        .map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no answer from {} within {:?}", dial.peer, dial.timeout),
            )
        })??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// The IPv4 address this host would use towards `peer`, found without sending anything (a
/// UDP socket's `connect` only picks a route); the default router ID of a session.
pub fn local_ipv4_towards(peer: IpAddr) -> Option<std::net::Ipv4Addr> {
    if !peer.is_ipv4() {
        return None;
    }
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect(SocketAddr::new(peer, 179)).ok()?;
    match socket.local_addr().ok()?.ip() {
        IpAddr::V4(v4) if !v4.is_unspecified() => Some(v4),
        _ => None,
    }
}
