//! Which nodes may announce, decided from EndpointSlices as the endpoint-slice controller
//! writes them: several slices per Service, `ready`/`serving`/`terminating` conditions and
//! `nodeName`, on real ARP peers in a namespace lab.

use ferrolb_tests::infra::netlab::arping;
use ferrolb_tests::objects::endpoint_slices::{Backend, CONTROLLER_MAX_PER_SLICE, PodState};
use ferrolb_tests::wait::eventually;
use ferrolb_tests::worlds::layer2::{Options, World};

fn node_names(world: &World) -> Vec<String> {
    world.lab.nodes.iter().map(|n| n.name.clone()).collect()
}

/// Waits until the ServiceL2Status of `service` names `node` and the client's ARP requests for
/// `ip` are answered by that node's MAC alone.
async fn answered_by(world: &World, service: &str, ip: &str, node: &str) {
    let want = world.lab.nodes[world.node_index(node)].mac.clone();
    eventually(&format!("{ip} answered by {node} alone"), || async {
        let status = world.status_node(service).await;
        let replies = arping(&world.lab.client, "eth0", ip, 2);
        let only_owner =
            replies.len() == 2 && replies.iter().all(|m| m.eq_ignore_ascii_case(&want));
        (status.as_deref() == Some(node) && only_owner).then_some(())
    })
    .await;
}

/// Waits until nobody answers for `ip` and `service` has no ServiceL2Status.
async fn unanswered(world: &World, service: &str, ip: &str) {
    eventually(&format!("{ip} no longer answered"), || async {
        let none = world.status_node(service).await.is_none();
        (none && arping(&world.lab.client, "eth0", ip, 1).is_empty()).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_whose_only_endpoints_are_terminating_but_serving_stays_announced_until_they_stop()
 {
    let world = World::start(Options::default()).await;
    let nodes = node_names(&world);
    world.service("draining", &["192.0.2.140"], &[], true).await;
    let serving = [Backend::new(&nodes[1], PodState::TerminatingServing)];
    world
        .backends("draining", &serving, CONTROLLER_MAX_PER_SLICE)
        .await;
    answered_by(&world, "draining", "192.0.2.140", &nodes[1]).await;

    let stopped = [Backend::new(&nodes[1], PodState::TerminatingStopped)];
    world
        .backends("draining", &stopped, CONTROLLER_MAX_PER_SLICE)
        .await;
    unanswered(&world, "draining", "192.0.2.140").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_local_service_follows_its_endpoint_when_the_slice_moves_it_to_another_node() {
    let world = World::start(Options::default()).await;
    let nodes = node_names(&world);
    world
        .service("moving", &["192.0.2.141"], &[&nodes[0]], true)
        .await;
    answered_by(&world, "moving", "192.0.2.141", &nodes[0]).await;

    world
        .backends(
            "moving",
            &[Backend::new(&nodes[2], PodState::Ready)],
            CONTROLLER_MAX_PER_SLICE,
        )
        .await;
    answered_by(&world, "moving", "192.0.2.141", &nodes[2]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_local_service_spread_over_several_slices_is_answered_by_the_only_node_with_a_ready_endpoint()
 {
    let world = World::start(Options::default()).await;
    let nodes = node_names(&world);
    world.service("spread", &["192.0.2.142"], &[], true).await;
    // One endpoint a slice: three slices, and only the one on the last node is ready.
    let backends = [
        Backend::new(&nodes[0], PodState::NotReady),
        Backend::new(&nodes[1], PodState::TerminatingStopped),
        Backend::new(&nodes[2], PodState::Ready),
    ];
    world.backends("spread", &backends, 1).await;
    answered_by(&world, "spread", "192.0.2.142", &nodes[2]).await;

    // The same endpoints under Cluster policy would let any node announce; under Local the
    // node without a serving endpoint must never take over, even when the owner's goes away.
    world
        .backends(
            "spread",
            &[
                Backend::new(&nodes[0], PodState::NotReady),
                Backend::new(&nodes[1], PodState::TerminatingStopped),
                Backend::new(&nodes[2], PodState::NotReady),
            ],
            1,
        )
        .await;
    unanswered(&world, "spread", "192.0.2.142").await;
}
