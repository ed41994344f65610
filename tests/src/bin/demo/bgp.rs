//! The demo's BGP act: BIRD plays the network's router in the client namespace, MetalLB's
//! example BGPPeer and BGPAdvertisement are applied with the router's address, and a Service
//! from a BGP pool shows up in the router's kernel table as one route with a next hop per
//! node (ECMP). Then one node's speaker stops (SIGTERM) and the router drops its next hop.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use ferrolb_tests::ControlPlane;
use ferrolb_tests::infra::netlab::Lab;
use ferrolb_tests::infra::process::Daemon;
use ferrolb_tests::routers::{Neighbor, Router, RouterKind, RouterOptions};

use ferrolb_tests::wait::until;

use super::{jsonpath, kubectl, say};

const ROUTER_AS: u32 = 64501;
const NODE_AS: u32 = 64500;

fn configuration(router: IpAddr) -> String {
    format!(
        "\
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: bgp-pool
  namespace: metallb-system
spec:
  addresses:
    - 198.51.100.10-198.51.100.20
  autoAssign: false
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata:
  name: sample
  namespace: metallb-system
spec:
  myASN: {NODE_AS}
  peerASN: {ROUTER_AS}
  peerAddress: {router}
  holdTime: 9s
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata:
  name: external
  namespace: metallb-system
spec:
  ipAddressPools:
    - bgp-pool
  communities:
    - 65535:65282
"
    )
}

const SERVICE: &str = "\
apiVersion: v1
kind: Service
metadata:
  name: nginx-bgp
  namespace: default
  annotations:
    metallb.io/address-pool: bgp-pool
spec:
  type: LoadBalancer
  selector:
    app: nginx-demo
  ports:
    - port: 80
";

fn print_route(lab: &Lab, prefix: &str) {
    println!(
        "\x1b[2m$ ip netns exec {} ip route show {prefix}\x1b[0m",
        lab.client.netns
    );
    let out = lab.client.exec(&["ip", "route", "show", prefix]);
    print!("{}", String::from_utf8_lossy(&out.stdout));
}

/// Runs the act; `speakers` are the node speakers, in node order. The router is returned so
/// it stays up while the lab is explored.
pub async fn run(control_plane: &ControlPlane, lab: &Lab, speakers: &mut [Daemon]) -> Router {
    say("BGP: BIRD plays the network's router in the client namespace (AS 64501)");
    let router = Router::start(
        &lab.client,
        RouterOptions {
            kind: RouterKind::Bird,
            local_as: ROUTER_AS,
            router_id: lab.client.ipv4,
            neighbors: lab
                .nodes
                .iter()
                .map(|n| Neighbor::new(n.ipv4, NODE_AS))
                .collect(),
        },
    );
    say("applying a BGP pool and MetalLB's example BGPPeer and BGPAdvertisement");
    let configuration = configuration(lab.client.ipv4.into());
    print!("{configuration}");
    kubectl(control_plane, &["apply", "-f", "-"], Some(&configuration));
    kubectl(control_plane, &["apply", "-f", "-"], Some(SERVICE));
    let endpoints = ferrolb_tests::objects::endpoint_slices::ready_yaml(
        "nginx-bgp",
        "default",
        &[&lab.nodes[0].name],
    );
    control_plane
        .kubectl()
        .ok(&["apply", "-f", "-"], Some(&endpoints))
        .unwrap();
    let ip = until("an EXTERNAL-IP from bgp-pool", || {
        let ip = jsonpath(
            control_plane,
            &["svc", "nginx-bgp"],
            "{.status.loadBalancer.ingress[0].ip}",
        );
        (!ip.is_empty()).then_some(ip)
    });
    let started = Instant::now();
    let prefix = format!("{ip}/32");
    let paths = router
        .eventually("three BGP paths", |r| {
            let paths = r.routes(&prefix);
            (paths.len() == lab.nodes.len()).then_some(paths)
        })
        .await;
    say(&format!(
        "the router learned {ip} from every node, {} ms after the EXTERNAL-IP was seen",
        started.elapsed().as_millis()
    ));
    for path in &paths {
        println!(
            "  {}  via {}  AS path {:?}  communities {:?}",
            path.prefix, path.next_hop, path.as_path, path.communities
        );
    }
    kubectl(control_plane, &["get", "svc", "nginx-bgp"], None);
    router
        .eventually("a multipath kernel route", |r| {
            (r.kernel_nexthops(&prefix).len() == lab.nodes.len()).then_some(())
        })
        .await;
    print_route(lab, &prefix);
    kubectl(
        control_plane,
        &["get", "servicebgpstatuses", "-n", "metallb-system"],
        None,
    );

    let leaving = lab.nodes.len() - 1;
    say(&format!(
        "stopping the speaker of {} (SIGTERM): it withdraws before it goes",
        lab.nodes[leaving].name
    ));
    let stopped = Instant::now();
    speakers[leaving].terminate(Duration::from_secs(10));
    router
        .eventually("one path fewer", |r| {
            (r.routes(&prefix).len() == lab.nodes.len() - 1).then_some(())
        })
        .await;
    println!(
        "  the router dropped that next hop {} ms after the signal",
        stopped.elapsed().as_millis()
    );
    print_route(lab, &prefix);
    router
}
