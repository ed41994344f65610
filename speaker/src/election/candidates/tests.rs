use super::*;
use crate::model::{EXCLUDE_LABEL, Endpoints};
use ferrolb_crds::l2advertisement::{L2AdvertisementSpec, PreferredNodeSelector};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn selector(pairs: &[(&str, &str)]) -> LabelSelector {
    LabelSelector {
        match_labels: Some(labels(pairs)),
        ..Default::default()
    }
}

fn node(name: &str, pairs: &[(&str, &str)]) -> Node {
    Node {
        name: name.into(),
        labels: labels(pairs),
        network_unavailable: false,
    }
}

fn nodes() -> Vec<Node> {
    vec![
        node("node-a", &[("zone", "east")]),
        node("node-b", &[("zone", "west")]),
        node("node-c", &[("zone", "east")]),
    ]
}

fn pool(name: &str, cidr: &str, pairs: &[(&str, &str)]) -> Pool {
    Pool {
        name: name.into(),
        labels: labels(pairs),
        ranges: vec![cidr.parse().unwrap()],
    }
}

fn pools() -> Vec<Pool> {
    vec![
        pool("front", "192.0.2.0/28", &[("tier", "front")]),
        pool("back", "192.0.2.16/28", &[]),
    ]
}

fn service(name: &str, ip: &str, ready_on: &[&str]) -> Service {
    Service {
        key: ServiceKey {
            namespace: "shop".into(),
            name: name.into(),
        },
        labels: labels(&[("app", name)]),
        ips: vec![ip.parse().unwrap()],
        local_traffic: false,
        endpoints: Endpoints {
            any_serving: !ready_on.is_empty(),
            serving_nodes: ready_on.iter().map(|n| n.to_string()).collect(),
        },
    }
}

fn ad(spec: L2AdvertisementSpec) -> Advertisement {
    Advertisement {
        name: "ad".into(),
        spec,
    }
}

fn candidate_names(claims: &BTreeMap<IpAddr, Claim>, ip: &str) -> Vec<String> {
    claims
        .get(&ip.parse().unwrap())
        .map(|c| c.candidates.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn an_advertisement_without_pools_covers_every_pool_on_every_node() {
    let claims = claims(
        &nodes(),
        &[service("web", "192.0.2.17", &["node-a"])],
        &pools(),
        &[ad(L2AdvertisementSpec::default())],
    );
    assert_eq!(
        candidate_names(&claims, "192.0.2.17"),
        ["node-a", "node-b", "node-c"]
    );
    let candidate = &claims[&"192.0.2.17".parse().unwrap()].candidates["node-a"];
    assert_eq!(candidate.interfaces, Interfaces::Any);
}

#[test]
fn a_pool_not_named_nor_selected_is_not_announced() {
    let spec = L2AdvertisementSpec {
        ip_address_pools: vec!["front".into()],
        ..Default::default()
    };
    let claims = claims(
        &nodes(),
        &[service("web", "192.0.2.17", &["node-a"])],
        &pools(),
        &[ad(spec)],
    );
    assert!(claims.is_empty(), "{claims:?}");
}

#[test]
fn a_pool_selector_covers_the_pools_with_its_labels() {
    let spec = L2AdvertisementSpec {
        ip_address_pool_selectors: vec![selector(&[("tier", "front")])],
        ..Default::default()
    };
    let claims = claims(
        &nodes(),
        &[
            service("web", "192.0.2.5", &["node-a"]),
            service("db", "192.0.2.17", &["node-a"]),
        ],
        &pools(),
        &[ad(spec)],
    );
    assert_eq!(claims.len(), 1);
    assert_eq!(candidate_names(&claims, "192.0.2.5").len(), 3);
}

#[test]
fn node_selectors_limit_the_candidates() {
    let spec = L2AdvertisementSpec {
        node_selectors: vec![selector(&[("zone", "east")])],
        ..Default::default()
    };
    let claims = claims(
        &nodes(),
        &[service("web", "192.0.2.5", &["node-b"])],
        &pools(),
        &[ad(spec)],
    );
    assert_eq!(candidate_names(&claims, "192.0.2.5"), ["node-a", "node-c"]);
}

#[test]
fn service_selectors_skip_services_without_the_labels() {
    let spec = L2AdvertisementSpec {
        service_selectors: vec![selector(&[("app", "web")])],
        ..Default::default()
    };
    let claims = claims(
        &nodes(),
        &[
            service("web", "192.0.2.5", &["node-a"]),
            service("db", "192.0.2.6", &["node-a"]),
        ],
        &pools(),
        &[ad(spec)],
    );
    assert_eq!(candidate_names(&claims, "192.0.2.5").len(), 3);
    assert!(candidate_names(&claims, "192.0.2.6").is_empty());
}

#[test]
fn unavailable_and_excluded_nodes_are_never_candidates() {
    let mut nodes = nodes();
    nodes[0].network_unavailable = true;
    nodes[1].labels.insert(EXCLUDE_LABEL.into(), "true".into());
    let claims = claims(
        &nodes,
        &[service("web", "192.0.2.5", &["node-a"])],
        &pools(),
        &[ad(L2AdvertisementSpec::default())],
    );
    assert_eq!(candidate_names(&claims, "192.0.2.5"), ["node-c"]);
}

#[test]
fn a_service_without_ready_endpoints_is_not_announced() {
    let claims = claims(
        &nodes(),
        &[service("web", "192.0.2.5", &[])],
        &pools(),
        &[ad(L2AdvertisementSpec::default())],
    );
    assert!(claims.is_empty());
}

#[test]
fn local_traffic_policy_keeps_only_nodes_with_a_ready_local_endpoint() {
    let mut web = service("web", "192.0.2.5", &["node-b"]);
    web.local_traffic = true;
    let claims = claims(
        &nodes(),
        &[web],
        &pools(),
        &[ad(L2AdvertisementSpec::default())],
    );
    assert_eq!(candidate_names(&claims, "192.0.2.5"), ["node-b"]);
}

#[test]
fn advertisement_interfaces_are_merged_per_node() {
    let eth = L2AdvertisementSpec {
        interfaces: vec!["eth0".into()],
        ..Default::default()
    };
    let bond = L2AdvertisementSpec {
        interfaces: vec!["bond0".into()],
        node_selectors: vec![selector(&[("zone", "west")])],
        ..Default::default()
    };
    let claims = claims(
        &nodes(),
        &[service("web", "192.0.2.5", &["node-a"])],
        &pools(),
        &[ad(eth), ad(bond)],
    );
    let claim = &claims[&"192.0.2.5".parse().unwrap()];
    assert_eq!(
        claim.candidates["node-b"].interfaces,
        Interfaces::Named(["bond0".to_owned(), "eth0".to_owned()].into())
    );
    assert!(!claim.candidates["node-a"].interfaces.allows("bond0"));
}

#[test]
fn services_sharing_an_ip_share_one_claim_with_the_nodes_all_allow() {
    let mut web = service("web", "192.0.2.5", &["node-a", "node-c"]);
    web.local_traffic = true;
    let mut api = service("api", "192.0.2.5", &["node-c"]);
    api.local_traffic = true;
    let claims = claims(
        &nodes(),
        &[web, api],
        &pools(),
        &[ad(L2AdvertisementSpec::default())],
    );
    assert_eq!(claims.len(), 1);
    let claim = &claims[&"192.0.2.5".parse().unwrap()];
    assert_eq!(claim.services.len(), 2);
    assert_eq!(candidate_names(&claims, "192.0.2.5"), ["node-c"]);
}

#[test]
fn preferred_node_selector_weights_are_summed_per_node() {
    let spec = L2AdvertisementSpec {
        preferred_node_selectors: vec![
            PreferredNodeSelector {
                weight: 30,
                preference: selector(&[("zone", "east")]),
            },
            PreferredNodeSelector {
                weight: 5,
                preference: LabelSelector::default(),
            },
        ],
        ..Default::default()
    };
    let claims = claims(
        &nodes(),
        &[service("web", "192.0.2.5", &["node-a"])],
        &pools(),
        &[ad(spec)],
    );
    let claim = &claims[&"192.0.2.5".parse().unwrap()];
    assert_eq!(claim.candidates["node-a"].weight, 35);
    assert_eq!(claim.candidates["node-b"].weight, 5);
}

#[test]
fn a_service_sharing_the_ip_that_no_advertisement_selects_does_not_block_the_others() {
    let spec = L2AdvertisementSpec {
        service_selectors: vec![selector(&[("app", "web")])],
        ..Default::default()
    };
    let claims = claims(
        &nodes(),
        &[
            service("web", "192.0.2.5", &["node-a"]),
            service("db", "192.0.2.5", &["node-a"]),
        ],
        &pools(),
        &[ad(spec)],
    );
    let claim = &claims[&"192.0.2.5".parse().unwrap()];
    assert_eq!(claim.candidates.len(), 3);
    assert_eq!(claim.services.len(), 1);
}
