//! BGP mode against BIRD: three node namespaces each run `ferrolb-speaker`, the router
//! namespace runs `bird`, and the control plane is real. What is asserted is what the router
//! learned (its BGP paths with their attributes, and the multipath route it installed in its
//! kernel) and what users read (ServiceBGPStatus objects, metrics, events).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use ferrolb_crds::IPAddressPool;
use ferrolb_tests::routers::Origin;
use ferrolb_tests::wait::eventually;
use ferrolb_tests::worlds::bgp::{BgpOptions, BgpWorld};
use k8s_openapi::api::core::v1::{Node, Secret};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

fn next_hops(paths: &[ferrolb_tests::routers::RouteEntry]) -> BTreeSet<IpAddr> {
    paths.iter().map(|p| p.next_hop).collect()
}

#[tokio::test]
async fn every_node_advertises_the_service_ip_and_the_router_spreads_it_over_all_three() {
    let world = BgpWorld::start(BgpOptions::default()).await;
    world
        .community(
            "aliases",
            json!({"communities": [{"name": "tenant-a", "value": "65000:100"}]}),
        )
        .await;
    world
        .advertisement(
            "tagged",
            json!({"localPref": 200, "communities": ["tenant-a", "65000:1", "large:64512:7:9"]}),
        )
        .await;
    world.peer_with_router().await;
    let nodes = world.node_names();
    world.service_everywhere("web", &["198.51.100.10"]).await;
    world.wait_sessions().await;

    let paths = world.router.wait_paths("198.51.100.10/32", 3).await;
    let expected: BTreeSet<IpAddr> = world.node_ipv4s().into_iter().collect();
    assert_eq!(next_hops(&paths), expected);
    for path in &paths {
        assert_eq!(path.local_pref, Some(200), "{path:?}");
        assert_eq!(path.origin, Origin::Igp);
        assert!(path.as_path.is_empty(), "iBGP adds no AS: {path:?}");
        let communities: BTreeSet<(u16, u16)> = path.communities.iter().copied().collect();
        assert_eq!(communities, BTreeSet::from([(65000, 1), (65000, 100)]));
        assert_eq!(path.large_communities, vec![(64512, 7, 9)]);
    }
    let kernel: BTreeSet<IpAddr> = world
        .router
        .eventually("a multipath kernel route", |r| {
            let hops = r.kernel_nexthops("198.51.100.10/32");
            (hops.len() == 3).then_some(hops)
        })
        .await
        .into_iter()
        .collect();
    assert_eq!(kernel, expected, "ECMP over the three nodes");

    let statuses = ferrolb_tests::wait::eventually("three ServiceBGPStatus objects", || async {
        let statuses = world.statuses("web").await;
        (statuses.len() == 3).then_some(statuses)
    })
    .await;
    let mut sorted = nodes.clone();
    sorted.sort();
    for ((node, peers), expected_node) in statuses.iter().zip(&sorted) {
        assert_eq!(node, expected_node);
        assert_eq!(peers, &vec!["router".to_string()]);
    }
    let router_label = format!("peer=\"{}:179\"", world.world.lab.client.ipv4);
    let metrics = world.metrics(0);
    for expected in [
        format!("metallb_bgp_session_up{{{router_label}}} 1"),
        format!("metallb_bgp_announced_prefixes_total{{{router_label}}} 1"),
        format!("metallb_bgp_pending_prefixes_total{{{router_label}}} 0"),
    ] {
        assert!(
            metrics.contains(&expected),
            "{expected} missing in:\n{metrics}"
        );
    }
    assert!(
        metrics.contains(&format!("metallb_bgp_updates_total{{{router_label}}}")),
        "{metrics}"
    );
}

#[tokio::test]
async fn deleting_the_service_or_its_pool_withdraws_the_route() {
    let world = BgpWorld::start(BgpOptions {
        nodes: 2,
        ..BgpOptions::default()
    })
    .await;
    world.advertisement("all", json!({})).await;
    world.peer_with_router().await;
    world.service_everywhere("first", &["198.51.100.21"]).await;
    world.service_everywhere("second", &["198.51.100.22"]).await;
    world.router.wait_paths("198.51.100.21/32", 2).await;
    world.router.wait_paths("198.51.100.22/32", 2).await;

    world.delete_service("first").await;
    world.router.wait_paths("198.51.100.21/32", 0).await;
    assert_eq!(
        world.router.routes("198.51.100.22/32").len(),
        2,
        "the other stays"
    );
    ferrolb_tests::wait::eventually("no status left for the deleted Service", || async {
        world.statuses("first").await.is_empty().then_some(())
    })
    .await;

    world.delete::<IPAddressPool>("lab").await;
    world.router.wait_paths("198.51.100.22/32", 0).await;
}

#[tokio::test]
async fn local_traffic_is_advertised_only_from_nodes_with_a_ready_endpoint() {
    let world = BgpWorld::start(BgpOptions::default()).await;
    world.advertisement("all", json!({})).await;
    world.peer_with_router().await;
    let nodes = world.node_names();
    world
        .service("local", &["198.51.100.30"], &[&nodes[1]], true)
        .await;
    world
        .service("cluster", &["198.51.100.31"], &[&nodes[1]], false)
        .await;
    world.router.wait_paths("198.51.100.31/32", 3).await;
    let paths = world.router.wait_paths("198.51.100.30/32", 1).await;
    assert_eq!(
        paths[0].next_hop,
        IpAddr::from(world.world.lab.nodes[1].ipv4)
    );
    let statuses =
        ferrolb_tests::wait::eventually("a ServiceBGPStatus for the local Service", || async {
            let statuses = world.statuses("local").await;
            (!statuses.is_empty()).then_some(statuses)
        })
        .await;
    assert_eq!(
        statuses,
        vec![(nodes[1].clone(), vec!["router".to_string()])]
    );
}

#[tokio::test]
async fn a_stopped_speaker_withdraws_at_once_and_a_frozen_one_is_dropped_after_the_hold_time() {
    let world = BgpWorld::start(BgpOptions {
        hold_time: "3s".into(),
        ..BgpOptions::default()
    })
    .await;
    world.advertisement("all", json!({})).await;
    world.peer_with_router().await;
    let nodes = world.node_names();
    world.service_everywhere("web", &["198.51.100.40"]).await;
    world.router.wait_paths("198.51.100.40/32", 3).await;
    let mut world = world;

    let started = Instant::now();
    world
        .world
        .speakers
        .get_mut(&nodes[0])
        .unwrap()
        .terminate(Duration::from_secs(10));
    let paths = world.router.wait_paths("198.51.100.40/32", 2).await;
    println!("SIGTERM: next hop gone after {:?}", started.elapsed());
    assert!(!next_hops(&paths).contains(&IpAddr::from(world.world.lab.nodes[0].ipv4)));

    // A frozen process keeps its socket open: only the router's hold timer can notice.
    let pid = world.world.speakers[&nodes[1]].pid().unwrap().to_string();
    Command::new("kill").args(["-STOP", &pid]).status().unwrap();
    let frozen = Instant::now();
    let paths = world.router.wait_paths("198.51.100.40/32", 1).await;
    let after = frozen.elapsed();
    Command::new("kill").args(["-CONT", &pid]).status().unwrap();
    println!("SIGSTOP: next hop gone after {after:?} (hold time 3 s)");
    assert_eq!(
        paths[0].next_hop,
        IpAddr::from(world.world.lab.nodes[2].ipv4)
    );
    assert!(
        after >= Duration::from_secs(1),
        "only the hold timer can see a frozen speaker"
    );

    // Back from the freeze, the speaker reconnects and advertises again.
    world.router.wait_paths("198.51.100.40/32", 2).await;
}

#[tokio::test]
async fn an_md5_session_comes_up_with_the_right_password_and_stays_down_with_a_wrong_one() {
    let world = BgpWorld::start(BgpOptions {
        nodes: 2,
        router_password: Some("lab-secret".into()),
        ..BgpOptions::default()
    })
    .await;
    let nodes = world.node_names();
    let api = Api::<Node>::all(world.world.client.clone());
    for (node, password) in nodes.iter().zip(["right", "wrong"]) {
        api.patch(
            node,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"md5": password}}})),
        )
        .await
        .unwrap();
    }
    world.password_secret("bgp-password", "lab-secret").await;
    let router = IpAddr::from(world.world.lab.client.ipv4);
    let mut right = world.peer_spec(router);
    right["passwordSecret"] = json!({"name": "bgp-password", "namespace": world.world.namespace});
    right["nodeSelectors"] = json!([{"matchLabels": {"md5": "right"}}]);
    let mut wrong = world.peer_spec(router);
    wrong["password"] = json!("not-the-secret");
    wrong["nodeSelectors"] = json!([{"matchLabels": {"md5": "wrong"}}]);
    world.peer("right", right).await;
    world.peer("wrong", wrong).await;
    world.advertisement("all", json!({})).await;
    world.service_everywhere("web", &["198.51.100.50"]).await;

    let paths = world.router.wait_paths("198.51.100.50/32", 1).await;
    assert_eq!(
        paths[0].next_hop,
        IpAddr::from(world.world.lab.nodes[0].ipv4)
    );
    let rejected_before = world.router.tcp_md5_rejections();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let sessions = world.router.sessions();
    let wrong_node = IpAddr::from(world.world.lab.nodes[1].ipv4);
    assert!(
        !sessions[&wrong_node].established,
        "the wrong password must not get in: {sessions:?}"
    );
    assert!(
        world.router.tcp_md5_rejections() > rejected_before,
        "the kernel dropped the wrongly signed segments"
    );
    assert_eq!(world.router.routes("198.51.100.50/32").len(), 1);
}

#[tokio::test]
async fn an_md5_session_from_a_secret_stays_established_while_the_api_server_is_unreachable() {
    let mut world = BgpWorld::start(BgpOptions {
        nodes: 1,
        router_password: Some("lab-secret".into()),
        ..BgpOptions::default()
    })
    .await;
    world.password_secret("bgp-password", "lab-secret").await;
    let router = IpAddr::from(world.world.lab.client.ipv4);
    let mut spec = world.peer_spec(router);
    spec["passwordSecret"] = json!({"name": "bgp-password", "namespace": world.world.namespace});
    world.peer("router", spec).await;
    world.advertisement("all", json!({})).await;
    world.service_everywhere("web", &["198.51.100.60"]).await;
    world.wait_sessions().await;
    world.router.wait_paths("198.51.100.60/32", 1).await;

    // Longer than the password refresh and a re-plan, when a failed Secret read used to
    // close the session.
    let outage = Duration::from_secs(30);
    let netns = world.world.lab.nodes[0].netns.clone();
    world.world.relay.cut(&netns);
    let node = IpAddr::from(world.world.lab.nodes[0].ipv4);
    let started = Instant::now();
    while started.elapsed() < outage {
        let sessions = world.router.sessions();
        let routes = world.router.routes("198.51.100.60/32");
        if !sessions[&node].established || routes.is_empty() {
            world.world.relay.restore(&netns);
            panic!(
                "{:?} into the outage the session or its route went away: {sessions:?}, routes {routes:?}",
                started.elapsed()
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    world.world.relay.restore(&netns);
    assert!(world.router.sessions()[&node].established);
}

#[tokio::test]
async fn a_secret_password_longer_than_the_kernel_takes_is_reported_on_the_peer_and_never_dialled()
{
    let world = BgpWorld::start(BgpOptions {
        nodes: 1,
        router_password: Some("lab-secret".into()),
        ..BgpOptions::default()
    })
    .await;
    world.password_secret("bgp-password", &"k".repeat(95)).await;
    let router = IpAddr::from(world.world.lab.client.ipv4);
    let mut spec = world.peer_spec(router);
    spec["passwordSecret"] = json!({"name": "bgp-password", "namespace": world.world.namespace});
    let rejected_before = world.router.tcp_md5_rejections();
    world.peer("router", spec).await;

    let events: Api<Event> = Api::namespaced(world.world.client.clone(), &world.world.namespace);
    let note = eventually("an InvalidPassword event on BGPPeer router", || async {
        events
            .list(&Default::default())
            .await
            .ok()?
            .items
            .into_iter()
            .find(|e| {
                e.reason.as_deref() == Some("InvalidPassword")
                    && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("router")
            })?
            .note
    })
    .await;
    let secret = format!("\"{}/bgp-password\"", world.world.namespace);
    for part in [
        "BGPPeer \"router\"",
        &secret,
        "95 bytes long",
        "at most 80 bytes",
    ] {
        assert!(note.contains(part), "{part:?} is not in the event: {note}");
    }
    // Several plans later (one every 5 s): one warning, and nothing dialled.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let speaker = world.world.speakers.values().next().unwrap().output();
    let warnings = speaker
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("95 bytes long"))
        .count();
    assert_eq!(warnings, 1, "{speaker}");
    assert_eq!(world.router.tcp_md5_rejections(), rejected_before);
    assert!(!world.router.sessions().values().any(|s| s.established));

    // A password the kernel takes brings the session up at the next read of the Secret.
    Api::<Secret>::namespaced(world.world.client.clone(), &world.world.namespace)
        .patch(
            "bgp-password",
            &PatchParams::default(),
            &Patch::Merge(json!({"stringData": {"password": "lab-secret"}})),
        )
        .await
        .unwrap();
    world.wait_sessions().await;
}

#[tokio::test]
async fn an_ipv6_service_ip_is_advertised_over_mp_bgp_with_the_nodes_ipv6_next_hops() {
    let world = BgpWorld::start(BgpOptions {
        ipv6: true,
        ..BgpOptions::default()
    })
    .await;
    world.advertisement("all", json!({})).await;
    world.peer_with_router().await;
    world
        .service_everywhere("dual", &["198.51.100.60", "2001:db8:ffff::60"])
        .await;
    let paths = world.router.wait_paths("2001:db8:ffff::60/128", 3).await;
    let expected: BTreeSet<IpAddr> = world
        .world
        .lab
        .nodes
        .iter()
        .map(|n| IpAddr::from(n.ipv6))
        .collect();
    assert_eq!(next_hops(&paths), expected);
    let v4 = world.router.wait_paths("198.51.100.60/32", 3).await;
    assert_eq!(
        next_hops(&v4),
        world.node_ipv4s().into_iter().collect::<BTreeSet<_>>(),
        "the IPv4 address goes over the IPv4 sessions only"
    );
    let statuses = ferrolb_tests::wait::eventually("three ServiceBGPStatus objects", || async {
        let statuses = world.statuses("dual").await;
        (statuses.len() == 3).then_some(statuses)
    })
    .await;
    assert!(
        statuses
            .iter()
            .all(|(_, peers)| peers == &vec!["router".to_string(), "router-v6".to_string()]),
        "{statuses:?}"
    );
}
