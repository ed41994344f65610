//! The Layer 2 speaker on real ARP and NDP peers: speakers in network namespaces of one
//! bridged segment, a client namespace asking with `arping` and `ndisc6`, and a real control
//! plane holding the Leases and status objects.

use std::collections::BTreeMap;

use ferrolb_tests::infra::netlab::{arping, ndisc6};
use ferrolb_tests::wait::eventually;
use ferrolb_tests::worlds::layer2::{Options, World};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::events::v1::Event;
use kube::Api;

/// Waits until the client gets replies for `ip` from exactly one MAC, and returns it.
async fn sole_responder(world: &World, interface: &str, ip: &str) -> String {
    eventually(&format!("one MAC answering ARP for {ip}"), || async {
        let replies = arping(&world.lab.client, interface, ip, 2);
        (replies.len() == 2 && replies[0] == replies[1]).then(|| replies[0].clone())
    })
    .await
}

fn node_names(world: &World) -> Vec<String> {
    world.lab.nodes.iter().map(|n| n.name.clone()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_gets_one_arp_reply_from_the_owner_named_in_service_l2_status() {
    let world = World::start(Options::default()).await;
    let nodes = node_names(&world);
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    world.service("web", &["192.0.2.130"], &nodes, false).await;
    let mac = sole_responder(&world, "eth0", "192.0.2.130").await;
    let owner = world
        .lab
        .node_by_mac(&mac)
        .expect("the reply comes from a lab node");
    let status = eventually("a ServiceL2Status for web", || world.status_node("web")).await;
    assert_eq!(status, owner.name);
    assert_eq!(
        world.holder("192.0.2.130").await.as_deref(),
        Some(owner.name.as_str())
    );
    // One request, one reply: a second speaker answering would double the count.
    let replies = arping(&world.lab.client, "eth0", "192.0.2.130", 3);
    assert_eq!(replies, vec![mac; 3]);
}

#[tokio::test(flavor = "multi_thread")]
async fn thirty_ips_over_three_nodes_spread_evenly_and_each_is_answered_by_its_holder() {
    let world = World::start(Options::default()).await;
    let nodes = node_names(&world);
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    let ips: Vec<String> = (160..190).map(|n| format!("192.0.2.{n}")).collect();
    for (i, ip) in ips.iter().enumerate() {
        world
            .service(&format!("svc-{i}"), &[ip], &nodes, false)
            .await;
    }
    let holders = eventually("all 30 IPs held", || async {
        let holders = world.holders().await;
        (holders.len() == 30 && holders.values().all(Option::is_some)).then_some(holders)
    })
    .await;
    let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
    for holder in holders.values().flatten() {
        *per_node.entry(holder.clone()).or_default() += 1;
    }
    assert_eq!(per_node.len(), 3, "every node holds some IPs: {per_node:?}");
    assert!(
        per_node.values().all(|n| *n <= 20),
        "no node holds more than twice its share: {per_node:?}"
    );
    for ip in &ips[..5] {
        let mac = sole_responder(&world, "eth0", ip).await;
        let holder = world.holder(ip).await.expect("held");
        assert_eq!(
            world.lab.node_by_mac(&mac).map(|n| n.name.clone()),
            Some(holder),
            "{ip}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ipv6_solicitations_get_one_advertisement_from_the_owner() {
    let world = World::start(Options::default()).await;
    let nodes = node_names(&world);
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    world
        .service("web6", &["2001:db8::a:10"], &nodes, false)
        .await;
    let holder = eventually("the Lease of 2001:db8::a:10 held", || {
        world.holder("2001:db8::a:10")
    })
    .await;
    let owner = world.lab.nodes[world.node_index(&holder)].mac.clone();
    eventually("an advertisement for 2001:db8::a:10", || async {
        (!ndisc6(&world.lab.client, "eth0", "2001:db8::a:10").is_empty()).then_some(())
    })
    .await;
    // Once the unsolicited advertisements of the takeover are over, one solicitation gets
    // exactly one answer.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(
        ndisc6(&world.lab.client, "eth0", "2001:db8::a:10"),
        vec![owner]
    );
    let status = eventually("a ServiceL2Status for web6", || world.status_node("web6")).await;
    assert_eq!(status, holder);
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_interfaces_the_advertisement_names_answer() {
    let world = World::start(Options {
        second_segment: true,
        interfaces: vec!["eth1".into()],
        ..Options::default()
    })
    .await;
    let nodes = node_names(&world);
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    world
        .service("web", &["198.51.100.200"], &nodes, false)
        .await;
    let holder = eventually("the Lease of 198.51.100.200 held", || {
        world.holder("198.51.100.200")
    })
    .await;
    let owner = &world.lab.nodes[world.node_index(&holder)];
    let mac = sole_responder(&world, "eth1", "198.51.100.200").await;
    assert_eq!(Some(mac), owner.mac2.clone());
    // The same IP asked on the first segment, where no advertisement allows it.
    assert_eq!(
        arping(&world.lab.client, "eth0", "198.51.100.200", 2),
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_services_sharing_an_ip_have_one_owner() {
    let world = World::start(Options::default()).await;
    let nodes = node_names(&world);
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    world.service("web", &["192.0.2.140"], &nodes, false).await;
    world.service("api", &["192.0.2.140"], &nodes, false).await;
    let mac = sole_responder(&world, "eth0", "192.0.2.140").await;
    let owner = world
        .lab
        .node_by_mac(&mac)
        .expect("a lab node")
        .name
        .clone();
    for service in ["web", "api"] {
        let status = eventually(&format!("a ServiceL2Status for {service}"), || {
            world.status_node(service)
        })
        .await;
        assert_eq!(status, owner, "{service}");
    }
    let holders = world.holders().await;
    assert_eq!(holders.len(), 1, "one Lease for the shared IP: {holders:?}");
    assert_eq!(
        arping(&world.lab.client, "eth0", "192.0.2.140", 3),
        vec![mac; 3]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interface_that_comes_up_is_announced_on_without_a_restart() {
    let world = World::start(Options {
        second_segment: true,
        interfaces: vec!["eth1".into()],
        ..Options::default()
    })
    .await;
    for node in &world.lab.nodes {
        assert!(
            node.exec(&["ip", "link", "set", "eth1", "down"])
                .status
                .success()
        );
    }
    let nodes = node_names(&world);
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    world
        .service("web", &["198.51.100.210"], &nodes, false)
        .await;
    // A node that cannot announce on any interface the advertisement allows is no candidate:
    // with every eth1 down nobody holds the IP (a node that took it before seeing its link
    // down has released it by now) and nobody answers.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(
        world.holder("198.51.100.210").await,
        None,
        "nobody holds the IP while every eth1 is down"
    );
    assert_eq!(
        arping(&world.lab.client, "eth1", "198.51.100.210", 2),
        Vec::<String>::new(),
        "nobody answers while every eth1 is down"
    );
    let owner = &world.lab.nodes[0];
    assert!(
        owner
            .exec(&["ip", "link", "set", "eth1", "up"])
            .status
            .success()
    );
    let mac = sole_responder(&world, "eth1", "198.51.100.210").await;
    assert_eq!(Some(mac), owner.mac2.clone());
    assert_eq!(
        world.holder("198.51.100.210").await.as_deref(),
        Some(owner.name.as_str())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_records_node_assigned_and_exports_metallb_metrics() {
    let world = World::start(Options::default()).await;
    let nodes = node_names(&world);
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    world.service("web", &["192.0.2.135"], &nodes, false).await;
    let mac = sole_responder(&world, "eth0", "192.0.2.135").await;
    let owner = world.lab.node_by_mac(&mac).expect("a lab node").clone();
    let events = eventually("a nodeAssigned event on web", || async {
        let list = Api::<Event>::namespaced(world.client.clone(), &world.namespace)
            .list(&Default::default())
            .await
            .ok()?;
        let notes: Vec<String> = list
            .items
            .into_iter()
            .filter(|e| e.reason.as_deref() == Some("nodeAssigned"))
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("web"))
            .filter_map(|e| e.note)
            .collect();
        (!notes.is_empty()).then_some(notes)
    })
    .await;
    assert!(events.iter().all(|n| n.contains(&owner.name)), "{events:?}");
    let metrics = String::from_utf8_lossy(
        &owner
            .exec(&["curl", "-s", "http://127.0.0.1:7472/metrics"])
            .stdout,
    )
    .into_owned();
    let announced = format!(
        "metallb_speaker_announced{{ip=\"192.0.2.135\",node=\"{}\",protocol=\"layer2\",service=\"{}/web\"}} 1",
        owner.name, world.namespace
    );
    assert!(metrics.contains(&announced), "{metrics}");
    for name in [
        "metallb_layer2_requests_received_total{ip=\"192.0.2.135\"}",
        "metallb_layer2_responses_sent_total{ip=\"192.0.2.135\"}",
        "metallb_layer2_gratuitous_sent_total{ip=\"192.0.2.135\"}",
        "ferrolb_speaker_ownership_changes_total{direction=\"acquired\"}",
        "ferrolb_speaker_takeover_duration_seconds_count",
    ] {
        assert!(metrics.contains(name), "{name} missing from:\n{metrics}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_the_service_releases_its_lease_and_removes_its_status() {
    let world = World::start(Options::default()).await;
    let nodes = node_names(&world);
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    world.service("web", &["192.0.2.136"], &nodes, false).await;
    sole_responder(&world, "eth0", "192.0.2.136").await;
    eventually("a ServiceL2Status for web", || world.status_node("web")).await;
    Api::<Service>::namespaced(world.client.clone(), &world.namespace)
        .delete("web", &Default::default())
        .await
        .unwrap();
    eventually("the Lease of 192.0.2.136 released", || async {
        world.holder("192.0.2.136").await.is_none().then_some(())
    })
    .await;
    eventually("the ServiceL2Status of web removed", || async {
        world.status_node("web").await.is_none().then_some(())
    })
    .await;
    assert_eq!(
        arping(&world.lab.client, "eth0", "192.0.2.136", 2),
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_unicast_reachability_probe_for_an_ipv6_address_is_answered() {
    let world = World::start(Options::default()).await;
    let nodes = node_names(&world);
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    let ip = "2001:db8::a:20";
    world.service("web6", &[ip], &nodes, false).await;
    let holder = eventually("the Lease of 2001:db8::a:20 held", || world.holder(ip)).await;
    let owner = world.lab.nodes[world.node_index(&holder)].mac.clone();
    eventually("an advertisement for 2001:db8::a:20", || async {
        (ndisc6(&world.lab.client, "eth0", ip) == vec![owner.clone()]).then_some(())
    })
    .await;
    let client = &world.lab.client;
    // A stale cache entry makes the client's kernel confirm it with a unicast solicitation
    // to the owner's MAC (RFC 4861 7.3.3) as soon as traffic flows; only an answer to that
    // probe makes the entry REACHABLE again.
    assert!(
        client
            .exec(&[
                "sysctl",
                "-q",
                "-w",
                "net.ipv6.neigh.eth0.delay_first_probe_time=1"
            ])
            .status
            .success()
    );
    assert!(
        client
            .exec(&[
                "ip", "-6", "neigh", "replace", ip, "lladdr", &owner, "dev", "eth0", "nud", "stale"
            ])
            .status
            .success()
    );
    let capture = ferrolb_tests::infra::netlab::Capture::start(client, "eth0");
    client.exec(&["ping", "-6", "-c", "1", "-W", "1", ip]);
    eventually(
        "the neighbour entry REACHABLE after a unicast probe",
        || async {
            client.exec(&["ping", "-6", "-c", "1", "-W", "1", ip]);
            let entry =
                String::from_utf8_lossy(&client.exec(&["ip", "-6", "neigh", "show", ip]).stdout)
                    .into_owned();
            entry.contains("REACHABLE").then_some(())
        },
    )
    .await;
    let unicast_probe = capture.lines().iter().any(|l| {
        let l = l.to_ascii_lowercase();
        l.contains(&format!("> {owner}")) && l.contains("neighbor solicitation")
    });
    assert!(unicast_probe, "no unicast solicitation to {owner} captured");
    // Had the unicast probe gone unanswered, the kernel would have fallen back to multicast
    // solicitations to resolve the address afresh.
    let multicast_fallback = capture.lines().iter().any(|l| {
        let l = l.to_ascii_lowercase();
        l.contains("> 33:33:ff:") && l.contains("neighbor solicitation")
    });
    assert!(
        !multicast_fallback,
        "the client fell back to multicast solicitations"
    );
}
