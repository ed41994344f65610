//! `ferrolb-demo`: the whole product on this machine. A real control plane on loopback, a lab
//! of three node namespaces and a client on one bridge, the operator and a speaker per node,
//! MetalLB's example configuration, and a LoadBalancer Service: the client asks who has its
//! IP and the elected node answers; then that node's speaker is killed and the client's probe
//! measures how long until another node answers. Then BGP mode: BIRD as the router learns a
//! Service IP from every node and installs one ECMP route. Everything is removed when it ends (after
//! Enter, when run from a terminal, so the lab can be explored first), or on Ctrl-C.
//!
//! Run through `dev/demo`, which installs what it needs and builds first.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use ferrolb_tests::ControlPlane;
use ferrolb_tests::infra::api_relay::ApiRelay;
use ferrolb_tests::infra::netlab::{Host, Lab, arping};
use ferrolb_tests::infra::process::{Daemon, binary};
use ferrolb_tests::wait::until;
use ferrolb_tests::worlds::webhook::{WebhookProcess, wait_until_answering};

#[path = "demo/bgp.rs"]
mod bgp;

/// MetalLB's example Layer 2 configuration, with the pool moved into the lab's documentation
/// range (the lab segment is 192.0.2.0/24).
const CONFIGURATION: &str = "\
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: production-pool
  namespace: metallb-system
spec:
  addresses:
    - 192.0.2.240-192.0.2.250
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: l2-advert
  namespace: metallb-system
";

fn say(text: &str) {
    println!("\n\x1b[1m== {text}\x1b[0m");
}

fn kubectl(control_plane: &ControlPlane, args: &[&str], input: Option<&str>) -> String {
    println!("\x1b[2m$ kubectl {}\x1b[0m", args.join(" "));
    let out = control_plane
        .kubectl()
        .run(args, input)
        .expect("kubectl runs");
    let text = if out.success { out.stdout } else { out.stderr };
    print!("{text}");
    text
}

fn jsonpath(control_plane: &ControlPlane, args: &[&str], path: &str) -> String {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    let expr = format!("jsonpath={path}");
    all.extend(["-o", &expr]);
    control_plane
        .kubectl()
        .run(&all, None)
        .map(|o| o.stdout)
        .unwrap_or_default()
}

/// Starts the speaker of `node` inside its namespace.
fn spawn_speaker(node: &Host, kubeconfig: &str) -> Daemon {
    let speaker = binary("ferrolb-speaker", "ferrolb-speaker");
    Daemon::spawn(
        &format!("speaker-{}", node.name),
        &PathBuf::from("ip"),
        &[
            "netns",
            "exec",
            &node.netns,
            &speaker.to_string_lossy(),
            "--node-name",
            &node.name,
            "--metrics-address",
            "127.0.0.1:7472",
            "--metrics-plain-http",
        ],
        &[("KUBECONFIG", kubeconfig), ("RUST_LOG", "info")],
    )
    .unwrap()
}

fn node_of<'a>(lab: &'a Lab, mac: &str) -> Option<&'a Host> {
    lab.nodes.iter().find(|n| n.mac.eq_ignore_ascii_case(mac))
}

fn unix_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

/// Probes `ip` from the client at 100 ARP requests/s while `kill` runs, and returns how long
/// after the kill a node other than `old_mac` answered, and its MAC.
fn failover(lab: &Lab, ip: &str, old_mac: &str, kill: impl FnOnce()) -> Option<(Duration, String)> {
    let probe = binary("ferrolb-speaker", "ferrolb-l2-probe")
        .to_string_lossy()
        .into_owned();
    let (netns, source, target) = (
        lab.client.netns.clone(),
        lab.client.ipv4.to_string(),
        ip.to_owned(),
    );
    let prober = std::thread::spawn(move || {
        let out = std::process::Command::new("ip")
            .args([
                "netns",
                "exec",
                &netns,
                &probe,
                "--interface",
                "eth0",
                "--source",
                &source,
            ])
            .args(["--target", &target, "--rate", "100", "--duration", "6s"])
            .output()
            .expect("the probe runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    });
    std::thread::sleep(Duration::from_millis(500));
    let killed_at = unix_ns();
    kill();
    let text = prober.join().expect("the probe ends");
    text.lines().find_map(|line| {
        let mut parts = line.split_whitespace();
        (parts.next()? == "reply").then_some(())?;
        let at: u128 = parts.next()?.parse().ok()?;
        let mac = parts.next()?.to_ascii_lowercase();
        (at > killed_at && mac != old_mac)
            .then(|| (Duration::from_nanos((at - killed_at) as u64), mac))
    })
}

#[tokio::main]
async fn main() {
    // Ctrl-C drops the demo's future, and with it every process, namespace and folder it made.
    tokio::select! {
        _ = run() => {}
        _ = tokio::signal::ctrl_c() => say("interrupted: tearing everything down"),
    }
}

async fn run() {
    say("starting a local control plane (etcd and kube-apiserver on loopback)");
    let control_plane =
        tokio::task::spawn_blocking(|| ControlPlane::start().expect("the control plane starts"))
            .await
            .unwrap();
    control_plane.install_crds().expect("the CRDs install");
    control_plane
        .kubectl()
        .ensure_namespace("metallb-system")
        .unwrap();
    let kubeconfig = control_plane.kubeconfig.to_string_lossy().into_owned();

    say("building a lab: three nodes and a client on one bridge (192.0.2.0/24)");
    let lab = Lab::build(3, false);
    for host in lab.nodes.iter().chain([&lab.client]) {
        println!(
            "  {:<22} netns {:<18} {}  {}",
            host.name, host.netns, host.mac, host.ipv4
        );
    }
    for node in &lab.nodes {
        let yaml = format!(
            "apiVersion: v1\nkind: Node\nmetadata:\n  name: {}\n",
            node.name
        );
        control_plane
            .kubectl()
            .ok(&["apply", "-f", "-"], Some(&yaml))
            .unwrap();
    }
    let netns: Vec<&str> = lab.nodes.iter().map(|n| n.netns.as_str()).collect();
    let _relay = ApiRelay::start(&control_plane.kubeconfig, &lab.id, &netns);

    say("starting ferrolb: the webhook, the operator, and a speaker in each node namespace");
    let webhook =
        WebhookProcess::start(&control_plane.kubeconfig, &[]).expect("the webhook starts");
    wait_until_answering(&control_plane.kubectl(), &webhook);
    println!(
        "  webhook registered on https://127.0.0.1:{} with its own CA",
        webhook.port
    );
    let _operator = ferrolb_tests::infra::process::operator(
        "operator",
        &control_plane.kubeconfig,
        "127.0.0.1:0",
        "info",
        &[],
    )
    .unwrap();
    let mut speakers: Vec<Daemon> = lab
        .nodes
        .iter()
        .map(|node| spawn_speaker(node, &kubeconfig))
        .collect();

    say("applying MetalLB's example IPAddressPool and L2Advertisement (pool in the lab's range)");
    print!("{CONFIGURATION}");
    kubectl(&control_plane, &["apply", "-f", "-"], Some(CONFIGURATION));

    say("a pool overlapping it is refused at kubectl apply, by the webhook");
    let overlapping = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: overlapping\n  namespace: metallb-system\nspec:\n  addresses: [192.0.2.248/29]\n";
    kubectl(&control_plane, &["apply", "-f", "-"], Some(overlapping));

    say("creating a LoadBalancer Service, as in MetalLB's documentation, with a ready endpoint");
    let service =
        std::fs::read_to_string(ferrolb_tests::repo_root().join("examples/nginx-service.yaml"))
            .unwrap();
    kubectl(&control_plane, &["apply", "-f", "-"], Some(&service));
    let endpoints = ferrolb_tests::objects::endpoint_slices::ready_yaml(
        "nginx-lb",
        "default",
        &[&lab.nodes[1].name, &lab.nodes[2].name],
    );
    control_plane
        .kubectl()
        .ok(&["apply", "-f", "-"], Some(&endpoints))
        .unwrap();
    let ip = until("an EXTERNAL-IP", || {
        let ip = jsonpath(
            &control_plane,
            &["svc", "nginx-lb"],
            "{.status.loadBalancer.ingress[0].ip}",
        );
        (!ip.is_empty()).then_some(ip)
    });
    kubectl(&control_plane, &["get", "svc", "nginx-lb"], None);
    kubectl(
        &control_plane,
        &["get", "ipaddresspools", "-n", "metallb-system"],
        None,
    );

    say("which node announces it");
    let owner_name = until("a ServiceL2Status", || {
        let node = jsonpath(
            &control_plane,
            &["servicel2statuses", "-n", "metallb-system"],
            "{.items[0].status.node}",
        );
        (!node.is_empty()).then_some(node)
    });
    kubectl(
        &control_plane,
        &["get", "servicel2statuses", "-n", "metallb-system"],
        None,
    );

    say(&format!(
        "the client asks the network who has {ip} (arping)"
    ));
    let replies = arping(&lab.client, "eth0", &ip, 3);
    for mac in &replies {
        let node = node_of(&lab, mac).map_or("an unknown host", |n| n.name.as_str());
        println!("  reply from {ip} at {mac}: {node}");
    }
    let owner_mac = replies.first().cloned().unwrap_or_default();
    let owner = lab
        .nodes
        .iter()
        .position(|n| n.mac.eq_ignore_ascii_case(&owner_mac));
    match owner {
        Some(i) if lab.nodes[i].name == owner_name => {
            println!("  exactly the node the ServiceL2Status names answers: {owner_name}")
        }
        _ => println!(
            "  (the ServiceL2Status names {owner_name}; the replies came from {owner_mac})"
        ),
    }

    if let Some(index) = owner {
        say(&format!(
            "failover: killing the speaker of {} (SIGKILL, as a crash)",
            lab.nodes[index].name
        ));
        println!("  the client keeps asking who has {ip}, 100 times a second");
        match failover(&lab, &ip, &owner_mac, || speakers[index].kill()) {
            Some((gap, mac)) => {
                let node = node_of(&lab, &mac).map_or("an unknown host", |n| n.name.as_str());
                println!(
                    "  {node} ({mac}) answered {:.0} ms after the kill",
                    gap.as_secs_f64() * 1e3
                );
            }
            None => println!("  no other node answered within the probe's window"),
        }
        until("the new owner's ServiceL2Status", || {
            let node = jsonpath(
                &control_plane,
                &["servicel2statuses", "-n", "metallb-system"],
                "{.items[0].status.node}",
            );
            (!node.is_empty() && node != owner_name).then_some(node)
        });
        kubectl(
            &control_plane,
            &["get", "servicel2statuses", "-n", "metallb-system"],
            None,
        );
    }

    if let Some(index) = owner {
        say(&format!(
            "the speaker of {} starts again",
            lab.nodes[index].name
        ));
        speakers[index] = spawn_speaker(&lab.nodes[index], &kubeconfig);
    }
    let _router = bgp::run(&control_plane, &lab, &mut speakers).await;

    say("explore further");
    println!("  export KUBECONFIG={kubeconfig}");
    println!(
        "  kubectl get svc,servicel2statuses -A ; kubectl get ipaddresspools -n metallb-system"
    );
    println!("  kubectl get leases -n metallb-system     # one per IP, one heartbeat per node");
    println!("  kubectl get servicebgpstatuses -n metallb-system");
    println!(
        "  ip netns exec {} ip route    # the router's kernel table",
        lab.client.netns
    );
    println!(
        "  ip netns exec {} arping -c 3 -I eth0 {}",
        lab.client.netns, ip
    );
    if std::io::stdin().is_terminal() {
        println!("\n  The lab stays up until you press Enter; then everything is removed.");
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    }
    say(
        "tearing down: router, speakers, operator, relays, lab namespaces and bridges, control plane",
    );
}
