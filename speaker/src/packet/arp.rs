//! ARP over Ethernet for IPv4 (RFC 826): parse a frame, build the reply to a request, and
//! build the gratuitous request and reply a new owner broadcasts so neighbours update their
//! caches at once.

use std::net::Ipv4Addr;

use super::{ETHERNET_HEADER, ETHERTYPE_ARP, Mac, ethernet_header, push_ethernet};

/// Length of an Ethernet frame carrying an IPv4-over-Ethernet ARP packet (without padding).
pub const FRAME_LEN: usize = ETHERNET_HEADER + 28;

/// ARP operation codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Request,
    Reply,
}

impl Operation {
    fn code(self) -> u16 {
        match self {
            Operation::Request => 1,
            Operation::Reply => 2,
        }
    }
}

/// An IPv4-over-Ethernet ARP packet with the Ethernet source it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arp {
    pub ethernet_source: Mac,
    pub operation: Operation,
    pub sender_mac: Mac,
    pub sender_ip: Ipv4Addr,
    pub target_mac: Mac,
    pub target_ip: Ipv4Addr,
}

impl Arp {
    /// Whether the sender announces its own address (sender IP equals target IP), as in a
    /// gratuitous ARP; such packets never get a reply.
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip == self.target_ip
    }
}

/// Parses an Ethernet frame holding an IPv4-over-Ethernet ARP request or reply.
pub fn parse(frame: &[u8]) -> Option<Arp> {
    let (_, ethernet_source, ethertype) = ethernet_header(frame)?;
    if ethertype != ETHERTYPE_ARP {
        return None;
    }
    let p = frame.get(ETHERNET_HEADER..FRAME_LEN)?;
    let hardware = u16::from_be_bytes([p[0], p[1]]);
    let protocol = u16::from_be_bytes([p[2], p[3]]);
    if hardware != 1 || protocol != 0x0800 || p[4] != 6 || p[5] != 4 {
        return None;
    }
    let operation = match u16::from_be_bytes([p[6], p[7]]) {
        1 => Operation::Request,
        2 => Operation::Reply,
        _ => return None,
    };
    Some(Arp {
        ethernet_source,
        operation,
        sender_mac: Mac::from_slice(&p[8..14])?,
        sender_ip: Ipv4Addr::new(p[14], p[15], p[16], p[17]),
        target_mac: Mac::from_slice(&p[18..24])?,
        target_ip: Ipv4Addr::new(p[24], p[25], p[26], p[27]),
    })
}

/// Builds an Ethernet frame holding one ARP packet.
pub fn build(ethernet_destination: Mac, arp: &Arp) -> Vec<u8> {
    let mut out = Vec::with_capacity(FRAME_LEN);
    push_ethernet(
        &mut out,
        ethernet_destination,
        arp.ethernet_source,
        ETHERTYPE_ARP,
    );
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&0x0800u16.to_be_bytes());
    out.extend_from_slice(&[6, 4]);
    out.extend_from_slice(&arp.operation.code().to_be_bytes());
    out.extend_from_slice(&arp.sender_mac.0);
    out.extend_from_slice(&arp.sender_ip.octets());
    out.extend_from_slice(&arp.target_mac.0);
    out.extend_from_slice(&arp.target_ip.octets());
    out
}

/// The reply `mac` sends to `request`, saying its target IP is at `mac`; unicast to the
/// requester.
pub fn reply(request: &Arp, mac: Mac) -> Vec<u8> {
    build(
        request.sender_mac,
        &Arp {
            ethernet_source: mac,
            operation: Operation::Reply,
            sender_mac: mac,
            sender_ip: request.target_ip,
            target_mac: request.sender_mac,
            target_ip: request.sender_ip,
        },
    )
}

/// The gratuitous ARP request and reply that announce `ip` at `mac`, both broadcast.
pub fn gratuitous(ip: Ipv4Addr, mac: Mac) -> [Vec<u8>; 2] {
    let announce = |operation, target_mac| {
        build(
            Mac::BROADCAST,
            &Arp {
                ethernet_source: mac,
                operation,
                sender_mac: mac,
                sender_ip: ip,
                target_mac,
                target_ip: ip,
            },
        )
    };
    [
        announce(Operation::Request, Mac::ZERO),
        announce(Operation::Reply, mac),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CLIENT: Mac = Mac([0x02, 0, 0, 0, 0, 0x10]);
    const SPEAKER: Mac = Mac([0x02, 0, 0, 0, 0, 0x01]);

    fn request_for(target: Ipv4Addr) -> Vec<u8> {
        build(
            Mac::BROADCAST,
            &Arp {
                ethernet_source: CLIENT,
                operation: Operation::Request,
                sender_mac: CLIENT,
                sender_ip: Ipv4Addr::new(192, 0, 2, 100),
                target_mac: Mac::ZERO,
                target_ip: target,
            },
        )
    }

    #[test]
    fn a_built_request_parses_back_to_its_fields() {
        let frame = request_for(Ipv4Addr::new(192, 0, 2, 10));
        assert_eq!(frame.len(), FRAME_LEN);
        let arp = parse(&frame).unwrap();
        assert_eq!(arp.operation, Operation::Request);
        assert_eq!(arp.sender_mac, CLIENT);
        assert_eq!(arp.target_ip, Ipv4Addr::new(192, 0, 2, 10));
        assert!(!arp.is_gratuitous());
    }

    #[test]
    fn a_reply_is_unicast_to_the_requester_and_names_the_speaker_mac() {
        let request = parse(&request_for(Ipv4Addr::new(192, 0, 2, 10))).unwrap();
        let frame = reply(&request, SPEAKER);
        assert_eq!(&frame[0..6], &CLIENT.0);
        let answer = parse(&frame).unwrap();
        assert_eq!(answer.operation, Operation::Reply);
        assert_eq!(answer.sender_mac, SPEAKER);
        assert_eq!(answer.sender_ip, Ipv4Addr::new(192, 0, 2, 10));
        assert_eq!(answer.target_mac, CLIENT);
        assert_eq!(answer.target_ip, Ipv4Addr::new(192, 0, 2, 100));
    }

    #[test]
    fn gratuitous_arp_is_a_broadcast_request_and_reply_for_the_same_ip() {
        let ip = Ipv4Addr::new(192, 0, 2, 20);
        let [request, reply] = gratuitous(ip, SPEAKER);
        for frame in [&request, &reply] {
            assert_eq!(&frame[0..6], &Mac::BROADCAST.0);
            let arp = parse(frame).unwrap();
            assert!(arp.is_gratuitous());
            assert_eq!(arp.sender_mac, SPEAKER);
            assert_eq!(arp.sender_ip, ip);
        }
        assert_eq!(parse(&request).unwrap().operation, Operation::Request);
        assert_eq!(parse(&reply).unwrap().operation, Operation::Reply);
    }

    #[test]
    fn frames_padded_to_the_ethernet_minimum_still_parse() {
        let mut frame = request_for(Ipv4Addr::new(192, 0, 2, 10));
        frame.resize(60, 0);
        assert!(parse(&frame).is_some());
    }

    #[test]
    fn truncated_or_foreign_frames_are_rejected() {
        let frame = request_for(Ipv4Addr::new(192, 0, 2, 10));
        assert_eq!(parse(&frame[..FRAME_LEN - 1]), None);
        let mut ipv6 = frame.clone();
        ipv6[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
        assert_eq!(parse(&ipv6), None);
        let mut bad_operation = frame;
        bad_operation[ETHERNET_HEADER + 7] = 9;
        assert_eq!(parse(&bad_operation), None);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_the_parser(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn a_valid_frame_with_random_bytes_flipped_never_panics(
            flips in proptest::collection::vec((0usize..FRAME_LEN, any::<u8>()), 0..8),
            cut in 0usize..=FRAME_LEN,
        ) {
            let mut frame = request_for(Ipv4Addr::new(192, 0, 2, 10));
            for (at, value) in flips {
                frame[at] = value;
            }
            frame.truncate(cut);
            let _ = parse(&frame);
        }
    }
}
