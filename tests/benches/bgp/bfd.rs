//! The BGP bench's BFD part: BIRD runs BFD towards every node, the BGPPeer names a BFDProfile
//! of 100 ms × 3, and the hold timer (9 s) is far too slow to matter. Two faults, each tried
//! on one node at a time, rotating over the nodes: its speaker frozen (SIGSTOP, its TCP
//! connection left open), and its link cut (the node's veth port on the lab bridge set down,
//! so the node loses carrier and the router hears nothing). Each trial is timed from the
//! signal or the cut to the router holding one path fewer for the Service, then to the
//! router's kernel route losing that node's next hop; the node is thawed or its link restored
//! and every path and BFD session awaited before the next trial.

use std::net::IpAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use ferrolb_tests::infra::netlab::Host;
use ferrolb_tests::routers::BfdOptions;
use ferrolb_tests::wait::PATIENCE;
use ferrolb_tests::worlds::bgp::{BgpOptions, BgpWorld};
use serde_json::Value;

use super::{TRIALS, bounded_summary, load_average, ms, peered_world, poll_until, signal, summary};

/// The profile's receive and transmit intervals, and BIRD's.
const INTERVAL: Duration = Duration::from_millis(100);
const MULTIPLIER: u8 = 3;
/// The pause between two queries of the router while a node's path is expected to go.
const BFD_POLL: Duration = Duration::from_millis(5);
/// A drop slower than this was not BFD's doing (the hold time is 9 s).
const NOT_BFD: Duration = Duration::from_secs(3);

#[derive(Clone, Copy, Debug)]
enum Fault {
    /// SIGSTOP of the node's speaker.
    Freeze,
    /// The node's port on the lab bridge set down.
    LinkCut,
}

/// A node's bridge port, set down; set up again when dropped, also on a panic.
struct CutLink {
    port: String,
}

impl CutLink {
    fn cut(port: &str) -> CutLink {
        set_link(port, "down");
        CutLink {
            port: port.to_owned(),
        }
    }
}

impl Drop for CutLink {
    fn drop(&mut self) {
        set_link(&self.port, "up");
    }
}

fn set_link(port: &str, state: &str) {
    let status = Command::new("ip")
        .args(["link", "set", port, state])
        .status()
        .expect("ip runs");
    assert!(status.success(), "ip link set {port} {state} failed");
}

/// The bridge-side end of `node`'s `eth0` veth, in the root namespace: the link whose index is
/// the `link_index` of `eth0` inside the node.
fn bridge_port(node: &Host) -> String {
    let inside = node.exec(&["ip", "-j", "link", "show", "eth0"]);
    let inside: Value = serde_json::from_slice(&inside.stdout).unwrap_or(Value::Null);
    let peer = inside[0]["link_index"]
        .as_u64()
        .unwrap_or_else(|| panic!("eth0 of {} names no veth peer: {inside}", node.netns));
    let outside = Command::new("ip")
        .args(["-j", "link", "show"])
        .output()
        .expect("ip runs");
    let links: Value = serde_json::from_slice(&outside.stdout).unwrap_or(Value::Null);
    port_of(&links, peer).unwrap_or_else(|| {
        panic!(
            "no bridge port with index {peer} for eth0 of {}",
            node.netns
        )
    })
}

/// The name of the link with index `index` in `ip -j link show` output, if it is enslaved to
/// a bridge.
fn port_of(links: &Value, index: u64) -> Option<String> {
    links
        .as_array()?
        .iter()
        .find(|l| l["ifindex"].as_u64() == Some(index) && l["master"].is_string())
        .and_then(|l| l["ifname"].as_str())
        .map(str::to_owned)
}

/// Waits until the router's BFD session with every one of `neighbors` is Up.
async fn bfd_up(world: &BgpWorld, neighbors: &[IpAddr]) {
    let what = format!("Up BFD sessions with {neighbors:?}");
    world
        .router
        .eventually(&what, |router| {
            let sessions = router.bfd_sessions();
            neighbors
                .iter()
                .all(|n| sessions.iter().any(|s| s.neighbor == *n && s.up()))
                .then_some(())
        })
        .await;
}

pub(super) async fn convergence_with_bfd() {
    check_port_of();
    println!(
        "\n## Convergence with BFD ({MULTIPLIER} × {INTERVAL:?}, holdTime 9s, keepaliveTime 1s)"
    );
    let world = peered_world(BgpOptions {
        bfd: Some(BfdOptions {
            interval: INTERVAL,
            multiplier: MULTIPLIER,
        }),
        ..BgpOptions::default()
    })
    .await;
    let nodes = world.node_names();
    let node_ips = world.node_ipv4s();
    let ip = "198.51.100.50";
    let prefix = format!("{ip}/32");
    world.service_everywhere("web", &[ip]).await;
    world.router.wait_paths(&prefix, nodes.len()).await;
    bfd_up(&world, &node_ips).await;
    let ports: Vec<String> = world.world.lab.nodes.iter().map(bridge_port).collect();
    println!(
        "setup: {} nodes, iBGP to BIRD with `bfd on`, BGPPeer with a BFDProfile of \
         receiveInterval/transmitInterval {} ms and detectMultiplier {MULTIPLIER}; one Service \
         advertised by all; {TRIALS} trials per fault, rotating over the nodes; fault -> the \
         router holds {} paths (poll every {BFD_POLL:?}), then -> its kernel route has lost \
         the node's next hop",
        nodes.len(),
        INTERVAL.as_millis(),
        nodes.len() - 1
    );
    for fault in [Fault::Freeze, Fault::LinkCut] {
        let mut dropped = Vec::new();
        let mut kernel = Vec::new();
        let mut back = Vec::new();
        for trial in 0..TRIALS {
            let index = trial % nodes.len();
            let node = &nodes[index];
            let node_ip = node_ips[index];
            world.router.wait_paths(&prefix, nodes.len()).await;
            bfd_up(&world, &node_ips).await;
            // Let the sessions run a little, so the trials do not start in step with BFD's
            // packets.
            tokio::time::sleep(Duration::from_millis(500 + 137 * trial as u64)).await;
            let pid = world.world.speakers[node].pid().expect("the speaker runs");
            let start = Instant::now();
            let cut = match fault {
                Fault::Freeze => {
                    signal(pid, "STOP");
                    None
                }
                Fault::LinkCut => Some(CutLink::cut(&ports[index])),
            };
            let at = poll_until(start, BFD_POLL, PATIENCE, || {
                world.router.path_count(&prefix) == nodes.len() - 1
            })
            .await
            .unwrap_or_else(|| {
                panic!(
                    "{fault:?} of {node}: the router kept {} paths for {prefix}; BFD sessions \
                     {:?}",
                    nodes.len(),
                    world.router.bfd_sessions()
                )
            });
            let hops: Vec<_> = world
                .router
                .routes(&prefix)
                .iter()
                .map(|r| r.next_hop)
                .collect();
            if hops.contains(&node_ip) {
                println!("  {fault:?} trial {trial}: the wrong path went; next hops {hops:?}");
            }
            if at.by > NOT_BFD {
                println!(
                    "  {fault:?} trial {trial}: {:.0} ms, too slow for BFD",
                    ms(at.by)
                );
            }
            dropped.push(at);
            match poll_until(start, BFD_POLL, PATIENCE, || {
                !world.router.kernel_nexthops(&prefix).contains(&node_ip)
            })
            .await
            {
                Some(seen) => kernel.push(seen),
                None => println!("  {fault:?} trial {trial}: the kernel route kept {node_ip}"),
            }
            let resumed = Instant::now();
            match fault {
                Fault::Freeze => signal(pid, "CONT"),
                Fault::LinkCut => drop(cut),
            }
            // Coming back waits for BFD to come up again, BIRD's `error wait time` and the
            // speaker's reconnection.
            let returned = poll_until(resumed, BFD_POLL, Duration::from_secs(300), || {
                world.router.path_count(&prefix) == nodes.len()
            })
            .await
            .unwrap_or_else(|| panic!("{fault:?}: the path of {node} never came back"));
            back.push(returned);
        }
        let (what, kernel_what, restore) = match fault {
            Fault::Freeze => (
                "SIGSTOP -> path dropped (BFD)",
                "  SIGSTOP -> kernel route without the node's next hop",
                "  SIGCONT -> path back",
            ),
            Fault::LinkCut => (
                "link cut -> path dropped (BFD)",
                "  link cut -> kernel route without the node's next hop",
                "  link restored -> path back",
            ),
        };
        bounded_summary(what, &dropped);
        summary(kernel_what, kernel.iter().map(|s| ms(s.by)).collect());
        summary(restore, back.iter().map(|s| ms(s.by)).collect());
    }
    println!("load average after: {}", load_average());
}

/// The port lookup against `ip -j link show` output of this shape, checked before anything is
/// measured.
fn check_port_of() {
    let links: Value = serde_json::from_str(
        r#"[{"ifindex":7,"ifname":"flb1b0","linkinfo":{}},
            {"ifindex":9,"ifname":"flb1n00","master":"flb1b0"},
            {"ifindex":12,"ifname":"other"}]"#,
    )
    .unwrap();
    assert_eq!(port_of(&links, 9).as_deref(), Some("flb1n00"));
    assert_eq!(port_of(&links, 12), None, "not on a bridge");
    assert_eq!(port_of(&links, 3), None);
}
