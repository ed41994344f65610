//! `IPAddressPool` (metallb.io/v1beta1): the addresses ferrolb may hand out, and which
//! Services may take them. The operator reads pools and writes their status; the webhook
//! validates them. Parsing of the address entries lives in [`crate::address`].

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::address::AddressRange;
use crate::resource::{column, metallb_kind, wide_column};

metallb_kind! {
    /// IPAddressPool represents a pool of IP addresses that can be allocated to LoadBalancer
    /// services.
    pub struct IPAddressPool {
        version: "v1beta1",
        plural: "ipaddresspools",
        spec: IPAddressPoolSpec,
        status: IPAddressPoolStatus,
        columns: [
            column("Auto Assign", "boolean", ".spec.autoAssign"),
            column("Avoid Buggy IPs", "boolean", ".spec.avoidBuggyIPs"),
            column("Addresses", "string", ".spec.addresses"),
            column("Assigned IPv4", "integer", ".status.assignedIPv4"),
            column("Available IPv4", "integer", ".status.availableIPv4"),
            wide_column("Assigned IPv6", "integer", ".status.assignedIPv6"),
            wide_column("Available IPv6", "integer", ".status.availableIPv6"),
        ],
    }
}

/// IPAddressPoolSpec defines the desired state of an IPAddressPool.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IPAddressPoolSpec {
    /// A list of IP address ranges over which ferrolb has authority. You can list multiple
    /// ranges in a single pool, they will all share the same settings. Each range can be either
    /// a CIDR prefix (`192.168.10.0/24`, `fc00:f853:ccd:e799::/124`) or an explicit start-end
    /// range of IPs (`192.168.9.1-192.168.9.5`). IPv4 and IPv6 entries may be mixed.
    #[schemars(transform = crate::rules::pool::addresses)]
    pub addresses: Vec<String>,

    /// AutoAssign lets ferrolb allocate addresses from this pool to any Service that does not
    /// ask for a pool. Set it to false to reserve the pool for Services that request it by name
    /// (`metallb.io/address-pool`) or request one of its IPs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = true))]
    pub auto_assign: Option<bool>,

    /// AvoidBuggyIPs keeps addresses ending in .0 and .255 out of allocation, for clients and
    /// network gear that mistake them for network or broadcast addresses.
    #[serde(rename = "avoidBuggyIPs", default, skip_serializing_if = "is_false")]
    #[schemars(extend("default" = false))]
    pub avoid_buggy_ips: bool,

    /// ServiceAllocation restricts the pool to some namespaces and/or Services and orders it
    /// among other pools. A Service that matches pools with serviceAllocation takes its IP from
    /// them first (lowest priority value first, 0 meaning last), before the auto-assign pools
    /// without serviceAllocation.
    #[serde(
        rename = "serviceAllocation",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub service_allocation: Option<ServiceAllocation>,
}

/// ServiceAllocation says which Services a pool is meant for and how it ranks among pools.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = crate::rules::pool::service_allocation)]
pub struct ServiceAllocation {
    /// Priority of the pool among the pools a Service matches: lower values are tried first;
    /// 0 (or unset) means the pool is tried after all pools that set a priority.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub priority: i32,

    /// Namespaces whose Services may take IPs from this pool.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,

    /// Label selectors for the namespaces whose Services may take IPs from this pool; an
    /// alternative to listing them in `namespaces`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespace_selectors: Vec<LabelSelector>,

    /// Label selectors for the Services that may take IPs from this pool.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_selectors: Vec<LabelSelector>,
}

/// IPAddressPoolStatus shows how full the pool is; the operator keeps it current.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IPAddressPoolStatus {
    /// Number of IPv4 addresses of this pool assigned to Services.
    #[serde(rename = "assignedIPv4")]
    pub assigned_ipv4: i64,
    /// Number of IPv6 addresses of this pool assigned to Services.
    #[serde(rename = "assignedIPv6")]
    pub assigned_ipv6: i64,
    /// Number of IPv4 addresses of this pool still free to assign.
    #[serde(rename = "availableIPv4")]
    pub available_ipv4: i64,
    /// Number of IPv6 addresses of this pool still free to assign (saturates at the largest
    /// 64-bit integer for huge IPv6 pools).
    #[serde(rename = "availableIPv6")]
    pub available_ipv6: i64,
}

impl IPAddressPoolSpec {
    /// Whether Services that name no pool may take addresses from this one (default true).
    pub fn auto_assign(&self) -> bool {
        self.auto_assign.unwrap_or(true)
    }
}

impl IPAddressPool {
    /// The pool's name, or "" for an object without one.
    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }

    /// Every address entry parsed, or the first bad one named together with the pool.
    pub fn ranges(&self) -> Result<Vec<AddressRange>, Error> {
        self.spec
            .addresses
            .iter()
            .map(|entry| {
                entry
                    .parse::<AddressRange>()
                    .map_err(|source| Error::PoolAddress {
                        pool: self.name().to_owned(),
                        source,
                    })
            })
            .collect()
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}
