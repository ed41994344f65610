//! Messages written by hand from the RFCs' layouts, decoded and re-encoded, and every decode
//! error checked against the NOTIFICATION RFC 4271 §6 prescribes.
//!
//! This module holds the byte-building blocks the submodules share.

mod errors;
mod stream;
mod wire;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;
use crate::route::LargeCommunity;

const TWO: Codec = Codec {
    four_octet_as: false,
};
const FOUR: Codec = Codec {
    four_octet_as: true,
};

/// A message with a correct header around `body`.
fn wire(message_type: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0xFF; 16];
    out.extend_from_slice(&((HEADER_LEN + body.len()) as u16).to_be_bytes());
    out.push(message_type);
    out.extend_from_slice(body);
    out
}

fn p(text: &str) -> crate::Prefix {
    text.parse().unwrap()
}

fn decodes_to(bytes: &[u8], codec: Codec, expected: &Message) {
    assert_eq!(
        decode(bytes, codec).unwrap(),
        (expected.clone(), bytes.len())
    );
    assert_eq!(encode(expected, codec), bytes);
}

/// ORIGIN, AS_PATH and NEXT_HOP as RFC 4271 lays them out, AS path in two-octet form.
const ORIGIN_IGP: [u8; 4] = [0x40, 1, 1, 0];
const AS_PATH_65001: [u8; 7] = [0x40, 2, 4, 2, 1, 0xFD, 0xE9];
const NEXT_HOP: [u8; 7] = [0x40, 3, 4, 192, 0, 2, 1];

/// An OPEN using every capability this crate understands.
fn sample_open() -> Open {
    Open {
        version: 4,
        my_as: AS_TRANS,
        hold_time: 180,
        bgp_id: Ipv4Addr::new(10, 0, 0, 1),
        capabilities: vec![
            Capability::Multiprotocol(Family::Ipv4Unicast),
            Capability::Multiprotocol(Family::Ipv6Unicast),
            Capability::FourOctetAs(4_200_000_000),
            Capability::GracefulRestart {
                restart_time: 120,
                restarting: false,
                families: vec![(Family::Ipv4Unicast, false)],
            },
        ],
    }
}
