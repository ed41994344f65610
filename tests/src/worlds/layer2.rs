//! The Layer 2 suites' world: a lab ([`crate::infra::netlab`]) with one `ferrolb-speaker` per node
//! namespace, reaching the shared control plane through [`crate::infra::api_relay`], and the objects
//! they act on, written directly (the operator is not needed): Nodes, an IPAddressPool, an
//! L2Advertisement, Services with their status IPs and EndpointSlices
//! ([`crate::objects::endpoint_slices`]).
//!
//! Each world lives in its own Kubernetes namespace and labels its Nodes and Services with its
//! lab id, and its advertisement selects only those, so parallel tests never see each other.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ferrolb_crds::l2advertisement::L2AdvertisementSpec;
use ferrolb_crds::{IPAddressPool, L2Advertisement, ServiceL2Status};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Node, Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::api::{Api, Patch, PatchParams, PostParams};

use crate::ControlPlane;
use crate::infra::api_relay::ApiRelay;
use crate::infra::netlab::Lab;
use crate::infra::process::{Daemon, binary};
use crate::objects::endpoint_slices::{self, Backend, CONTROLLER_MAX_PER_SLICE};

/// What a world is made of.
#[derive(Clone, Debug)]
pub struct Options {
    pub nodes: usize,
    pub second_segment: bool,
    /// The advertisement's `interfaces`.
    pub interfaces: Vec<String>,
    pub pool: Vec<String>,
    /// Extra speaker flags.
    pub speaker_args: Vec<String>,
    /// The speaker binary; the debug build of the workspace when `None`.
    pub speaker_program: Option<PathBuf>,
    /// Whether the world has an L2Advertisement (BGP worlds have none).
    pub layer2: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            nodes: 3,
            second_segment: false,
            interfaces: Vec::new(),
            pool: vec![
                "192.0.2.128/25".into(),
                "198.51.100.128/25".into(),
                "2001:db8::a:0/112".into(),
            ],
            speaker_args: Vec::new(),
            speaker_program: None,
            layer2: true,
        }
    }
}

/// A running Layer 2 world; dropping it stops the speakers, the relay and the lab.
pub struct World {
    /// Speakers by node name. Declared first: dropped before the relay and the lab.
    pub speakers: BTreeMap<String, Daemon>,
    pub relay: ApiRelay,
    pub lab: Lab,
    pub client: kube::Client,
    pub namespace: String,
    kubeconfig: PathBuf,
    speaker_args: Vec<String>,
    speaker_program: Option<PathBuf>,
}

fn meta(name: &str, namespace: Option<&str>, labels: &[(&str, &str)]) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: namespace.map(Into::into),
        labels: Some(
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        ..Default::default()
    }
}

/// A selector matching one label.
pub fn selector(key: &str, value: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some([(key.to_string(), value.to_string())].into()),
        ..Default::default()
    }
}

impl World {
    pub async fn start(options: Options) -> World {
        let control_plane = ControlPlane::shared();
        control_plane.install_crds().unwrap();
        let client = control_plane.client().await.unwrap();
        let lab = Lab::build(options.nodes, options.second_segment);
        let namespace = format!("l2-{}", lab.id);
        let pp = PostParams::default();
        Api::<Namespace>::all(client.clone())
            .create(
                &pp,
                &Namespace {
                    metadata: meta(&namespace, None, &[]),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let lab_label = ("ferrolb.io/lab", lab.id.as_str());
        for node in &lab.nodes {
            Api::<Node>::all(client.clone())
                .create(
                    &pp,
                    &Node {
                        metadata: meta(&node.name, None, &[lab_label]),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
        }
        let mut pool = IPAddressPool::new("lab", Default::default());
        pool.spec.addresses = options.pool.clone();
        Api::<IPAddressPool>::namespaced(client.clone(), &namespace)
            .create(&pp, &pool)
            .await
            .unwrap();
        let ad = L2Advertisement::new(
            "lab",
            L2AdvertisementSpec {
                interfaces: options.interfaces.clone(),
                node_selectors: vec![selector(lab_label.0, lab_label.1)],
                service_selectors: vec![selector(lab_label.0, lab_label.1)],
                ..Default::default()
            },
        );
        if options.layer2 {
            Api::<L2Advertisement>::namespaced(client.clone(), &namespace)
                .create(&pp, &ad)
                .await
                .unwrap();
        }
        let netns: Vec<&str> = lab.nodes.iter().map(|n| n.netns.as_str()).collect();
        let relay = ApiRelay::start(&control_plane.kubeconfig, &lab.id, &netns);
        let mut world = World {
            speakers: BTreeMap::new(),
            relay,
            lab,
            client,
            namespace,
            kubeconfig: control_plane.kubeconfig.clone(),
            speaker_args: options.speaker_args,
            speaker_program: options.speaker_program,
        };
        for index in 0..options.nodes {
            world.start_speaker(index);
        }
        world
    }

    /// Starts (or restarts) the speaker of node `index`.
    pub fn start_speaker(&mut self, index: usize) {
        let node = &self.lab.nodes[index];
        let program = self
            .speaker_program
            .clone()
            .unwrap_or_else(|| binary("ferrolb-speaker", "ferrolb-speaker"));
        let program = program.to_string_lossy();
        let mut args = vec![
            "netns",
            "exec",
            &node.netns,
            &program,
            "--node-name",
            &node.name,
            "--namespace",
            &self.namespace,
            "--metrics-address",
            "127.0.0.1:7472",
            "--metrics-plain-http",
        ];
        args.extend(self.speaker_args.iter().map(String::as_str));
        let kubeconfig = self.kubeconfig.to_string_lossy();
        let daemon = Daemon::spawn(
            &format!("speaker-{}", node.name),
            &PathBuf::from("ip"),
            &args,
            &[
                ("KUBECONFIG", &kubeconfig),
                ("RUST_LOG", "info,ferrolb_speaker=debug,kube=warn"),
            ],
        )
        .unwrap();
        self.speakers.insert(node.name.clone(), daemon);
    }

    /// Creates a LoadBalancer Service with `ips` in its status and a ready endpoint on each
    /// of `endpoint_nodes`.
    pub async fn service(&self, name: &str, ips: &[&str], endpoint_nodes: &[&str], local: bool) {
        let pp = PostParams::default();
        let services = Api::<Service>::namespaced(self.client.clone(), &self.namespace);
        services
            .create(
                &pp,
                &Service {
                    metadata: meta(
                        name,
                        Some(&self.namespace),
                        &[("ferrolb.io/lab", &self.lab.id)],
                    ),
                    spec: Some(ServiceSpec {
                        type_: Some("LoadBalancer".into()),
                        external_traffic_policy: Some(
                            if local { "Local" } else { "Cluster" }.into(),
                        ),
                        ports: Some(vec![ServicePort {
                            port: 80,
                            protocol: Some("TCP".into()),
                            ..Default::default()
                        }]),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let ingress: Vec<_> = ips
            .iter()
            .map(|ip| serde_json::json!({ "ip": ip }))
            .collect();
        services
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(
                    serde_json::json!({ "status": { "loadBalancer": { "ingress": ingress } } }),
                ),
            )
            .await
            .unwrap();
        self.backends(
            name,
            &Backend::ready_on(endpoint_nodes),
            CONTROLLER_MAX_PER_SLICE,
        )
        .await;
    }

    /// Rewrites the EndpointSlices of `service` for `backends`, `per_slice` endpoints a slice,
    /// as the endpoint-slice controller does when pods come, go or change state.
    pub async fn backends(&self, service: &str, backends: &[Backend], per_slice: usize) {
        endpoint_slices::publish(&self.client, &self.namespace, service, backends, per_slice)
            .await
            .unwrap_or_else(|e| panic!("EndpointSlices of {service}: {e}"));
    }

    /// The node the ServiceL2Status of `service` names, if one exists.
    pub async fn status_node(&self, service: &str) -> Option<String> {
        let name = format!("l2-{}.{service}", self.namespace);
        let status = Api::<ServiceL2Status>::namespaced(self.client.clone(), &self.namespace)
            .get_opt(&name)
            .await
            .ok()??;
        status.status.map(|s| s.node).filter(|n| !n.is_empty())
    }

    /// The holder the Lease of `ip` names.
    pub async fn holder(&self, ip: &str) -> Option<String> {
        let name = lease_name(ip);
        let lease = Api::<Lease>::namespaced(self.client.clone(), &self.namespace)
            .get_opt(&name)
            .await
            .ok()??;
        lease.spec?.holder_identity.filter(|h| !h.is_empty())
    }

    /// Every per-IP Lease's holder, by Lease name.
    pub async fn holders(&self) -> BTreeMap<String, Option<String>> {
        Api::<Lease>::namespaced(self.client.clone(), &self.namespace)
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|l| {
                l.metadata
                    .name
                    .as_deref()
                    .is_some_and(|n| n.starts_with("ferrolb-ip"))
            })
            .map(|l| {
                (
                    l.metadata.name.clone().unwrap_or_default(),
                    l.spec
                        .and_then(|s| s.holder_identity)
                        .filter(|h| !h.is_empty()),
                )
            })
            .collect()
    }

    /// The index of the lab node named `name`.
    pub fn node_index(&self, name: &str) -> usize {
        self.lab
            .nodes
            .iter()
            .position(|n| n.name == name)
            .expect("a lab node")
    }
}

/// The Lease name of an IP, as the speaker derives it.
pub fn lease_name(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>().expect("an IP") {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("ferrolb-ip4-{a}-{b}-{c}-{d}")
        }
        std::net::IpAddr::V6(v6) => format!("ferrolb-ip6-{:032x}", u128::from(v6)),
    }
}
