//! The parsers of what users write, on arbitrary text: pool addresses, durations, BGP
//! community values and a Service's annotations. Nothing panics, and what is accepted prints
//! as text that parses to the same value.
#![no_main]

use std::collections::BTreeMap;

use ferrolb_crds::address::AddressRange;
use ferrolb_crds::annotations::ServiceRequest;
use ferrolb_crds::community_value::CommunityValue;
use ferrolb_crds::duration;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Ok(range) = text.parse::<AddressRange>() {
        assert_eq!(range.to_string().parse::<AddressRange>(), Ok(range));
    }
    if let Ok(value) = duration::parse(text) {
        assert_eq!(duration::parse(&duration::show(value)), Ok(value));
    }
    if let Ok(value) = text.parse::<CommunityValue>() {
        assert_eq!(value.to_string().parse::<CommunityValue>(), Ok(value));
    }
    let (key, value) = text
        .split_once('=')
        .unwrap_or(("metallb.io/loadBalancerIPs", text));
    let annotations = BTreeMap::from([
        (key.to_string(), value.to_string()),
        ("metallb.io/address-pool".to_string(), value.to_string()),
    ]);
    let _ = ServiceRequest::parse(&annotations, None);
    let _ = ServiceRequest::parse(&BTreeMap::new(), Some(text));
});
