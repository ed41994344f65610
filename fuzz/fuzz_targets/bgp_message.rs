//! The BGP message decoder on arbitrary bytes, with both AS widths: it never panics, never
//! claims more bytes than it was given, and a message it accepts encodes to bytes that decode
//! to the same message.
#![no_main]

use ferrolb_bgp::message::{Codec, decode, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    for four_octet_as in [false, true] {
        let codec = Codec { four_octet_as };
        if let Ok((message, used)) = decode(bytes, codec) {
            assert!(used <= bytes.len());
            let again = encode(&message, codec);
            let (decoded, again_used) = decode(&again, codec).expect("an encoded message decodes");
            assert_eq!(decoded, message);
            assert_eq!(again_used, again.len());
        }
    }
});
