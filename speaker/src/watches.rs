//! The watches of the cluster objects the speaker reads: Nodes, Services, their endpoints,
//! and the IPAddressPools, L2Advertisements, BGPAdvertisements, BGPPeers, BFDProfiles and
//! Communities of ferrolb's namespace, kept in reflector stores.
//!
//! Every event wakes the Layer 2 election loop and the BGP loop through a [`Wake`];
//! [`ClusterWatch::claims`] turns the stores into the pure model of [`crate::model`] and the
//! claims of [`crate::election::candidates`]. Endpoints come from `discovery.k8s.io/v1` EndpointSlices,
//! as in MetalLB since v0.14.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use ferrolb_crds::bgppeer::v1beta2::BGPPeer;
use ferrolb_crds::cached::trim_for_cache;
use ferrolb_crds::{BFDProfile, BGPAdvertisement, Community, IPAddressPool, L2Advertisement};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node as KubeNode, Service as KubeService};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::election::candidates::{Claim, claims};
use crate::model::{
    Advertisement, Endpoints, Node, Pool, Service, ServiceKey, endpoints_from_slices, slice_service,
};

/// Pause after a failed watch call, so an unreachable API server is not hammered.
const RETRY: Duration = Duration::from_millis(500);

/// The loops that react to cluster changes, each woken once per burst of events.
#[derive(Clone, Debug, Default)]
pub struct Wake(Vec<Arc<Notify>>);

impl Wake {
    pub fn new(loops: &[Arc<Notify>]) -> Wake {
        Wake(loops.to_vec())
    }

    pub fn notify(&self) {
        for n in &self.0 {
            n.notify_one();
        }
    }
}

/// Starts a reflector for `api`; every change wakes `notify`.
pub fn spawn_watch<K>(
    api: Api<K>,
    config: watcher::Config,
    notify: Wake,
) -> (Store<K>, JoinHandle<()>)
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
{
    let (store, writer) = reflector::store();
    let kind = K::kind(&K::DynamicType::default()).into_owned();
    let task = tokio::spawn(async move {
        let stream =
            reflector::reflector(writer, watcher::watcher(api, config).modify(trim_for_cache));
        futures::pin_mut!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(_) => notify.notify(),
                Err(e) => {
                    tracing::debug!(%kind, "watch failed, retrying: {e}");
                    tokio::time::sleep(RETRY).await;
                }
            }
        }
    });
    (store, task)
}

/// The stores of everything the claims depend on.
pub struct ClusterWatch {
    nodes: Store<KubeNode>,
    services: Store<KubeService>,
    slices: Store<EndpointSlice>,
    pools: Store<IPAddressPool>,
    advertisements: Store<L2Advertisement>,
    pub(crate) bgp_peers: Store<BGPPeer>,
    pub(crate) bgp_advertisements: Store<BGPAdvertisement>,
    pub(crate) bfd_profiles: Store<BFDProfile>,
    pub(crate) communities: Store<Community>,
    pub tasks: Vec<JoinHandle<()>>,
    /// The `--lb-class` this speaker serves: Services of another class are not in the model.
    lb_class: Option<String>,
}

impl ClusterWatch {
    pub fn start(
        client: &Client,
        namespace: &str,
        lb_class: Option<&str>,
        notify: Wake,
    ) -> ClusterWatch {
        let config = watcher::Config::default;
        let mut tasks = Vec::new();
        let (nodes, t) = spawn_watch(Api::all(client.clone()), config(), notify.clone());
        tasks.push(t);
        let (services, t) = spawn_watch(Api::all(client.clone()), config(), notify.clone());
        tasks.push(t);
        let (slices, t) = spawn_watch(Api::all(client.clone()), config(), notify.clone());
        tasks.push(t);
        let (pools, t) = spawn_watch(
            Api::namespaced(client.clone(), namespace),
            config(),
            notify.clone(),
        );
        tasks.push(t);
        let (advertisements, t) = spawn_watch(
            Api::namespaced(client.clone(), namespace),
            config(),
            notify.clone(),
        );
        tasks.push(t);
        let (bgp_peers, t) = spawn_watch(
            Api::namespaced(client.clone(), namespace),
            config(),
            notify.clone(),
        );
        tasks.push(t);
        let (bgp_advertisements, t) = spawn_watch(
            Api::namespaced(client.clone(), namespace),
            config(),
            notify.clone(),
        );
        tasks.push(t);
        let (bfd_profiles, t) = spawn_watch(
            Api::namespaced(client.clone(), namespace),
            config(),
            notify.clone(),
        );
        tasks.push(t);
        let (communities, t) =
            spawn_watch(Api::namespaced(client.clone(), namespace), config(), notify);
        tasks.push(t);
        ClusterWatch {
            nodes,
            services,
            slices,
            pools,
            advertisements,
            bgp_peers,
            bgp_advertisements,
            bfd_profiles,
            communities,
            tasks,
            lb_class: lb_class.map(str::to_owned),
        }
    }

    /// Waits until every store holds its first full listing. A store wakes one waiter only:
    /// call this once, then start whatever else reads the stores.
    pub async fn ready(&self) {
        let _ = self.nodes.wait_until_ready().await;
        let _ = self.services.wait_until_ready().await;
        let _ = self.slices.wait_until_ready().await;
        let _ = self.pools.wait_until_ready().await;
        let _ = self.advertisements.wait_until_ready().await;
        let _ = self.bgp_peers.wait_until_ready().await;
        let _ = self.bgp_advertisements.wait_until_ready().await;
        let _ = self.bfd_profiles.wait_until_ready().await;
        let _ = self.communities.wait_until_ready().await;
    }

    /// The serving endpoints of every Service, from all of its EndpointSlices.
    fn endpoints(&self) -> HashMap<ServiceKey, Endpoints> {
        let mut by_service: HashMap<ServiceKey, Vec<Arc<EndpointSlice>>> = HashMap::new();
        for slice in self.slices.state() {
            if let Some(key) = slice_service(&slice) {
                by_service.entry(key).or_default().push(slice);
            }
        }
        by_service
            .into_iter()
            .map(|(key, slices)| {
                (
                    key,
                    endpoints_from_slices(slices.iter().map(|s| s.as_ref())),
                )
            })
            .collect()
    }

    /// The nodes, announced Services and pools as the pure model sees them.
    pub fn snapshot(&self) -> (Vec<Node>, Vec<Service>, Vec<Pool>) {
        let mut endpoints = self.endpoints();
        let nodes: Vec<Node> = self
            .nodes
            .state()
            .iter()
            .map(|n| Node::from_kube(n))
            .collect();
        let services: Vec<Service> = self
            .services
            .state()
            .iter()
            .filter_map(|s| {
                let key = ServiceKey {
                    namespace: s.metadata.namespace.clone().unwrap_or_default(),
                    name: s.metadata.name.clone().unwrap_or_default(),
                };
                let endpoints = endpoints.remove(&key).unwrap_or_default();
                Service::from_kube(s, self.lb_class.as_deref(), endpoints)
            })
            .collect();
        let pools: Vec<Pool> = self
            .pools
            .state()
            .iter()
            .map(|p| Pool::from_kube(p))
            .collect();
        (nodes, services, pools)
    }

    /// The claims of the current state.
    pub fn claims(&self) -> BTreeMap<IpAddr, Claim> {
        let (nodes, services, pools) = self.snapshot();
        let advertisements: Vec<Advertisement> = self
            .advertisements
            .state()
            .iter()
            .map(|a| Advertisement::from_kube(a))
            .collect();
        claims(&nodes, &services, &pools, &advertisements)
    }

    /// The uid of a Service, for events about it.
    pub fn service(&self, key: &ServiceKey) -> Option<Arc<KubeService>> {
        self.services
            .get(&reflector::ObjectRef::new(&key.name).within(&key.namespace))
    }
}

impl ClusterWatch {
    /// The Service store, for the status publisher.
    pub fn services_store(&self) -> Store<KubeService> {
        self.services.clone()
    }

    /// Stops every watch.
    pub fn abort(&self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
