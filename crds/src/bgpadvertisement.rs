//! `BGPAdvertisement` (metallb.io/v1beta1): which pools are advertised over BGP, to which
//! peers, from which nodes, with which attributes. The BGP speaker reads it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::resource::{column, metallb_kind, wide_column};

metallb_kind! {
    /// BGPAdvertisement allows to advertise the IPs coming from the selected IPAddressPools
    /// via BGP, setting the parameters of the BGP advertisement.
    pub struct BGPAdvertisement {
        version: "v1beta1",
        plural: "bgpadvertisements",
        #[serde(default)]
        spec: BGPAdvertisementSpec,
        status: BGPAdvertisementStatus,
        columns: [
            column("IPAddressPools", "string", ".spec.ipAddressPools"),
            column("IPAddressPool Selectors", "string", ".spec.ipAddressPoolSelectors"),
            column("Peers", "string", ".spec.peers"),
            wide_column("Node Selectors", "string", ".spec.nodeSelectors"),
        ],
    }
}

/// BGPAdvertisementSpec defines how the selected pools are advertised over BGP.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = crate::rules::advertisement::bgp_spec)]
pub struct BGPAdvertisementSpec {
    /// The aggregation-length advertisement option lets you "roll up" the /32s into a larger
    /// prefix. Defaults to 32. Works for IPv4 addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1), extend("default" = 32))]
    pub aggregation_length: Option<i32>,

    /// The aggregation-length advertisement option lets you "roll up" the /128s into a larger
    /// prefix. Defaults to 128. Works for IPv6 addresses.
    #[serde(
        rename = "aggregationLengthV6",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(extend("default" = 128))]
    pub aggregation_length_v6: Option<i32>,

    /// The BGP LOCAL_PREF attribute, used by the BGP best path algorithm: a path with a higher
    /// localPref is preferred. Sent to iBGP peers only.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub local_pref: u32,

    /// The BGP communities to attach to the announcement. Each item is a standard community
    /// `1234:1234`, a large community `large:1234:1234:1234`, or the name of an alias defined
    /// in a Community object.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub communities: Vec<String>,

    /// The IPAddressPools to advertise via this advertisement, selected by name.
    #[serde(
        rename = "ipAddressPools",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ip_address_pools: Vec<String>,

    /// Label selectors for the IPAddressPools to advertise. If no pool is selected by this or
    /// by `ipAddressPools`, the advertisement applies to all pools.
    #[serde(
        rename = "ipAddressPoolSelectors",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ip_address_pool_selectors: Vec<LabelSelector>,

    /// Limits the nodes announced as next hops for the IPs. When empty, every node running a
    /// speaker is a next hop.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_selectors: Vec<LabelSelector>,

    /// Names of the BGPPeers to advertise to. When empty, the IPs are advertised to every
    /// configured peer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<String>,

    /// Limits the Services advertised. When empty, every Service from the selected pools is
    /// advertised. Only allowed with the default aggregation lengths (32 and 128).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_selectors: Vec<LabelSelector>,
}

impl BGPAdvertisementSpec {
    /// The IPv4 aggregation length in effect (32 when unset).
    pub fn aggregation_length(&self) -> i32 {
        self.aggregation_length.unwrap_or(32)
    }

    /// The IPv6 aggregation length in effect (128 when unset).
    pub fn aggregation_length_v6(&self) -> i32 {
        self.aggregation_length_v6.unwrap_or(128)
    }
}

/// BGPAdvertisementStatus is empty; what each node advertises is reported in
/// ServiceBGPStatus objects.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BGPAdvertisementStatus {}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
