use super::*;
use crate::bgp::peers::{Password, PeerSession};
use crate::model::Endpoints;
use ferrolb_bgp::{Family, PeerAs};
use serde_json::json;
use std::time::Duration;

fn node(name: &str, labels: &[(&str, &str)]) -> Node {
    Node {
        name: name.into(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        network_unavailable: false,
    }
}

fn service(name: &str, ips: &[&str], ready_on: &[&str], local: bool) -> Service {
    Service {
        key: ServiceKey {
            namespace: "web".into(),
            name: name.into(),
        },
        labels: [("app".to_string(), name.to_string())].into(),
        ips: ips.iter().map(|ip| ip.parse().unwrap()).collect(),
        local_traffic: local,
        endpoints: Endpoints {
            any_serving: !ready_on.is_empty(),
            serving_nodes: ready_on.iter().map(|n| n.to_string()).collect(),
        },
    }
}

fn pool(name: &str, ranges: &[&str]) -> Pool {
    Pool {
        name: name.into(),
        labels: [("tier".to_string(), name.to_string())].into(),
        ranges: ranges.iter().map(|r| r.parse().unwrap()).collect(),
    }
}

fn advertisement(name: &str, spec: serde_json::Value) -> Advertisement {
    Advertisement {
        name: name.into(),
        spec: serde_json::from_value(spec).unwrap(),
    }
}

fn session(name: &str, address: &str, local_as: u32, peer_as: u32) -> PeerSession {
    let address: std::net::IpAddr = address.parse().unwrap();
    PeerSession {
        name: name.into(),
        address,
        port: 179,
        source: None,
        local_as,
        peer_as: PeerAs::Fixed(peer_as),
        router_id: None,
        hold_time: Duration::from_secs(90),
        keepalive_time: None,
        connect_time: Duration::from_secs(10),
        ebgp_multihop: false,
        password: Password::None,
        graceful_restart: false,
        families: vec![if address.is_ipv4() {
            Family::Ipv4Unicast
        } else {
            Family::Ipv6Unicast
        }],
        bfd_profile: None,
    }
}

fn sessions(list: &[PeerSession]) -> BTreeMap<String, PeerSession> {
    list.iter().map(|s| (s.name.clone(), s.clone())).collect()
}

fn prefix(text: &str) -> Prefix {
    text.parse().unwrap()
}

#[test]
fn a_service_ip_goes_to_every_peer_with_the_advertisements_attributes() {
    let ad = advertisement(
        "ad",
        json!({"localPref": 200, "communities": ["65000:1", "no-export", "large:65000:1:2"]}),
    );
    let aliases = BTreeMap::from([("no-export".to_string(), "65535:65281".to_string())]);
    let plan = plan(
        &node("a", &[]),
        &[service("front", &["203.0.113.10"], &["b"], false)],
        &[pool("prod", &["203.0.113.0/24"])],
        &[ad],
        &aliases,
        &sessions(&[
            session("internal", "192.0.2.1", 64500, 64500),
            session("external", "192.0.2.2", 64500, 64501),
        ]),
    );
    assert!(plan.problems.is_empty(), "{:?}", plan.problems);
    let internal = &plan.routes["internal"][&prefix("203.0.113.10/32")];
    assert_eq!(internal.local_pref, Some(200));
    assert_eq!(
        internal.communities,
        [65000 << 16 | 1, 65535 << 16 | 65281].into()
    );
    assert_eq!(
        internal.large_communities,
        [LargeCommunity {
            global: 65000,
            local1: 1,
            local2: 2
        }]
        .into()
    );
    let external = &plan.routes["external"][&prefix("203.0.113.10/32")];
    assert_eq!(
        external.local_pref, None,
        "local preference is for iBGP only"
    );
    assert_eq!(external.communities, internal.communities);
    assert_eq!(
        plan.services[&ServiceKey {
            namespace: "web".into(),
            name: "front".into()
        }],
        BTreeSet::from(["external".to_string(), "internal".to_string()])
    );
}

#[test]
fn local_traffic_is_advertised_only_from_nodes_with_a_ready_endpoint() {
    let run = |node_name: &str| {
        plan(
            &node(node_name, &[]),
            &[service("front", &["203.0.113.10"], &["b"], true)],
            &[pool("prod", &["203.0.113.0/24"])],
            &[advertisement("ad", json!({}))],
            &BTreeMap::new(),
            &sessions(&[session("r", "192.0.2.1", 64500, 64501)]),
        )
    };
    assert!(run("a").routes["r"].is_empty());
    assert_eq!(run("b").routes["r"].len(), 1);
}

#[test]
fn a_service_without_ready_endpoints_is_not_advertised() {
    let plan = plan(
        &node("a", &[]),
        &[service("front", &["203.0.113.10"], &[], false)],
        &[pool("prod", &["203.0.113.0/24"])],
        &[advertisement("ad", json!({}))],
        &BTreeMap::new(),
        &sessions(&[session("r", "192.0.2.1", 64500, 64501)]),
    );
    assert!(plan.routes["r"].is_empty());
    assert!(plan.services.is_empty());
}

#[test]
fn aggregation_merges_services_into_one_prefix() {
    let plan = plan(
        &node("a", &[]),
        &[
            service("one", &["203.0.113.10", "2001:db8:5::10"], &["a"], false),
            service("two", &["203.0.113.20"], &["a"], false),
        ],
        &[pool("prod", &["203.0.113.0/24", "2001:db8:5::/64"])],
        &[advertisement(
            "ad",
            json!({"aggregationLength": 24, "aggregationLengthV6": 64}),
        )],
        &BTreeMap::new(),
        &sessions(&[
            session("v4", "192.0.2.1", 64500, 64501),
            session("v6", "2001:db8::1", 64500, 64501),
        ]),
    );
    assert_eq!(
        plan.routes["v4"].keys().collect::<Vec<_>>(),
        [&prefix("203.0.113.0/24")]
    );
    assert_eq!(
        plan.routes["v6"].keys().collect::<Vec<_>>(),
        [&prefix("2001:db8:5::/64")],
        "an IPv6 prefix goes only to sessions carrying IPv6"
    );
}

#[test]
fn selectors_and_peer_lists_narrow_what_is_advertised() {
    let ads = [
        advertisement(
            "gold-only",
            json!({"ipAddressPools": ["gold"], "peers": ["r1"]}),
        ),
        advertisement(
            "silver-on-rack-2",
            json!({"ipAddressPoolSelectors": [{"matchLabels": {"tier": "silver"}}],
                   "nodeSelectors": [{"matchLabels": {"rack": "2"}}]}),
        ),
        advertisement(
            "bronze-for-api",
            json!({"ipAddressPools": ["bronze"],
                   "serviceSelectors": [{"matchLabels": {"app": "api"}}]}),
        ),
    ];
    let services = [
        service(
            "web",
            &["198.51.100.1", "203.0.113.1", "192.0.2.129"],
            &["a"],
            false,
        ),
        service("api", &["192.0.2.130"], &["a"], false),
    ];
    let pools = [
        pool("gold", &["198.51.100.0/24"]),
        pool("silver", &["203.0.113.0/24"]),
        pool("bronze", &["192.0.2.128/25"]),
    ];
    let peers = sessions(&[
        session("r1", "192.0.2.1", 64500, 64501),
        session("r2", "192.0.2.2", 64500, 64501),
    ]);
    let plan = plan(
        &node("a", &[("rack", "1")]),
        &services,
        &pools,
        &ads,
        &BTreeMap::new(),
        &peers,
    );
    let r1: Vec<String> = plan.routes["r1"].keys().map(|p| p.to_string()).collect();
    let r2: Vec<String> = plan.routes["r2"].keys().map(|p| p.to_string()).collect();
    assert_eq!(r1, ["192.0.2.130/32", "198.51.100.1/32"]);
    assert_eq!(r2, ["192.0.2.130/32"]);
}

#[test]
fn an_undefined_community_alias_is_reported_and_the_rest_still_applies() {
    let plan = plan(
        &node("a", &[]),
        &[service("front", &["203.0.113.10"], &["a"], false)],
        &[pool("prod", &["203.0.113.0/24"])],
        &[advertisement(
            "ad",
            json!({"communities": ["missing", "65000:7"]}),
        )],
        &BTreeMap::new(),
        &sessions(&[session("r", "192.0.2.1", 64500, 64501)]),
    );
    assert_eq!(
        plan.problems,
        ["BGPAdvertisement \"ad\": community alias \"missing\" is not defined in any Community"]
    );
    assert_eq!(
        plan.routes["r"][&prefix("203.0.113.10/32")].communities,
        [65000 << 16 | 7].into()
    );
}

#[test]
fn two_advertisements_of_one_prefix_merge_communities_and_keep_the_highest_preference() {
    let plan = plan(
        &node("a", &[]),
        &[service("front", &["203.0.113.10"], &["a"], false)],
        &[pool("prod", &["203.0.113.0/24"])],
        &[
            advertisement("low", json!({"localPref": 50, "communities": ["65000:1"]})),
            advertisement(
                "high",
                json!({"localPref": 300, "communities": ["65000:2"]}),
            ),
        ],
        &BTreeMap::new(),
        &sessions(&[session("r", "192.0.2.1", 64500, 64500)]),
    );
    let route = &plan.routes["r"][&prefix("203.0.113.10/32")];
    assert_eq!(route.local_pref, Some(300));
    assert_eq!(route.communities.len(), 2);
}

#[test]
fn an_ip_outside_every_pool_is_not_advertised() {
    let plan = plan(
        &node("a", &[]),
        &[service("front", &["198.51.100.77"], &["a"], false)],
        &[pool("prod", &["203.0.113.0/24"])],
        &[advertisement("ad", json!({}))],
        &BTreeMap::new(),
        &sessions(&[session("r", "192.0.2.1", 64500, 64501)]),
    );
    assert!(plan.routes["r"].is_empty());
}
