//! The cluster as the election sees it: nodes, Services with their IPs and serving endpoints,
//! pools and L2 advertisements, reduced from the Kubernetes objects to the fields that decide
//! who announces what.
//!
//! The watch code ([`crate::cluster`]) feeds Kubernetes objects through the conversions here;
//! [`crate::election`] only ever sees these plain values. A Service's EndpointSlices reduce to
//! [`Endpoints`]: the nodes that run an endpoint able to take traffic.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ferrolb_crds::service_class;
use ferrolb_crds::{AddressRange, IPAddressPool, L2Advertisement};
use k8s_openapi::api::core::v1::{Node as KubeNode, Service as KubeService};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::core::{Selector, SelectorExt};

/// Label that keeps a node out of external load balancers, as in Kubernetes.
pub const EXCLUDE_LABEL: &str = "node.kubernetes.io/exclude-from-external-load-balancers";

/// A Service named by namespace and name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceKey {
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// A node, as far as announcing goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub network_unavailable: bool,
}

impl Node {
    /// Whether the node may announce at all: its network is up and it is not excluded.
    pub fn may_announce(&self) -> bool {
        !self.network_unavailable && !self.labels.contains_key(EXCLUDE_LABEL)
    }
}

/// The serving endpoints of a Service: ready ones, and terminating ones that still serve
/// (kube-proxy sends traffic to those when a Service has no ready endpoint left).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// At least one serving endpoint exists, on whatever node (or none named).
    pub any_serving: bool,
    /// The nodes that run at least one serving endpoint.
    pub serving_nodes: BTreeSet<String>,
}

impl Endpoints {
    fn add(&mut self, serving: bool, node: Option<&str>) {
        if serving {
            self.any_serving = true;
            if let Some(node) = node {
                self.serving_nodes.insert(node.to_owned());
            }
        }
    }
}

/// A LoadBalancer Service with the IPs written in its status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Service {
    pub key: ServiceKey,
    pub labels: BTreeMap<String, String>,
    pub ips: Vec<IpAddr>,
    /// `externalTrafficPolicy: Local`: only nodes with a ready local endpoint may announce.
    pub local_traffic: bool,
    pub endpoints: Endpoints,
}

/// An address pool: its name, labels and parsed ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pool {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub ranges: Vec<AddressRange>,
}

impl Pool {
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.ranges.iter().any(|r| r.contains(ip))
    }

    /// The pool with the ranges that parse; a bad entry is the webhook's business, and the
    /// good ones still deserve announcing.
    pub fn from_kube(pool: &IPAddressPool) -> Pool {
        Pool {
            name: pool.name().to_owned(),
            labels: pool.metadata.labels.clone().unwrap_or_default(),
            ranges: pool
                .spec
                .addresses
                .iter()
                .filter_map(|a| a.parse().ok())
                .collect(),
        }
    }
}

/// Whether `selector` matches `labels`; a selector that does not parse matches nothing.
pub fn selects(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    Selector::try_from(selector.clone()).is_ok_and(|s| s.matches(labels))
}

/// Whether any of `selectors` matches; an empty list matches everything.
pub fn any_selects(selectors: &[LabelSelector], labels: &BTreeMap<String, String>) -> bool {
    selectors.is_empty() || selectors.iter().any(|s| selects(s, labels))
}

impl Node {
    pub fn from_kube(node: &KubeNode) -> Node {
        let network_unavailable = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|conditions| {
                conditions
                    .iter()
                    .any(|c| c.type_ == "NetworkUnavailable" && c.status == "True")
            });
        Node {
            name: node.metadata.name.clone().unwrap_or_default(),
            labels: node.metadata.labels.clone().unwrap_or_default(),
            network_unavailable,
        }
    }
}

impl Service {
    /// The Service if it is a LoadBalancer of the class this speaker serves (`lb_class`, its
    /// `--lb-class`, by [`service_class::serves`]) with ingress IPs in its status. A Service of
    /// another class is another load balancer's, even when its IPs fall in one of our pools.
    pub fn from_kube(
        service: &KubeService,
        lb_class: Option<&str>,
        endpoints: Endpoints,
    ) -> Option<Service> {
        if !service_class::serves_service(lb_class, service) {
            return None;
        }
        let spec = service.spec.as_ref()?;
        let ips = ferrolb_crds::service_ingress::ingress_ips(service);
        if ips.is_empty() {
            return None;
        }
        Some(Service {
            key: ServiceKey {
                namespace: service.metadata.namespace.clone().unwrap_or_default(),
                name: service.metadata.name.clone().unwrap_or_default(),
            },
            labels: service.metadata.labels.clone().unwrap_or_default(),
            ips,
            local_traffic: spec.external_traffic_policy.as_deref() == Some("Local"),
            endpoints,
        })
    }
}

/// The Service an EndpointSlice belongs to, from its `kubernetes.io/service-name` label.
pub fn slice_service(slice: &EndpointSlice) -> Option<ServiceKey> {
    Some(ServiceKey {
        namespace: slice.metadata.namespace.clone()?,
        name: slice
            .metadata
            .labels
            .as_ref()?
            .get("kubernetes.io/service-name")?
            .clone(),
    })
}

/// Serving endpoints from all EndpointSlices of one Service, decided as MetalLB decides: an
/// endpoint counts when `serving` is true; without `serving`, when `ready` is true; without
/// either, always (the API documents a missing condition as true). So a Service whose pods
/// are all terminating but still serving keeps its announcement until they stop serving.
pub fn endpoints_from_slices<'a>(slices: impl IntoIterator<Item = &'a EndpointSlice>) -> Endpoints {
    let mut out = Endpoints::default();
    for slice in slices {
        for endpoint in &slice.endpoints {
            let conditions = endpoint.conditions.as_ref();
            let serving = conditions
                .and_then(|c| c.serving.or(c.ready))
                .unwrap_or(true);
            out.add(serving, endpoint.node_name.as_deref());
        }
    }
    out
}

/// An L2Advertisement by name with its spec.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Advertisement {
    pub name: String,
    pub spec: ferrolb_crds::l2advertisement::L2AdvertisementSpec,
}

impl Advertisement {
    pub fn from_kube(ad: &L2Advertisement) -> Advertisement {
        Advertisement {
            name: ad.metadata.name.clone().unwrap_or_default(),
            spec: ad.spec.clone(),
        }
    }

    /// Whether the advertisement covers `pool`.
    pub fn covers_pool(&self, pool: &Pool) -> bool {
        covers_pool(
            &self.spec.ip_address_pools,
            &self.spec.ip_address_pool_selectors,
            pool,
        )
    }
}

/// Whether an advertisement (L2 or BGP) with these pool names and pool selectors covers
/// `pool`: named, selected, or every pool when it names and selects none.
pub fn covers_pool(names: &[String], selectors: &[LabelSelector], pool: &Pool) -> bool {
    if names.is_empty() && selectors.is_empty() {
        return true;
    }
    names.contains(&pool.name) || selectors.iter().any(|s| selects(s, &pool.labels))
}

#[cfg(test)]
mod tests;
