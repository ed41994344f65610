//! The Layer 2 sockets, one of the two homes of the speaker's `unsafe` (the other is BFD's UDP
//! edge, `bfd/udp/sys.rs`): raw `AF_PACKET` sockets bound to one interface, and a netlink socket that wakes the announcer on link changes. Both are non-blocking and driven
//! by tokio's `AsyncFd`; they carry bytes and make no decisions.
//!
//! The ARP socket is opened for ethertype ARP only; the IPv6 socket carries a classic BPF
//! filter that lets through ICMPv6 Neighbor Solicitations and Advertisements only, so the
//! speaker never sees other traffic. Neither puts the interface in promiscuous mode.
//!
//! The announcer's interface tasks use sockets through [`FrameSocket`] and
//! [`GroupMembership`], which their tests implement with fakes.
#![allow(unsafe_code)]

use std::io;
use std::mem::size_of;
use std::net::{Ipv6Addr, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use tokio::io::unix::AsyncFd;

use crate::packet::ETHERTYPE_IPV6;

/// Accepts IPv6 frames whose next header is ICMPv6 (58) with type 135 or 136; drops the rest.
/// Offsets are from the start of the Ethernet frame: ethertype at 12, next header at 20,
/// ICMPv6 type at 54 (no extension headers, as RFC 4861 messages never carry them).
const NEIGHBOR_DISCOVERY_FILTER: [libc::sock_filter; 9] = [
    bpf(0x28, 0, 0, 12),     // ldh [12]
    bpf(0x15, 0, 5, 0x86dd), // jeq #0x86dd, next, drop
    bpf(0x30, 0, 0, 20),     // ldb [20]
    bpf(0x15, 0, 3, 58),     // jeq #58, next, drop
    bpf(0x30, 0, 0, 54),     // ldb [54]
    bpf(0x15, 2, 0, 135),    // jeq #135, accept, next
    bpf(0x15, 1, 0, 136),    // jeq #136, accept, next
    bpf(0x06, 0, 0, 0),      // drop: ret #0
    bpf(0x06, 0, 0, 0xffff), // accept: ret #65535
];

const fn bpf(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

/// Hands `fd` to tokio's reactor.
fn register(fd: OwnedFd) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: an OwnedFd stays open and names the same descriptor until the AsyncFd owning it
    // drops it.
    unsafe { AsyncFd::register(fd) }.map_err(|e| e.into_parts().1)
}

/// A packet socket bound to one interface and one ethertype.
pub struct PacketSocket {
    fd: AsyncFd<OwnedFd>,
}

impl PacketSocket {
    /// Opens a socket receiving and sending frames of `ethertype` on interface `index`.
    pub fn open(index: u32, ethertype: u16) -> io::Result<PacketSocket> {
        let protocol = ethertype.to_be();
        // SAFETY: plain socket(2) call; the result is checked before use.
        let raw = check(unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                libc::c_int::from(protocol),
            )
        })?;
        // SAFETY: `raw` is a freshly created descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: sockaddr_ll is plain data; all-zero is a valid value before we fill it.
        let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        address.sll_family = libc::AF_PACKET as u16;
        address.sll_protocol = protocol;
        address.sll_ifindex = index as i32;
        // SAFETY: the pointer and length describe `address`, alive for the call.
        check(unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&address as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as u32,
            )
        })?;
        Ok(PacketSocket { fd: register(fd)? })
    }

    /// Opens the IPv6 socket of interface `index`, filtered to Neighbor Discovery.
    pub fn open_neighbor_discovery(index: u32) -> io::Result<PacketSocket> {
        let socket = PacketSocket::open(index, ETHERTYPE_IPV6)?;
        let program = libc::sock_fprog {
            len: NEIGHBOR_DISCOVERY_FILTER.len() as u16,
            filter: NEIGHBOR_DISCOVERY_FILTER.as_ptr().cast_mut(),
        };
        // SAFETY: `program` points at a static filter; the kernel copies it during the call.
        check(unsafe {
            libc::setsockopt(
                socket.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                (&program as *const libc::sock_fprog).cast(),
                size_of::<libc::sock_fprog>() as u32,
            )
        })?;
        Ok(socket)
    }

    /// Receives one frame into `buf`, skipping frames this host sent itself.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            let result = guard.try_io(|fd| {
                // SAFETY: sockaddr_ll is plain data; recvfrom fills at most `len` bytes of it.
                let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
                let mut len = size_of::<libc::sockaddr_ll>() as u32;
                // SAFETY: `buf` and `from` are valid for the lengths given.
                let n = unsafe {
                    libc::recvfrom(
                        fd.as_raw_fd(),
                        buf.as_mut_ptr().cast(),
                        buf.len(),
                        0,
                        (&mut from as *mut libc::sockaddr_ll).cast(),
                        &mut len,
                    )
                };
                if n < 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok((n as usize, from.sll_pkttype == libc::PACKET_OUTGOING))
            });
            match result {
                Ok(Ok((_, true))) => continue,
                Ok(Ok((n, false))) => return Ok(n),
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }

    /// Sends one complete Ethernet frame out of the bound interface.
    pub async fn send(&self, frame: &[u8]) -> io::Result<()> {
        loop {
            let mut guard = self.fd.writable().await?;
            let result = guard.try_io(|fd| {
                // SAFETY: `frame` is valid for its length; the socket is bound, so no address.
                let n =
                    unsafe { libc::send(fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(())
                }
            });
            if let Ok(done) = result {
                return done;
            }
        }
    }
}

/// Carries whole Ethernet frames on one interface: a [`PacketSocket`], or a fake in tests.
pub trait FrameSocket: Sync {
    /// Receives one frame into `buf`, returning its length.
    fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send;
    /// Sends one complete frame.
    fn send(&self, frame: &[u8]) -> impl Future<Output = io::Result<()>> + Send;
}

impl FrameSocket for PacketSocket {
    fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send {
        PacketSocket::recv(self, buf)
    }

    fn send(&self, frame: &[u8]) -> impl Future<Output = io::Result<()>> + Send {
        PacketSocket::send(self, frame)
    }
}

/// Membership of IPv6 multicast groups on an interface, so the NIC passes up the Neighbor
/// Solicitations sent to a solicited-node group: a UDP socket, or a fake in tests.
pub trait GroupMembership {
    fn join(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()>;
    fn leave(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()>;
}

impl GroupMembership for UdpSocket {
    fn join(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.join_multicast_v6(group, interface)
    }

    fn leave(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.leave_multicast_v6(group, interface)
    }
}

/// A netlink socket subscribed to link and address changes: readable whenever one happened.
pub struct LinkChanges {
    fd: AsyncFd<OwnedFd>,
}

impl LinkChanges {
    pub fn open() -> io::Result<LinkChanges> {
        // SAFETY: plain socket(2) call; the result is checked before use.
        let raw = check(unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        })?;
        // SAFETY: `raw` is a freshly created descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: sockaddr_nl is plain data; all-zero is a valid value before we fill it.
        let mut address: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        address.nl_family = libc::AF_NETLINK as u16;
        address.nl_groups = (libc::RTMGRP_LINK | libc::RTMGRP_IPV6_IFADDR) as u32;
        // SAFETY: the pointer and length describe `address`, alive for the call.
        check(unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&address as *const libc::sockaddr_nl).cast(),
                size_of::<libc::sockaddr_nl>() as u32,
            )
        })?;
        Ok(LinkChanges { fd: register(fd)? })
    }

    /// Waits for the next change notification and drains every pending one.
    pub async fn next(&self) -> io::Result<()> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut guard = self.fd.readable().await?;
        loop {
            // SAFETY: `buf` is valid for its length.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n < 0 {
                let error = io::Error::last_os_error();
                if error.kind() == io::ErrorKind::WouldBlock {
                    guard.clear_ready();
                    return Ok(());
                }
                // An overrun (ENOBUFS) still means "something changed".
                if error.raw_os_error() == Some(libc::ENOBUFS) {
                    continue;
                }
                return Err(error);
            }
        }
    }
}
