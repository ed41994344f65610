//! Layer 2 with the owner's data link down while its path to the API server stays up (the
//! speakers reach the API server through the relay on each namespace's loopback, never over
//! `eth0`): the owner is no candidate for its IP any more and hands it over at once, and it
//! gets the IP back only after the rebalance period once its link is up again.
//!
//! The time from the link going down to another node's gratuitous ARP and to the first ARP
//! reply from another node is printed; only a generous bound is asserted.

use std::process::Command;
use std::time::{Duration, Instant};

use ferrolb_tests::infra::netlab::{Capture, arping};
use ferrolb_tests::wait::{PATIENCE, eventually, eventually_within};
use ferrolb_tests::worlds::layer2::{Options, World};

const IP: &str = "192.0.2.160";
/// The speakers' `--rebalance-after`.
const REBALANCE_AFTER: Duration = Duration::from_secs(8);
/// The bound on the handover; the goal is under a second.
const HANDOVER_BOUND: Duration = Duration::from_secs(10);

fn set_link(netns: &str, state: &str) {
    let out = Command::new("ip")
        .args(["-n", netns, "link", "set", "eth0", state])
        .output()
        .expect("ip runs");
    assert!(
        out.status.success(),
        "ip -n {netns} link set eth0 {state}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The one MAC answering ARP for the IP, once two replies in a row agree.
async fn answering_mac(world: &World) -> String {
    eventually("one MAC answering ARP", || async {
        let replies = arping(&world.lab.client, "eth0", IP, 2);
        (replies.len() == 2 && replies[0] == replies[1]).then(|| replies[0].clone())
    })
    .await
}

async fn status_names(world: &World, node: &str) {
    eventually(&format!("the ServiceL2Status naming {node}"), || async {
        (world.status_node("web").await.as_deref() == Some(node)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_whose_link_goes_down_hands_its_ip_over_at_once_and_gets_it_back_after_rebalancing()
 {
    let world = World::start(Options {
        speaker_args: vec![
            "--rebalance-after".into(),
            format!("{}s", REBALANCE_AFTER.as_secs()),
        ],
        ..Options::default()
    })
    .await;
    let nodes: Vec<String> = world.lab.nodes.iter().map(|n| n.name.clone()).collect();
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    world.service("web", &[IP], &nodes, false).await;
    // Past the rebalance period the IP sits with its most preferred node.
    answering_mac(&world).await;
    tokio::time::sleep(REBALANCE_AFTER + Duration::from_secs(2)).await;
    let old_mac = answering_mac(&world).await;
    let owner = world.lab.node_by_mac(&old_mac).expect("a lab node").clone();
    assert_eq!(world.holder(IP).await.as_deref(), Some(owner.name.as_str()));
    status_names(&world, &owner.name).await;

    let capture = Capture::start(&world.lab.client, "eth0");
    let down_at = Instant::now();
    set_link(&owner.netns, "down");
    let other_macs: Vec<String> = world
        .lab
        .nodes
        .iter()
        .filter(|n| n.name != owner.name)
        .map(|n| n.mac.clone())
        .collect();
    let (new_mac, gratuitous_after) = eventually_within(
        HANDOVER_BOUND,
        "a gratuitous ARP from another node",
        || async {
            other_macs
                .iter()
                .find(|mac| capture.saw_gratuitous_arp(mac, IP))
                .map(|mac| (mac.clone(), down_at.elapsed()))
        },
    )
    .await;
    let replies = arping(&world.lab.client, "eth0", IP, 1);
    let replied_after = down_at.elapsed();
    println!(
        "link down -> gratuitous ARP from another node: {gratuitous_after:?}; \
         -> ARP reply from it: {replied_after:?}"
    );
    assert_eq!(replies, vec![new_mac.clone()], "the new owner answers ARP");
    assert!(replied_after < HANDOVER_BOUND, "{replied_after:?}");
    let new_owner = world
        .lab
        .node_by_mac(&new_mac)
        .expect("a lab node")
        .name
        .clone();
    eventually_within(
        Duration::from_secs(5),
        "the Lease naming the new owner",
        || async { (world.holder(IP).await.as_deref() == Some(new_owner.as_str())).then_some(()) },
    )
    .await;
    status_names(&world, &new_owner).await;

    // The link comes back: the IP stays with the new owner for the rebalance period, then
    // returns to the preferred node.
    set_link(&owner.netns, "up");
    let up_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        arping(&world.lab.client, "eth0", IP, 2),
        vec![new_mac.clone(); 2],
        "{:?} after the link came back, before the rebalance period",
        up_at.elapsed()
    );
    assert_eq!(world.holder(IP).await, Some(new_owner.clone()));
    let back = eventually_within(
        REBALANCE_AFTER + PATIENCE,
        "the IP back on the preferred node",
        || async {
            let replies = arping(&world.lab.client, "eth0", IP, 2);
            (replies == vec![old_mac.clone(); 2]).then(|| up_at.elapsed())
        },
    )
    .await;
    println!("link up -> IP back on {}: {back:?}", owner.name);
    assert!(back >= REBALANCE_AFTER - Duration::from_secs(1), "{back:?}");
    assert_eq!(world.holder(IP).await.as_deref(), Some(owner.name.as_str()));
    status_names(&world, &owner.name).await;
}
