//! MetalLB's own expectations, as a table run against ferrolb's validators: each row names the
//! MetalLB test it comes from (`internal/config/config_test.go` TestParse,
//! `internal/config/validation_test.go`, the webhook tests under `internal/k8s/webhooks/`), what
//! MetalLB's webhook decides, the objects already stored, the object under review, and what
//! ferrolb decides. MetalLB's webhook parses the whole configuration after clearing
//! `bfdProfile`, `passwordSecret` and community aliases, so what that clearing makes admissible
//! is admitted here too (ferrolb warns instead). A row where ferrolb decides otherwise carries
//! the reason, and the same reasons are listed in the README ("Migrating from MetalLB").
//!
//! Addresses are MetalLB's rewritten into the documentation ranges; everything else is as in
//! MetalLB's row. Rows of MetalLB's tables that cannot arise through the API (an object
//! without a name, two objects with one name) are not ported.

use ferrolb_crds::bgppeer::v1beta2::BGPPeer;
use ferrolb_crds::{BFDProfile, BGPAdvertisement, Community, IPAddressPool, L2Advertisement};
use serde_yaml::Value;

use super::Verdict;
use super::fixtures::NS;
use crate::snapshot::Cluster;

/// What a validator decides about the object under review.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Decision {
    Admits,
    Denies,
}

use Decision::{Admits, Denies};

/// What ferrolb is expected to do: admit, or deny with these words in the message.
#[derive(Clone, Copy, Debug)]
enum Ferrolb {
    Admits,
    Denies(&'static str),
}

impl Ferrolb {
    fn decision(self) -> Decision {
        match self {
            Ferrolb::Admits => Admits,
            Ferrolb::Denies(_) => Denies,
        }
    }
}

struct Case {
    /// The MetalLB test and its row.
    metallb: &'static str,
    /// What MetalLB's webhook decides.
    decides: Decision,
    /// Objects already stored, one YAML document each (`---` between them).
    existing: &'static str,
    /// The object under review.
    object: &'static str,
    ferrolb: Ferrolb,
    /// Why ferrolb decides otherwise than MetalLB; set exactly when it does.
    differs: Option<&'static str>,
}

const POOL: &str =
    "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: [203.0.113.0/24]}";
const PEER1: &str = "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, peerASN: 42, peerAddress: 192.0.2.4}";

/// A row whose object is reviewed against no other object.
const fn alone(
    metallb: &'static str,
    decides: Decision,
    object: &'static str,
    ferrolb: Ferrolb,
) -> Case {
    Case {
        metallb,
        decides,
        existing: "",
        object,
        ferrolb,
        differs: None,
    }
}

/// A row whose object is reviewed against `existing`.
const fn with(
    metallb: &'static str,
    decides: Decision,
    existing: &'static str,
    object: &'static str,
    ferrolb: Ferrolb,
) -> Case {
    Case {
        metallb,
        decides,
        existing,
        object,
        ferrolb,
        differs: None,
    }
}

const fn differs(case: Case, why: &'static str) -> Case {
    Case {
        differs: Some(why),
        ..case
    }
}

/// Why ferrolb admits what only MetalLB's native mode refuses.
const NATIVE_ONLY: &str = "MetalLB's native mode refuses fields only its FRR modes implement; \
    ferrolb admits MetalLB's whole API, as the FRR modes do: its speaker implements this field, \
    and reports on the BGPPeer a field it cannot honour";

const CASES: &[Case] = &[
    // IPAddressPool
    alone(
        "TestParse: ip address pool with namespace selection",
        Admits,
        "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: [203.0.113.0/24], serviceAllocation: {priority: 1, namespaces: [test-ns1, test-ns2], namespaceSelectors: [{matchLabels: {foo: bar}}]}}",
        Ferrolb::Admits,
    ),
    alone(
        "TestParse: ip address pool with duplicate namespace selection",
        Denies,
        "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: [203.0.113.0/24], serviceAllocation: {namespaces: [test-ns1, test-ns1]}}",
        Ferrolb::Denies(r#"serviceAllocation.namespaces lists "test-ns1" more than once"#),
    ),
    alone(
        "TestParse: ip address pool with duplicate namespace selectors",
        Denies,
        "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: [203.0.113.0/24], serviceAllocation: {namespaceSelectors: [{matchLabels: {foo: bar}}, {matchLabels: {foo: bar}}]}}",
        Ferrolb::Denies(
            "serviceAllocation.namespaceSelectors[1] duplicates serviceAllocation.namespaceSelectors[0]",
        ),
    ),
    alone(
        "TestParse: ip address pool with service selection",
        Admits,
        "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: [203.0.113.0/24], serviceAllocation: {serviceSelectors: [{matchExpressions: [{key: team, operator: In, values: [metallb]}]}]}}",
        Ferrolb::Admits,
    ),
    alone(
        "TestParse: ip address pool with duplicate service selection",
        Denies,
        "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: [203.0.113.0/24], serviceAllocation: {serviceSelectors: [{matchLabels: {team: metallb}}, {matchLabels: {team: metallb}}]}}",
        Ferrolb::Denies(
            "serviceAllocation.serviceSelectors[1] duplicates serviceAllocation.serviceSelectors[0]",
        ),
    ),
    alone(
        "TestParse: ip address pool with only priority",
        Admits,
        "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: [203.0.113.0/24], serviceAllocation: {priority: 1}}",
        Ferrolb::Admits,
    ),
    alone(
        "TestParse: address pool with no address",
        Denies,
        "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: []}",
        Ferrolb::Denies("addresses is empty"),
    ),
    alone(
        "TestParse: invalid pool CIDR",
        Denies,
        "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: [100.200.300.400/24]}",
        Ferrolb::Denies(r#"address "100.200.300.400/24" in IPAddressPool "pool1" is invalid"#),
    ),
    alone(
        "TestParse: invalid pool CIDR prefix length",
        Denies,
        "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: [192.0.2.0/33]}",
        Ferrolb::Denies("prefix length 33 exceeds 32"),
    ),
    alone(
        "TestParse: invalid pool CIDR, first address of the range is after the second",
        Denies,
        "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: [192.0.2.10-192.0.2.1]}",
        Ferrolb::Denies("start 192.0.2.10 is after end 192.0.2.1"),
    ),
    with(
        "TestParse: duplicate CIDRs",
        Denies,
        "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: [' 198.51.100.0/24']}",
        "kind: IPAddressPool\nmetadata: {name: pool2}\nspec: {addresses: [' 198.51.100.0/24']}",
        Ferrolb::Denies(
            r#"overlaps with already defined CIDR "198.51.100.0/24" in IPAddressPool "pool1""#,
        ),
    ),
    with(
        "TestParse: overlapping CIDRs",
        Denies,
        "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: [' 198.51.100.0/24']}",
        "kind: IPAddressPool\nmetadata: {name: pool2}\nspec: {addresses: [198.51.100.0/26]}",
        Ferrolb::Denies(r#"CIDR "198.51.100.0/26" in IPAddressPool "pool2" overlaps"#),
    ),
    with(
        "ipaddresspool_webhook_test: Second IPAddressPool",
        Admits,
        POOL,
        "kind: IPAddressPool\nmetadata: {name: pool2}\nspec: {addresses: [198.51.100.0/24]}",
        Ferrolb::Admits,
    ),
    alone(
        "ipaddresspool_webhook_test: Validation must fail if created in different namespace",
        Denies,
        "kind: IPAddressPool\nmetadata: {name: pool1, namespace: default}\nspec: {addresses: [203.0.113.0/24]}",
        Ferrolb::Denies("resource must be created in metallb-system namespace"),
    ),
    // BGPPeer
    alone("TestParse: peer-only", Admits, PEER1, Ferrolb::Admits),
    alone(
        "TestParse: invalid peer-address",
        Denies,
        "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, peerASN: 42, peerAddress: 192.0.2.400}",
        Ferrolb::Denies(r#"peerAddress "192.0.2.400" is not a valid IP address"#),
    ),
    alone(
        "TestParse: invalid my-asn",
        Denies,
        "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 0, peerASN: 42, peerAddress: 192.0.2.4}",
        Ferrolb::Denies("myASN is missing"),
    ),
    alone(
        "TestParse: invalid peer-asn",
        Denies,
        "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, peerAddress: 192.0.2.4}",
        Ferrolb::Denies("one of peerASN and dynamicASN must be set"),
    ),
    alone(
        "TestParse: invalid ebgp-multihop",
        Denies,
        "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, peerASN: 42, peerAddress: 192.0.2.4, ebgpMultiHop: true}",
        Ferrolb::Denies("ebgpMultiHop"),
    ),
    alone(
        "TestParse: invalid keepalivetime larger than holdtime",
        Denies,
        "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, peerASN: 42, peerAddress: 192.0.2.4, holdTime: 30s, keepaliveTime: 90s}",
        Ferrolb::Denies("keepaliveTime 90s is greater than holdTime 30s"),
    ),
    alone(
        "TestParse: invalid hold time (too short)",
        Denies,
        "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, peerASN: 42, peerAddress: 192.0.2.4, holdTime: 1s}",
        Ferrolb::Denies("holdTime 1s"),
    ),
    alone(
        "TestParse: peer with holdtime only",
        Admits,
        "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, peerASN: 42, peerAddress: 192.0.2.4, holdTime: 180s}",
        Ferrolb::Admits,
    ),
    alone(
        "TestParse: peer with keepalive only",
        Admits,
        "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, peerASN: 42, peerAddress: 192.0.2.4, keepaliveTime: 60s}",
        Ferrolb::Admits,
    ),
    alone(
        "TestParse: peer with zero hold/keepalive timers",
        Admits,
        "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, peerASN: 42, peerAddress: 192.0.2.4, holdTime: 0s, keepaliveTime: 0s}",
        Ferrolb::Admits,
    ),
    alone(
        "TestParse: invalid RouterID",
        Denies,
        "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, peerASN: 42, peerAddress: 192.0.2.4, routerID: oh god how do I BGP}",
        Ferrolb::Denies(r#"routerID "oh god how do I BGP" is not a valid IPv4 address"#),
    ),
    alone(
        "TestParse: empty node selector (select everything)",
        Admits,
        "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, peerASN: 42, peerAddress: 192.0.2.4, nodeSelectors: [{}]}",
        Ferrolb::Admits,
    ),
    alone(
        "TestParse: invalid expression node selector (missing key)",
        Denies,
        "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, peerASN: 42, peerAddress: 192.0.2.4, nodeSelectors: [{matchLabels: {foo: bar}, matchExpressions: [{key: '', operator: In, values: [quux]}]}]}",
        Ferrolb::Denies(r#"nodeSelectors[0] is invalid: label key "" is invalid"#),
    ),
    alone(
        "TestParse: invalid expression node selector (missing operator)",
        Denies,
        "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, peerASN: 42, peerAddress: 192.0.2.4, nodeSelectors: [{matchLabels: {foo: bar}, matchExpressions: [{key: bar, operator: '', values: [quux]}]}]}",
        Ferrolb::Denies(
            r#"operator "" on key "bar" is not one of In, NotIn, Exists, DoesNotExist"#,
        ),
    ),
    alone(
        "TestParse: invalid expression node selector (invalid operator)",
        Denies,
        "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, peerASN: 42, peerAddress: 192.0.2.4, nodeSelectors: [{matchLabels: {foo: bar}, matchExpressions: [{key: bar, operator: surrounds, values: [quux]}]}]}",
        Ferrolb::Denies(r#"operator "surrounds" on key "bar" is not one of"#),
    ),
    alone(
        "TestParse: duplicate values node selector match expression",
        Denies,
        "kind: BGPPeer\nmetadata: {name: peer}\nspec: {myASN: 100, peerASN: 200, peerAddress: 198.51.100.5, nodeSelectors: [{matchLabels: {foo: bar}, matchExpressions: [{key: bar, operator: In, values: [quux, quux]}]}]}",
        Ferrolb::Denies(
            r#"nodeSelectors[0].matchExpressions[0].values lists "quux" more than once"#,
        ),
    ),
    with(
        "TestParse: duplicate peers",
        Denies,
        PEER1,
        "kind: BGPPeer\nmetadata: {name: peer2}\nspec: {myASN: 42, peerASN: 42, peerAddress: 192.0.2.4}",
        Ferrolb::Denies(
            r#"BGPPeer "peer2": peerAddress "192.0.2.4" is already the peerAddress of BGPPeer "peer1", and both can select the same node"#,
        ),
    ),
    alone(
        "TestParse: BGP Peer with both password and secret ref set",
        Denies,
        "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, peerASN: 42, peerAddress: 192.0.2.4, password: nopass, passwordSecret: {name: nosecret, namespace: metallb-system}}",
        Ferrolb::Denies("password"),
    ),
    alone(
        "TestParse: BGP Peer with unavailable secret ref (the webhook clears passwordSecret)",
        Admits,
        "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, peerASN: 42, peerAddress: 192.0.2.4, passwordSecret: {name: nosecret, namespace: metallb-system}}",
        Ferrolb::Admits,
    ),
    alone(
        "TestParse: Peer with non existing BFD Profile (the webhook clears bfdProfile)",
        Admits,
        "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, peerASN: 42, peerAddress: 192.0.2.4, bfdProfile: default}",
        Ferrolb::Admits,
    ),
    alone(
        "TestParse: peer with dynamic asn",
        Admits,
        "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, dynamicASN: external, peerAddress: 192.0.2.4}",
        Ferrolb::Admits,
    ),
    alone(
        "TestParse: peer with both asn and dynamic asn",
        Denies,
        "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, peerASN: 43, dynamicASN: external, peerAddress: 192.0.2.4}",
        Ferrolb::Denies("peerASN and dynamicASN are mutually exclusive"),
    ),
    alone(
        "TestParse: unnumbered peer without address with interface ok",
        Admits,
        "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, peerASN: 42, interface: eth0}",
        Ferrolb::Admits,
    ),
    alone(
        "TestParse: unnumbered peer without address without interface nok",
        Denies,
        "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, peerASN: 42}",
        Ferrolb::Denies("one of peerAddress and interface must be set"),
    ),
    alone(
        "TestParse: unnumbered peer with address with interface nok",
        Denies,
        "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, peerASN: 42, peerAddress: 192.0.2.4, interface: eth0}",
        Ferrolb::Denies("peerAddress"),
    ),
    with(
        "TestDiscardNativeOnly: duplicate bgp address, different vrfs",
        Admits,
        "kind: BGPPeer\nmetadata: {name: default-vrf}\nspec: {myASN: 42, peerASN: 43, peerAddress: 192.0.2.4}\n---\nkind: BGPPeer\nmetadata: {name: red}\nspec: {myASN: 42, peerASN: 43, peerAddress: 192.0.2.4, vrf: red}",
        "kind: BGPPeer\nmetadata: {name: green}\nspec: {myASN: 42, peerASN: 43, peerAddress: 192.0.2.4, vrf: green}",
        Ferrolb::Admits,
    ),
    with(
        "TestDiscardNativeOnly: duplicate bgp address, same vrf",
        Denies,
        "kind: BGPPeer\nmetadata: {name: default-vrf}\nspec: {myASN: 42, peerASN: 43, peerAddress: 192.0.2.4}\n---\nkind: BGPPeer\nmetadata: {name: red}\nspec: {myASN: 42, peerASN: 43, peerAddress: 192.0.2.4, vrf: red}",
        "kind: BGPPeer\nmetadata: {name: red-again}\nspec: {myASN: 42, peerASN: 43, peerAddress: 192.0.2.4, vrf: red}",
        Ferrolb::Denies(
            r#"peerAddress "192.0.2.4" in VRF "red" is already the peerAddress of BGPPeer "red""#,
        ),
    ),
    with(
        "TestDiscardNativeOnly: two peers with interface set different",
        Admits,
        "kind: BGPPeer\nmetadata: {name: eth0}\nspec: {myASN: 123, peerASN: 124, interface: eth0}",
        "kind: BGPPeer\nmetadata: {name: eth1}\nspec: {myASN: 123, peerASN: 124, interface: eth1}",
        Ferrolb::Admits,
    ),
    with(
        "TestDiscardNativeOnly: two peers with interface set same",
        Denies,
        "kind: BGPPeer\nmetadata: {name: first}\nspec: {myASN: 123, peerASN: 124, interface: eth0}",
        "kind: BGPPeer\nmetadata: {name: second}\nspec: {myASN: 123, peerASN: 124, interface: eth0}",
        Ferrolb::Denies(r#"interface "eth0" is already the interface of BGPPeer "first""#),
    ),
    with(
        "TestDiscardNativeOnly: duplicate address, disjoint hostname selectors",
        Admits,
        "kind: BGPPeer\nmetadata: {name: on-node1}\nspec: {myASN: 42, peerASN: 43, peerAddress: 192.0.2.4, nodeSelectors: [{matchLabels: {kubernetes.io/hostname: node1}}]}",
        "kind: BGPPeer\nmetadata: {name: on-node2}\nspec: {myASN: 42, peerASN: 43, peerAddress: 192.0.2.4, nodeSelectors: [{matchLabels: {kubernetes.io/hostname: node2}}]}",
        Ferrolb::Admits,
    ),
    with(
        "TestDiscardNativeOnly: duplicate address, one peer without nodeSelector matches all nodes",
        Denies,
        "kind: BGPPeer\nmetadata: {name: everywhere}\nspec: {myASN: 42, peerASN: 43, peerAddress: 192.0.2.4}",
        "kind: BGPPeer\nmetadata: {name: on-node1}\nspec: {myASN: 42, peerASN: 43, peerAddress: 192.0.2.4, nodeSelectors: [{matchLabels: {kubernetes.io/hostname: node1}}]}",
        Ferrolb::Denies(r#"is already the peerAddress of BGPPeer "everywhere""#),
    ),
    with(
        "TestDiscardNativeOnly: duplicate address, multiple nodeSelectors (OR), overlap via second selector",
        Denies,
        "kind: BGPPeer\nmetadata: {name: nodes12}\nspec: {myASN: 42, peerASN: 43, peerAddress: 192.0.2.4, nodeSelectors: [{matchLabels: {kubernetes.io/hostname: node1}}, {matchLabels: {kubernetes.io/hostname: node2}}]}",
        "kind: BGPPeer\nmetadata: {name: nodes32}\nspec: {myASN: 42, peerASN: 43, peerAddress: 192.0.2.4, nodeSelectors: [{matchLabels: {kubernetes.io/hostname: node3}}, {matchLabels: {kubernetes.io/hostname: node2}}]}",
        Ferrolb::Denies(r#"is already the peerAddress of BGPPeer "nodes12""#),
    ),
    differs(
        with(
            "TestDiscardNativeOnly: duplicate address, disjoint selectors but no nodes known (conservative)",
            Denies,
            "kind: BGPPeer\nmetadata: {name: on-node1}\nspec: {myASN: 42, peerASN: 43, peerAddress: 192.0.2.4, nodeSelectors: [{matchLabels: {kubernetes.io/hostname: node1}}]}",
            "kind: BGPPeer\nmetadata: {name: on-node2}\nspec: {myASN: 42, peerASN: 43, peerAddress: 192.0.2.4, nodeSelectors: [{matchLabels: {kubernetes.io/hostname: node2}}]}",
            Ferrolb::Admits,
        ),
        "ferrolb judges from the selectors whether two peers can ever share a node, whatever \
         nodes exist now; hostname selectors for two different hosts never do",
    ),
    differs(
        with(
            "TestDiscardNativeOnly: routerid set, one different (FRR modes only)",
            Denies,
            "kind: BGPPeer\nmetadata: {name: first}\nspec: {myASN: 42, peerASN: 43, peerAddress: 192.0.2.4, routerID: 192.0.2.100}",
            "kind: BGPPeer\nmetadata: {name: second}\nspec: {myASN: 42, peerASN: 43, peerAddress: 192.0.2.5, routerID: 192.0.2.101}",
            Ferrolb::Admits,
        ),
        "one router ID per node is a limit of FRR; ferrolb's speaker opens one session per peer \
         with its own router ID, as MetalLB's native mode does, which admits this",
    ),
    differs(
        with(
            "TestDiscardNativeOnly: myAsn set, one different (FRR modes only)",
            Denies,
            "kind: BGPPeer\nmetadata: {name: first}\nspec: {myASN: 42, peerASN: 43, peerAddress: 192.0.2.4}",
            "kind: BGPPeer\nmetadata: {name: second}\nspec: {myASN: 44, peerASN: 43, peerAddress: 192.0.2.5}",
            Ferrolb::Admits,
        ),
        "one myASN per node and VRF is a limit of FRR; ferrolb's speaker, like MetalLB's native \
         mode, which admits this, runs each session with its own local AS",
    ),
    differs(
        alone(
            "TestDiscardFRROnly: keepalive time (native mode only)",
            Denies,
            "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, peerASN: 43, peerAddress: 192.0.2.4, keepaliveTime: 30s}",
            Ferrolb::Admits,
        ),
        NATIVE_ONLY,
    ),
    differs(
        alone(
            "TestDiscardFRROnly: dynamic ASN (native mode only)",
            Denies,
            "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, dynamicASN: internal, peerAddress: 192.0.2.4}",
            Ferrolb::Admits,
        ),
        NATIVE_ONLY,
    ),
    alone(
        "TestDiscardFRROnly: peer with bfd profile (the webhook clears bfdProfile first)",
        Admits,
        "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, peerASN: 43, peerAddress: 192.0.2.4, bfdProfile: default}",
        Ferrolb::Admits,
    ),
    // BGPAdvertisement
    with(
        "TestParse: simple advertisement",
        Admits,
        POOL,
        "kind: BGPAdvertisement\nmetadata: {name: adv3}\nspec: {}",
        Ferrolb::Admits,
    ),
    with(
        "TestParse: bad aggregation length (too long)",
        Denies,
        POOL,
        "kind: BGPAdvertisement\nmetadata: {name: adv}\nspec: {aggregationLength: 34}",
        Ferrolb::Denies("aggregationLength 34 is invalid: it must be from 0 to 32"),
    ),
    with(
        "TestParse: bad aggregation length (incompatible with CIDR)",
        Denies,
        "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: [203.0.113.0/24, 198.51.100.0/28]}",
        "kind: BGPAdvertisement\nmetadata: {name: adv}\nspec: {aggregationLength: 26}",
        Ferrolb::Denies("aggregationLength 26 is shorter than prefix 198.51.100.0/28"),
    ),
    with(
        "TestParse: different local pref - same peers and nodes",
        Denies,
        "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: [203.0.113.0/24]}\n---\nkind: BGPAdvertisement\nmetadata: {name: first}\nspec: {localPref: 100}",
        "kind: BGPAdvertisement\nmetadata: {name: second}\nspec: {localPref: 200}",
        Ferrolb::Denies(
            r#"localPref 200 conflicts with localPref 100 of BGPAdvertisement "first""#,
        ),
    ),
    with(
        "TestParse: different local pref - different ipv4 aggregation length",
        Admits,
        "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: [203.0.113.0/24]}\n---\nkind: BGPAdvertisement\nmetadata: {name: first}\nspec: {localPref: 100, aggregationLength: 24}",
        "kind: BGPAdvertisement\nmetadata: {name: second}\nspec: {localPref: 200}",
        Ferrolb::Admits,
    ),
    with(
        "TestParse: different local pref - different aggregation lengths",
        Admits,
        "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: [203.0.113.0/24]}\n---\nkind: BGPAdvertisement\nmetadata: {name: first}\nspec: {localPref: 100, aggregationLength: 24, aggregationLengthV6: 120}",
        "kind: BGPAdvertisement\nmetadata: {name: second}\nspec: {localPref: 200}",
        Ferrolb::Admits,
    ),
    with(
        "TestParse: different local pref - same peers & different nodes",
        Admits,
        "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: [203.0.113.0/24]}\n---\nkind: BGPAdvertisement\nmetadata: {name: first}\nspec: {localPref: 100, nodeSelectors: [{matchLabels: {node: node1}}]}",
        "kind: BGPAdvertisement\nmetadata: {name: second}\nspec: {localPref: 200, nodeSelectors: [{matchLabels: {node: node2}}]}",
        Ferrolb::Admits,
    ),
    with(
        "TestParse: different local pref - different peers & same nodes",
        Admits,
        "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: [203.0.113.0/24]}\n---\nkind: BGPAdvertisement\nmetadata: {name: first}\nspec: {localPref: 100, peers: [peer1]}",
        "kind: BGPAdvertisement\nmetadata: {name: second}\nspec: {localPref: 200, peers: [peer2]}",
        Ferrolb::Admits,
    ),
    with(
        "TestParse: config using all features (adv2 beside adv1)",
        Admits,
        "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: [198.51.100.0/24, 203.0.113.0/24], avoidBuggyIPs: true, autoAssign: false}\n---\nkind: BGPAdvertisement\nmetadata: {name: adv1}\nspec: {aggregationLength: 32, localPref: 100, communities: [bar], ipAddressPools: [pool1], peers: [peer1]}",
        "kind: BGPAdvertisement\nmetadata: {name: adv2}\nspec: {aggregationLength: 24, aggregationLengthV6: 64, ipAddressPools: [pool1]}",
        Ferrolb::Admits,
    ),
    with(
        "TestParse: aggregation length by range",
        Admits,
        "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: [203.0.113.2-203.0.113.254]}",
        "kind: BGPAdvertisement\nmetadata: {name: adv}\nspec: {aggregationLength: 26}",
        Ferrolb::Admits,
    ),
    with(
        "TestParse: aggregation length by range, too wide",
        Denies,
        "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: [203.0.113.2-203.0.113.254]}",
        "kind: BGPAdvertisement\nmetadata: {name: adv}\nspec: {aggregationLength: 24}",
        Ferrolb::Denies("aggregationLength 24 is shorter than prefix 203.0.113.64/26"),
    ),
    with(
        "TestParse: duplicate ip address pools - in BGP adv",
        Denies,
        POOL,
        "kind: BGPAdvertisement\nmetadata: {name: adv}\nspec: {ipAddressPools: [pool1, pool1]}",
        Ferrolb::Denies(r#"ipAddressPools lists "pool1" more than once"#),
    ),
    with(
        "TestParse: duplicate peers - in BGP adv",
        Denies,
        "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: [203.0.113.0/24]}\n---\nkind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, peerASN: 42, peerAddress: 192.0.2.4}",
        "kind: BGPAdvertisement\nmetadata: {name: adv}\nspec: {ipAddressPools: [pool1], peers: [peer1, peer1]}",
        Ferrolb::Denies(r#"peers lists "peer1" more than once"#),
    ),
    with(
        "TestParse: bad community literal (wrong format) - in BGP adv (the webhook drops values without a colon as aliases)",
        Admits,
        POOL,
        "kind: BGPAdvertisement\nmetadata: {name: adv}\nspec: {communities: ['1234'], ipAddressPools: [pool1]}",
        Ferrolb::Admits,
    ),
    with(
        "TestParse: bad community literal (asn part doesn't fit) - in BGP adv",
        Denies,
        POOL,
        "kind: BGPAdvertisement\nmetadata: {name: adv}\nspec: {communities: ['99999999:1'], ipAddressPools: [pool1]}",
        Ferrolb::Denies(r#"community "99999999:1" is invalid"#),
    ),
    with(
        "TestParse: bad community literal (community# part doesn't fit) - in BGP adv",
        Denies,
        POOL,
        "kind: BGPAdvertisement\nmetadata: {name: adv}\nspec: {communities: ['1:99999999'], ipAddressPools: [pool1]}",
        Ferrolb::Denies(r#"community "1:99999999" is invalid"#),
    ),
    with(
        "TestParse: bad community ref (unknown ref) - in BGP adv (the webhook clears aliases)",
        Admits,
        POOL,
        "kind: BGPAdvertisement\nmetadata: {name: adv}\nspec: {communities: [community], ipAddressPools: [pool1]}",
        Ferrolb::Admits,
    ),
    with(
        "TestParse: duplicate community literal - in BGP adv",
        Denies,
        POOL,
        "kind: BGPAdvertisement\nmetadata: {name: adv}\nspec: {communities: ['1234:5678', '1234:5678'], ipAddressPools: [pool1]}",
        Ferrolb::Denies(r#"communities lists "1234:5678" more than once"#),
    ),
    with(
        "TestParse: use duplicate match labels in ip pool selectors - in BGP adv",
        Denies,
        "kind: IPAddressPool\nmetadata: {name: pool1, labels: {test: pool1}}\nspec: {addresses: [198.51.100.0/24]}",
        "kind: BGPAdvertisement\nmetadata: {name: adv1}\nspec: {aggregationLength: 32, localPref: 100, ipAddressPoolSelectors: [{matchLabels: {test: pool1}}, {matchLabels: {test: pool1}}]}",
        Ferrolb::Denies("ipAddressPoolSelectors[1] duplicates ipAddressPoolSelectors[0]"),
    ),
    with(
        "TestParse: use duplicate match expression in ip pool selector - in BGP adv",
        Denies,
        "kind: IPAddressPool\nmetadata: {name: pool1, labels: {test: pool1}}\nspec: {addresses: [198.51.100.0/24]}",
        "kind: BGPAdvertisement\nmetadata: {name: adv1}\nspec: {ipAddressPoolSelectors: [{matchExpressions: [{key: test, operator: In, values: [pool1, pool1]}]}]}",
        Ferrolb::Denies(
            r#"ipAddressPoolSelectors[0].matchExpressions[0].values lists "pool1" more than once"#,
        ),
    ),
    with(
        "TestParse: use non existent label for ip pool selectors",
        Admits,
        "kind: IPAddressPool\nmetadata: {name: pool1, labels: {test: pool1}}\nspec: {addresses: [198.51.100.0/24]}",
        "kind: BGPAdvertisement\nmetadata: {name: adv1}\nspec: {ipAddressPoolSelectors: [{matchLabels: {test: pool2}}]}",
        Ferrolb::Admits,
    ),
    with(
        "TestParse: BGP advertisement - serviceSelectors with non-default aggregationLength is mutually exclusive",
        Denies,
        POOL,
        "kind: BGPAdvertisement\nmetadata: {name: adv1}\nspec: {aggregationLength: 24, serviceSelectors: [{matchLabels: {app: nginx}}]}",
        Ferrolb::Denies("serviceSelectors can only be used with the default aggregation lengths"),
    ),
    with(
        "TestParse: BGP advertisement - serviceSelectors with non-default aggregationLengthV6 is mutually exclusive",
        Denies,
        "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: ['2001:db8::/64']}",
        "kind: BGPAdvertisement\nmetadata: {name: adv1}\nspec: {aggregationLengthV6: 64, serviceSelectors: [{matchLabels: {app: nginx}}]}",
        Ferrolb::Denies("serviceSelectors can only be used with the default aggregation lengths"),
    ),
    with(
        "TestParse: BGP advertisement - serviceSelectors with both default aggregationLength and aggregationLengthV6 is allowed",
        Admits,
        POOL,
        "kind: BGPAdvertisement\nmetadata: {name: adv1}\nspec: {aggregationLength: 32, aggregationLengthV6: 128, serviceSelectors: [{matchLabels: {app: nginx}}]}",
        Ferrolb::Admits,
    ),
    with(
        "TestParse: duplicate service selectors",
        Denies,
        POOL,
        "kind: BGPAdvertisement\nmetadata: {name: adv1}\nspec: {serviceSelectors: [{matchLabels: {app: nginx}}, {matchLabels: {app: nginx}}]}",
        Ferrolb::Denies("serviceSelectors[1] duplicates serviceSelectors[0]"),
    ),
    differs(
        with(
            "TestDiscardFRROnly: v6 address and selected (native mode only)",
            Denies,
            "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: ['2001:db8::/64']}",
            "kind: BGPAdvertisement\nmetadata: {name: adv1}\nspec: {ipAddressPools: [pool1]}",
            Ferrolb::Admits,
        ),
        "ferrolb's speaker announces IPv6 over MP-BGP, which MetalLB's native mode does not",
    ),
    with(
        "TestParse: Session with ipv6 and bfd echo mode (the webhook clears bfdProfile)",
        Admits,
        "kind: IPAddressPool\nmetadata: {name: pool1}\nspec: {addresses: ['2001:db8::/64']}\n---\nkind: BGPAdvertisement\nmetadata: {name: adv3}\nspec: {}\n---\nkind: BFDProfile\nmetadata: {name: nondefault}\nspec: {receiveInterval: 50, transmitInterval: 51, detectMultiplier: 52, echoInterval: 54, echoMode: true, passiveMode: true, minimumTtl: 55}",
        "kind: BGPPeer\nmetadata: {name: peer1}\nspec: {myASN: 42, peerASN: 142, peerAddress: 192.0.2.4, peerPort: 1179, holdTime: 180s, routerID: 192.0.2.40, sourceAddress: 192.0.2.40, ebgpMultiHop: true, bfdProfile: nondefault}",
        Ferrolb::Admits,
    ),
    // L2Advertisement
    with(
        "TestParse: duplicate ip address pools - in L2 adv",
        Denies,
        POOL,
        "kind: L2Advertisement\nmetadata: {name: adv}\nspec: {ipAddressPools: [pool1, pool1]}",
        Ferrolb::Denies(r#"ipAddressPools lists "pool1" more than once"#),
    ),
    with(
        "TestParse: use duplicate ip pool selectors - in L2 adv",
        Denies,
        "kind: IPAddressPool\nmetadata: {name: pool1, labels: {test: pool1}}\nspec: {addresses: [198.51.100.0/24]}",
        "kind: L2Advertisement\nmetadata: {name: adv1}\nspec: {ipAddressPoolSelectors: [{matchLabels: {test: pool1}}, {matchLabels: {test: pool1}}]}",
        Ferrolb::Denies("ipAddressPoolSelectors[1] duplicates ipAddressPoolSelectors[0]"),
    ),
    with(
        "TestParse: use duplicate match labels in node selectors",
        Denies,
        POOL,
        "kind: L2Advertisement\nmetadata: {name: adv1}\nspec: {nodeSelectors: [{matchLabels: {kubernetes.io/hostname: first}}, {matchLabels: {kubernetes.io/hostname: first}}]}",
        Ferrolb::Denies("nodeSelectors[1] duplicates nodeSelectors[0]"),
    ),
    with(
        "TestParse: use duplicate match expression values in node selector",
        Denies,
        POOL,
        "kind: L2Advertisement\nmetadata: {name: adv1}\nspec: {nodeSelectors: [{matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [first, first]}]}]}",
        Ferrolb::Denies(
            r#"nodeSelectors[0].matchExpressions[0].values lists "first" more than once"#,
        ),
    ),
    with(
        "TestParse: specify interfaces",
        Admits,
        POOL,
        "kind: L2Advertisement\nmetadata: {name: adv1}\nspec: {ipAddressPools: [pool1], interfaces: [eth0, eth1]}",
        Ferrolb::Admits,
    ),
    alone(
        "l2advertisement_webhook_test: Validation must fail if created in different namespace",
        Denies,
        "kind: L2Advertisement\nmetadata: {name: adv, namespace: default}\nspec: {}",
        Ferrolb::Denies("resource must be created in metallb-system namespace"),
    ),
    // Community
    alone(
        "TestParse: bad community literal (wrong format) - in the community CR",
        Denies,
        "kind: Community\nmetadata: {name: community}\nspec: {communities: [{name: bar, value: '1234'}]}",
        Ferrolb::Denies(r#"alias "bar""#),
    ),
    alone(
        "TestParse: bad community literal (asn part doesn't fit) - in the community CR",
        Denies,
        "kind: Community\nmetadata: {name: community}\nspec: {communities: [{name: bar, value: '99999999:1'}]}",
        Ferrolb::Denies(r#"alias "bar""#),
    ),
    alone(
        "TestParse: bad community literal (community# part doesn't fit) - in the community CR",
        Denies,
        "kind: Community\nmetadata: {name: community}\nspec: {communities: [{name: bar, value: '1:99999999'}]}",
        Ferrolb::Denies(r#"alias "bar""#),
    ),
    with(
        "TestParse: duplicate communities definition (in 2 different crs)",
        Denies,
        "kind: Community\nmetadata: {name: community1}\nspec: {communities: [{name: bar, value: '1234:5678'}]}",
        "kind: Community\nmetadata: {name: community2}\nspec: {communities: [{name: bar, value: '1234:5678'}]}",
        Ferrolb::Denies(r#"alias "bar" is already defined in Community "community1""#),
    ),
    alone(
        "TestParse: duplicate communities definition (in the same cr)",
        Denies,
        "kind: Community\nmetadata: {name: community}\nspec: {communities: [{name: bar, value: '1234:5678'}, {name: bar, value: '1234:5678'}]}",
        Ferrolb::Denies(r#""bar""#),
    ),
    alone(
        "TestParse: config IPAddressPool with large communities CR",
        Admits,
        "kind: Community\nmetadata: {name: community}\nspec: {communities: [{name: bar, value: 'large:123:456:789'}]}",
        Ferrolb::Admits,
    ),
    // BFDProfile
    alone(
        "TestParse: BFD Profile with too low receive interval",
        Denies,
        "kind: BFDProfile\nmetadata: {name: default}\nspec: {receiveInterval: 2}",
        Ferrolb::Denies("receiveInterval"),
    ),
    alone(
        "TestParse: BFD Profile with too high receive interval",
        Denies,
        "kind: BFDProfile\nmetadata: {name: default}\nspec: {receiveInterval: 90000}",
        Ferrolb::Denies("receiveInterval"),
    ),
    alone(
        "bfdprofile_webhook_test: Validation must fail if created in different namespace",
        Denies,
        "kind: BFDProfile\nmetadata: {name: default, namespace: default}\nspec: {}",
        Ferrolb::Denies("resource must be created in metallb-system namespace"),
    ),
];

/// One stored or reviewed object.
enum Object {
    Pool(IPAddressPool),
    Peer(BGPPeer),
    Bgp(BGPAdvertisement),
    L2(L2Advertisement),
    Community(Community),
    Bfd(BFDProfile),
}

/// Parses one document of a row: its kind picks the type, the namespace defaults to ferrolb's.
fn object(mut doc: Value) -> Object {
    let kind = doc["kind"]
        .as_str()
        .expect("every object has a kind")
        .to_owned();
    let version = if kind == "BGPPeer" {
        "v1beta2"
    } else {
        "v1beta1"
    };
    doc["apiVersion"] = format!("metallb.io/{version}").into();
    if doc["metadata"].get("namespace").is_none() {
        doc["metadata"]["namespace"] = NS.into();
    }
    match kind.as_str() {
        "IPAddressPool" => Object::Pool(serde_yaml::from_value(doc).unwrap()),
        "BGPPeer" => Object::Peer(serde_yaml::from_value(doc).unwrap()),
        "BGPAdvertisement" => Object::Bgp(serde_yaml::from_value(doc).unwrap()),
        "L2Advertisement" => Object::L2(serde_yaml::from_value(doc).unwrap()),
        "Community" => Object::Community(serde_yaml::from_value(doc).unwrap()),
        "BFDProfile" => Object::Bfd(serde_yaml::from_value(doc).unwrap()),
        other => panic!("no kind {other} in metallb.io"),
    }
}

fn documents(yaml: &str) -> Vec<Object> {
    yaml.split("\n---\n")
        .filter(|doc| !doc.trim().is_empty())
        .map(|doc| object(serde_yaml::from_str(doc).unwrap()))
        .collect()
}

fn cluster_of(objects: Vec<Object>) -> Cluster {
    let (mut pools, mut peers, mut bgp, mut l2, mut communities, mut bfd) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for object in objects {
        match object {
            Object::Pool(o) => pools.push(std::sync::Arc::new(o)),
            Object::Peer(o) => peers.push(o),
            Object::Bgp(o) => bgp.push(o),
            Object::L2(o) => l2.push(o),
            Object::Community(o) => communities.push(o),
            Object::Bfd(o) => bfd.push(o),
        }
    }
    Cluster::empty(NS)
        .with_pools(pools)
        .with_peers(peers)
        .with_bgp_advertisements(bgp)
        .with_l2_advertisements(l2)
        .with_communities(communities)
        .with_bfd_profiles(bfd)
}

fn review(object: &Object, cluster: &Cluster) -> Verdict {
    match object {
        Object::Pool(o) => super::pool::validate(o, cluster),
        Object::Peer(o) => super::peer::validate(o, cluster),
        Object::Bgp(o) => super::advertisement::validate_bgp(o, cluster),
        Object::L2(o) => super::advertisement::validate_l2(o, cluster),
        Object::Community(o) => super::community::validate(o, cluster),
        Object::Bfd(o) => super::bfdprofile::validate(o, cluster),
    }
}

/// Runs every row; returns the rows that failed, each with why.
fn failures() -> Vec<String> {
    let mut failures = Vec::new();
    for case in CASES {
        let cluster = cluster_of(documents(case.existing));
        let mut reviewed = documents(case.object);
        assert_eq!(
            reviewed.len(),
            1,
            "{}: one object under review",
            case.metallb
        );
        let verdict = review(&reviewed.remove(0), &cluster);
        let outcome = match case.ferrolb {
            Ferrolb::Admits if verdict.allowed() => Ok(()),
            Ferrolb::Admits => Err(format!("denied: {}", verdict.message())),
            Ferrolb::Denies(words) if verdict.message().contains(words) => Ok(()),
            Ferrolb::Denies(words) if verdict.allowed() => {
                Err(format!("admitted, expected a denial naming {words:?}"))
            }
            Ferrolb::Denies(words) => {
                Err(format!("denied without {words:?}: {}", verdict.message()))
            }
        };
        let differs = case.ferrolb.decision() != case.decides;
        let reasoned = match (differs, case.differs) {
            (true, None) => Err("decides otherwise than MetalLB without a reason".to_owned()),
            (false, Some(_)) => Err("gives a reason for a difference there is not".to_owned()),
            _ => Ok(()),
        };
        for why in [outcome, reasoned].into_iter().filter_map(Result::err) {
            failures.push(format!("{}: {why}", case.metallb));
        }
    }
    failures
}

#[test]
fn metallb_validation_cases_are_decided_as_metallb_decides_or_differ_for_a_stated_reason() {
    let failures = failures();
    let differences = CASES.iter().filter(|c| c.differs.is_some()).count();
    eprintln!(
        "MetalLB validation cases: {} ported, {} passing, {differences} deliberate differences",
        CASES.len(),
        CASES.len() - failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
