//! The BFD suite's lab: one node namespace with a speaker, the lab's client namespace for the
//! router (BIRD from the router harness, or FRR from [`super::frr`]), the BFDProfiles and
//! BGPPeers the tests write, and the freezing of the speaker.

use std::net::IpAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use ferrolb_crds::bgppeer::v1beta2::BGPPeer;
use ferrolb_crds::{BFDProfile, BGPAdvertisement};
use ferrolb_tests::infra::netlab::Host;
use ferrolb_tests::routers::{BfdSession, Neighbor, Router, RouterKind, RouterOptions};
use ferrolb_tests::worlds::bgp::typed;
use ferrolb_tests::worlds::layer2::{Options, World};
use kube::api::{Api, PostParams};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{ASN, INTERVAL, MULTIPLIER};

/// One node with a speaker, a BIRD router with BFD towards it (unless another router plays
/// it), and the world's objects.
pub struct BfdLab {
    bird: Option<Router>,
    pub world: World,
}

impl BfdLab {
    /// A one-node lab whose BIRD router runs BFD towards the node's IPv4 address, and with
    /// `ipv6` its IPv6 address too.
    pub async fn start(ipv6: bool) -> BfdLab {
        let mut lab = BfdLab::without_router().await;
        let node = lab.node();
        let mut neighbors = vec![Neighbor::new(node.ipv4, ASN).with_bfd(INTERVAL, MULTIPLIER)];
        if ipv6 {
            neighbors.push(Neighbor::new(node.ipv6, ASN).with_bfd(INTERVAL, MULTIPLIER));
        }
        lab.bird = Some(Router::start(
            &lab.world.lab.client,
            RouterOptions {
                kind: RouterKind::Bird,
                local_as: ASN,
                router_id: lab.world.lab.client.ipv4,
                neighbors,
            },
        ));
        lab
    }

    /// The lab without a router, and a BGPAdvertisement of its Services.
    pub async fn without_router() -> BfdLab {
        let world = World::start(Options {
            nodes: 1,
            pool: vec!["198.51.100.0/24".into(), "2001:db8:ffff::/112".into()],
            layer2: false,
            ..Options::default()
        })
        .await;
        let lab = BfdLab { bird: None, world };
        lab.create::<BGPAdvertisement>(
            "metallb.io/v1beta1",
            "BGPAdvertisement",
            "all",
            json!({"serviceSelectors": [{"matchLabels": {"ferrolb.io/lab": lab.world.lab.id}}]}),
        )
        .await;
        lab
    }

    pub fn node(&self) -> &Host {
        &self.world.lab.nodes[0]
    }

    pub fn router(&self) -> &Router {
        self.bird.as_ref().expect("the lab's router is BIRD")
    }

    pub async fn create<K>(&self, api_version: &str, kind: &str, name: &str, spec: Value)
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
    pub async fn fast_profile(&self, name: &str) {
        let ms = INTERVAL.as_millis() as u64;
        self.create::<BFDProfile>(
            "metallb.io/v1beta1",
            "BFDProfile",
            name,
            json!({"receiveInterval": ms, "transmitInterval": ms, "detectMultiplier": MULTIPLIER}),
        )
        .await;
    }

    /// An iBGP BGPPeer to the router's `address` with `bfdProfile`.
    pub async fn peer(&self, name: &str, address: IpAddr, profile: &str) {
        self.peer_from(ASN, name, address, profile).await;
    }

    /// A BGPPeer from `my_asn` to the router's `address` with `bfdProfile`, a hold time far
    /// longer than BFD's detection time and a quick reconnect.
    pub async fn peer_from(&self, my_asn: u32, name: &str, address: IpAddr, profile: &str) {
        self.create::<BGPPeer>(
            "metallb.io/v1beta2",
            "BGPPeer",
            name,
            json!({
                "myASN": my_asn, "peerASN": ASN, "peerAddress": address.to_string(),
                "holdTime": "30s", "keepaliveTime": "10s", "connectTime": "2s",
                "bfdProfile": profile,
            }),
        )
        .await;
    }

    /// The router's BFD session with `neighbor`, once Up.
    pub async fn bfd_up(&self, neighbor: IpAddr) -> BfdSession {
        self.router()
            .eventually(&format!("an Up BFD session with {neighbor}"), |r| {
                r.bfd_sessions()
                    .into_iter()
                    .find(|s| s.neighbor == neighbor && s.up())
            })
            .await
    }

    /// The speaker's metrics, as text.
    pub fn metrics(&self) -> String {
        let out = self.node().exec(&[
            "curl",
            "-s",
            "--max-time",
            "2",
            "http://127.0.0.1:7472/metrics",
        ]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn speaker_pid(&self) -> String {
        self.world.speakers[&self.node().name]
            .pid()
            .expect("the speaker runs")
            .to_string()
    }

    pub fn speaker_log(&self) -> String {
        self.world.speakers[&self.node().name].output()
    }
}

/// Sends `signal` to `pid`.
fn signal(signal: &str, pid: &str) {
    let status = Command::new("kill").args([signal, pid]).status().unwrap();
    assert!(status.success(), "kill {signal} {pid}");
}

/// Polls `gone` every 10 ms for up to 20 s after freezing the speaker; returns how long the
/// route took to go, having thawed the speaker.
pub fn freeze_until(pid: &str, mut gone: impl FnMut() -> bool) -> Option<Duration> {
    signal("-STOP", pid);
    let frozen = Instant::now();
    let mut after = None;
    while frozen.elapsed() < Duration::from_secs(20) {
        if gone() {
            after = Some(frozen.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    signal("-CONT", pid);
    after
}
