//! The rules of both advertisement kinds, each accepted and denied, with the exact message.

use super::*;
use crate::validate::fixtures::{NS, labels_selector, meta, pools};
use ferrolb_crds::Community;
use ferrolb_crds::community::{CommunityAlias, CommunitySpec};
use ferrolb_crds::l2advertisement::L2AdvertisementSpec;

fn bgp(name: &str, spec: BGPAdvertisementSpec) -> BGPAdvertisement {
    BGPAdvertisement {
        metadata: meta(name),
        spec,
        status: None,
    }
}

fn l2(spec: L2AdvertisementSpec) -> L2Advertisement {
    L2Advertisement {
        metadata: meta("l2"),
        spec,
        status: None,
    }
}

fn cluster() -> Cluster {
    Cluster::empty(NS).with_pools(pools(&[
        ("prod", &["10.0.0.0/24"]),
        ("small", &["10.1.0.0/26"]),
    ]))
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn an_l2_advertisement_of_existing_pools_is_admitted_without_warnings() {
    let ad = l2(L2AdvertisementSpec {
        ip_address_pools: names(&["prod"]),
        ..Default::default()
    });
    assert_eq!(validate_l2(&ad, &cluster()), Verdict::default());
}

#[test]
fn a_missing_pool_is_a_warning_not_a_denial() {
    let ad = l2(L2AdvertisementSpec {
        ip_address_pools: names(&["gold"]),
        ..Default::default()
    });
    let verdict = validate_l2(&ad, &cluster());
    assert!(verdict.allowed());
    assert_eq!(
        verdict.warnings,
        [
            r#"L2Advertisement "l2": IPAddressPool "gold" does not exist in namespace metallb-system; nothing is advertised for it until it is created"#
        ]
    );
}

#[test]
fn duplicate_pools_and_selectors_are_denied() {
    let ad = l2(L2AdvertisementSpec {
        ip_address_pools: names(&["prod", "prod"]),
        node_selectors: vec![
            labels_selector(&[("zone", "a")]),
            labels_selector(&[("zone", "a")]),
        ],
        ..Default::default()
    });
    assert_eq!(
        validate_l2(&ad, &cluster()).denials,
        [
            r#"L2Advertisement "l2": ipAddressPools lists "prod" more than once"#,
            r#"L2Advertisement "l2": nodeSelectors[1] duplicates nodeSelectors[0]"#,
        ]
    );
}

#[test]
fn an_invalid_pool_selector_is_denied() {
    let ad = bgp(
        "b",
        BGPAdvertisementSpec {
            ip_address_pool_selectors: vec![labels_selector(&[("zone", "a b")])],
            ..Default::default()
        },
    );
    let verdict = validate_bgp(&ad, &cluster());
    assert_eq!(verdict.denials.len(), 1);
    assert!(
        verdict.denials[0].starts_with(
            r#"BGPAdvertisement "b": ipAddressPoolSelectors[0] is invalid: label value "a b""#
        ),
        "{verdict:?}"
    );
}

#[test]
fn an_aggregation_length_above_32_is_denied() {
    let ad = bgp(
        "b",
        BGPAdvertisementSpec {
            aggregation_length: Some(33),
            ..Default::default()
        },
    );
    assert_eq!(
        validate_bgp(&ad, &cluster()).denials,
        [r#"BGPAdvertisement "b": aggregationLength 33 is invalid: it must be from 0 to 32"#]
    );
    let ad = bgp(
        "b",
        BGPAdvertisementSpec {
            aggregation_length_v6: Some(129),
            ..Default::default()
        },
    );
    assert_eq!(
        validate_bgp(&ad, &cluster()).denials,
        [r#"BGPAdvertisement "b": aggregationLengthV6 129 is invalid: it must be from 0 to 128"#]
    );
}

#[test]
fn an_aggregation_shorter_than_a_selected_pool_prefix_is_denied() {
    let ad = bgp(
        "b",
        BGPAdvertisementSpec {
            aggregation_length: Some(24),
            ip_address_pools: names(&["small"]),
            ..Default::default()
        },
    );
    assert_eq!(
        validate_bgp(&ad, &cluster()).denials,
        [
            r#"BGPAdvertisement "b": aggregationLength 24 is shorter than prefix 10.1.0.0/26 of IPAddressPool "small" (invalid aggregation length: the aggregate would cover addresses outside the pool)"#
        ]
    );
    let fits = bgp(
        "b",
        BGPAdvertisementSpec {
            aggregation_length: Some(24),
            ip_address_pools: names(&["prod"]),
            ..Default::default()
        },
    );
    assert!(validate_bgp(&fits, &cluster()).allowed());
}

#[test]
fn a_new_pool_more_specific_than_an_existing_aggregation_is_denied() {
    let cluster = cluster().with_bgp_advertisements([bgp(
        "agg",
        BGPAdvertisementSpec {
            aggregation_length: Some(24),
            ip_address_pool_selectors: vec![labels_selector(&[("agg", "yes")])],
            ..Default::default()
        },
    )]);
    let mut pool = crate::validate::fixtures::pool("new", &["10.2.0.0/25"]);
    pool.metadata.labels = Some([("agg".to_owned(), "yes".to_owned())].into());
    assert_eq!(
        crate::validate::pool::validate(&pool, &cluster).denials,
        [
            r#"IPAddressPool "new" is advertised by BGPAdvertisement "agg", whose aggregationLength 24 is shorter than prefix 10.2.0.0/25 of IPAddressPool "new" (invalid aggregation length: the aggregate would cover addresses outside the pool)"#
        ]
    );
}

#[test]
fn service_selectors_need_the_default_aggregation_lengths() {
    let ad = bgp(
        "b",
        BGPAdvertisementSpec {
            aggregation_length: Some(26),
            ip_address_pools: names(&["small"]),
            service_selectors: vec![labels_selector(&[("app", "web")])],
            ..Default::default()
        },
    );
    assert_eq!(
        validate_bgp(&ad, &cluster()).denials,
        [
            r#"BGPAdvertisement "b": serviceSelectors can only be used with the default aggregation lengths (aggregationLength 32, aggregationLengthV6 128), not 26 and 128"#
        ]
    );
}

#[test]
fn communities_must_parse_and_unknown_aliases_are_warnings() {
    let cluster = cluster().with_communities([Community {
        metadata: meta("aliases"),
        spec: CommunitySpec {
            communities: vec![CommunityAlias {
                name: "no-export".into(),
                value: "65535:65281".into(),
            }],
        },
        status: None,
    }]);
    let ad = bgp(
        "b",
        BGPAdvertisementSpec {
            communities: names(&["65000:1", "large:1:2:3", "no-export", "no-such", "1:70000"]),
            ..Default::default()
        },
    );
    let verdict = validate_bgp(&ad, &cluster);
    assert_eq!(
        verdict.denials,
        [
            r#"BGPAdvertisement "b": community "1:70000" is invalid: "70000" is not a number from 0 to 65535; expected a standard community such as 65000:100 or a large community such as large:65000:1:2"#
        ]
    );
    assert_eq!(
        verdict.warnings,
        [
            r#"BGPAdvertisement "b": community alias "no-such" is not defined by any Community in namespace metallb-system"#
        ]
    );
}

#[test]
fn a_missing_peer_is_a_warning() {
    let ad = bgp(
        "b",
        BGPAdvertisementSpec {
            peers: names(&["router"]),
            ..Default::default()
        },
    );
    let verdict = validate_bgp(&ad, &cluster());
    assert!(verdict.allowed());
    assert_eq!(
        verdict.warnings,
        [
            r#"BGPAdvertisement "b": BGPPeer "router" does not exist in namespace metallb-system; nothing is advertised to it until it is created"#
        ]
    );
}

#[test]
fn conflicting_local_pref_for_the_same_pool_nodes_and_peers_is_denied() {
    let cluster = cluster().with_bgp_advertisements([bgp(
        "first",
        BGPAdvertisementSpec {
            local_pref: 100,
            ip_address_pools: names(&["prod"]),
            ..Default::default()
        },
    )]);
    let second = bgp(
        "second",
        BGPAdvertisementSpec {
            local_pref: 200,
            ip_address_pools: names(&["prod"]),
            ..Default::default()
        },
    );
    assert_eq!(
        validate_bgp(&second, &cluster).denials,
        [
            r#"BGPAdvertisement "second": localPref 200 conflicts with localPref 100 of BGPAdvertisement "first" for the same IPAddressPool "prod", aggregation lengths, nodes and peers"#
        ]
    );
    let other_nodes = bgp(
        "second",
        BGPAdvertisementSpec {
            local_pref: 200,
            ip_address_pools: names(&["prod"]),
            node_selectors: vec![labels_selector(&[("zone", "b")])],
            ..Default::default()
        },
    );
    let cluster_of_zone_a = cluster.clone().with_bgp_advertisements([bgp(
        "first",
        BGPAdvertisementSpec {
            local_pref: 100,
            ip_address_pools: names(&["prod"]),
            node_selectors: vec![labels_selector(&[("zone", "a")])],
            ..Default::default()
        },
    )]);
    assert!(validate_bgp(&other_nodes, &cluster_of_zone_a).allowed());
    assert!(
        !validate_bgp(&other_nodes, &cluster).allowed(),
        "every node, zone b's among them, is selected by both"
    );
    let same_pref = bgp(
        "second",
        BGPAdvertisementSpec {
            local_pref: 100,
            ip_address_pools: names(&["prod"]),
            ..Default::default()
        },
    );
    assert!(validate_bgp(&same_pref, &cluster).allowed());
}

#[test]
fn a_pool_selector_matching_no_pool_is_a_warning() {
    let mut labelled = crate::validate::fixtures::pool("labelled", &["10.9.0.0/24"]);
    labelled.metadata.labels = Some([("tier".to_owned(), "gold".to_owned())].into());
    let cluster = cluster().with_pools([std::sync::Arc::new(labelled)]);
    let ad = l2(L2AdvertisementSpec {
        ip_address_pool_selectors: vec![
            labels_selector(&[("tier", "gold")]),
            labels_selector(&[("tier", "silver")]),
        ],
        ..Default::default()
    });
    let verdict = validate_l2(&ad, &cluster);
    assert!(verdict.allowed());
    assert_eq!(
        verdict.warnings,
        [
            r#"L2Advertisement "l2": ipAddressPoolSelectors[1] selects no IPAddressPool in namespace metallb-system; nothing is advertised for it until one matches"#
        ]
    );
}

#[test]
fn different_local_pref_with_a_different_aggregation_length_announces_other_prefixes_and_is_admitted()
 {
    let cluster = Cluster::empty(NS).with_pools(pools(&[
        ("v4", &["203.0.113.0/24"]),
        ("dual", &["198.51.100.0/24", "2001:db8:1::/64"]),
    ]));
    let first = bgp(
        "first",
        BGPAdvertisementSpec {
            local_pref: 100,
            aggregation_length: Some(24),
            aggregation_length_v6: Some(64),
            ..Default::default()
        },
    );
    let cluster = cluster.with_bgp_advertisements([first]);
    let other_length = bgp(
        "second",
        BGPAdvertisementSpec {
            local_pref: 200,
            ip_address_pools: names(&["v4"]),
            ..Default::default()
        },
    );
    assert_eq!(validate_bgp(&other_length, &cluster), Verdict::default());
    let both_lengths_differ = bgp(
        "second",
        BGPAdvertisementSpec {
            local_pref: 200,
            ip_address_pools: names(&["dual"]),
            ..Default::default()
        },
    );
    assert_eq!(
        validate_bgp(&both_lengths_differ, &cluster),
        Verdict::default()
    );
    let same_v6_length = bgp(
        "second",
        BGPAdvertisementSpec {
            local_pref: 200,
            aggregation_length_v6: Some(64),
            ip_address_pools: names(&["dual"]),
            ..Default::default()
        },
    );
    assert_eq!(
        validate_bgp(&same_v6_length, &cluster).denials,
        [
            r#"BGPAdvertisement "second": localPref 200 conflicts with localPref 100 of BGPAdvertisement "first" for the same IPAddressPool "dual", aggregation lengths, nodes and peers"#
        ]
    );
}

#[test]
fn local_pref_is_not_compared_with_an_advertisement_that_selects_services() {
    let cluster = cluster().with_bgp_advertisements([bgp(
        "first",
        BGPAdvertisementSpec {
            local_pref: 100,
            service_selectors: vec![labels_selector(&[("app", "web")])],
            ..Default::default()
        },
    )]);
    let second = bgp(
        "second",
        BGPAdvertisementSpec {
            local_pref: 200,
            ..Default::default()
        },
    );
    assert!(validate_bgp(&second, &cluster).allowed());
}

#[test]
fn an_aggregation_length_fits_a_range_when_it_fits_the_widest_prefix_of_the_range() {
    let cluster =
        Cluster::empty(NS).with_pools(pools(&[("range", &["203.0.113.2-203.0.113.254"])]));
    let at = |length| {
        bgp(
            "b",
            BGPAdvertisementSpec {
                aggregation_length: Some(length),
                ..Default::default()
            },
        )
    };
    assert_eq!(validate_bgp(&at(26), &cluster), Verdict::default());
    assert_eq!(validate_bgp(&at(28), &cluster), Verdict::default());
    assert_eq!(
        validate_bgp(&at(24), &cluster).denials,
        [
            r#"BGPAdvertisement "b": aggregationLength 24 is shorter than prefix 203.0.113.64/26 (the widest of "203.0.113.2-203.0.113.254") of IPAddressPool "range" (invalid aggregation length: the aggregate would cover addresses outside the pool)"#
        ]
    );
}

#[test]
fn a_value_or_an_expression_listed_twice_in_a_selector_is_denied_in_every_selector_field() {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
    let requirement = |values: &[&str]| LabelSelectorRequirement {
        key: "foo".into(),
        operator: "In".into(),
        values: Some(names(values)),
    };
    let twice_a_value = LabelSelector {
        match_expressions: Some(vec![requirement(&["bar", "bar"])]),
        ..Default::default()
    };
    let twice_an_expression = LabelSelector {
        match_expressions: Some(vec![
            requirement(&["bar", "baz"]),
            requirement(&["baz", "bar"]),
        ]),
        ..Default::default()
    };
    let selectors = vec![twice_a_value, twice_an_expression];
    let ad = bgp(
        "b",
        BGPAdvertisementSpec {
            ip_address_pool_selectors: selectors.clone(),
            node_selectors: selectors.clone(),
            ..Default::default()
        },
    );
    let expected = |field: &str| {
        [
            format!(
                r#"BGPAdvertisement "b": {field}[0].matchExpressions[0].values lists "bar" more than once"#
            ),
            format!(
                r#"BGPAdvertisement "b": {field}[1].matchExpressions[1] duplicates {field}[1].matchExpressions[0]"#
            ),
        ]
    };
    let mut both = expected("ipAddressPoolSelectors").to_vec();
    both.extend(expected("nodeSelectors"));
    assert_eq!(validate_bgp(&ad, &cluster()).denials, both);
    let l2_ad = l2(L2AdvertisementSpec {
        node_selectors: selectors,
        ..Default::default()
    });
    assert_eq!(validate_l2(&l2_ad, &cluster()).denials.len(), 2);
}

#[test]
fn selectors_differing_only_in_the_order_of_values_are_duplicates() {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
    let selector = |values: &[&str]| LabelSelector {
        match_expressions: Some(vec![LabelSelectorRequirement {
            key: "foo".into(),
            operator: "In".into(),
            values: Some(names(values)),
        }]),
        ..Default::default()
    };
    let ad = l2(L2AdvertisementSpec {
        node_selectors: vec![selector(&["a", "b"]), selector(&["b", "a"])],
        ..Default::default()
    });
    assert_eq!(
        validate_l2(&ad, &cluster()).denials,
        [r#"L2Advertisement "l2": nodeSelectors[1] duplicates nodeSelectors[0]"#]
    );
}
