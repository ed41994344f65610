use super::*;
use proptest::prelude::*;

fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn stable_annotations_are_read() {
    let req = ServiceRequest::parse(
        &annotations(&[
            ("metallb.io/loadBalancerIPs", "192.168.1.245"),
            ("metallb.io/address-pool", "prod"),
            ("metallb.io/allow-shared-ip", "web"),
        ]),
        None,
    )
    .unwrap();
    assert_eq!(req.ips, [ip("192.168.1.245")]);
    assert_eq!(
        req.ip_source,
        Some(IpSource::Annotation("metallb.io/loadBalancerIPs".into()))
    );
    assert_eq!(req.pool.as_deref(), Some("prod"));
    assert_eq!(req.sharing_key.as_deref(), Some("web"));
    assert!(req.deprecations.is_empty());
}

#[test]
fn legacy_prefix_is_read_and_reported_as_deprecated() {
    let req = ServiceRequest::parse(
        &annotations(&[
            ("metallb.universe.tf/loadBalancerIPs", "192.168.1.245"),
            ("metallb.universe.tf/address-pool", "priority-pool"),
        ]),
        None,
    )
    .unwrap();
    assert_eq!(req.ips, [ip("192.168.1.245")]);
    assert_eq!(req.pool.as_deref(), Some("priority-pool"));
    assert_eq!(
        req.deprecations,
        [
            Deprecation {
                legacy_key: "metallb.universe.tf/loadBalancerIPs".into(),
                replacement: "metallb.io/loadBalancerIPs".into()
            },
            Deprecation {
                legacy_key: "metallb.universe.tf/address-pool".into(),
                replacement: "metallb.io/address-pool".into()
            },
        ]
    );
}

#[test]
fn stable_prefix_wins_over_legacy() {
    let req = ServiceRequest::parse(
        &annotations(&[
            ("metallb.io/address-pool", "new"),
            ("metallb.universe.tf/address-pool", "old"),
        ]),
        None,
    )
    .unwrap();
    assert_eq!(req.pool.as_deref(), Some("new"));
    assert!(req.deprecations.is_empty());
}

#[test]
fn dual_stack_pair_with_spaces_parses() {
    let req = ServiceRequest::parse(
        &annotations(&[("metallb.io/loadBalancerIPs", " 192.0.2.10 , 2001:db8::10 ")]),
        None,
    )
    .unwrap();
    assert_eq!(req.ips, [ip("192.0.2.10"), ip("2001:db8::10")]);
}

#[test]
fn spec_load_balancer_ip_is_a_request_too() {
    let req = ServiceRequest::parse(&BTreeMap::new(), Some("192.0.2.7")).unwrap();
    assert_eq!(req.ips, [ip("192.0.2.7")]);
    assert_eq!(req.ip_source, Some(IpSource::SpecField));
    let req = ServiceRequest::parse(&BTreeMap::new(), Some("")).unwrap();
    assert!(req.ips.is_empty());
}

#[test]
fn bad_ip_lists_are_rejected_naming_key_and_value() {
    let key = "metallb.io/loadBalancerIPs";
    let cases = [
        (
            "abc",
            r#"metallb.io/loadBalancerIPs "abc" is invalid: "abc" is not an IP address"#,
        ),
        (
            "192.0.2.1,192.0.2.2,2001:db8::1",
            r#"metallb.io/loadBalancerIPs "192.0.2.1,192.0.2.2,2001:db8::1" lists 3 addresses; at most two are allowed, one IPv4 and one IPv6"#,
        ),
        (
            "192.0.2.1,192.0.2.2",
            r#"metallb.io/loadBalancerIPs "192.0.2.1,192.0.2.2" lists two IPv4 addresses; two addresses must be one IPv4 and one IPv6"#,
        ),
        (
            "2001:db8::1,2001:db8::2",
            r#"metallb.io/loadBalancerIPs "2001:db8::1,2001:db8::2" lists two IPv6 addresses; two addresses must be one IPv4 and one IPv6"#,
        ),
        (
            "192.0.2.1,",
            r#"metallb.io/loadBalancerIPs "192.0.2.1," is invalid: it has an empty entry"#,
        ),
        (
            "",
            r#"metallb.io/loadBalancerIPs "" is invalid: it has an empty entry"#,
        ),
    ];
    for (value, want) in cases {
        let err = ServiceRequest::parse(&annotations(&[(key, value)]), None).unwrap_err();
        assert_eq!(err.to_string(), want);
    }
}

#[test]
fn bad_spec_load_balancer_ip_is_named_as_the_spec_field() {
    let err = ServiceRequest::parse(&BTreeMap::new(), Some("10.0.0.300")).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"spec.loadBalancerIP "10.0.0.300" is invalid: "10.0.0.300" is not an IP address"#
    );
}

#[test]
fn annotation_and_spec_field_together_are_rejected() {
    let err = ServiceRequest::parse(
        &annotations(&[("metallb.universe.tf/loadBalancerIPs", "192.0.2.1")]),
        Some("192.0.2.1"),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "both metallb.universe.tf/loadBalancerIPs and spec.loadBalancerIP are set; set only metallb.universe.tf/loadBalancerIPs"
    );
}

#[test]
fn empty_pool_annotation_is_rejected_and_empty_sharing_key_means_no_sharing() {
    let err =
        ServiceRequest::parse(&annotations(&[("metallb.io/address-pool", " ")]), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "metallb.io/address-pool is set but empty; remove it or name a pool"
    );
    let req =
        ServiceRequest::parse(&annotations(&[("metallb.io/allow-shared-ip", "")]), None).unwrap();
    assert_eq!(req.sharing_key, None);
}

#[test]
fn allocated_pool_annotation_is_looked_up_under_both_prefixes() {
    let a = annotations(&[("metallb.universe.tf/ip-allocated-from-pool", "p1")]);
    let found = Annotation::IpAllocatedFromPool.lookup(&a).unwrap();
    assert_eq!(found.value, "p1");
    assert!(found.legacy);
}

proptest! {
    #[test]
    fn any_annotation_value_parses_or_errors_without_panicking(value in ".{0,80}", spec in proptest::option::of(".{0,20}")) {
        let a = annotations(&[("metallb.io/loadBalancerIPs", &value), ("metallb.io/address-pool", &value)]);
        let _ = ServiceRequest::parse(&a, spec.as_deref());
    }
}
