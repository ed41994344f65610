//! The BGP suites' world: the Layer 2 world's lab, control plane objects and speakers (see
//! [`crate::worlds::layer2`], without an L2Advertisement), plus a real router
//! ([`crate::routers`]) in the lab's client namespace peering with every node, and the
//! BGP objects the speakers act on: BGPPeers, BGPAdvertisements, Communities and Secrets,
//! written into the world's own namespace from the YAML-shaped JSON a user would write. With
//! [`BgpOptions::bfd`], the router runs BFD towards every node and the BGPPeers name a
//! BFDProfile of the same timers.
//!
//! Service IPs come from 198.51.100.0/24 and 2001:db8:ffff::/112, which no lab host uses,
//! so a route to them exists only because a speaker advertised it.

use std::net::IpAddr;

use ferrolb_crds::bgppeer::v1beta2::BGPPeer;
use ferrolb_crds::{BFDProfile, BGPAdvertisement, Community, ServiceBGPStatus};
use k8s_openapi::api::core::v1::{Secret, Service};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::routers::{BfdOptions, Neighbor, Router, RouterKind, RouterOptions};
use crate::worlds::layer2::{Options, World};

/// The router's AS and the nodes' AS of an eBGP world; iBGP worlds use the router's for both.
pub const ROUTER_AS: u32 = 64512;
pub const NODE_AS: u32 = 64513;
/// The BFDProfile the BGPPeers name in a world with BFD.
pub const BFD_PROFILE: &str = "bfd";

/// What a BGP world is made of.
#[derive(Clone, Debug)]
pub struct BgpOptions {
    pub nodes: usize,
    pub router: RouterKind,
    /// The nodes share the router's AS.
    pub ibgp: bool,
    /// The BGPPeer's `holdTime`.
    pub hold_time: String,
    /// The TCP MD5 password the router expects from every node, if any.
    pub router_password: Option<String>,
    /// Also peer over IPv6 (a second BGPPeer to the router's IPv6 address).
    pub ipv6: bool,
    pub speaker_args: Vec<String>,
    /// BFD under every session: the router runs it towards each node with these timers, and
    /// the BGPPeers name a BFDProfile ([`BFD_PROFILE`]) asking for them as receive and
    /// transmit intervals.
    pub bfd: Option<BfdOptions>,
}

impl Default for BgpOptions {
    fn default() -> Self {
        BgpOptions {
            nodes: 3,
            router: RouterKind::Bird,
            ibgp: true,
            hold_time: "9s".into(),
            router_password: None,
            ipv6: false,
            speaker_args: Vec::new(),
            bfd: None,
        }
    }
}

/// A running BGP world. The router goes first on drop, the speakers and the lab after.
pub struct BgpWorld {
    pub router: Router,
    pub world: World,
    pub options: BgpOptions,
}

/// A typed object of `kind` named `name` with `spec`, as a user writes it in YAML.
pub fn typed<K: DeserializeOwned>(api_version: &str, kind: &str, name: &str, spec: Value) -> K {
    serde_json::from_value(json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    }))
    .unwrap_or_else(|e| panic!("{kind} {name}: {e}"))
}

impl BgpWorld {
    pub async fn start(options: BgpOptions) -> BgpWorld {
        let world = World::start(Options {
            nodes: options.nodes,
            pool: vec!["198.51.100.0/24".into(), "2001:db8:ffff::/112".into()],
            speaker_args: options.speaker_args.clone(),
            layer2: false,
            ..Options::default()
        })
        .await;
        let node_as = if options.ibgp { ROUTER_AS } else { NODE_AS };
        let mut neighbors = Vec::new();
        for node in &world.lab.nodes {
            let mut addresses: Vec<IpAddr> = vec![node.ipv4.into()];
            if options.ipv6 {
                addresses.push(node.ipv6.into());
            }
            for address in addresses {
                let mut neighbor = Neighbor::new(address, node_as);
                neighbor.password = options.router_password.clone();
                if let Some(bfd) = options.bfd {
                    neighbor = neighbor.with_bfd(bfd.interval, bfd.multiplier);
                }
                neighbors.push(neighbor);
            }
        }
        let router = Router::start(
            &world.lab.client,
            RouterOptions {
                kind: options.router,
                local_as: ROUTER_AS,
                router_id: world.lab.client.ipv4,
                neighbors,
            },
        );
        BgpWorld {
            router,
            world,
            options,
        }
    }

    /// The BGPPeer spec of a session from the nodes to the router's `address`.
    pub fn peer_spec(&self, address: IpAddr) -> Value {
        let node_as = if self.options.ibgp {
            ROUTER_AS
        } else {
            NODE_AS
        };
        let mut spec = json!({
            "myASN": node_as,
            "peerASN": ROUTER_AS,
            "peerAddress": address.to_string(),
            "holdTime": self.options.hold_time,
            "keepaliveTime": "1s",
            "connectTime": "2s",
        });
        if self.options.bfd.is_some() {
            spec["bfdProfile"] = json!(BFD_PROFILE);
        }
        spec
    }

    /// Creates the BGPPeers to the router (IPv4, and IPv6 when the world has it), after the
    /// BFDProfile they name in a world with BFD.
    pub async fn peer_with_router(&self) {
        if let Some(bfd) = self.options.bfd {
            self.bfd_profile(BFD_PROFILE, bfd).await;
        }
        let client = &self.world.lab.client;
        self.peer("router", self.peer_spec(client.ipv4.into()))
            .await;
        if self.options.ipv6 {
            self.peer("router-v6", self.peer_spec(client.ipv6.into()))
                .await;
        }
    }

    fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.world.client.clone(), &self.world.namespace)
    }

    pub async fn peer(&self, name: &str, spec: Value) {
        let peer: BGPPeer = typed("metallb.io/v1beta2", "BGPPeer", name, spec);
        self.api::<BGPPeer>()
            .create(&PostParams::default(), &peer)
            .await
            .unwrap();
    }

    /// Creates a BGPAdvertisement; unless the spec selects Services itself, it selects only
    /// this world's, since speakers see the Services of every namespace.
    pub async fn advertisement(&self, name: &str, mut spec: Value) {
        if spec.get("serviceSelectors").is_none() {
            spec["serviceSelectors"] =
                json!([{"matchLabels": {"ferrolb.io/lab": self.world.lab.id}}]);
        }
        let ad: BGPAdvertisement = typed("metallb.io/v1beta1", "BGPAdvertisement", name, spec);
        self.api::<BGPAdvertisement>()
            .create(&PostParams::default(), &ad)
            .await
            .unwrap();
    }

    /// A BFDProfile whose receive and transmit intervals are `bfd.interval`.
    pub async fn bfd_profile(&self, name: &str, bfd: BfdOptions) {
        let ms = bfd.interval.as_millis() as u64;
        let spec = json!({
            "receiveInterval": ms,
            "transmitInterval": ms,
            "detectMultiplier": bfd.multiplier,
        });
        let profile: BFDProfile = typed("metallb.io/v1beta1", "BFDProfile", name, spec);
        self.api::<BFDProfile>()
            .create(&PostParams::default(), &profile)
            .await
            .unwrap();
    }

    pub async fn community(&self, name: &str, spec: Value) {
        let community: Community = typed("metallb.io/v1beta1", "Community", name, spec);
        self.api::<Community>()
            .create(&PostParams::default(), &community)
            .await
            .unwrap();
    }

    /// A `kubernetes.io/basic-auth` Secret holding `password`.
    pub async fn password_secret(&self, name: &str, password: &str) {
        let secret: Secret = serde_json::from_value(json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name},
            "type": "kubernetes.io/basic-auth",
            "stringData": {"password": password},
        }))
        .unwrap();
        self.api::<Secret>()
            .create(&PostParams::default(), &secret)
            .await
            .unwrap();
    }

    /// Creates a LoadBalancer Service with `ips` and ready endpoints on `endpoint_nodes`.
    pub async fn service(&self, name: &str, ips: &[&str], endpoint_nodes: &[&str], local: bool) {
        self.world.service(name, ips, endpoint_nodes, local).await;
    }

    /// Creates a Cluster-policy LoadBalancer Service with `ips` and a ready endpoint on every
    /// node.
    pub async fn service_everywhere(&self, name: &str, ips: &[&str]) {
        let nodes = self.node_names();
        let all: Vec<&str> = nodes.iter().map(String::as_str).collect();
        self.service(name, ips, &all, false).await;
    }

    /// The names of the nodes, in order.
    pub fn node_names(&self) -> Vec<String> {
        self.world
            .lab
            .nodes
            .iter()
            .map(|n| n.name.clone())
            .collect()
    }

    pub async fn delete_service(&self, name: &str) {
        let dp = DeleteParams::default();
        self.api::<Service>().delete(name, &dp).await.unwrap();
        let _ = crate::objects::endpoint_slices::delete_all(
            &self.world.client,
            &self.world.namespace,
            name,
        )
        .await;
    }

    pub async fn delete<K>(&self, name: &str)
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        self.api::<K>()
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }

    /// The ServiceBGPStatus objects of `service`: (node, peers) pairs, sorted.
    pub async fn statuses(&self, service: &str) -> Vec<(String, Vec<String>)> {
        let selector = format!("metallb.io/service-name={service}");
        let mut out: Vec<(String, Vec<String>)> = self
            .api::<ServiceBGPStatus>()
            .list(&ListParams::default().labels(&selector))
            .await
            .unwrap()
            .items
            .into_iter()
            .filter_map(|s| s.status)
            .map(|s| (s.node, s.peers))
            .collect();
        out.sort();
        out
    }

    /// The IPv4 addresses of the nodes, in order.
    pub fn node_ipv4s(&self) -> Vec<IpAddr> {
        self.world.lab.nodes.iter().map(|n| n.ipv4.into()).collect()
    }

    /// The speaker metrics of node `index`, as text.
    pub fn metrics(&self, index: usize) -> String {
        let output = self.world.lab.nodes[index].exec(&[
            "curl",
            "-s",
            "--max-time",
            "2",
            "http://127.0.0.1:7472/metrics",
        ]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Waits until every node's session to the router is established.
    pub async fn wait_sessions(&self) {
        let mut neighbors = self.node_ipv4s();
        if self.options.ipv6 {
            neighbors.extend(self.world.lab.nodes.iter().map(|n| IpAddr::from(n.ipv6)));
        }
        self.router.wait_established(&neighbors).await;
    }
}
