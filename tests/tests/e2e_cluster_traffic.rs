//! ferrolb as users run it, on the real cluster of `dev/cluster` (kubelets, containerd,
//! kube-proxy, the chart installed by helm, the images built from the working tree), seen
//! from this machine, which sits on the nodes' segment as a laptop on the LAN would: a
//! Deployment of HTTP backends behind a LoadBalancer Service is answered by one node's ARP and
//! reached through kube-proxy; BIRD in a router namespace learns the Service IP from every
//! speaker pod, and a client behind the router reaches the Service through it.
//!
//! The tests need the cluster (`FERROLB_E2E_CLUSTER`), so they are ignored by a plain
//! `cargo test`; `dev/test e2e` brings the cluster up and runs the real-cluster suites one
//! test at a time: `cargo test -p ferrolb-tests --test e2e_cluster_traffic --test
//! e2e_cluster_failover --test e2e_cluster_installation -- --include-ignored
//! --test-threads=1 --nocapture`. The cluster, the objects the tests deploy and the LAN router
//! come from [`ferrolb_tests::worlds::e2e`].

use std::time::Instant;

use ferrolb_tests::wait::{PATIENCE, until};
use ferrolb_tests::worlds::e2e::lan_router::LanRouter;
use ferrolb_tests::worlds::e2e::workloads::{
    Cleanup, NAMESPACE, connect, http_ok, l2_status_node, serve, sole_owner,
};

#[test]
#[ignore = "needs the real cluster of dev/cluster (FERROLB_E2E_CLUSTER); dev/test runs it"]
fn layer2_one_node_answers_arp_and_http_reaches_the_pods_through_kube_proxy() {
    let (cluster, kubectl) = connect();
    let mut cleanup = Cleanup::new(&kubectl);
    let ip = serve(&mut cleanup, "e2e-l2", "203.0.113.100/30", false);
    let owner = sole_owner(&cluster, &ip);
    let named = until("the ServiceL2Status", || {
        let n = l2_status_node(&kubectl, "e2e-l2");
        (!n.is_empty()).then_some(n)
    });
    assert_eq!(
        named, owner.name,
        "ServiceL2Status names {named}, but {} answers ARP",
        owner.name
    );
    // Every backend is reached through the one node's kube-proxy.
    let mut pods = std::collections::BTreeSet::new();
    let deadline = Instant::now() + PATIENCE;
    while pods.len() < 3 {
        assert!(Instant::now() < deadline, "only reached {pods:?}");
        let body = http_ok(&ip);
        assert!(body.starts_with("pod=e2e-l2-"), "{body}");
        pods.insert(
            body.split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    println!(
        "Layer 2: {ip} answered by {} ({}), HTTP reached {pods:?}",
        owner.name, owner.mac
    );
}

#[test]
#[ignore = "needs the real cluster of dev/cluster (FERROLB_E2E_CLUSTER); dev/test runs it"]
fn bgp_the_router_learns_the_service_ip_from_every_speaker_pod_and_http_crosses_it() {
    let (cluster, kubectl) = connect();
    let lab = LanRouter::start(&cluster);
    let mut cleanup = Cleanup::new(&kubectl);
    cleanup.apply(&format!(
        "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata:\n  name: e2e-router\n  namespace: {NAMESPACE}\nspec:\n  myASN: 64513\n  peerASN: 64512\n  peerAddress: 203.0.113.2\n"
    ));
    let ip = serve(&mut cleanup, "e2e-bgp", "203.0.113.200/30", true);
    let prefix = format!("{ip}/32");
    let hops = until("three next hops at the router", || {
        let hops = lab.router().kernel_nexthops(&prefix);
        (hops.len() == cluster.nodes.len()).then_some(hops)
    });
    let mut expected: Vec<_> = cluster.nodes.iter().map(|n| n.ipv4.to_string()).collect();
    let mut got: Vec<_> = hops.iter().map(ToString::to_string).collect();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    let body = until("HTTP from behind the router", || {
        lab.http_from_behind(&ip).ok()
    });
    assert!(body.starts_with("pod=e2e-bgp-"), "{body}");
    println!(
        "BGP: {prefix} via {got:?} at BIRD; from behind the router: {}",
        body.trim()
    );
}
