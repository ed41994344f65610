//! The router harness against real daemons: BIRD or GoBGP as the router in a lab's client
//! namespace, and gobgpd standing in for ferrolb's speaker on the nodes, so every query the
//! BGP suites rely on (sessions, paths with their attributes, the kernel's ECMP route, MD5
//! rejections) is shown to report what the peers really sent.

use std::collections::BTreeSet;
use std::net::IpAddr;

use ferrolb_tests::infra::netlab::{Host, Lab};
use ferrolb_tests::routers::standin_speaker::{Announcement, StandinOptions, StandinSpeaker};
use ferrolb_tests::routers::{Neighbor, Origin, Router, RouterKind, RouterOptions};

const ASN: u32 = 64512;
const SERVICE_V4: &str = "203.0.113.10/32";
const SERVICE_V6: &str = "2001:db8:ffff::10/128";

fn standin(node: &Host, router: &Host, local_as: u32, password: Option<&str>) -> StandinSpeaker {
    StandinSpeaker::start(
        node,
        StandinOptions {
            local_as,
            router: router.ipv4.into(),
            router_as: ASN,
            password: password.map(str::to_owned),
        },
    )
}

/// An iBGP stand-in on every node of `lab`, without a password.
fn ibgp_standins(lab: &Lab) -> Vec<StandinSpeaker> {
    lab.nodes
        .iter()
        .map(|n| standin(n, &lab.client, ASN, None))
        .collect()
}

fn ipv4s(hosts: &[Host]) -> BTreeSet<IpAddr> {
    hosts.iter().map(|h| IpAddr::from(h.ipv4)).collect()
}

fn ipv6s(hosts: &[Host]) -> BTreeSet<IpAddr> {
    hosts.iter().map(|h| IpAddr::from(h.ipv6)).collect()
}

/// The announcement of the IPv4 service prefix with every attribute the router must report.
fn tagged_service() -> Announcement {
    Announcement {
        local_pref: Some(200),
        communities: vec![(65000, 1)],
        large_communities: vec![(65000, 1, 2)],
        ..Announcement::new(SERVICE_V4)
    }
}

#[tokio::test]
async fn bird_merges_one_prefix_from_two_nodes_into_one_ecmp_kernel_route() {
    let lab = Lab::build(2, false);
    let router = Router::start(
        &lab.client,
        RouterOptions::ibgp(RouterKind::Bird, ASN, &lab.client, &lab.nodes),
    );
    let speakers = ibgp_standins(&lab);
    for speaker in &speakers {
        speaker.announce(&tagged_service());
    }
    let nodes: Vec<IpAddr> = ipv4s(&lab.nodes).into_iter().collect();
    router.wait_established(&nodes).await;

    let paths = router.wait_paths(SERVICE_V4, 2).await;
    let next_hops: BTreeSet<IpAddr> = paths.iter().map(|p| p.next_hop).collect();
    let senders: BTreeSet<IpAddr> = paths.iter().map(|p| p.from).collect();
    assert_eq!(next_hops, ipv4s(&lab.nodes));
    assert_eq!(senders, ipv4s(&lab.nodes));
    for path in &paths {
        assert_eq!(path.prefix, SERVICE_V4);
        assert_eq!(path.local_pref, Some(200), "{path:?}");
        assert_eq!(path.communities, vec![(65000, 1)], "{path:?}");
        assert_eq!(path.large_communities, vec![(65000, 1, 2)], "{path:?}");
        assert_eq!(path.origin, Origin::Igp, "{path:?}");
        assert!(path.as_path.is_empty(), "iBGP adds no AS: {path:?}");
    }
    let kernel = router
        .eventually("an ECMP kernel route over both nodes", |r| {
            let hops: BTreeSet<IpAddr> = r.kernel_nexthops(SERVICE_V4).into_iter().collect();
            (hops.len() == 2).then_some(hops)
        })
        .await;
    assert_eq!(kernel, ipv4s(&lab.nodes));

    // A withdrawal leaves one path and a single next hop.
    speakers[0].withdraw(SERVICE_V4);
    let remaining = router.wait_paths(SERVICE_V4, 1).await;
    assert_eq!(remaining[0].from, IpAddr::from(lab.nodes[1].ipv4));
    let kernel = router
        .eventually("a kernel route over the remaining node", |r| {
            Some(r.kernel_nexthops(SERVICE_V4)).filter(|h| h.len() == 1)
        })
        .await;
    assert_eq!(kernel, vec![IpAddr::from(lab.nodes[1].ipv4)]);
}

#[tokio::test]
async fn bird_accepts_an_ipv6_prefix_over_ipv4_sessions_with_each_node_as_next_hop() {
    let lab = Lab::build(2, false);
    let router = Router::start(
        &lab.client,
        RouterOptions::ibgp(RouterKind::Bird, ASN, &lab.client, &lab.nodes),
    );
    let speakers = ibgp_standins(&lab);
    for speaker in &speakers {
        speaker.announce(&Announcement::new(SERVICE_V6));
    }

    let paths = router.wait_paths(SERVICE_V6, 2).await;
    let next_hops: BTreeSet<IpAddr> = paths.iter().map(|p| p.next_hop).collect();
    let senders: BTreeSet<IpAddr> = paths.iter().map(|p| p.from).collect();
    assert_eq!(next_hops, ipv6s(&lab.nodes));
    assert_eq!(senders, ipv4s(&lab.nodes), "the sessions are the IPv4 ones");
    let kernel = router
        .eventually("an IPv6 ECMP kernel route over both nodes", |r| {
            let hops: BTreeSet<IpAddr> = r.kernel_nexthops(SERVICE_V6).into_iter().collect();
            (hops.len() == 2).then_some(hops)
        })
        .await;
    assert_eq!(kernel, ipv6s(&lab.nodes));
}

#[tokio::test]
async fn md5_session_comes_up_with_the_right_password_and_never_with_a_wrong_one() {
    let lab = Lab::build(2, false);
    let mut options = RouterOptions::ibgp(RouterKind::Bird, ASN, &lab.client, &lab.nodes);
    for neighbor in &mut options.neighbors {
        neighbor.password = Some("lab-key".into());
    }
    let router = Router::start(&lab.client, options);
    let (right, wrong) = (&lab.nodes[0], &lab.nodes[1]);
    let _right = standin(right, &lab.client, ASN, Some("lab-key"));
    let wrong_speaker = standin(wrong, &lab.client, ASN, Some("other-key"));

    router.wait_established(&[right.ipv4.into()]).await;
    // The wrong key's connection attempts reached the router and were dropped by its kernel.
    router
        .eventually("segments dropped for a wrong MD5 signature", |r| {
            (r.tcp_md5_rejections() > 0).then_some(())
        })
        .await;
    let sessions = router.sessions();
    let refused = &sessions[&IpAddr::from(wrong.ipv4)];
    assert!(!refused.established, "{refused:?}");
    assert!(!wrong_speaker.established());
}

#[tokio::test]
async fn ebgp_path_carries_the_node_as() {
    let lab = Lab::build(1, false);
    let node = &lab.nodes[0];
    let router = Router::start(
        &lab.client,
        RouterOptions {
            kind: RouterKind::Bird,
            local_as: ASN,
            router_id: lab.client.ipv4,
            neighbors: vec![Neighbor::new(node.ipv4, 64513)],
        },
    );
    let speaker = standin(node, &lab.client, 64513, None);
    speaker.announce(&Announcement {
        origin: Origin::Incomplete,
        ..Announcement::new(SERVICE_V4)
    });

    let paths = router.wait_paths(SERVICE_V4, 1).await;
    assert_eq!(paths[0].as_path, vec![64513]);
    assert_eq!(paths[0].origin, Origin::Incomplete);
    assert_eq!(paths[0].next_hop, IpAddr::from(node.ipv4));
}

#[tokio::test]
async fn gobgp_router_holds_a_path_per_node_for_each_family() {
    let lab = Lab::build(2, false);
    let router = Router::start(
        &lab.client,
        RouterOptions::ibgp(RouterKind::Gobgp, ASN, &lab.client, &lab.nodes),
    );
    let speakers = ibgp_standins(&lab);
    for speaker in &speakers {
        speaker.announce(&tagged_service());
        speaker.announce(&Announcement::new(SERVICE_V6));
    }
    let nodes: Vec<IpAddr> = ipv4s(&lab.nodes).into_iter().collect();
    router.wait_established(&nodes).await;

    let paths = router.wait_paths(SERVICE_V4, 2).await;
    let next_hops: BTreeSet<IpAddr> = paths.iter().map(|p| p.next_hop).collect();
    assert_eq!(next_hops, ipv4s(&lab.nodes));
    for path in &paths {
        assert_eq!(path.local_pref, Some(200), "{path:?}");
        assert_eq!(path.communities, vec![(65000, 1)], "{path:?}");
        assert_eq!(path.large_communities, vec![(65000, 1, 2)], "{path:?}");
    }
    let paths = router.wait_paths(SERVICE_V6, 2).await;
    let next_hops: BTreeSet<IpAddr> = paths.iter().map(|p| p.next_hop).collect();
    assert_eq!(next_hops, ipv6s(&lab.nodes));
}

#[tokio::test]
async fn bird_peers_over_ipv6_sessions_and_learns_both_families_there() {
    let lab = Lab::build(1, false);
    let node = &lab.nodes[0];
    let router = Router::start(
        &lab.client,
        RouterOptions {
            kind: RouterKind::Bird,
            local_as: ASN,
            router_id: lab.client.ipv4,
            neighbors: vec![Neighbor::new(node.ipv6, ASN)],
        },
    );
    let speaker = StandinSpeaker::start(
        node,
        StandinOptions {
            local_as: ASN,
            router: lab.client.ipv6.into(),
            router_as: ASN,
            password: None,
        },
    );
    speaker.announce(&Announcement::new(SERVICE_V6));
    speaker.announce(&Announcement::new(SERVICE_V4));

    let v6 = router.wait_paths(SERVICE_V6, 1).await;
    assert_eq!(v6[0].from, IpAddr::from(node.ipv6));
    assert_eq!(v6[0].next_hop, IpAddr::from(node.ipv6));
    let v4 = router.wait_paths(SERVICE_V4, 1).await;
    assert_eq!(v4[0].from, IpAddr::from(node.ipv6));
    assert_eq!(v4[0].next_hop, IpAddr::from(node.ipv4));
}
