//! The BGPPeer rules, each accepted and denied, with the exact message.

use super::*;
use crate::validate::fixtures::{NS, meta};
use k8s_openapi::api::core::v1::SecretReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

fn peer(spec: BGPPeerSpec) -> BGPPeer {
    BGPPeer {
        metadata: meta("router"),
        spec,
        status: None,
    }
}

fn ebgp() -> BGPPeerSpec {
    BGPPeerSpec {
        my_asn: 64500,
        peer_asn: 64501,
        peer_address: "192.0.2.1".into(),
        ..Default::default()
    }
}

fn denials(spec: BGPPeerSpec) -> Vec<String> {
    validate(&peer(spec), &Cluster::empty(NS)).denials
}

#[test]
fn a_plain_ebgp_peer_is_admitted() {
    assert_eq!(
        validate(&peer(ebgp()), &Cluster::empty(NS)),
        Verdict::default()
    );
}

#[test]
fn my_asn_is_required() {
    assert_eq!(
        denials(BGPPeerSpec {
            my_asn: 0,
            ..ebgp()
        }),
        [r#"BGPPeer "router": myASN is missing; set the AS number of the local end"#]
    );
}

#[test]
fn peer_asn_and_dynamic_asn_are_exclusive_and_one_is_required() {
    assert_eq!(
        denials(BGPPeerSpec {
            dynamic_asn: Some(DynamicAsnMode::External),
            ..ebgp()
        }),
        [r#"BGPPeer "router": peerASN and dynamicASN are mutually exclusive; set only one"#]
    );
    assert_eq!(
        denials(BGPPeerSpec {
            peer_asn: 0,
            ..ebgp()
        }),
        [r#"BGPPeer "router": one of peerASN and dynamicASN must be set"#]
    );
    assert!(
        denials(BGPPeerSpec {
            peer_asn: 0,
            dynamic_asn: Some(DynamicAsnMode::External),
            ..ebgp()
        })
        .is_empty()
    );
}

#[test]
fn peer_address_and_interface_are_exclusive_and_one_is_required() {
    assert_eq!(
        denials(BGPPeerSpec {
            interface: "eth0".into(),
            ..ebgp()
        }),
        [r#"BGPPeer "router": peerAddress and interface are mutually exclusive; set only one"#]
    );
    assert_eq!(
        denials(BGPPeerSpec {
            peer_address: String::new(),
            ..ebgp()
        }),
        [r#"BGPPeer "router": one of peerAddress and interface must be set"#]
    );
}

#[test]
fn addresses_and_router_id_must_be_ips() {
    assert_eq!(
        denials(BGPPeerSpec {
            peer_address: "router.example".into(),
            source_address: "10.0.0.300".into(),
            router_id: "fd00::1".into(),
            ..ebgp()
        }),
        [
            r#"BGPPeer "router": peerAddress "router.example" is not a valid IP address"#,
            r#"BGPPeer "router": sourceAddress "10.0.0.300" is not a valid IP address"#,
            r#"BGPPeer "router": routerID "fd00::1" is not a valid IPv4 address"#,
        ]
    );
}

#[test]
fn hold_time_must_be_zero_or_at_least_three_seconds() {
    assert_eq!(
        denials(BGPPeerSpec {
            hold_time: Some("2s".into()),
            keepalive_time: Some("1s".into()),
            ..ebgp()
        }),
        [r#"BGPPeer "router": holdTime 2s is invalid: it must be 0 or at least 3s"#]
    );
    assert!(
        denials(BGPPeerSpec {
            hold_time: Some("0s".into()),
            ..ebgp()
        })
        .is_empty()
    );
    assert_eq!(
        denials(BGPPeerSpec {
            hold_time: Some("90".into()),
            ..ebgp()
        }),
        [
            r#"BGPPeer "router": holdTime: duration "90" is invalid: a unit is missing (h, m, s, ms, us or ns)"#
        ]
    );
}

#[test]
fn keepalive_above_hold_time_is_denied() {
    assert_eq!(
        denials(BGPPeerSpec {
            hold_time: Some("30s".into()),
            keepalive_time: Some("1m".into()),
            ..ebgp()
        }),
        [r#"BGPPeer "router": keepaliveTime 60s is greater than holdTime 30s"#]
    );
    assert_eq!(
        denials(BGPPeerSpec {
            keepalive_time: Some("100s".into()),
            ..ebgp()
        }),
        [r#"BGPPeer "router": keepaliveTime 100s is greater than holdTime 90s"#]
    );
}

#[test]
fn connect_time_must_be_whole_seconds() {
    assert_eq!(
        denials(BGPPeerSpec {
            connect_time: Some("1500ms".into()),
            ..ebgp()
        }),
        [
            r#"BGPPeer "router": connectTime 1.5s is invalid: it must be a whole number of seconds from 1s to 65535s"#
        ]
    );
}

#[test]
fn ebgp_multihop_on_ibgp_is_denied() {
    assert_eq!(
        denials(BGPPeerSpec {
            peer_asn: 64500,
            ebgp_multi_hop: true,
            ..ebgp()
        }),
        [
            r#"BGPPeer "router": ebgpMultiHop cannot be set on an iBGP session (peerASN equals myASN)"#
        ]
    );
    assert!(
        denials(BGPPeerSpec {
            ebgp_multi_hop: true,
            ..ebgp()
        })
        .is_empty()
    );
}

#[test]
fn password_and_password_secret_are_exclusive() {
    assert_eq!(
        denials(BGPPeerSpec {
            password: "x".into(),
            password_secret: Some(SecretReference {
                name: Some("s".into()),
                namespace: None
            }),
            ..ebgp()
        }),
        [r#"BGPPeer "router": password and passwordSecret are mutually exclusive; set only one"#]
    );
}

#[test]
fn a_password_the_kernel_cannot_take_is_refused_naming_its_length() {
    assert_eq!(
        denials(BGPPeerSpec {
            password: "p".repeat(81),
            ..ebgp()
        }),
        [
            r#"BGPPeer "router": password is 81 bytes long; Linux takes TCP MD5 passwords (TCP_MD5SIG keys) of at most 80 bytes"#
        ]
    );
    assert!(
        denials(BGPPeerSpec {
            password: "p".repeat(80),
            ..ebgp()
        })
        .is_empty()
    );
}

#[test]
fn a_bfd_profile_that_exists_is_admitted_silently_and_a_missing_one_with_a_warning() {
    let spec = BGPPeerSpec {
        bfd_profile: "fast".into(),
        ..ebgp()
    };
    let verdict = validate(&peer(spec.clone()), &Cluster::empty(NS));
    assert!(verdict.allowed());
    assert_eq!(
        verdict.warnings,
        [
            r#"BGPPeer "router": BFDProfile "fast" does not exist in namespace metallb-system; the speakers keep this peer's session closed until it does"#,
        ]
    );
    let profile = ferrolb_crds::BFDProfile {
        metadata: crate::validate::fixtures::meta("fast"),
        spec: Default::default(),
        status: None,
    };
    let cluster = Cluster::empty(NS).with_bfd_profiles([profile]);
    assert_eq!(validate(&peer(spec), &cluster), Verdict::default());
}

#[test]
fn an_invalid_node_selector_is_denied_naming_the_operator() {
    let selector = k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
        match_expressions: Some(vec![
            k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement {
                key: "zone".into(),
                operator: "Equals".into(),
                values: Some(vec!["a".into()]),
            },
        ]),
        ..Default::default()
    };
    assert_eq!(
        denials(BGPPeerSpec {
            node_selectors: vec![selector],
            ..ebgp()
        }),
        [
            r#"BGPPeer "router": nodeSelectors[0] is invalid: operator "Equals" on key "zone" is not one of In, NotIn, Exists, DoesNotExist"#
        ]
    );
}

fn named(name: &str, spec: BGPPeerSpec) -> BGPPeer {
    BGPPeer {
        metadata: meta(name),
        spec,
        status: None,
    }
}

fn zone(zone: &str) -> Vec<LabelSelector> {
    vec![LabelSelector {
        match_labels: Some([("zone".to_owned(), zone.to_owned())].into()),
        ..Default::default()
    }]
}

#[test]
fn an_unknown_operator_in_node_selectors_is_denied() {
    let spec = BGPPeerSpec {
        node_selectors: vec![LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "zone".into(),
                operator: "surrounds".into(),
                values: Some(vec!["a".into()]),
            }]),
            ..Default::default()
        }],
        ..ebgp()
    };
    assert_eq!(
        denials(spec),
        [
            r#"BGPPeer "router": nodeSelectors[0] is invalid: operator "surrounds" on key "zone" is not one of In, NotIn, Exists, DoesNotExist"#
        ]
    );
}

#[test]
fn a_value_listed_twice_in_a_node_selector_is_denied() {
    let spec = BGPPeerSpec {
        node_selectors: vec![LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "foo".into(),
                operator: "In".into(),
                values: Some(vec!["bar".into(), "bar".into()]),
            }]),
            ..Default::default()
        }],
        ..ebgp()
    };
    assert_eq!(
        denials(spec),
        [
            r#"BGPPeer "router": nodeSelectors[0].matchExpressions[0].values lists "bar" more than once"#
        ]
    );
}

#[test]
fn a_second_peer_at_the_same_address_for_the_same_nodes_is_denied_naming_both() {
    let cluster = Cluster::empty(NS).with_peers([named("first", ebgp())]);
    assert_eq!(
        validate(&named("second", ebgp()), &cluster).denials,
        [
            r#"BGPPeer "second": peerAddress "192.0.2.1" is already the peerAddress of BGPPeer "first", and both can select the same node"#
        ]
    );
    let zoned = BGPPeerSpec {
        node_selectors: zone("a"),
        ..ebgp()
    };
    assert!(
        !validate(&named("second", zoned.clone()), &cluster).allowed(),
        "the first peer selects every node, zone a's among them"
    );
    assert_eq!(
        validate(&named("first", ebgp()), &cluster),
        Verdict::default(),
        "an update is not a duplicate of itself"
    );
}

#[test]
fn peers_at_one_address_are_admitted_for_disjoint_nodes_or_other_vrfs() {
    let cluster = Cluster::empty(NS).with_peers([named(
        "first",
        BGPPeerSpec {
            node_selectors: zone("a"),
            ..ebgp()
        },
    )]);
    let other_zone = BGPPeerSpec {
        node_selectors: zone("b"),
        ..ebgp()
    };
    assert_eq!(
        validate(&named("second", other_zone), &cluster),
        Verdict::default()
    );
    let other_vrf = BGPPeerSpec {
        vrf: "red".into(),
        ..ebgp()
    };
    assert_eq!(
        validate(&named("second", other_vrf), &cluster),
        Verdict::default()
    );
}

#[test]
fn a_second_peer_on_the_same_interface_is_denied() {
    let unnumbered = BGPPeerSpec {
        peer_address: String::new(),
        interface: "eth1".into(),
        ..ebgp()
    };
    let cluster = Cluster::empty(NS).with_peers([named("first", unnumbered.clone())]);
    assert_eq!(
        validate(&named("second", unnumbered), &cluster).denials,
        [
            r#"BGPPeer "second": interface "eth1" is already the interface of BGPPeer "first", and both can select the same node"#
        ]
    );
}
