//! What the validators know of the cluster: the metallb.io objects already in ferrolb's
//! namespace, the IPs Services hold with a sharing key, one immutable snapshot per moment, and
//! which Services are ferrolb's to judge (its `--lb-class`). The watch code
//! ([`crate::stores`]) builds a new snapshot whenever a kind changes and swaps it in; each
//! admission request reads the snapshot current when it arrives, so validation never waits on
//! the API server.

use std::collections::BTreeMap;
use std::sync::Arc;

use ferrolb_crds::bgppeer::v1beta2::BGPPeer;
use ferrolb_crds::{BFDProfile, BGPAdvertisement, Community, IPAddressPool, L2Advertisement};
use k8s_openapi::api::core::v1::Service;

use crate::pool_index::PoolIndex;
use crate::service_index::ServiceIndex;

/// Objects of one kind, by name.
pub type ByName<K> = Arc<BTreeMap<String, Arc<K>>>;

/// The existing objects of every kind the validators look at.
#[derive(Clone, Debug)]
pub struct Cluster {
    /// ferrolb's namespace: every metallb.io object must live there.
    pub namespace: String,
    /// The `--lb-class` this webhook judges Services of, as
    /// [`ferrolb_crds::service_class::serves`] reads it.
    pub lb_class: Option<String>,
    pub pools: Arc<PoolIndex>,
    /// LoadBalancer Services of any namespace holding IPs with a sharing key.
    pub services: Arc<ServiceIndex>,
    pub l2_advertisements: ByName<L2Advertisement>,
    pub bgp_advertisements: ByName<BGPAdvertisement>,
    pub peers: ByName<BGPPeer>,
    pub communities: ByName<Community>,
    pub bfd_profiles: ByName<BFDProfile>,
}

impl Cluster {
    /// A cluster with no metallb.io objects yet.
    pub fn empty(namespace: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            lb_class: None,
            pools: Default::default(),
            services: Default::default(),
            l2_advertisements: Default::default(),
            bgp_advertisements: Default::default(),
            peers: Default::default(),
            communities: Default::default(),
            bfd_profiles: Default::default(),
        }
    }

    /// The same cluster, judging Services of load balancer class `lb_class`.
    pub fn with_lb_class(mut self, lb_class: Option<&str>) -> Self {
        self.lb_class = lb_class.map(str::to_owned);
        self
    }

    /// The same cluster with these pools instead.
    pub fn with_pools(mut self, pools: impl IntoIterator<Item = Arc<IPAddressPool>>) -> Self {
        self.pools = Arc::new(PoolIndex::new(pools));
        self
    }

    /// The same cluster with these Services instead (judged by its `lb_class`).
    pub fn with_services<'a>(mut self, services: impl IntoIterator<Item = &'a Service>) -> Self {
        self.services = Arc::new(ServiceIndex::new(services, self.lb_class.as_deref()));
        self
    }

    pub fn with_bgp_advertisements(
        mut self,
        ads: impl IntoIterator<Item = BGPAdvertisement>,
    ) -> Self {
        self.bgp_advertisements = by_name(ads, |a| a.metadata.name.clone());
        self
    }

    pub fn with_l2_advertisements(
        mut self,
        ads: impl IntoIterator<Item = L2Advertisement>,
    ) -> Self {
        self.l2_advertisements = by_name(ads, |a| a.metadata.name.clone());
        self
    }

    pub fn with_peers(mut self, peers: impl IntoIterator<Item = BGPPeer>) -> Self {
        self.peers = by_name(peers, |p| p.metadata.name.clone());
        self
    }

    pub fn with_communities(mut self, communities: impl IntoIterator<Item = Community>) -> Self {
        self.communities = by_name(communities, |c| c.metadata.name.clone());
        self
    }

    pub fn with_bfd_profiles(mut self, profiles: impl IntoIterator<Item = BFDProfile>) -> Self {
        self.bfd_profiles = by_name(profiles, |b| b.metadata.name.clone());
        self
    }
}

/// Objects keyed by their name (objects without one are dropped).
pub fn by_name<K>(
    objects: impl IntoIterator<Item = K>,
    name: impl Fn(&K) -> Option<String>,
) -> ByName<K> {
    Arc::new(
        objects
            .into_iter()
            .filter_map(|o| name(&o).map(|n| (n, Arc::new(o))))
            .collect(),
    )
}
