//! `L2Advertisement` (metallb.io/v1beta1): which pools are announced with ARP/NDP, from which
//! nodes and interfaces. The speaker reads it to decide the candidates for each IP.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::resource::{column, metallb_kind, wide_column};

metallb_kind! {
    /// L2Advertisement allows to advertise the LoadBalancer IPs provided by the selected pools
    /// via L2 (ARP for IPv4, NDP for IPv6).
    pub struct L2Advertisement {
        version: "v1beta1",
        plural: "l2advertisements",
        #[serde(default)]
        spec: L2AdvertisementSpec,
        status: L2AdvertisementStatus,
        columns: [
            column("IPAddressPools", "string", ".spec.ipAddressPools"),
            column("IPAddressPool Selectors", "string", ".spec.ipAddressPoolSelectors"),
            column("Interfaces", "string", ".spec.interfaces"),
            wide_column("Node Selectors", "string", ".spec.nodeSelectors"),
        ],
    }
}

/// L2AdvertisementSpec defines what is announced via L2, and from where.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = crate::rules::advertisement::l2_spec)]
pub struct L2AdvertisementSpec {
    /// The IPAddressPools to advertise via this advertisement, selected by name.
    #[serde(
        rename = "ipAddressPools",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ip_address_pools: Vec<String>,

    /// Label selectors for the IPAddressPools to advertise via this advertisement. If no pool
    /// is selected by this or by `ipAddressPools`, the advertisement applies to all pools.
    #[serde(
        rename = "ipAddressPoolSelectors",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ip_address_pool_selectors: Vec<LabelSelector>,

    /// Limits the nodes that may announce the IPs (any selector matching is enough). When
    /// empty, every node running a speaker may announce.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_selectors: Vec<LabelSelector>,

    /// The network interfaces to announce from. When empty, every suitable interface of the
    /// node is used (up, broadcast-capable, not enslaved to a bond or bridge, not virtual).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<String>,

    /// Limits the Services advertised by this advertisement. When empty, every Service whose
    /// IP comes from the selected pools is advertised. Services matched by these selectors
    /// cannot use the allow-shared-ip annotation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_selectors: Vec<LabelSelector>,

    /// Soft preferences among the eligible nodes when choosing the node that announces an IP:
    /// nodes matching a preference get its weight added to their score.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preferred_node_selectors: Vec<PreferredNodeSelector>,
}

/// A weighted node preference for choosing the announcing node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PreferredNodeSelector {
    /// Weight added to the score of matching nodes, from 1 to 100.
    #[schemars(range(min = 1, max = 100))]
    pub weight: i32,
    /// The nodes that receive this weight; an empty selector matches every node.
    pub preference: LabelSelector,
}

/// L2AdvertisementStatus is empty; the announcing node of each Service is reported in
/// ServiceL2Status objects.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct L2AdvertisementStatus {}
