//! The speaker's ARP and Neighbor Discovery frame parsers, and the replies built from what they
//! accept, on arbitrary Ethernet frames: nothing panics, and a reply to an accepted ARP request
//! parses back as ARP.
#![no_main]

use ferrolb_speaker::packet::{Mac, arp, ndp};
use libfuzzer_sys::fuzz_target;

const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];

fuzz_target!(|frame: &[u8]| {
    if let Some(request) = arp::parse(frame) {
        let reply = arp::reply(&request, Mac(MAC));
        assert!(arp::parse(&reply).is_some(), "a built ARP reply parses");
    }
    if let Some(message) = ndp::parse(frame) {
        if let Some(reply) = ndp::reply(&message, Mac(MAC)) {
            assert!(ndp::parse(&reply).is_some(), "a built advertisement parses");
        }
    }
});
