//! BGP mode against GoBGP: the same lab as the BIRD suite with `gobgpd` as the router, over
//! eBGP, so the AS path and the absence of LOCAL_PREF are checked against a second,
//! independent implementation of the protocol.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use ferrolb_tests::routers::{Origin, RouterKind};
use ferrolb_tests::worlds::bgp::{BgpOptions, BgpWorld, NODE_AS};
use serde_json::json;

async fn gobgp_world() -> BgpWorld {
    BgpWorld::start(BgpOptions {
        router: RouterKind::Gobgp,
        ibgp: false,
        ..BgpOptions::default()
    })
    .await
}

#[tokio::test]
async fn three_ebgp_speakers_give_gobgp_three_paths_with_the_nodes_as() {
    let world = gobgp_world().await;
    world
        .advertisement(
            "tagged",
            json!({"localPref": 300, "communities": ["65000:42", "large:64513:1:1"]}),
        )
        .await;
    world.peer_with_router().await;
    world.service_everywhere("web", &["198.51.100.70"]).await;
    world.wait_sessions().await;

    let paths = world.router.wait_paths("198.51.100.70/32", 3).await;
    let hops: BTreeSet<IpAddr> = paths.iter().map(|p| p.next_hop).collect();
    assert_eq!(hops, world.node_ipv4s().into_iter().collect());
    for path in &paths {
        assert_eq!(path.as_path, vec![NODE_AS], "{path:?}");
        assert_eq!(path.origin, Origin::Igp);
        assert_eq!(
            path.local_pref, None,
            "LOCAL_PREF never goes to an external peer"
        );
        assert_eq!(path.communities, vec![(65000, 42)]);
        assert_eq!(path.large_communities, vec![(64513, 1, 1)]);
    }
}

#[tokio::test]
async fn a_dynamic_external_peer_comes_up_and_a_terminated_speaker_withdraws() {
    let mut world = gobgp_world().await;
    world.advertisement("all", json!({})).await;
    let router = IpAddr::from(world.world.lab.client.ipv4);
    let mut spec = world.peer_spec(router);
    spec.as_object_mut().unwrap().remove("peerASN");
    spec["dynamicASN"] = json!("external");
    world.peer("router", spec).await;
    let nodes = world.node_names();
    world.service_everywhere("web", &["198.51.100.71"]).await;
    world.router.wait_paths("198.51.100.71/32", 3).await;

    world
        .world
        .speakers
        .get_mut(&nodes[2])
        .unwrap()
        .terminate(Duration::from_secs(10));
    let paths = world.router.wait_paths("198.51.100.71/32", 2).await;
    assert!(
        paths
            .iter()
            .all(|p| p.next_hop != IpAddr::from(world.world.lab.nodes[2].ipv4))
    );
}
