//! BFD between ferrolb's speaker and a real router: BIRD 2 in the lab's client namespace runs
//! `protocol bfd` with `bfd on` on its BGP sessions, a node namespace runs `ferrolb-speaker`
//! with a BGPPeer whose `bfdProfile` asks for 100 ms × 3, and the control plane is real.
//!
//! What is asserted is what the router reports: its BFD session Up with the profile's
//! intervals, over IPv4 and IPv6; the route gone within the BFD detection time once the
//! speaker is frozen (SIGSTOP), where only the BGP hold time (30 s here) would notice without
//! BFD; the session and route back after SIGCONT; and a BGPPeer naming a missing BFDProfile
//! kept without a session until the profile exists. The measured drop time is printed.

use std::net::IpAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use ferrolb_crds::bgppeer::v1beta2::BGPPeer;
use ferrolb_crds::{BFDProfile, BGPAdvertisement};
use ferrolb_tests::infra::netlab::Host;
use ferrolb_tests::routers::{BfdSession, Neighbor, Router, RouterKind, RouterOptions};
use ferrolb_tests::wait::eventually;
use ferrolb_tests::worlds::layer2::{Options, World};
use kube::api::{Api, PostParams};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const ASN: u32 = 64512;
const SERVICE_IP: &str = "198.51.100.10";
const SERVICE_V4: &str = "198.51.100.10/32";
const SERVICE_V6_IP: &str = "2001:db8:ffff::10";
const SERVICE_V6: &str = "2001:db8:ffff::10/128";
/// The profile's intervals and multiplier, and the router's.
const INTERVAL: Duration = Duration::from_millis(100);
const MULTIPLIER: u8 = 3;
/// How long the route may take to go once the speaker froze: the detection time (300 ms)
/// and the router's reaction.
const DROP_GOAL: Duration = Duration::from_millis(400);

/// One node with a speaker, a BIRD router with BFD towards it, and the world's objects.
struct BfdLab {
    router: Router,
    world: World,
}

fn typed<K: DeserializeOwned>(api_version: &str, kind: &str, name: &str, spec: Value) -> K {
    serde_json::from_value(json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    }))
    .unwrap_or_else(|e| panic!("{kind} {name}: {e}"))
}

impl BfdLab {
    /// A one-node lab whose router runs BFD towards the node's IPv4 address, and with `ipv6`
    /// its IPv6 address too.
    async fn start(ipv6: bool) -> BfdLab {
        let world = World::start(Options {
            nodes: 1,
            pool: vec!["198.51.100.0/24".into(), "2001:db8:ffff::/112".into()],
            layer2: false,
            ..Options::default()
        })
        .await;
        let node = &world.lab.nodes[0];
        let mut neighbors = vec![Neighbor::new(node.ipv4, ASN).with_bfd(INTERVAL, MULTIPLIER)];
        if ipv6 {
            neighbors.push(Neighbor::new(node.ipv6, ASN).with_bfd(INTERVAL, MULTIPLIER));
        }
        let router = Router::start(
            &world.lab.client,
            RouterOptions {
                kind: RouterKind::Bird,
                local_as: ASN,
                router_id: world.lab.client.ipv4,
                neighbors,
            },
        );
        let lab = BfdLab { router, world };
        lab.create::<BGPAdvertisement>(
            "metallb.io/v1beta1",
            "BGPAdvertisement",
            "all",
            json!({"serviceSelectors": [{"matchLabels": {"ferrolb.io/lab": lab.world.lab.id}}]}),
        )
        .await;
        lab
    }

    fn node(&self) -> &Host {
        &self.world.lab.nodes[0]
    }

    async fn create<K>(&self, api_version: &str, kind: &str, name: &str, spec: Value)
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + serde::Serialize
            + std::fmt::Debug,
    {
        let object: K = typed(api_version, kind, name, spec);
        Api::<K>::namespaced(self.world.client.clone(), &self.world.namespace)
            .create(&PostParams::default(), &object)
            .await
            .unwrap_or_else(|e| panic!("cannot create {kind} {name}: {e}"));
    }

    /// The BFDProfile of 100 ms × 3.
    async fn fast_profile(&self, name: &str) {
        let ms = INTERVAL.as_millis() as u64;
        self.create::<BFDProfile>(
            "metallb.io/v1beta1",
            "BFDProfile",
            name,
            json!({"receiveInterval": ms, "transmitInterval": ms, "detectMultiplier": MULTIPLIER}),
        )
        .await;
    }

    /// A BGPPeer to the router's `address` with `bfdProfile`, a hold time far longer than BFD's
    /// detection time and a quick reconnect.
    async fn peer(&self, name: &str, address: IpAddr, profile: &str) {
        self.create::<BGPPeer>(
            "metallb.io/v1beta2",
            "BGPPeer",
            name,
            json!({
                "myASN": ASN, "peerASN": ASN, "peerAddress": address.to_string(),
                "holdTime": "30s", "keepaliveTime": "10s", "connectTime": "2s",
                "bfdProfile": profile,
            }),
        )
        .await;
    }

    /// The router's BFD session with `neighbor`, once Up.
    async fn bfd_up(&self, neighbor: IpAddr) -> BfdSession {
        self.router
            .eventually(&format!("an Up BFD session with {neighbor}"), |r| {
                r.bfd_sessions()
                    .into_iter()
                    .find(|s| s.neighbor == neighbor && s.up())
            })
            .await
    }

    /// The speaker's metrics, as text.
    fn metrics(&self) -> String {
        let out = self.node().exec(&[
            "curl",
            "-s",
            "--max-time",
            "2",
            "http://127.0.0.1:7472/metrics",
        ]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn speaker_pid(&self) -> String {
        self.world.speakers[&self.node().name]
            .pid()
            .expect("the speaker runs")
            .to_string()
    }

    fn speaker_log(&self) -> String {
        self.world.speakers[&self.node().name].output()
    }
}

/// Sends `signal` to `pid`.
fn signal(signal: &str, pid: &str) {
    let status = Command::new("kill").args([signal, pid]).status().unwrap();
    assert!(status.success(), "kill {signal} {pid}");
}

#[tokio::test]
async fn bird_drops_a_frozen_speakers_route_within_the_bfd_detection_time_and_takes_it_back() {
    let lab = BfdLab::start(false).await;
    let router_ip = IpAddr::from(lab.world.lab.client.ipv4);
    let node_ip = IpAddr::from(lab.node().ipv4);
    lab.fast_profile("fast").await;
    lab.peer("router", router_ip, "fast").await;
    let node = lab.node().name.clone();
    lab.world
        .service("web", &[SERVICE_IP], &[&node], false)
        .await;
    lab.router.wait_established(&[node_ip]).await;
    lab.router.wait_paths(SERVICE_V4, 1).await;

    let session = lab.bfd_up(node_ip).await;
    assert_eq!(session.interval, INTERVAL, "{session:?}");
    assert_eq!(
        session.timeout,
        INTERVAL * u32::from(MULTIPLIER),
        "{session:?}"
    );
    let label = format!("peer=\"{router_ip}\",vrf=\"default\"");
    let metrics = eventually("metallb_bfd_session_up at 1", || async {
        let metrics = lab.metrics();
        metrics
            .contains(&format!("metallb_bfd_session_up{{{label}}} 1"))
            .then_some(metrics)
    })
    .await;
    for series in [
        "metallb_bfd_control_packet_input_total",
        "metallb_bfd_control_packet_output_total",
        "metallb_bfd_session_up_events_total",
        "metallb_bfd_session_down_events_total",
    ] {
        assert!(
            metrics.contains(&format!("{series}{{{label}}}")),
            "{series} missing in:\n{metrics}"
        );
    }

    // A frozen speaker keeps its TCP connection open: only BFD tells the router.
    let pid = lab.speaker_pid();
    signal("-STOP", &pid);
    let frozen = Instant::now();
    let mut gone = None;
    while frozen.elapsed() < Duration::from_secs(20) {
        if lab.router.path_count(SERVICE_V4) == 0 {
            gone = Some(frozen.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let bfd_after = lab.router.bfd_sessions();
    signal("-CONT", &pid);
    let gone = gone.unwrap_or_else(|| {
        panic!(
            "the route stayed 20 s after SIGSTOP; BFD sessions {bfd_after:?}; the router's log \
             ends with:\n{}",
            lab.router.log_tail()
        )
    });
    println!(
        "SIGSTOP: BIRD dropped the route after {gone:?} (BFD {}×{INTERVAL:?}, goal {DROP_GOAL:?}, \
         hold time 30 s)",
        MULTIPLIER
    );
    assert!(
        gone < Duration::from_secs(3),
        "{gone:?} is the hold time's doing, not BFD's"
    );
    if gone > DROP_GOAL {
        println!("the drop took longer than the {DROP_GOAL:?} goal");
    }
    assert!(
        bfd_after.iter().any(|s| s.neighbor == node_ip && !s.up()),
        "{bfd_after:?}"
    );

    // Thawed, the speaker sees its BFD session had gone down too, and both come back.
    let thawed = Instant::now();
    lab.bfd_up(node_ip).await;
    lab.router.wait_established(&[node_ip]).await;
    lab.router.wait_paths(SERVICE_V4, 1).await;
    println!(
        "SIGCONT: BFD, BGP and the route back after {:?}",
        thawed.elapsed()
    );
    let metrics = lab.metrics();
    assert!(
        metrics.contains(&format!("metallb_bfd_session_up{{{label}}} 1")),
        "{metrics}"
    );
    let log = lab.speaker_log();
    assert!(
        log.contains("bfd session down"),
        "the speaker's BFD session went down after the freeze:\n{log}"
    );
}

#[tokio::test]
async fn a_missing_bfd_profile_keeps_the_session_closed_until_the_profile_exists() {
    let lab = BfdLab::start(false).await;
    let router_ip = IpAddr::from(lab.world.lab.client.ipv4);
    let node_ip = IpAddr::from(lab.node().ipv4);
    lab.peer("router", router_ip, "later").await;
    let expected = format!(
        "BGPPeer \"router\": bfdProfile \"later\" names no BFDProfile in namespace \"{}\"",
        lab.world.namespace
    );
    eventually("the speaker to report the missing profile", || async {
        lab.speaker_log().contains(&expected).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let sessions = lab.router.sessions();
    assert!(
        !sessions[&node_ip].established,
        "no session without its BFD profile: {sessions:?}"
    );

    lab.fast_profile("later").await;
    lab.router.wait_established(&[node_ip]).await;
    lab.bfd_up(node_ip).await;
}

#[tokio::test]
async fn a_bfd_session_comes_up_over_ipv6_too() {
    let lab = BfdLab::start(true).await;
    let client = &lab.world.lab.client;
    let node_v6 = IpAddr::from(lab.node().ipv6);
    lab.fast_profile("fast").await;
    lab.peer("router-v6", client.ipv6.into(), "fast").await;
    let node = lab.node().name.clone();
    lab.world
        .service("web", &[SERVICE_V6_IP], &[&node], false)
        .await;
    lab.router.wait_established(&[node_v6]).await;
    lab.router.wait_paths(SERVICE_V6, 1).await;
    let session = lab.bfd_up(node_v6).await;
    assert_eq!(session.interval, INTERVAL, "{session:?}");
}
