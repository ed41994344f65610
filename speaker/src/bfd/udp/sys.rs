//! The system calls of [`super`]: creating, configuring and binding a socket the standard
//! library could not, and `recvmsg` with the control messages that carry a datagram's TTL and
//! destination address.

#![allow(unsafe_code)]

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::bfd::socket::{Datagram, Family};
use crate::sockaddr::{from_storage, to_storage};

/// The longest datagram read: a Control packet is at most 24 bytes plus a 28-byte
/// authentication section; anything longer is cut and then refused by its Length field.
const MAX_DATAGRAM: usize = 128;

fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

pub(super) fn new_socket(family: Family) -> io::Result<OwnedFd> {
    let domain = match family {
        Family::Ipv4 => libc::AF_INET,
        Family::Ipv6 => libc::AF_INET6,
    };
    // SAFETY: plain socket(2) call; the result is checked before use.
    let raw = check(unsafe {
        libc::socket(
            domain,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    })?;
    // SAFETY: `raw` is a freshly created descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

pub(super) fn set_int(
    fd: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: the pointer and size describe `value`, which outlives the call.
    check(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw const value).cast::<libc::c_void>(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

pub(super) fn bind(fd: &OwnedFd, address: SocketAddr) -> io::Result<()> {
    let (storage, length) = to_storage(address);
    // SAFETY: the pointer and length describe `storage`, alive for the call.
    check(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&raw const storage).cast::<libc::sockaddr>(),
            length,
        )
    })
    .map(|_| ())
}

/// Receives one datagram with its TTL and destination address, without blocking.
pub(super) fn receive(fd: RawFd) -> io::Result<Datagram> {
    let mut payload = [0u8; MAX_DATAGRAM];
    // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
    let mut name: libc::sockaddr_storage = unsafe { zeroed() };
    // Room for a TTL and a packet-info message; u64s keep it aligned for cmsghdr.
    let mut control = [0u64; 16];
    let mut iov = libc::iovec {
        iov_base: payload.as_mut_ptr().cast(),
        iov_len: payload.len(),
    };
    // SAFETY: msghdr is plain old data; all-zero is a valid value before we fill it.
    let mut header: libc::msghdr = unsafe { zeroed() };
    header.msg_name = (&raw mut name).cast();
    header.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    header.msg_iov = &raw mut iov;
    header.msg_iovlen = 1;
    header.msg_control = control.as_mut_ptr().cast();
    header.msg_controllen = size_of_val(&control) as _;
    // SAFETY: every pointer in `header` points into this frame's buffers, sized as stated.
    let length = unsafe { libc::recvmsg(fd, &raw mut header, 0) };
    if length < 0 {
        return Err(io::Error::last_os_error());
    }
    let source = from_storage(&name)?;
    let (mut ttl, mut destination) = (None, None);
    // SAFETY: `header` was filled by recvmsg; the CMSG macros walk its control buffer within
    // msg_controllen, and each payload is read unaligned with the size its type says.
    unsafe {
        let mut message = libc::CMSG_FIRSTHDR(&raw const header);
        while !message.is_null() {
            let data = libc::CMSG_DATA(message);
            match ((*message).cmsg_level, (*message).cmsg_type) {
                (libc::IPPROTO_IP, libc::IP_TTL) | (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) => {
                    let value = std::ptr::read_unaligned(data.cast::<libc::c_int>());
                    ttl = u8::try_from(value).ok();
                }
                (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
                    let info = std::ptr::read_unaligned(data.cast::<libc::in_pktinfo>());
                    let address = Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr));
                    destination = Some(IpAddr::V4(address));
                }
                (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                    let info = std::ptr::read_unaligned(data.cast::<libc::in6_pktinfo>());
                    destination = Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)));
                }
                _ => {}
            }
            message = libc::CMSG_NXTHDR(&raw const header, message);
        }
    }
    Ok(Datagram {
        payload: payload[..length as usize].to_vec(),
        source,
        destination,
        ttl,
    })
}
