//! The BFD Control packet decoder on arbitrary payloads: it never panics, and a packet it
//! accepts encodes to a payload that decodes to the same packet.
#![no_main]

use ferrolb_bfd::{decode, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|payload: &[u8]| {
    if let Ok(packet) = decode(payload) {
        assert_eq!(decode(&encode(&packet)), Ok(packet));
    }
});
