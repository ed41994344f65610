//! The kernel-facing parts that no fake can stand in for, on the loopback interface only: the
//! TTL and destination address read from control messages, and a transmitter's source port,
//! address and TTL.

use std::net::UdpSocket as StdSocket;
use std::os::fd::OwnedFd;

use super::*;

fn loopback(family: Family) -> IpAddr {
    match family {
        Family::Ipv4 => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Family::Ipv6 => IpAddr::V6(Ipv6Addr::LOCALHOST),
    }
}

/// A plain socket on loopback sending with `ttl`.
fn sender(family: Family, ttl: u32) -> StdSocket {
    let socket = StdSocket::bind(SocketAddr::new(loopback(family), 0)).unwrap();
    let fd = socket.try_clone().map(OwnedFd::from).unwrap();
    match family {
        Family::Ipv4 => socket.set_ttl(ttl).unwrap(),
        Family::Ipv6 => {
            set_int(&fd, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, ttl as i32).unwrap();
        }
    }
    socket
}

#[tokio::test]
async fn a_listener_reads_the_ttl_and_destination_of_each_datagram() {
    for family in [Family::Ipv4, Family::Ipv6] {
        let listener = UdpListener::open(family, 0).unwrap();
        let port = listener.local_addr().unwrap().port();
        let to = SocketAddr::new(loopback(family), port);
        for ttl in [255, 64] {
            let sender = sender(family, ttl);
            sender.send_to(b"bfd", to).unwrap();
            let datagram = listener.recv().await.unwrap();
            assert_eq!(datagram.payload, b"bfd");
            assert_eq!(datagram.ttl, Some(ttl as u8), "{family:?}");
            assert_eq!(datagram.destination, Some(loopback(family)));
            assert_eq!(datagram.source, sender.local_addr().unwrap());
        }
    }
}

#[tokio::test]
async fn a_transmitter_sends_from_the_bfd_port_range_with_ttl_255() {
    for family in [Family::Ipv4, Family::Ipv6] {
        let listener = UdpListener::open(family, 0).unwrap();
        let peer = SocketAddr::new(loopback(family), listener.local_addr().unwrap().port());
        let key = SessionKey {
            hop: Hop::Single,
            peer: peer.ip(),
            source: None,
        };
        let transmitter = UdpTransmitter::open_to(&key, peer, 12345).unwrap();
        assert!(SOURCE_PORTS.contains(&transmitter.local().port()));
        assert_eq!(transmitter.local_address(), loopback(family));
        transmitter.send(b"control").await.unwrap();
        let datagram = listener.recv().await.unwrap();
        assert_eq!(datagram.ttl, Some(TTL));
        assert_eq!(datagram.source, transmitter.local());
    }
}

#[tokio::test]
async fn sessions_from_one_start_get_distinct_ports() {
    let listener = UdpListener::open(Family::Ipv4, 0).unwrap();
    let peer = SocketAddr::new(
        loopback(Family::Ipv4),
        listener.local_addr().unwrap().port(),
    );
    let key = SessionKey {
        hop: Hop::Single,
        peer: peer.ip(),
        source: Some(loopback(Family::Ipv4)),
    };
    let first = UdpTransmitter::open_to(&key, peer, 7).unwrap();
    let second = UdpTransmitter::open_to(&key, peer, 7).unwrap();
    assert_ne!(first.local().port(), second.local().port());
}
