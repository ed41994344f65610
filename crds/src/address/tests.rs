use super::*;
use proptest::prelude::*;

fn range(s: &str) -> AddressRange {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn cidr_entry_covers_its_whole_network() {
    let r = range("192.168.10.0/24");
    assert_eq!(r.first(), ip("192.168.10.0"));
    assert_eq!(r.last(), ip("192.168.10.255"));
    assert_eq!(r.size(), 256);
    assert_eq!(r.family(), Family::V4);
}

#[test]
fn cidr_with_host_bits_set_is_taken_as_its_network() {
    assert_eq!(range("10.0.0.7/30"), range("10.0.0.4/30"));
}

#[test]
fn range_entry_with_spaces_around_dash_and_entry_parses() {
    let r = range("  192.168.1.240 - 192.168.1.250 ");
    assert_eq!(r.first(), ip("192.168.1.240"));
    assert_eq!(r.size(), 11);
}

#[test]
fn ipv6_cidr_and_range_parse() {
    assert_eq!(range("fc00:f853:ccd:e799::/124").size(), 16);
    assert_eq!(range("2001:db8::1-2001:db8::ff").size(), 255);
    assert_eq!(range("2001:db8::/64").size(), 1u128 << 64);
}

#[test]
fn whole_ipv6_space_saturates_instead_of_overflowing() {
    assert_eq!(range("::/0").size(), u128::MAX);
}

#[test]
fn prefix_longer_than_the_family_is_rejected_with_the_entry_named() {
    let err = "10.0.0.0/33".parse::<AddressRange>().unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"address "10.0.0.0/33" is invalid: prefix length 33 exceeds 32"#
    );
    let err = "2001:db8::/129".parse::<AddressRange>().unwrap_err();
    assert!(
        err.to_string().contains("prefix length 129 exceeds 128"),
        "{err}"
    );
}

#[test]
fn range_with_start_after_end_is_rejected() {
    let err = "10.0.0.9-10.0.0.1".parse::<AddressRange>().unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"address "10.0.0.9-10.0.0.1" is invalid: start 10.0.0.9 is after end 10.0.0.1"#
    );
}

#[test]
fn range_mixing_families_is_rejected() {
    let err = "10.0.0.1-2001:db8::1".parse::<AddressRange>().unwrap_err();
    assert!(
        err.reason
            .contains("start 10.0.0.1 is IPv4 but end 2001:db8::1 is IPv6"),
        "{err}"
    );
}

#[test]
fn malformed_entries_say_what_is_wrong() {
    let cases = [
        ("", "it is empty"),
        ("   ", "it is empty"),
        ("10.0.0.256/24", "\"10.0.0.256\" is not an IP address"),
        ("10.0.0.0/abc", "prefix length \"abc\" is not a number"),
        ("10.0.0.0/", "prefix length \"\" is not a number"),
        ("10.0.0.1-", "an address is missing"),
        ("10.0.0.1", "a single address needs a prefix length"),
        ("pool-a", "\"pool\" is not an IP address"),
        ("hello", "\"hello\" is not an IP address; expected a CIDR"),
    ];
    for (entry, want) in cases {
        let err = entry.parse::<AddressRange>().unwrap_err();
        assert_eq!(err.entry, entry);
        assert!(err.reason.contains(want), "{entry:?}: {err}");
    }
}

#[test]
fn overlap_is_detected_within_a_family_only() {
    assert!(range("10.0.0.0/24").overlaps(&range("10.0.0.255-10.0.1.10")));
    assert!(!range("10.0.0.0/24").overlaps(&range("10.0.1.0/24")));
    assert!(!range("0.0.0.0/0").overlaps(&range("::/0")));
    assert!(range("2001:db8::/64").overlaps(&range("2001:db8::5/128")));
}

#[test]
fn an_ipv4_mapped_ipv6_address_is_refused_as_kubernetes_refuses_it() {
    assert_eq!(
        "::ffff:192.0.2.1/128"
            .parse::<AddressRange>()
            .unwrap_err()
            .to_string(),
        r#"address "::ffff:192.0.2.1/128" is invalid: "::ffff:192.0.2.1" is not an IP address"#
    );
    assert_eq!(parse_kubernetes_ip("::ffff:c000:201"), None);
    assert_eq!(
        parse_kubernetes_ip("2001:db8::192.0.2.1"),
        Some(ip("2001:db8::c000:201"))
    );
}

#[test]
fn contains_checks_family_and_bounds() {
    let r = range("192.168.1.240-192.168.1.250");
    assert!(r.contains(ip("192.168.1.240")));
    assert!(r.contains(ip("192.168.1.250")));
    assert!(!r.contains(ip("192.168.1.251")));
    assert!(!r.contains(ip("::ffff:192.168.1.245")));
}

#[test]
fn avoid_buggy_ips_leaves_254_of_a_slash_24() {
    assert_eq!(range("192.168.1.0/24").usable_count(true), 254);
    assert_eq!(range("192.168.1.0/24").usable_count(false), 256);
    assert_eq!(range("192.168.1.240-192.168.1.255").usable_count(true), 15);
    assert_eq!(range("10.0.0.0/16").buggy_count(), 512);
    assert_eq!(range("0.0.0.0/0").buggy_count(), 1 << 25);
    assert_eq!(range("2001:db8::/120").buggy_count(), 0);
}

#[test]
fn range_decomposes_into_minimal_cidrs() {
    let cidrs: Vec<String> = range("192.168.1.240-192.168.1.255")
        .cidrs()
        .iter()
        .map(|(n, p)| format!("{n}/{p}"))
        .collect();
    assert_eq!(cidrs, ["192.168.1.240/28"]);
    let cidrs: Vec<String> = range("10.0.0.1-10.0.0.6")
        .cidrs()
        .iter()
        .map(|(n, p)| format!("{n}/{p}"))
        .collect();
    assert_eq!(
        cidrs,
        ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"]
    );
    assert_eq!(range("::/0").cidrs(), vec![(ip("::"), 0)]);
    assert_eq!(range("0.0.0.0/0").cidrs(), vec![(ip("0.0.0.0"), 0)]);
}

#[test]
fn display_prefers_cidr_form() {
    assert_eq!(range("10.0.0.0-10.0.0.255").to_string(), "10.0.0.0/24");
    assert_eq!(range("10.0.0.1-10.0.0.6").to_string(), "10.0.0.1-10.0.0.6");
}

fn brute_buggy(first: u32, last: u32) -> u128 {
    (first..=last)
        .filter(|n| matches!(n & 0xff, 0 | 255))
        .count() as u128
}

proptest! {
    #[test]
    fn parsing_never_panics(s in ".{0,60}") {
        let _ = s.parse::<AddressRange>();
    }

    #[test]
    fn buggy_count_matches_brute_force(first in 0u32..200_000, len in 0u32..5_000) {
        let last = first + len;
        let r = AddressRange::new(IpAddr::V4(first.into()), IpAddr::V4(last.into())).unwrap();
        prop_assert_eq!(r.buggy_count(), brute_buggy(first, last));
    }

    #[test]
    fn cidrs_cover_the_range_exactly(first in any::<u32>(), len in 0u32..100_000) {
        let last = first.saturating_add(len);
        let r = AddressRange::new(IpAddr::V4(first.into()), IpAddr::V4(last.into())).unwrap();
        let mut next = u128::from(first);
        for (network, prefix) in r.cidrs() {
            let block = AddressRange::cidr(network, prefix).unwrap();
            prop_assert_eq!(block.bounds().0, next);
            next = block.bounds().1 + 1;
        }
        prop_assert_eq!(next, u128::from(last) + 1);
    }

    #[test]
    fn overlap_agrees_with_containment(a in any::<u16>(), b in any::<u16>(), c in any::<u16>(), d in any::<u16>()) {
        let mk = |x: u16, y: u16| AddressRange::new(
            IpAddr::V4(u32::from(x.min(y)).into()), IpAddr::V4(u32::from(x.max(y)).into())).unwrap();
        let (r1, r2) = (mk(a, b), mk(c, d));
        let shared = (u32::from(a.min(b))..=u32::from(a.max(b)))
            .any(|n| r2.contains(IpAddr::V4(n.into())));
        prop_assert_eq!(r1.overlaps(&r2), shared);
    }
}
