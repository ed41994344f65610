//! Failover of the Layer 2 speaker as a client on the segment sees it: the owner stopped
//! (SIGTERM) or crashed (SIGKILL), and the API server out of reach.

use std::time::{Duration, Instant};

use ferrolb_tests::infra::netlab::{Capture, arping};
use ferrolb_tests::wait::{eventually, eventually_within};
use ferrolb_tests::worlds::layer2::{Options, World};
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;

const IP: &str = "192.0.2.150";

async fn world_with_owner() -> (World, String, String) {
    let world = World::start(Options::default()).await;
    let nodes: Vec<String> = world.lab.nodes.iter().map(|n| n.name.clone()).collect();
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    world.service("web", &[IP], &nodes, false).await;
    let mac = eventually("one MAC answering ARP", || async {
        let replies = arping(&world.lab.client, "eth0", IP, 2);
        (replies.len() == 2 && replies[0] == replies[1]).then(|| replies[0].clone())
    })
    .await;
    let owner = world
        .lab
        .node_by_mac(&mac)
        .expect("a lab node")
        .name
        .clone();
    (world, owner, mac)
}

/// After the owner is gone, the client sees another node's gratuitous ARP and gets replies
/// from that node; the Lease and the ServiceL2Status name it.
async fn the_client_moves_to_a_new_owner(world: &World, capture: &Capture, old_mac: &str) {
    let new_mac = eventually("a reply from another node", || async {
        arping(&world.lab.client, "eth0", IP, 1)
            .into_iter()
            .find(|m| m != old_mac)
    })
    .await;
    let new_owner = world
        .lab
        .node_by_mac(&new_mac)
        .expect("a lab node")
        .name
        .clone();
    eventually_within(
        Duration::from_secs(5),
        &format!("a gratuitous ARP from {new_mac} for {IP}"),
        || async { capture.saw_gratuitous_arp(&new_mac, IP).then_some(()) },
    )
    .await;
    assert_eq!(world.holder(IP).await, Some(new_owner.clone()));
    eventually("the ServiceL2Status naming the new owner", || async {
        (world.status_node("web").await.as_deref() == Some(new_owner.as_str())).then_some(())
    })
    .await;
    assert_eq!(arping(&world.lab.client, "eth0", IP, 2), vec![new_mac; 2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn after_sigterm_of_the_owner_the_client_sees_the_new_owners_gratuitous_arp() {
    let (mut world, owner, mac) = world_with_owner().await;
    let capture = Capture::start(&world.lab.client, "eth0");
    world
        .speakers
        .get_mut(&owner)
        .unwrap()
        .terminate(Duration::from_secs(10));
    the_client_moves_to_a_new_owner(&world, &capture, &mac).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn after_sigkill_of_the_owner_the_client_sees_the_new_owners_gratuitous_arp() {
    let (mut world, owner, mac) = world_with_owner().await;
    let capture = Capture::start(&world.lab.client, "eth0");
    world.speakers.get_mut(&owner).unwrap().kill();
    the_client_moves_to_a_new_owner(&world, &capture, &mac).await;
}

async fn transitions(world: &World) -> (Option<String>, Option<i32>) {
    let lease = Api::<Lease>::namespaced(world.client.clone(), &world.namespace)
        .get(&ferrolb_tests::worlds::layer2::lease_name(IP))
        .await
        .unwrap();
    let spec = lease.spec.unwrap_or_default();
    (spec.holder_identity, spec.lease_transitions)
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_api_server_out_of_reach_for_a_minute_replies_continue_from_the_same_mac() {
    let (mut world, owner, mac) = world_with_owner().await;
    let before = transitions(&world).await;
    assert_eq!(before.0.as_deref(), Some(owner.as_str()));
    world.relay.cut_all();
    let cut_at = Instant::now();
    while cut_at.elapsed() < Duration::from_secs(60) {
        let replies = arping(&world.lab.client, "eth0", IP, 2);
        assert_eq!(
            replies,
            vec![mac.clone(); 2],
            "after {:?} without the API server",
            cut_at.elapsed()
        );
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    world.relay.restore_all();
    // Give every speaker time to resync and to act if it (wrongly) wanted to.
    let back = Instant::now();
    while back.elapsed() < Duration::from_secs(10) {
        assert_eq!(
            arping(&world.lab.client, "eth0", IP, 2),
            vec![mac.clone(); 2]
        );
    }
    assert_eq!(transitions(&world).await, before, "the Lease changed hands");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_cut_off_from_the_api_stops_answering_once_another_node_took_the_ip() {
    let (mut world, owner, old_mac) = world_with_owner().await;
    let netns = world.lab.nodes[world.node_index(&owner)].netns.clone();
    let capture = Capture::start(&world.lab.client, "eth0");
    world.relay.cut(&netns);
    // The others see the owner's heartbeat stop, one of them takes the Lease and announces;
    // the cut-off owner hears that announcement and falls silent.
    let new_mac = eventually("replies from one other node only", || async {
        let replies = arping(&world.lab.client, "eth0", IP, 2);
        (replies.len() == 2 && replies[0] == replies[1] && replies[0] != old_mac)
            .then(|| replies[0].clone())
    })
    .await;
    let new_owner = world
        .lab
        .node_by_mac(&new_mac)
        .expect("a lab node")
        .name
        .clone();
    assert_eq!(world.holder(IP).await, Some(new_owner.clone()));
    assert!(capture.saw_gratuitous_arp(&new_mac, IP));
    // Back in touch, the old owner reads the Lease and stays silent.
    world.relay.restore(&netns);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(arping(&world.lab.client, "eth0", IP, 3), vec![new_mac; 3]);
    assert_eq!(world.holder(IP).await, Some(new_owner));
}
